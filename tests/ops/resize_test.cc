// resize_test.cc: Resize and Upsample — ONNX's documented examples, every nearest_mode by hand,
// random linear problems against a naive multilinear loop under every coordinate mode,
// cubic reproducing linear ramps, the opset-10 rules, and rejected inputs (scale 1e9 included).
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ops/nn_test_util.h"
#include "ops/op_test_util.h"

namespace lowbit::ops {
namespace {

using nn_testing::all_close;
using nn_testing::make_attrs;
using nn_testing::random_tensor;
using testing::run_op;

Tensor f32(Shape s, std::vector<float> v) { return Tensor::from_vector<float>(std::move(s), v); }
Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v); }

TEST(ResizeOp, OnnxNearestExamples) {
  const Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  auto y = run_op("Resize", {x, Tensor(), f32({4}, {1, 1, 2, 3})}, make_attrs({{"mode", std::string("nearest")}}));
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 4, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}));
  // Upsample (opset 9) gives the same.
  y = run_op("Upsample", {x, f32({4}, {1, 1, 2, 3})}, make_attrs({{"mode", std::string("nearest")}}), 1, 9);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 4, 6}, {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4}));
  // Downsample 2×4 by 0.6: out 1×2; half_pixel x' = (x + 0.5)/0.6 − 0.5 = 0.33, 2.0 (W) -> [1, 3].
  const Tensor x8 = f32({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});
  y = run_op("Resize", {x8, Tensor(), f32({4}, {1, 1, 0.6f, 0.6f})});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 1, 2}, {1, 3}));
  // The same through sizes, with empty roi and scales tensors as opset 11 writers emit them.
  y = run_op("Resize", {x8, f32({0}, {}), f32({0}, {}), i64({1, 1, 1, 2})}, {}, 1, 11);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 1, 2}, {1, 3}));
}

TEST(ResizeOp, OnnxLinearExamples) {
  // Bilinear ×2, half_pixel (ONNX test_resize_upsample_scales_linear).
  auto y = run_op("Resize", {f32({1, 1, 2, 2}, {1, 2, 3, 4}), Tensor(), f32({4}, {1, 1, 2, 2})},
                  make_attrs({{"mode", std::string("linear")}}));
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 4, 4},
                        {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4}));
  // align_corners with scale 0.6 on W = 4: resized length 2.4, so x' = 1·3/1.4 and the
  // value 1 + 3/1.4 (ONNX test_resize_downsample_scales_linear_align_corners).
  y = run_op("Resize", {f32({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}), Tensor(), f32({4}, {1, 1, 0.6f, 0.6f})},
             make_attrs({{"mode", std::string("linear")}, {"coordinate_transformation_mode", std::string("align_corners")}}));
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 1, 2}, {1, 1.0f + 3.0f / 1.4f}));
}

TEST(ResizeOp, TfCropAndResize) {
  // 4×4 values 1..16 (value = 4h + w + 1), roi H [0.4, 0.6], W [0.6, 0.8], sizes 3×3:
  // h' = 1.2 + 0.3·i, w' = 1.8 + 0.3·j, bilinear of a linear ramp = 4h' + w' + 1.
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i + 1);
  const Tensor x = f32({1, 1, 4, 4}, v);
  const ir::Attributes a = make_attrs({{"mode", std::string("linear")},
                                       {"coordinate_transformation_mode", std::string("tf_crop_and_resize")},
                                       {"extrapolation_value", 10.0f}});
  auto y = run_op("Resize", {x, f32({8}, {0, 0, 0.4f, 0.6f, 1, 1, 0.6f, 0.8f}), Tensor(), i64({1, 1, 3, 3})}, a);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  std::vector<float> want;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) want.push_back(4 * (1.2f + 0.3f * i) + (1.8f + 0.3f * j) + 1);
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 3, 3}, want));
  // roi reaching past the input: coordinates beyond 3 give the extrapolation value.
  y = run_op("Resize", {x, f32({8}, {0, 0, 0.4f, 0.6f, 1, 1, 1.2f, 1.7f}), Tensor(), i64({1, 1, 3, 3})}, a);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  // h' = 1.2, 2.4, 3.6; w' = 1.8, 3.15, 4.5
  EXPECT_TRUE(all_close((*y)[0], {1, 1, 3, 3}, {4 * 1.2f + 1.8f + 1, 10, 10, 4 * 2.4f + 1.8f + 1, 10, 10, 10, 10, 10}));
}

