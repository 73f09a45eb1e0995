// conv_test.cc: the Conv op — ONNX's documented examples by hand, random problems against a
// naive loop (1-D / 2-D / 3-D, groups, depthwise, dilations, strides, pads, every auto_pad,
// batch > 1), shape inference on partial shapes, and rejected inputs.
#include <gtest/gtest.h>

#include <random>

#include "ops/nn_test_util.h"
#include "ops/op_test_util.h"

namespace lowbit::ops {
namespace {

using nn_testing::all_close;
using nn_testing::ints;
using nn_testing::make_attrs;
using nn_testing::random_tensor;
using nn_testing::RefConv;
using testing::run_op;

Tensor iota_5x5() {
  std::vector<float> v(25);
  for (int i = 0; i < 25; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i);
  return Tensor::from_vector<float>({1, 1, 5, 5}, v);
}

Tensor ones_3x3() { return Tensor::from_vector<float>({1, 1, 3, 3}, std::vector<float>(9, 1.0f)); }

TEST(ConvOp, OnnxExampleWithAndWithoutPadding) {
  // Sum of each 3×3 window of 0..24 (zeros outside), worked out by hand.
  auto y = run_op("Conv", {iota_5x5(), ones_3x3()}, make_attrs({{"kernel_shape", ints({3, 3})}, {"pads", ints({1, 1, 1, 1})}}));
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 5, 5},
                        {12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81, 93, 144, 153, 162, 111, 72,
                         111, 117, 123, 84}));
  y = run_op("Conv", {iota_5x5(), ones_3x3()});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 3, 3}, {54, 63, 72, 99, 108, 117, 144, 153, 162}));
}

TEST(ConvOp, OnnxExampleStridesAndAutoPad) {
  // SAME_LOWER, stride 2 on 5×5: out 3×3, total pad 2 -> 1 before, 1 after.
  auto y = run_op("Conv", {iota_5x5(), ones_3x3()},
                  make_attrs({{"auto_pad", std::string("SAME_LOWER")}, {"strides", ints({2, 2})}}));
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 3, 3}, {12, 27, 24, 63, 108, 81, 72, 117, 84}));
  // Strides 2 with asymmetric pads [1, 0, 1, 0] on a 7×5 input.
  std::vector<float> v(35);
  for (int i = 0; i < 35; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i);
  const Tensor x = Tensor::from_vector<float>({1, 1, 7, 5}, v);
  y = run_op("Conv", {x, ones_3x3()}, make_attrs({{"strides", ints({2, 2})}, {"pads", ints({1, 0, 1, 0})}}));
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 4, 2}, {21, 33, 99, 117, 189, 207, 171, 183}));
}

TEST(ConvOp, BiasAndGroupsByHand) {
  // Two groups of one channel each; w = [2] and [−1], bias [1, 10].
  const Tensor x = Tensor::from_vector<float>({1, 2, 1, 2}, {1, 2, 3, 4});
  const Tensor w = Tensor::from_vector<float>({2, 1, 1, 1}, {2, -1});
  const Tensor b = Tensor::from_vector<float>({2}, {1, 10});
  auto y = run_op("Conv", {x, w, b}, make_attrs({{"group", int64_t{2}}}));
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 2, 1, 2}, {3, 5, 7, 6}));
}

struct Problem {
  Shape x;  // [N, C, spatial...]
  int64_t m, group;
  std::vector<int64_t> k, s, d, pads;  // pads: begins then ends (ignored unless auto_pad NOTSET)
  std::string auto_pad;
  bool bias;
};

// Expected output size and leading pad per dim, computed from the ONNX formulas.
void expected_geometry(const Problem& p, size_t i, int64_t* out, int64_t* pad) {
  const int64_t in = p.x[2 + i], ek = (p.k[i] - 1) * p.d[i] + 1, rank = static_cast<int64_t>(p.k.size());
  if (p.auto_pad == "SAME_UPPER" || p.auto_pad == "SAME_LOWER") {
    *out = (in + p.s[i] - 1) / p.s[i];
    const int64_t total = std::max<int64_t>(0, (*out - 1) * p.s[i] + ek - in);
    *pad = p.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
  } else if (p.auto_pad == "VALID") {
    *out = (in - ek) / p.s[i] + 1;
    *pad = 0;
  } else {
    *pad = p.pads[i];
    *out = (in + p.pads[i] + p.pads[i + static_cast<size_t>(rank)] - ek) / p.s[i] + 1;
  }
}

