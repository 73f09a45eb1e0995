// conv_transpose_test.cc: the ConvTranspose op — ONNX's documented examples, random problems
// against a naive scatter loop (pads, output_padding, output_shape, auto_pad, dilations,
// groups, 1-D / 3-D, batch > 1), and rejected inputs.
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

Tensor x_3x3() { return Tensor::from_vector<float>({1, 1, 3, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8}); }
Tensor w_ones() { return Tensor::from_vector<float>({1, 2, 3, 3}, std::vector<float>(18, 1.0f)); }

std::vector<float> twice(const std::vector<float>& v) {
  std::vector<float> out = v;
  out.insert(out.end(), v.begin(), v.end());
  return out;
}

TEST(ConvTransposeOp, OnnxExamples) {
  // Every output sums the inputs whose 3×3 footprint covers it (stride 1, no pads).
  auto y = run_op("ConvTranspose", {x_3x3(), w_ones()});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 2, 5, 5},
                        twice({0, 1, 3, 3, 2, 3, 8, 15, 12, 7, 9, 21, 36, 27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8})));
  // strides [3, 2], pads [1, 2, 1, 2]: the full 9×7 result cropped by 1 row and 2 columns each side.
  y = run_op("ConvTranspose", {x_3x3(), w_ones()}, make_attrs({{"strides", ints({3, 2})}, {"pads", ints({1, 2, 1, 2})}}));
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 2, 7, 3},
                        twice({1, 1, 3, 1, 1, 3, 7, 4, 9, 7, 4, 9, 7, 4, 9, 13, 7, 15, 13, 7, 15})));
  // SAME_UPPER, stride 2: output 6×6 = in·stride; total padding 1 goes at the end.
  y = run_op("ConvTranspose", {x_3x3(), w_ones()},
             make_attrs({{"auto_pad", std::string("SAME_UPPER")}, {"strides", ints({2, 2})}}));
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 2, 6, 6},
                        twice({0, 0, 1, 1, 3, 2, 0, 0, 1, 1, 3, 2, 3, 3, 8, 5, 12, 7,
                               3, 3, 7, 4, 9, 5, 9, 9, 20, 11, 24, 13, 6, 6, 13, 7, 15, 8})));
}

TEST(ConvTransposeOp, OutputShapeLargerThanFullResultPadsWithZeros) {
  // strides [3, 2] give a full 9×7 result; output_shape [10, 8] adds a zero row and column
  // at the end (ONNX's test_convtranspose_output_shape). output_padding [1, 1] instead of
  // output_shape gives the same.
  const std::vector<float> row_a{0, 0, 1, 1, 3, 2, 2, 0}, row_b{3, 3, 7, 4, 9, 5, 5, 0}, row_c{6, 6, 13, 7, 15, 8, 8, 0};
  std::vector<float> plane;
  for (const auto* r : {&row_a, &row_a, &row_a, &row_b, &row_b, &row_b, &row_c, &row_c, &row_c})
    plane.insert(plane.end(), r->begin(), r->end());
  plane.insert(plane.end(), 8, 0.0f);
  for (const ir::Attributes& a :
       {make_attrs({{"strides", ints({3, 2})}, {"output_shape", ints({10, 8})}}),
        make_attrs({{"strides", ints({3, 2})}, {"output_padding", ints({1, 1})}}),
        make_attrs({{"strides", ints({3, 2})}, {"output_shape", ints({1, 2, 10, 8})}}),
        make_attrs({{"strides", ints({3, 2})}, {"output_padding", ints({1, 1})}, {"output_shape", ints({10, 8})},
                    {"kernel_shape", ints({3, 3})}})}) {
    auto y = run_op("ConvTranspose", {x_3x3(), w_ones()}, a);
    ASSERT_TRUE(y.is_ok()) << y.status().message();
    EXPECT_TRUE(all_close((*y)[0], {1, 2, 10, 8}, twice(plane)));
  }
}

struct Problem {
  Shape x;
  int64_t m, group;
  std::vector<int64_t> k, s, d, pads, out_pad, out_shape;
  std::string auto_pad;
};