std::vector<float> resize_1d(const std::vector<float>& v, int64_t out, const std::string& coord, const std::string& nearest,
                             int64_t opset = 13) {
  const Tensor x = f32({static_cast<int64_t>(v.size())}, v);
  ir::Attributes a = make_attrs({{"coordinate_transformation_mode", coord}, {"nearest_mode", nearest}});
  auto y = run_op("Resize", {x, Tensor(), Tensor(), i64({out})}, a, 1, opset);
  EXPECT_TRUE(y.is_ok()) << y.status().message();
  return y.is_ok() ? nn_testing::to_vector((*y)[0]) : std::vector<float>{};
}

TEST(ResizeOp, NearestModesByHand) {
  const std::vector<float> x{10, 20, 30, 40};
  // asymmetric ×2: x' = 0, .5, 1, 1.5, 2, 2.5, 3, 3.5 (ties decide)
  EXPECT_EQ(resize_1d(x, 8, "asymmetric", "round_prefer_floor"), (std::vector<float>{10, 10, 20, 20, 30, 30, 40, 40}));
  EXPECT_EQ(resize_1d(x, 8, "asymmetric", "round_prefer_ceil"), (std::vector<float>{10, 20, 20, 30, 30, 40, 40, 40}));
  // half_pixel ×2: x' = −.25, .25, .75, 1.25, 1.75, 2.25, 2.75, 3.25
  EXPECT_EQ(resize_1d(x, 8, "half_pixel", "floor"), (std::vector<float>{10, 10, 10, 20, 20, 30, 30, 40}));
  EXPECT_EQ(resize_1d(x, 8, "half_pixel", "ceil"), (std::vector<float>{10, 20, 20, 30, 30, 40, 40, 40}));
  EXPECT_EQ(resize_1d(x, 8, "half_pixel", "round_prefer_floor"), (std::vector<float>{10, 10, 20, 20, 30, 30, 40, 40}));
  // align_corners ×(7/4): x' = o·3/6 = o/2
  EXPECT_EQ(resize_1d(x, 7, "align_corners", "round_prefer_ceil"), (std::vector<float>{10, 20, 20, 30, 30, 40, 40}));
  // tf_half_pixel_for_nn ×2: x' = (o + .5)/2 = .25, .75, ... -> round: 0, 1, 1, 2, 2, 3, 3, 4→3
  EXPECT_EQ(resize_1d(x, 8, "tf_half_pixel_for_nn", "round_prefer_floor"),
            (std::vector<float>{10, 20, 20, 30, 30, 40, 40, 40}));
  // pytorch_half_pixel to one output: x' = 0
  EXPECT_EQ(resize_1d(x, 1, "pytorch_half_pixel", "round_prefer_floor"), (std::vector<float>{10}));
}

TEST(ResizeOp, Opset10UsesAsymmetricAndLegacyNearest) {
  // scale 0.6 on 5: out 3, x' = o/0.6 = 0, 1.67, 3.33 -> ceil when downsampling: 0, 2, 4.
  const Tensor x = f32({5}, {1, 2, 3, 4, 5});
  auto y = run_op("Resize", {x, f32({1}, {0.6f})}, {}, 1, 10);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {3}, {1, 3, 5}));
  // Upsampling ×2.5 floors: x' = o/2.5.
  y = run_op("Resize", {f32({2}, {1, 2}), f32({1}, {2.5f})}, {}, 1, 10);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {5}, {1, 1, 1, 2, 2}));
  // Linear, asymmetric: x' = o/2 on [0, 4] -> 0, 2, 4, 4 (clamped).
  y = run_op("Resize", {f32({2}, {0, 4}), f32({1}, {2.0f})}, make_attrs({{"mode", std::string("linear")}}), 1, 10);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {4}, {0, 2, 4, 4}));
}