void check_problem(const Problem& p, std::mt19937& rng) {
  const size_t rank = p.k.size();
  Shape wshape{p.m, p.x[1] / p.group};
  wshape.insert(wshape.end(), p.k.begin(), p.k.end());
  const Tensor x = random_tensor(p.x, rng), w = random_tensor(wshape, rng), b = random_tensor({p.m}, rng);
  RefConv r;
  r.n = p.x[0], r.c = p.x[1], r.m = p.m, r.groups = p.group;
  Shape want_shape{p.x[0], p.m};
  for (size_t i = 0; i < rank; ++i) {
    const size_t j = 3 - rank + i;
    int64_t out, pad;
    expected_geometry(p, i, &out, &pad);
    r.in[j] = p.x[2 + i], r.out[j] = out, r.k[j] = p.k[i], r.s[j] = p.s[i], r.d[j] = p.d[i], r.p[j] = pad;
    want_shape.push_back(out);
  }
  const std::vector<float> want = nn_testing::ref_conv(r, x.data<float>(), w.data<float>(), p.bias ? b.data<float>() : nullptr);
  ir::Attributes a = make_attrs({{"strides", p.s}, {"dilations", p.d}, {"group", p.group}});
  if (p.auto_pad.empty()) {
    a.set("pads", p.pads);
  } else {
    a.set("auto_pad", p.auto_pad);
  }
  if (rng() % 2) a.set("kernel_shape", p.k);  // optional: taken from W otherwise
  std::vector<Tensor> inputs{x, w};
  if (p.bias) inputs.push_back(b);
  auto y = run_op("Conv", inputs, a);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], want_shape, want)) << "x=" << shape_str(p.x) << " auto_pad=" << p.auto_pad;
}