void check_problem(const Problem& p, std::mt19937& rng) {
  const size_t rank = p.k.size();
  Shape wshape{p.x[1], p.m / p.group};
  wshape.insert(wshape.end(), p.k.begin(), p.k.end());
  const Tensor x = random_tensor(p.x, rng), w = random_tensor(wshape, rng), b = random_tensor({p.m}, rng);
  RefConv r;
  r.n = p.x[0], r.c = p.x[1], r.m = p.m, r.groups = p.group;
  Shape want_shape{p.x[0], p.m};
  for (size_t i = 0; i < rank; ++i) {
    const size_t j = 3 - rank + i;
    const int64_t in = p.x[2 + i], op = p.out_pad.empty() ? 0 : p.out_pad[i];
    const int64_t full = p.s[i] * (in - 1) + op + (p.k[i] - 1) * p.d[i] + 1;
    int64_t out, pad;
    const bool same = p.auto_pad == "SAME_UPPER" || p.auto_pad == "SAME_LOWER";
    if (!p.out_shape.empty() || same) {
      out = p.out_shape.empty() ? in * p.s[i] : p.out_shape[i];
      const int64_t total = full - out;
      const int64_t fl = total >= 0 ? total / 2 : -((-total + 1) / 2);  // floor(total / 2)
      pad = p.auto_pad == "SAME_UPPER" ? fl : total - fl;
    } else {
      pad = p.pads.empty() ? 0 : p.pads[i];
      out = full - pad - (p.pads.empty() ? 0 : p.pads[i + rank]);
    }
    r.in[j] = in, r.out[j] = out, r.k[j] = p.k[i], r.s[j] = p.s[i], r.d[j] = p.d[i], r.p[j] = pad;
    want_shape.push_back(out);
  }
  const std::vector<float> want = nn_testing::ref_conv_transpose(r, x.data<float>(), w.data<float>(), b.data<float>());
  ir::Attributes a = make_attrs({{"strides", p.s}, {"dilations", p.d}, {"group", p.group}});
  if (!p.pads.empty()) a.set("pads", p.pads);
  if (!p.out_pad.empty()) a.set("output_padding", p.out_pad);
  if (!p.out_shape.empty()) a.set("output_shape", p.out_shape);
  if (!p.auto_pad.empty()) a.set("auto_pad", p.auto_pad);
  auto y = run_op("ConvTranspose", {x, w, b}, a);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], want_shape, want)) << "x=" << shape_str(p.x);
}

TEST(ConvTransposeOp, RandomProblemsMatchNaive) {
  std::mt19937 rng(5);
  const std::vector<Problem> problems = {
      {{2, 3, 5, 4}, 4, 1, {3, 3}, {2, 2}, {1, 1}, {1, 0, 1, 1}, {1, 1}, {}, ""},
      {{3, 4, 4, 6}, 6, 2, {2, 3}, {1, 2}, {2, 1}, {0, 1, 1, 0}, {}, {}, ""},
      {{1, 6, 5, 5}, 3, 3, {3, 3}, {2, 2}, {1, 1}, {}, {}, {}, "SAME_UPPER"},
      {{1, 6, 5, 5}, 3, 3, {3, 3}, {2, 2}, {1, 1}, {}, {}, {}, "SAME_LOWER"},
      {{2, 2, 4, 3}, 2, 1, {3, 2}, {3, 2}, {1, 1}, {}, {}, {11, 8}, ""},           // output_shape, odd total
      {{2, 2, 4, 3}, 2, 1, {3, 2}, {3, 2}, {1, 1}, {}, {}, {12, 5}, "SAME_UPPER"},
      {{2, 3, 9}, 2, 1, {4}, {3}, {2}, {2, 1}, {2}, {}, ""},                      // 1-D
      {{1, 2, 3, 4, 3}, 4, 2, {2, 3, 2}, {2, 1, 2}, {1, 1, 2}, {0, 1, 0, 1, 0, 1}, {}, {}, ""},  // 3-D
  };
  for (const Problem& p : problems) check_problem(p, rng);
}

void expect_error(const std::vector<Tensor>& inputs, ir::Attributes a, const std::string& needle) {
  EXPECT_TRUE(testing::op_fails_with("ConvTranspose", inputs, std::move(a), needle));
}

TEST(ConvTransposeOp, RejectsBadInputs) {
  std::mt19937 rng(8);
  const Tensor x = random_tensor({1, 4, 3, 3}, rng), w = random_tensor({4, 2, 3, 3}, rng);
  expect_error({random_tensor({4, 3}, rng), w}, {}, "rank 3 to 5");
  expect_error({x, random_tensor({4, 2, 3}, rng)}, {}, "weight W");
  expect_error({x, random_tensor({3, 2, 3, 3}, rng)}, {}, "channels");
  expect_error({x, w}, make_attrs({{"group", int64_t{3}}}), "group");
  expect_error({x, w}, make_attrs({{"strides", ints({0, 1})}}), "strides");
  expect_error({x, w}, make_attrs({{"pads", ints({1, 1})}}), "pads");
  expect_error({x, w}, make_attrs({{"pads", ints({3, 3, 3, 3})}}), "no output");
  expect_error({x, w}, make_attrs({{"output_padding", ints({1})}}), "output_padding");
  expect_error({x, w}, make_attrs({{"output_shape", ints({5, 5, 5})}}), "output_shape");
  expect_error({x, w}, make_attrs({{"output_shape", ints({0, 5})}}), "output_shape");
  expect_error({x, w, random_tensor({4}, rng)}, {}, "bias");
}

}  // namespace
}  // namespace lowbit::ops
