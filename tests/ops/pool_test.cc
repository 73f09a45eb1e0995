// pool_test.cc: MaxPool / AveragePool / GlobalAveragePool / GlobalMaxPool — ONNX's documented
// examples, random problems against naive window loops (pads, strides, dilations, ceil_mode,
// every auto_pad, count_include_pad, 1-D / 3-D, argmax indices in both storage orders,
// uint8), and rejected inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>

#include "ops/nn_test_util.h"
#include "ops/op_test_util.h"

namespace lowbit::ops {
namespace {

using nn_testing::all_close;
using nn_testing::ints;
using nn_testing::make_attrs;
using nn_testing::random_tensor;
using testing::run_op;

Tensor iota(Shape shape, float start = 1.0f) {
  Tensor t = Tensor::zeros(DType::kF32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = start + static_cast<float>(i);
  return t;
}

TEST(PoolOp, OnnxExamples) {
  // 5×5 kernel, pads 2: each output is the max of the in-bounds window, i.e. its bottom-right corner.
  auto y = run_op("MaxPool", {iota({1, 1, 5, 5})}, make_attrs({{"kernel_shape", ints({5, 5})}, {"pads", ints({2, 2, 2, 2})}}));
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 5, 5}, {13, 14, 15, 15, 15, 18, 19, 20, 20, 20, 23, 24, 25, 25, 25,
                                                23, 24, 25, 25, 25, 23, 24, 25, 25, 25}));
  // ceil_mode: 4×4, kernel 3, stride 2 -> 2×2 (the last window hangs over the edge).
  y = run_op("MaxPool", {iota({1, 1, 4, 4})},
             make_attrs({{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"ceil_mode", int64_t{1}}}));
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 2, 2}, {11, 12, 15, 16}));
  y = run_op("AveragePool", {iota({1, 1, 4, 4})},
             make_attrs({{"kernel_shape", ints({3, 3})}, {"strides", ints({2, 2})}, {"ceil_mode", int64_t{1}}}));
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 2, 2}, {6, 7.5, 12, 13.5}));
}

TEST(PoolOp, ArgmaxIndicesInBothStorageOrders) {
  // 2×2 windows, stride 2 over 5×5 values 1..25: maxima 7, 9, 17, 19 at (1,1), (1,3), (3,1), (3,3).
  for (int64_t order : {0, 1}) {
    auto y = run_op("MaxPool", {iota({1, 1, 5, 5})},
                    make_attrs({{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}, {"storage_order", order}}), 2);
    ASSERT_TRUE(y.is_ok()) << y.status().message();
    EXPECT_TRUE(all_close((*y)[0], {1, 1, 2, 2}, {7, 9, 17, 19}));
    const Tensor& idx = (*y)[1];
    ASSERT_EQ(idx.dtype(), DType::kI64);
    const std::vector<int64_t> got(idx.data<int64_t>(), idx.data<int64_t>() + 4);
    // row major h·W + w; column major w·H + h
    EXPECT_EQ(got, order == 0 ? (std::vector<int64_t>{6, 8, 16, 18}) : (std::vector<int64_t>{6, 16, 8, 18}));
  }
  // Indices count whole planes before the current one: second channel of the second image.
  auto y = run_op("MaxPool", {iota({2, 2, 2, 2})}, make_attrs({{"kernel_shape", ints({2, 2})}}), 2);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_EQ((*y)[1].data<int64_t>()[3], 15);
}

TEST(PoolOp, AveragePoolPaddingCountByHand) {
  // x = [[1,2],[3,4]], kernel 2, pads 1: nine windows, each holding 1, 2 or 4 input values.
  const Tensor x = Tensor::from_vector<float>({1, 1, 2, 2}, {1, 2, 3, 4});
  const ir::Attributes base = make_attrs({{"kernel_shape", ints({2, 2})}, {"pads", ints({1, 1, 1, 1})}});
  auto y = run_op("AveragePool", {x}, base);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 3, 3}, {1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4}));
  ir::Attributes inc = base;
  inc.set("count_include_pad", int64_t{1});
  y = run_op("AveragePool", {x}, inc);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 3, 3}, {0.25, 0.75, 0.5, 1, 2.5, 1.5, 0.75, 1.75, 1}));
}

TEST(PoolOp, GlobalPoolsByHand) {
  const Tensor x = Tensor::from_vector<float>({1, 2, 2, 2}, {1, 2, 3, 6, -1, -2, -3, -4});
  auto y = run_op("GlobalAveragePool", {x});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 2, 1, 1}, {3, -2.5}));
  y = run_op("GlobalMaxPool", {x});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 2, 1, 1}, {6, -1}));
  y = run_op("GlobalAveragePool", {x.reshaped({1, 2, 4})});  // 1-D spatial
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 2, 1}, {3, -2.5}));
}

struct Problem {
  Shape x;
  std::vector<int64_t> k, s, d, pads;
  std::string auto_pad;
  bool ceil;
};