// Input coordinate per ONNX for the linear tests (length = in · scale).
double coord(const std::string& mode, double o, double scale, double in, double out) {
  const double length = in * scale;
  if (mode == "half_pixel") return (o + 0.5) / scale - 0.5;
  if (mode == "pytorch_half_pixel") return out > 1 ? (o + 0.5) / scale - 0.5 : 0.0;
  if (mode == "align_corners") return length == 1 ? 0.0 : o * (in - 1) / (length - 1);
  return o / scale;  // asymmetric
}

// Naive multilinear resize: each output sums 2^rank corners.
std::vector<float> naive_linear(const Tensor& x, const Shape& out, const std::vector<double>& scales, const std::string& mode) {
  const Shape& in = x.shape();
  const size_t r = in.size();
  int64_t total = 1;
  for (int64_t d : out) total *= d;
  std::vector<float> y;
  std::vector<int64_t> o(r, 0);
  for (int64_t flat = 0; flat < total; ++flat) {
    for (int64_t d = static_cast<int64_t>(r) - 1, rem = flat; d >= 0; --d) {
      o[static_cast<size_t>(d)] = rem % out[static_cast<size_t>(d)];
      rem /= out[static_cast<size_t>(d)];
    }
    double acc = 0.0;
    for (int64_t corner = 0; corner < (int64_t{1} << r); ++corner) {
      double w = 1.0;
      int64_t off = 0;
      for (size_t d = 0; d < r; ++d) {
        const double c = coord(mode, static_cast<double>(o[d]), scales[d], static_cast<double>(in[d]),
                               static_cast<double>(out[d]));
        const double f = std::floor(c), t = c - f;
        const bool hi = (corner >> d) & 1;
        const int64_t i = std::clamp<int64_t>(static_cast<int64_t>(f) + hi, 0, in[d] - 1);
        w *= hi ? t : 1.0 - t;
        off = off * in[d] + i;
      }
      acc += w * x.data<float>()[off];
    }
    y.push_back(static_cast<float>(acc));
  }
  return y;
}