TEST(ConvOp, RandomProblemsMatchNaive) {
  std::mt19937 rng(42);
  const std::vector<Problem> problems = {
      // 2-D, explicit pads, strides, dilations, groups
      {{2, 3, 9, 8}, 4, 1, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, "", true},
      {{3, 4, 11, 7}, 6, 2, {3, 2}, {2, 1}, {1, 2}, {0, 1, 2, 0}, "", false},
      {{1, 6, 13, 13}, 9, 3, {5, 5}, {3, 2}, {2, 1}, {2, 2, 1, 3}, "", true},
      // depthwise (multiplier 1 and 2), pointwise, batch 5
      {{5, 8, 10, 10}, 8, 8, {3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, "", true},
      {{2, 4, 9, 9}, 8, 4, {3, 3}, {2, 2}, {1, 1}, {0, 0, 1, 1}, "", true},
      {{5, 7, 6, 5}, 3, 1, {1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, "", true},
      {{2, 7, 6, 5}, 3, 1, {1, 1}, {2, 2}, {1, 1}, {0, 0, 0, 0}, "", false},  // strided 1×1: im2col path
      // auto_pad variants, odd sizes and strides
      {{2, 3, 7, 9}, 5, 1, {3, 4}, {2, 3}, {1, 1}, {}, "SAME_UPPER", true},
      {{2, 3, 7, 9}, 5, 1, {3, 4}, {2, 3}, {1, 1}, {}, "SAME_LOWER", true},
      {{2, 3, 7, 9}, 5, 1, {3, 4}, {2, 3}, {2, 1}, {}, "VALID", false},
      {{1, 2, 8, 8}, 2, 2, {2, 2}, {1, 1}, {1, 1}, {}, "SAME_UPPER", true},
      // 1-D and 3-D
      {{3, 2, 17}, 4, 1, {5}, {2}, {1}, {2, 1}, "", true},
      {{2, 4, 10}, 4, 4, {3}, {1}, {3}, {}, "SAME_LOWER", true},
      {{2, 4, 5, 6, 7}, 6, 2, {3, 2, 3}, {2, 1, 2}, {1, 2, 1}, {1, 0, 1, 0, 1, 1}, "", true},
      {{1, 3, 4, 5, 6}, 2, 1, {2, 3, 3}, {1, 1, 2}, {1, 1, 1}, {}, "SAME_UPPER", false},
  };
  for (const Problem& p : problems) check_problem(p, rng);
}

Status infer_conv(const std::vector<TensorInfo>& inputs, ir::Attributes attrs, TensorInfo* out) {
  ir::Node node;
  node.op_type = "Conv";
  node.attrs = std::move(attrs);
  InferCtx c{node, 13, inputs, std::vector<TensorInfo>(1)};
  LB_TRY(find_op("", "Conv")->infer(c));
  *out = c.outputs[0];
  return Status::ok();
}

TEST(ConvOp, InferHandlesPartialShapes) {
  TensorInfo x, w, out;
  x.dtype = DType::kF32;
  x.shape = Shape{-1, 3, 28, -1};
  w.shape = Shape{16, 3, 3, 3};
  ASSERT_TRUE(infer_conv({x, w}, make_attrs({{"pads", ints({1, 1, 1, 1})}}), &out).is_ok());
  EXPECT_EQ(*out.dtype, DType::kF32);
  EXPECT_EQ(*out.shape, (Shape{-1, 16, 28, -1}));
  // Weight shape unknown but kernel_shape given: spatial dims still known.
  x.shape = Shape{4, 3, 10, 10};
  w.shape.reset();
  ASSERT_TRUE(infer_conv({x, w}, make_attrs({{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}}), &out).is_ok());
  EXPECT_EQ(*out.shape, (Shape{4, -1, 4, 4}));
  // Nothing known: rank unknown.
  x.shape.reset();
  ASSERT_TRUE(infer_conv({x, w}, {}, &out).is_ok());
  EXPECT_FALSE(out.shape.has_value());
  // Contradictions are caught early.
  x.shape = Shape{1, 4, 8, 8};
  w.shape = Shape{2, 3, 3, 3};
  EXPECT_FALSE(infer_conv({x, w}, {}, &out).is_ok());
}

void expect_error(const std::vector<Tensor>& inputs, ir::Attributes a, const std::string& needle) {
  EXPECT_TRUE(testing::op_fails_with("Conv", inputs, std::move(a), needle));
}

TEST(ConvOp, RejectsBadInputs) {
  std::mt19937 rng(7);
  const Tensor x = random_tensor({1, 4, 6, 6}, rng), w = random_tensor({2, 4, 3, 3}, rng);
  expect_error({random_tensor({4, 6}, rng), w}, {}, "rank 3 to 5");
  expect_error({random_tensor({1, 1, 2, 2, 2, 2}, rng), random_tensor({1, 1, 1, 1, 1, 1}, rng)}, {}, "rank 3 to 5");
  expect_error({x, random_tensor({2, 4, 3}, rng)}, {}, "weight W");
  expect_error({x, random_tensor({2, 3, 3, 3}, rng)}, {}, "channels");
  expect_error({x, random_tensor({2, 2, 3, 3}, rng)}, make_attrs({{"group", int64_t{3}}}), "group");
  expect_error({x, random_tensor({3, 2, 3, 3}, rng)}, make_attrs({{"group", int64_t{2}}}), "does not divide");
  expect_error({x, w}, make_attrs({{"group", int64_t{0}}}), "group");
  expect_error({x, random_tensor({2, 4, 9, 9}, rng)}, {}, "larger than the padded input");
  expect_error({x, w}, make_attrs({{"strides", ints({0, 1})}}), "strides");
  expect_error({x, w}, make_attrs({{"strides", ints({-2, 1})}}), "strides");
  expect_error({x, w}, make_attrs({{"dilations", ints({1, 0})}}), "dilations");
  expect_error({x, w}, make_attrs({{"pads", ints({1, 1, 1})}}), "pads");
  expect_error({x, w}, make_attrs({{"pads", ints({-1, 0, 0, 0})}}), "pads");
  expect_error({x, w}, make_attrs({{"kernel_shape", ints({5, 5})}}), "kernel_shape");
  expect_error({x, w}, make_attrs({{"auto_pad", std::string("SAME")}}), "auto_pad");
  expect_error({x, w, random_tensor({3}, rng)}, {}, "bias");
  expect_error({x, w}, make_attrs({{"strides", ints({int64_t{1} << 40, 1})}}), "strides");
  expect_error({x, w}, make_attrs({{"dilations", ints({int64_t{1} << 40, 1})}}), "dilations");
  const Tensor xi = Tensor::from_vector<int32_t>({1, 1, 2, 2}, {1, 2, 3, 4});
  expect_error({xi, random_tensor({1, 1, 1, 1}, rng)}, {}, "float32");
}

}  // namespace
}  // namespace lowbit::ops