struct Geometry {
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, pb{0, 0, 0}, pe{0, 0, 0};
};

Geometry geometry(const Problem& p) {
  Geometry g;
  const size_t rank = p.k.size();
  for (size_t i = 0; i < rank; ++i) {
    const size_t j = 3 - rank + i;
    const int64_t in = p.x[2 + i], ek = (p.k[i] - 1) * p.d[i] + 1, s = p.s[i];
    int64_t out, pb, pe;
    if (p.auto_pad == "SAME_UPPER" || p.auto_pad == "SAME_LOWER") {
      out = (in + s - 1) / s;
      const int64_t total = std::max<int64_t>(0, (out - 1) * s + ek - in);
      pb = p.auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      pe = total - pb;
    } else if (p.auto_pad == "VALID") {
      pb = pe = 0;
      out = (in - ek) / s + 1;
    } else {
      pb = p.pads[i], pe = p.pads[i + rank];
      const int64_t span = in + pb + pe - ek;
      out = p.ceil ? (span + s - 1) / s + 1 : span / s + 1;
      if (p.ceil && (out - 1) * s >= in + pb) --out;
    }
    g.in[j] = in, g.out[j] = out, g.k[j] = p.k[i], g.s[j] = s, g.d[j] = p.d[i], g.pb[j] = pb, g.pe[j] = pe;
  }
  return g;
}

// Naive pools over every window tap; kind 0 max (with row-major flat argmax), 1 avg, 2 avg
// counting padding.
void naive_pool(const Problem& p, const Geometry& g, const float* x, int kind, std::vector<float>* y,
                std::vector<int64_t>* arg) {
  const int64_t planes = p.x[0] * p.x[1], in_sz = g.in[0] * g.in[1] * g.in[2];
  for (int64_t pl = 0; pl < planes; ++pl)
    for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
      for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
        for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t best_i = -1;
          double sum = 0.0;
          int64_t valid = 0, padded = 0;
          for (int64_t k0 = 0; k0 < g.k[0]; ++k0)
            for (int64_t k1 = 0; k1 < g.k[1]; ++k1)
              for (int64_t k2 = 0; k2 < g.k[2]; ++k2) {
                const int64_t i[3] = {o0 * g.s[0] - g.pb[0] + k0 * g.d[0], o1 * g.s[1] - g.pb[1] + k1 * g.d[1],
                                      o2 * g.s[2] - g.pb[2] + k2 * g.d[2]};
                bool inside = true, in_pad_extent = true;
                for (int a = 0; a < 3; ++a) {
                  inside = inside && i[a] >= 0 && i[a] < g.in[a];
                  in_pad_extent = in_pad_extent && i[a] >= -g.pb[a] && i[a] < g.in[a] + g.pe[a];
                }
                padded += in_pad_extent;
                if (!inside) continue;
                const int64_t flat = pl * in_sz + (i[0] * g.in[1] + i[1]) * g.in[2] + i[2];
                ++valid;
                sum += x[flat];
                if (x[flat] > best) best = x[flat], best_i = flat;
              }
          if (kind == 0) {
            y->push_back(best);
            arg->push_back(best_i);
          } else {
            y->push_back(static_cast<float>(sum / static_cast<double>(kind == 1 ? valid : padded)));
          }
        }
}