TEST(ResizeOp, RandomLinearMatchesNaive) {
  std::mt19937 rng(61);
  struct Case {
    Shape x;
    std::vector<float> scales;  // empty: use sizes
    std::vector<int64_t> sizes;
  };
  const std::vector<Case> cases = {
      {{2, 3, 5, 7}, {1, 1, 2, 2}, {}},       {{2, 3, 5, 7}, {1, 1, 0.5f, 1.5f}, {}},
      {{1, 2, 6, 6}, {1, 1, 1.7f, 0.8f}, {}}, {{2, 2, 7, 5}, {}, {2, 2, 3, 11}},
      {{1, 1, 4, 9}, {}, {1, 1, 1, 4}},       {{3, 2, 9}, {1, 1, 2.5f}, {}},
      {{1, 2, 3, 4, 5}, {1, 1, 2, 1.5f, 0.6f}, {}}, {{2, 3, 4, 4}, {}, {1, 3, 6, 4}},  // resizes N too
  };
  for (const std::string mode : {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"})
    for (const Case& c : cases) {
      const Tensor x = random_tensor(c.x, rng);
      Shape out;
      std::vector<double> scales;
      for (size_t d = 0; d < c.x.size(); ++d) {
        if (c.scales.empty()) {
          out.push_back(c.sizes[d]);
          scales.push_back(static_cast<double>(c.sizes[d]) / static_cast<double>(c.x[d]));
        } else {
          out.push_back(static_cast<int64_t>(std::floor(c.x[d] * static_cast<double>(c.scales[d]))));
          scales.push_back(c.scales[d]);
        }
      }
      const ir::Attributes a =
          make_attrs({{"mode", std::string("linear")}, {"coordinate_transformation_mode", mode}});
      const Tensor sc = c.scales.empty() ? Tensor() : f32({static_cast<int64_t>(c.scales.size())}, c.scales);
      const Tensor sz = c.scales.empty() ? i64(c.sizes) : Tensor();
      auto y = run_op("Resize", {x, Tensor(), sc, sz}, a);
      ASSERT_TRUE(y.is_ok()) << y.status().message();
      EXPECT_TRUE(all_close((*y)[0], out, naive_linear(x, out, scales, mode))) << mode << " x=" << shape_str(c.x);
    }
}

TEST(ResizeOp, CubicReproducesLinearRamps) {
  // Keys' cubic kernel reproduces linear functions wherever all four taps are inside the input.
  std::vector<float> ramp(10);
  for (int i = 0; i < 10; ++i) ramp[static_cast<size_t>(i)] = 3.0f * static_cast<float>(i) - 7.0f;
  for (int64_t exclude : {0, 1}) {
    auto y = run_op("Resize", {f32({10}, ramp), Tensor(), f32({1}, {2.0f})},
                    make_attrs({{"mode", std::string("cubic")}, {"exclude_outside", exclude}, {"cubic_coeff_a", -0.5f}}));
    ASSERT_TRUE(y.is_ok()) << y.status().message();
    const Tensor& t = (*y)[0];
    ASSERT_EQ(t.shape(), (Shape{20}));
    for (int o = 3; o < 17; ++o) {  // x' = (o + .5)/2 − .5 in [1.25, 7.75]
      const double xs = (o + 0.5) / 2.0 - 0.5;
      EXPECT_NEAR(t.data<float>()[o], 3.0 * xs - 7.0, 1e-4) << "o=" << o;
    }
  }
}

TEST(ResizeOp, RejectsBadInputs) {
  const Tensor x = f32({1, 1, 2, 2}, {1, 2, 3, 4});
  auto expect_error = [](const std::vector<Tensor>& in, ir::Attributes a, const std::string& needle, int64_t opset = 13) {
    auto y = run_op("Resize", in, std::move(a), 1, opset);
    ASSERT_FALSE(y.is_ok()) << needle;
    SCOPED_TRACE(needle);
    EXPECT_NE(y.status().message().find(needle), std::string::npos) << y.status().message();
  };
  // Scale 1e9 on both spatial dims: 4e18 elements; Tensor::make refuses, nothing crashes.
  expect_error({x, Tensor(), f32({4}, {1, 1, 1e9f, 1e9f})}, {}, "limit");
  expect_error({x, Tensor(), f32({4}, {1, 1, 1e30f, 1e30f})}, {}, "too large");
  expect_error({x, Tensor(), Tensor(), i64({1, 1, int64_t{1} << 40, int64_t{1} << 40})}, {}, "overflows");
  expect_error({x, Tensor(), f32({4}, {1, 1, 0, 2})}, {}, "positive");
  expect_error({x, Tensor(), f32({4}, {1, 1, -2, 2})}, {}, "positive");
  expect_error({x, Tensor(), f32({4}, {1, 1, NAN, 2})}, {}, "positive");
  expect_error({x, Tensor(), f32({3}, {1, 2, 2})}, {}, "scales has 3 values");
  expect_error({x, Tensor(), Tensor(), i64({1, 1, 2})}, {}, "sizes has 3 values");
  expect_error({x, Tensor(), Tensor(), i64({1, 1, -2, 2})}, {}, "out of range");
  expect_error({x, Tensor(), f32({4}, {1, 1, 2, 2}), i64({1, 1, 4, 4})}, {}, "only one");
  expect_error({x}, {}, "neither");
  expect_error({x, Tensor(), f32({4}, {1, 1, 2, 2})}, make_attrs({{"mode", std::string("area")}}), "unsupported mode");
  expect_error({x, f32({4}, {1, 1, 2, 2})}, make_attrs({{"mode", std::string("cubic")}}), "unsupported mode", 10);
  expect_error({x, Tensor(), f32({4}, {1, 1, 2, 2})},
               make_attrs({{"coordinate_transformation_mode", std::string("corner")}}), "coordinate_transformation_mode");
  expect_error({x, Tensor(), f32({4}, {1, 1, 2, 2})}, make_attrs({{"nearest_mode", std::string("up")}}), "nearest_mode");
  expect_error({x, f32({2}, {0, 1}), Tensor(), i64({1, 1, 3, 3})},
               make_attrs({{"coordinate_transformation_mode", std::string("tf_crop_and_resize")}}), "roi");
  expect_error({Tensor::scalar(1.0f), Tensor(), f32({0}, {})}, {}, "rank >= 1");
}

}  // namespace
}  // namespace lowbit::ops