TEST(PoolOp, RandomProblemsMatchNaive) {
  std::mt19937 rng(51);
  const std::vector<Problem> problems = {
      {{2, 3, 8, 8}, {2, 2}, {2, 2}, {1, 1}, {0, 0, 0, 0}, "", false},
      {{2, 3, 9, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, "", false},
      {{1, 4, 9, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 0, 1, 1}, "", true},
      {{3, 2, 10, 11}, {3, 2}, {3, 2}, {1, 1}, {0, 0, 0, 0}, "", true},
      {{2, 2, 11, 9}, {3, 3}, {2, 1}, {2, 3}, {2, 1, 2, 2}, "", false},
      {{2, 3, 7, 8}, {3, 2}, {2, 3}, {1, 1}, {}, "SAME_UPPER", false},
      {{2, 3, 7, 8}, {3, 2}, {2, 3}, {1, 1}, {}, "SAME_LOWER", false},
      {{2, 3, 7, 8}, {3, 2}, {2, 2}, {1, 1}, {}, "VALID", false},
      {{2, 3, 17}, {4}, {3}, {1}, {1, 2}, "", true},                       // 1-D
      {{1, 2, 5, 6, 7}, {2, 3, 2}, {2, 2, 1}, {1, 1, 2}, {0, 1, 1, 1, 0, 1}, "", false},  // 3-D
  };
  for (const Problem& p : problems) {
    const Geometry g = geometry(p);
    const Tensor x = random_tensor(p.x, rng);
    Shape out_shape{p.x[0], p.x[1]};
    for (size_t i = 0; i < p.k.size(); ++i) out_shape.push_back(g.out[3 - p.k.size() + i]);
    ir::Attributes a = make_attrs({{"kernel_shape", p.k}, {"strides", p.s}, {"ceil_mode", int64_t{p.ceil}}});
    if (p.auto_pad.empty()) {
      a.set("pads", p.pads);
    } else {
      a.set("auto_pad", p.auto_pad);
    }
    ir::Attributes amax = a;
    amax.set("dilations", p.d);
    std::vector<float> want;
    std::vector<int64_t> want_arg;
    naive_pool(p, g, x.data<float>(), 0, &want, &want_arg);
    auto y = run_op("MaxPool", {x}, amax, 2, 12);
    ASSERT_TRUE(y.is_ok()) << y.status().message();
    EXPECT_TRUE(all_close((*y)[0], out_shape, want)) << "MaxPool x=" << shape_str(p.x) << " " << p.auto_pad;
    const int64_t* got_arg = (*y)[1].data<int64_t>();
    ASSERT_EQ((*y)[1].numel(), static_cast<int64_t>(want_arg.size()));
    for (size_t i = 0; i < want_arg.size(); ++i) EXPECT_EQ(got_arg[i], want_arg[i]) << "argmax " << i;
    // AveragePool has no dilations before opset 19.
    if (std::any_of(p.d.begin(), p.d.end(), [](int64_t v) { return v != 1; })) continue;
    for (int64_t include : {0, 1}) {
      std::vector<float> want_avg;
      naive_pool(p, g, x.data<float>(), include ? 2 : 1, &want_avg, nullptr);
      ir::Attributes aavg = a;
      aavg.set("count_include_pad", include);
      y = run_op("AveragePool", {x}, aavg);
      ASSERT_TRUE(y.is_ok()) << y.status().message();
      EXPECT_TRUE(all_close((*y)[0], out_shape, want_avg))
          << "AveragePool x=" << shape_str(p.x) << " " << p.auto_pad << " include_pad=" << include;
    }
  }
}

TEST(PoolOp, MaxPoolOnUint8AndInt8) {
  const Tensor x = Tensor::from_vector<uint8_t>({1, 1, 2, 3}, {7, 250, 3, 9, 0, 255});
  auto y = run_op("MaxPool", {x}, make_attrs({{"kernel_shape", ints({2, 2})}}), 1, 12);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  ASSERT_EQ((*y)[0].dtype(), DType::kU8);
  EXPECT_EQ((*y)[0].data<uint8_t>()[0], 250);
  EXPECT_EQ((*y)[0].data<uint8_t>()[1], 255);
  const Tensor xi = Tensor::from_vector<int8_t>({1, 1, 1, 3}, {-128, -5, -7});
  y = run_op("MaxPool", {xi}, make_attrs({{"kernel_shape", ints({1, 2})}}), 1, 12);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_EQ((*y)[0].data<int8_t>()[0], -5);
  EXPECT_EQ((*y)[0].data<int8_t>()[1], -5);
}

TEST(PoolOp, RejectsBadInputs) {
  std::mt19937 rng(52);
  const Tensor x = random_tensor({1, 2, 4, 4}, rng);
  auto expect_error = [](const std::string& op, const Tensor& in, ir::Attributes a, const std::string& needle) {
    auto y = run_op(op, {in}, std::move(a));
    ASSERT_FALSE(y.is_ok()) << op << " " << needle;
    EXPECT_NE(y.status().message().find(needle), std::string::npos) << y.status().message();
  };
  for (const std::string op : {"MaxPool", "AveragePool"}) {
    expect_error(op, x, {}, "kernel_shape");
    expect_error(op, x, make_attrs({{"kernel_shape", ints({2})}}), "kernel_shape");
    expect_error(op, random_tensor({4, 4}, rng), make_attrs({{"kernel_shape", ints({2, 2})}}), "rank 3 to 5");
    expect_error(op, x, make_attrs({{"kernel_shape", ints({5, 5})}}), "larger than the padded input");
    expect_error(op, x, make_attrs({{"kernel_shape", ints({2, 2})}, {"strides", ints({0, 1})}}), "strides");
    expect_error(op, x, make_attrs({{"kernel_shape", ints({2, 2})}, {"pads", ints({1, 1})}}), "pads");
    expect_error(op, x, make_attrs({{"kernel_shape", ints({0, 2})}}), "kernel_shape");
  }
  expect_error("MaxPool", x, make_attrs({{"kernel_shape", ints({2, 2})}, {"storage_order", int64_t{2}}}), "storage_order");
  expect_error("AveragePool", Tensor::from_vector<uint8_t>({1, 1, 2, 2}, {1, 2, 3, 4}),
               make_attrs({{"kernel_shape", ints({2, 2})}}), "float32");
  expect_error("GlobalAveragePool", random_tensor({2, 3}, rng), {}, "rank >= 3");
}

}  // namespace
}  // namespace lowbit::ops
