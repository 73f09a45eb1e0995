// qlinear_ops_test.cc: ONNX's integer ops — ConvInteger, MatMulInteger, QLinearConv and
// QLinearMatMul — against naive reference loops written here (int64 sums, double requantization),
// hand-computed rounding and saturation cases, error cases, and a graph of them run through
// prepare_graph and Session.
#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "exec/model.h"
#include "exec/session.h"
#include "ops/op_test_util.h"

namespace lowbit::ops {
namespace {

using testing::op_fails_with;
using testing::run_op;

template <typename T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

std::vector<int64_t> values_i64(const Tensor& t) {
  std::vector<int64_t> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = t.at_i64(i);
  return v;
}

// A tensor of dtype u8 or i8 with uniform random values over the whole range.
Tensor random_q(DType t, Shape shape, std::mt19937& rng) {
  Tensor x = Tensor::zeros(t, std::move(shape));
  std::uniform_int_distribution<int> d(t == DType::kI8 ? -128 : 0, t == DType::kI8 ? 127 : 255);
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int v = d(rng);
    if (t == DType::kI8) x.data<int8_t>()[i] = static_cast<int8_t>(v);
    else x.data<uint8_t>()[i] = static_cast<uint8_t>(v);
  }
  return x;
}

// A zero point tensor of dtype t (shape {} or {n}) holding `v`.
Tensor zp_tensor(DType t, Shape shape, const std::vector<int64_t>& v) {
  Tensor z = Tensor::zeros(t, std::move(shape));
  for (size_t i = 0; i < v.size(); ++i) {
    if (t == DType::kI8) z.data<int8_t>()[i] = static_cast<int8_t>(v[i]);
    else z.data<uint8_t>()[i] = static_cast<uint8_t>(v[i]);
  }
  return z;
}

std::vector<int64_t> random_zps(DType t, int64_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(t == DType::kI8 ? -128 : 0, t == DType::kI8 ? 127 : 255);
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t& z : v) z = d(rng);
  return v;
}

std::vector<float> random_scales(int64_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(0.001f, 0.05f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& s : v) s = d(rng);
  return v;
}

// The requantization the ops define (ONNX's reference): the multiplier in float32 as
// s1 · s2 / s3, the product with the int64 sum in double, rounded half to even, then the
// zero point and saturation.
int64_t ref_requant(int64_t acc, float s1, float s2, float s3, int64_t zero, DType out) {
  const float m = s1 * s2 / s3;
  const double r = std::nearbyint(static_cast<double>(acc) * static_cast<double>(m)) + static_cast<double>(zero);
  const double lo = out == DType::kI8 ? -128 : 0, hi = out == DType::kI8 ? 127 : 255;
  return static_cast<int64_t>(std::clamp(r, lo, hi));
}

// --- Convolution reference ------------------------------------------------------------

struct ConvSpec {
  Shape x, w;  // [N, C, spatial...], [M, C / group, kernel...]
  int64_t group = 1;
  std::vector<int64_t> strides, pads, dilations;  // empty: the defaults
  std::string auto_pad;                           // "" : not set
  std::vector<int64_t> ref_pads;                  // pads the reference uses when auto_pad is set
};

ConvSpec spec(Shape x, Shape w, int64_t group = 1, std::vector<int64_t> strides = {}, std::vector<int64_t> pads = {},
               std::vector<int64_t> dilations = {}) {
  ConvSpec s;
  s.x = std::move(x);
  s.w = std::move(w);
  s.group = group;
  s.strides = std::move(strides);
  s.pads = std::move(pads);
  s.dilations = std::move(dilations);
  return s;
}

ir::Attributes conv_attrs(const ConvSpec& s) {
  ir::Attributes a;
  if (s.group != 1) a.set("group", s.group);
  if (!s.strides.empty()) a.set("strides", s.strides);
  if (!s.pads.empty()) a.set("pads", s.pads);
  if (!s.dilations.empty()) a.set("dilations", s.dilations);
  if (!s.auto_pad.empty()) a.set("auto_pad", s.auto_pad);
  return a;
}

// acc[n][m][o] = bias[m] + Σ_{c, k} (x − xz) · (w − wz[m]) in int64, straight from the definition.
std::vector<int64_t> ref_conv(const ConvSpec& s, const Tensor& x, int64_t xz, const Tensor& w,
                              const std::vector<int64_t>& wz, const std::vector<int64_t>& bias, Shape* out) {
  const size_t r = s.x.size() - 2;
  const std::vector<int64_t>& pads = !s.ref_pads.empty() ? s.ref_pads : s.pads;
  // Spatial sizes padded in front to three dims.
  int64_t in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, st[3] = {1, 1, 1}, dl[3] = {1, 1, 1}, pb[3] = {0, 0, 0}, o[3] = {1, 1, 1};
  *out = {s.x[0], s.w[0]};
  for (size_t i = 0; i < r; ++i) {
    const size_t j = 3 - r + i;
    in[j] = s.x[2 + i];
    k[j] = s.w[2 + i];
    if (!s.strides.empty()) st[j] = s.strides[i];
    if (!s.dilations.empty()) dl[j] = s.dilations[i];
    const int64_t pe = pads.empty() ? 0 : pads[i + r];
    if (!pads.empty()) pb[j] = pads[i];
    o[j] = (in[j] + pb[j] + pe - ((k[j] - 1) * dl[j] + 1)) / st[j] + 1;
    out->push_back(o[j]);
  }
  const int64_t N = s.x[0], C = s.x[1], M = s.w[0], Cg = C / s.group, Mg = M / s.group;
  std::vector<int64_t> acc;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t od = 0; od < o[0]; ++od)
        for (int64_t oh = 0; oh < o[1]; ++oh)
          for (int64_t ow = 0; ow < o[2]; ++ow) {
            int64_t sum = bias.empty() ? 0 : bias[static_cast<size_t>(m)];
            const int64_t g = m / Mg;
            for (int64_t c = 0; c < Cg; ++c)
              for (int64_t kd = 0; kd < k[0]; ++kd)
                for (int64_t kh = 0; kh < k[1]; ++kh)
                  for (int64_t kw = 0; kw < k[2]; ++kw) {
                    const int64_t id = od * st[0] - pb[0] + kd * dl[0], ih = oh * st[1] - pb[1] + kh * dl[1],
                                  iw = ow * st[2] - pb[2] + kw * dl[2];
                    if (id < 0 || id >= in[0] || ih < 0 || ih >= in[1] || iw < 0 || iw >= in[2]) continue;
                    const int64_t xi = (((n * C + g * Cg + c) * in[0] + id) * in[1] + ih) * in[2] + iw;
                    const int64_t wi = (((m * Cg + c) * k[0] + kd) * k[1] + kh) * k[2] + kw;
                    sum += (x.at_i64(xi) - xz) * (w.at_i64(wi) - wz[static_cast<size_t>(m)]);
                  }
            acc.push_back(sum);
          }
  return acc;
}

// Shapes and attributes the conv tests sweep: 1-D, 2-D, 3-D; groups; strides, pads, dilations.
std::vector<ConvSpec> conv_specs() {
  std::vector<ConvSpec> v;
  v.push_back(spec({2, 3, 6, 7}, {4, 3, 3, 3}));
  v.push_back(spec({1, 4, 7, 6}, {6, 2, 3, 2}, 2, {2, 1}, {1, 0, 2, 1}, {1, 2}));
  v.push_back(spec({2, 4, 5, 5}, {4, 1, 3, 3}, 4, {1, 1}, {1, 1, 1, 1}));  // depthwise
  v.push_back(spec({1, 3, 9}, {2, 3, 4}, 1, {3}, {2, 1}, {2}));           // 1-D
  v.push_back(spec({1, 2, 4, 5, 3}, {3, 2, 2, 3, 2}, 1, {1, 2, 1}, {0, 1, 1, 1, 0, 0}));  // 3-D
  ConvSpec same = spec({1, 2, 7, 7}, {2, 2, 3, 3}, 1, {2, 2});
  same.auto_pad = "SAME_UPPER";
  same.ref_pads = {1, 1, 1, 1};  // out = ceil(7 / 2) = 4; total pad (4 − 1)·2 + 3 − 7 = 2
  v.push_back(same);
  v.push_back(spec({3, 1, 1, 1}, {5, 1, 1, 1}));  // 1×1
  return v;
}

const DType kTypes[] = {DType::kU8, DType::kI8};

TEST(ConvInteger, MatchesReferenceOverDtypesZeroPointsAndGeometry) {
  std::mt19937 rng(11);
  for (const ConvSpec& s : conv_specs())
    for (DType xt : kTypes)
      for (DType wt : kTypes)
        for (bool per_channel : {false, true}) {
          SCOPED_TRACE(shape_str(s.x) + " " + shape_str(s.w) + " x " + std::string(dtype_name(xt)) + " w " +
                       std::string(dtype_name(wt)) + (per_channel ? " per-channel" : ""));
          const int64_t M = s.w[0];
          const Tensor x = random_q(xt, s.x, rng), w = random_q(wt, s.w, rng);
          const std::vector<int64_t> xz = random_zps(xt, 1, rng), wz = random_zps(wt, per_channel ? M : 1, rng);
          auto y = run_op("ConvInteger", {x, w, zp_tensor(xt, {}, xz), zp_tensor(wt, per_channel ? Shape{M} : Shape{}, wz)},
                          conv_attrs(s));
          ASSERT_TRUE(y.is_ok()) << y.status().message();
          std::vector<int64_t> wzm(static_cast<size_t>(M), wz[0]);
          if (per_channel) wzm = wz;
          Shape out;
          const std::vector<int64_t> want = ref_conv(s, x, xz[0], w, wzm, {}, &out);
          ASSERT_EQ((*y)[0].dtype(), DType::kI32);
          ASSERT_EQ((*y)[0].shape(), out);
          EXPECT_EQ(values_i64((*y)[0]), want);
        }
}

TEST(ConvInteger, ZeroPointsDefaultToZeroAndPaddingReadsTheZeroPoint) {
  // x = [[1, 2], [3, 4]] (zero point 1), w = 1s (2×2), pads 1: each output sums the inputs it
  // covers minus 1 each; the padding contributes (x_zero − x_zero) = 0.
  const Tensor x = Tensor::from_vector<uint8_t>({1, 1, 2, 2}, {1, 2, 3, 4});
  const Tensor w = Tensor::from_vector<uint8_t>({1, 1, 2, 2}, {1, 1, 1, 1});
  ir::Attributes a;
  a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  auto y = run_op("ConvInteger", {x, w, Tensor::scalar<uint8_t>(1)}, a);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  // x − 1 = [[0, 1], [2, 3]].
  EXPECT_EQ(values<int32_t>((*y)[0]), (std::vector<int32_t>{0, 1, 1, 2, 6, 4, 2, 5, 3}));
  auto y0 = run_op("ConvInteger", {x, w});
  ASSERT_TRUE(y0.is_ok()) << y0.status().message();
  EXPECT_EQ(values<int32_t>((*y0)[0]), (std::vector<int32_t>{10}));
}

TEST(ConvInteger, RejectsBadInputs) {
  const Tensor x = Tensor::zeros(DType::kU8, {1, 2, 4, 4});
  const Tensor w = Tensor::zeros(DType::kI8, {2, 2, 3, 3});
  EXPECT_TRUE(op_fails_with("ConvInteger", {Tensor::zeros(DType::kF32, {1, 2, 4, 4}), w}, {}, "does not support input x of dtype f32"));
  EXPECT_TRUE(op_fails_with("ConvInteger", {x, w, Tensor::scalar<int8_t>(0)}, {}, "x_zero_point is i8, its tensor is u8"));
  EXPECT_TRUE(op_fails_with("ConvInteger", {x, w, Tensor::scalar<uint8_t>(0), Tensor::zeros(DType::kI8, {3})}, {},
                            "w_zero_point has shape [3], expected a scalar or [2]"));
  EXPECT_TRUE(op_fails_with("ConvInteger", {x, w, Tensor::zeros(DType::kU8, {2})}, {}, "x_zero_point has shape [2], expected a scalar"));
  ir::Attributes g3;
  g3.set("group", int64_t{3});
  EXPECT_TRUE(op_fails_with("ConvInteger", {x, w}, g3, "group 3 does not divide the 2 input channels"));
  ir::Attributes g2;
  g2.set("group", int64_t{2});
  EXPECT_TRUE(op_fails_with("ConvInteger", {x, w}, g2, "has 2 input channels per group, X has 2 channels in 2 groups of 1"));
  EXPECT_TRUE(op_fails_with("ConvInteger", {x, Tensor::zeros(DType::kI8, {2, 2, 5, 5})}, {}, "larger than the padded input"));
  // A hostile pad: the output would be ~2^62 elements, refused before anything is allocated.
  ir::Attributes huge;
  huge.set("pads", std::vector<int64_t>{int64_t{1} << 31, int64_t{1} << 31, int64_t{1} << 31, int64_t{1} << 31});
  Result<std::vector<Tensor>> r = run_op("ConvInteger", {x, w}, huge);
  EXPECT_FALSE(r.is_ok());
}

// --- QLinearConv --------------------------------------------------------------------------

TEST(QLinearConv, MatchesReferenceWithPerChannelParamsBiasAndBothOutputTypes) {
  std::mt19937 rng(23);
  for (const ConvSpec& s : conv_specs())
    for (DType xt : kTypes)
      for (DType wt : kTypes)
        for (DType yt : kTypes) {
          const bool per_channel = xt != wt;  // both granularities over the sweep
          SCOPED_TRACE(shape_str(s.x) + " " + shape_str(s.w) + " x " + std::string(dtype_name(xt)) + " w " +
                       std::string(dtype_name(wt)) + " y " + std::string(dtype_name(yt)));
          const int64_t M = s.w[0];
          const int64_t nw = per_channel ? M : 1;
          const Shape ws_shape = per_channel ? Shape{M} : Shape{};
          const Tensor x = random_q(xt, s.x, rng), w = random_q(wt, s.w, rng);
          const std::vector<int64_t> xz = random_zps(xt, 1, rng), wz = random_zps(wt, nw, rng), yz = random_zps(yt, 1, rng);
          const float xs = random_scales(1, rng)[0], ys = random_scales(1, rng)[0] * 4.f;
          const std::vector<float> ws = random_scales(nw, rng);
          std::vector<int32_t> bias(static_cast<size_t>(M));
          std::uniform_int_distribution<int32_t> bd(-5000, 5000);
          for (int32_t& b : bias) b = bd(rng);
          auto y = run_op("QLinearConv",
                          {x, Tensor::scalar<float>(xs), zp_tensor(xt, {}, xz), w, Tensor::from_vector<float>(ws_shape, ws),
                           zp_tensor(wt, ws_shape, wz), Tensor::scalar<float>(ys), zp_tensor(yt, {}, yz),
                           Tensor::from_vector<int32_t>({M}, bias)},
                          conv_attrs(s));
          ASSERT_TRUE(y.is_ok()) << y.status().message();
          std::vector<int64_t> wzm(static_cast<size_t>(M)), bias64(bias.begin(), bias.end());
          for (int64_t m = 0; m < M; ++m) wzm[static_cast<size_t>(m)] = wz[per_channel ? static_cast<size_t>(m) : 0];
          Shape out;
          const std::vector<int64_t> acc = ref_conv(s, x, xz[0], w, wzm, bias64, &out);
          ASSERT_EQ((*y)[0].dtype(), yt);
          ASSERT_EQ((*y)[0].shape(), out);
          const int64_t P = numel(out) / (out[0] * M);
          std::vector<int64_t> want(acc.size());
          for (size_t i = 0; i < acc.size(); ++i) {
            const int64_t m = static_cast<int64_t>(i) / P % M;
            want[i] = ref_requant(acc[i], xs, ws[per_channel ? static_cast<size_t>(m) : 0], ys, yz[0], yt);
          }
          EXPECT_EQ(values_i64((*y)[0]), want);
        }
}

// One-channel 1×1 QLinearConv of x [1, 1, 1, n] with weight 1 (zero point 0).
Result<std::vector<Tensor>> qconv_1x1(const Tensor& x, float xs, const Tensor& xz, float ys, const Tensor& yz,
                                      const Tensor& w) {
  return run_op("QLinearConv", {x, Tensor::scalar<float>(xs), xz, w, Tensor::scalar<float>(1.f),
                                Tensor::scalar<int8_t>(0), Tensor::scalar<float>(ys), yz});
}

TEST(QLinearConv, RoundsHalfToEven) {
  // Multiplier 0.5 · 1 / 1 = 0.5, so odd sums land exactly on .5:
  // x − 0 = {1, 3, 5, 7, −1, −3, −5, 2} → {0.5, 1.5, 2.5, 3.5, −0.5, −1.5, −2.5, 1} → {0, 2, 2, 4, 0, −2, −2, 1}, + 10.
  const Tensor x = Tensor::from_vector<int8_t>({1, 1, 1, 8}, {1, 3, 5, 7, -1, -3, -5, 2});
  auto y = qconv_1x1(x, 0.5f, Tensor::scalar<int8_t>(0), 1.f, Tensor::scalar<int8_t>(10), Tensor::from_vector<int8_t>({1, 1, 1, 1}, {1}));
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_EQ(values<int8_t>((*y)[0]), (std::vector<int8_t>{10, 12, 12, 14, 10, 8, 8, 11}));
}

TEST(QLinearConv, SaturatesAtBothEnds) {
  // acc = (x − 128) · 127 with x_scale = w_scale = y_scale = 1: far beyond both ends.
  const Tensor x = Tensor::from_vector<uint8_t>({1, 1, 1, 4}, {0, 127, 129, 255});
  const Tensor w = Tensor::from_vector<int8_t>({1, 1, 1, 1}, {127});
  auto u = run_op("QLinearConv", {x, Tensor::scalar<float>(1.f), Tensor::scalar<uint8_t>(128), w, Tensor::scalar<float>(1.f),
                                  Tensor::scalar<int8_t>(0), Tensor::scalar<float>(1.f), Tensor::scalar<uint8_t>(100)});
  ASSERT_TRUE(u.is_ok()) << u.status().message();
  // {−16256, −127, 127, 16129} + 100 → {0, 0, 227, 255}
  EXPECT_EQ(values<uint8_t>((*u)[0]), (std::vector<uint8_t>{0, 0, 227, 255}));
  auto s = run_op("QLinearConv", {x, Tensor::scalar<float>(1.f), Tensor::scalar<uint8_t>(128), w, Tensor::scalar<float>(1.f),
                                  Tensor::scalar<int8_t>(0), Tensor::scalar<float>(1.f), Tensor::scalar<int8_t>(-5)});
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  // {−16256, −127, 127, 16129} − 5 → {−128, −128, 122, 127}
  EXPECT_EQ(values<int8_t>((*s)[0]), (std::vector<int8_t>{-128, -128, 122, 127}));
}

TEST(QLinearConv, RejectsBadParameters) {
  const Tensor x = Tensor::zeros(DType::kU8, {1, 2, 3, 3});
  const Tensor w = Tensor::zeros(DType::kI8, {4, 2, 1, 1});
  const Tensor one = Tensor::scalar<float>(1.f);
  auto inputs = [&](Tensor xs, Tensor xz, Tensor ws, Tensor wz, Tensor ys, Tensor yz) {
    return std::vector<Tensor>{x, xs, xz, w, ws, wz, ys, yz};
  };
  const Tensor u0 = Tensor::scalar<uint8_t>(0), i0 = Tensor::scalar<int8_t>(0);
  EXPECT_TRUE(op_fails_with("QLinearConv", inputs(one, i0, one, i0, one, u0), {}, "x_zero_point is i8, its tensor is u8"));
  EXPECT_TRUE(op_fails_with("QLinearConv", inputs(one, u0, one, u0, one, u0), {}, "w_zero_point is u8, its tensor is i8"));
  EXPECT_TRUE(op_fails_with("QLinearConv", inputs(one, u0, Tensor::from_vector<float>({3}, {1.f, 1.f, 1.f}), i0, one, u0), {},
                            "w_scale has shape [3], expected a scalar or [4]"));
  EXPECT_TRUE(op_fails_with("QLinearConv", inputs(one, u0, one, Tensor::zeros(DType::kI8, {2}), one, u0), {},
                            "w_zero_point has shape [2], expected a scalar or [4]"));
  EXPECT_TRUE(op_fails_with("QLinearConv", inputs(Tensor::scalar<float>(0.f), u0, one, i0, one, u0), {},
                            "x_scale 0 is not a positive finite number"));
  EXPECT_TRUE(op_fails_with("QLinearConv", inputs(one, u0, Tensor::from_vector<float>({4}, {1.f, -2.f, 1.f, 1.f}), i0, one, u0), {},
                            "w_scale -2 is not a positive finite number"));
  EXPECT_TRUE(op_fails_with("QLinearConv", inputs(one, u0, one, i0, Tensor::scalar<float>(NAN), u0), {}, "y_scale nan"));
  EXPECT_TRUE(op_fails_with("QLinearConv", inputs(Tensor::from_vector<float>({2}, {1.f, 1.f}), u0, one, i0, one, u0), {},
                            "x_scale has shape [2], expected a scalar"));
  EXPECT_TRUE(op_fails_with("QLinearConv", inputs(Tensor::scalar<int32_t>(1), u0, one, i0, one, u0), {}, "x_scale must be float32"));
  EXPECT_TRUE(op_fails_with("QLinearConv", inputs(one, u0, one, i0, one, Tensor::scalar<int32_t>(0)), {},
                            "does not support y_zero_point of dtype i32"));
  EXPECT_TRUE(op_fails_with("QLinearConv", inputs(Tensor::scalar<float>(1e30f), u0, Tensor::scalar<float>(1e30f), i0, one, u0),
                            {}, "overflows float32"));
  std::vector<Tensor> with_bias = inputs(one, u0, one, i0, one, u0);
  with_bias.push_back(Tensor::zeros(DType::kI32, {3}));
  EXPECT_TRUE(op_fails_with("QLinearConv", with_bias, {}, "bias B has shape [3], expected [4]"));
  with_bias.back() = Tensor::zeros(DType::kF32, {4});
  EXPECT_TRUE(op_fails_with("QLinearConv", with_bias, {}, "does not support bias B of dtype f32"));
}

// --- MatMul reference ---------------------------------------------------------------------

// A per-row (of A) or per-column (of B) parameter: value(operand batch, index).
using MatFn = std::function<int64_t(int64_t, int64_t)>;

struct MatRef {
  Shape out;
  std::vector<int64_t> acc;                  // flat over out
  std::vector<int64_t> a_batch, b_batch;     // per output batch, the operand's batch
  std::vector<int64_t> row, col;             // per output element
};

// (A − az) @ (B − bz) with numpy broadcasting, straight from the definition.
MatRef ref_matmul(const Tensor& a, const MatFn& az, const Tensor& b, const MatFn& bz) {
  Shape sa = a.shape(), sb = b.shape();
  const bool av = sa.size() == 1, bv = sb.size() == 1;
  if (av) sa.insert(sa.begin(), 1);
  if (bv) sb.push_back(1);
  const int64_t M = sa[sa.size() - 2], K = sa.back(), N = sb.back();
  Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  const size_t r = std::max(ba.size(), bb.size());
  ba.insert(ba.begin(), r - ba.size(), 1);
  bb.insert(bb.begin(), r - bb.size(), 1);
  Shape batch(r);
  for (size_t i = 0; i < r; ++i) batch[i] = std::max(ba[i], bb[i]);
  MatRef ref;
  ref.out = batch;
  if (!av) ref.out.push_back(M);
  if (!bv) ref.out.push_back(N);
  const int64_t nb = numel(batch);
  for (int64_t bi = 0; bi < nb; ++bi) {
    // Multi-index of bi, then each operand's flat batch (dims of 1 read index 0).
    int64_t ia = 0, ib = 0, rem = bi, ma = 1, mb = 1;
    for (size_t d = r; d-- > 0;) {
      const int64_t idx = rem % batch[d];
      rem /= batch[d];
      ia += (ba[d] == 1 ? 0 : idx) * ma;
      ib += (bb[d] == 1 ? 0 : idx) * mb;
      ma *= ba[d];
      mb *= bb[d];
    }
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        int64_t s = 0;
        for (int64_t k = 0; k < K; ++k)
          s += (a.at_i64((ia * M + i) * K + k) - az(ia, i)) * (b.at_i64((ib * K + k) * N + j) - bz(ib, j));
        ref.acc.push_back(s);
        ref.a_batch.push_back(ia);
        ref.b_batch.push_back(ib);
        ref.row.push_back(i);
        ref.col.push_back(j);
      }
  }
  return ref;
}

struct MatShapes {
  Shape a, b;
};
const MatShapes kMatShapes[] = {
    {{5, 7}, {7, 3}},         {{2, 1, 3, 4}, {3, 4, 5}}, {{4}, {4, 6}},   {{3, 4}, {4}},
    {{2, 3, 17}, {1, 17, 9}}, {{1, 40}, {40, 33}},       {{6}, {2, 6, 2}}, {{3, 2, 5}, {5, 1}},
};

// The second-to-last (A) / last (B) dim: rows of A, columns of B.
int64_t rows_of(const Shape& s) { return s.size() == 1 ? 1 : s[s.size() - 2]; }
int64_t cols_of(const Shape& s) { return s.size() == 1 ? 1 : s.back(); }

TEST(MatMulInteger, MatchesReferenceWithBroadcastingAndPerRowColumnZeroPoints) {
  std::mt19937 rng(5);
  for (const MatShapes& ms : kMatShapes)
    for (DType at : kTypes)
      for (DType bt : kTypes)
        for (int form = 0; form < 3; ++form) {  // zero points: scalar, 1-D per row / column, N-D
          SCOPED_TRACE(shape_str(ms.a) + " @ " + shape_str(ms.b) + " form " + std::to_string(form));
          const Tensor a = random_q(at, ms.a, rng), b = random_q(bt, ms.b, rng);
          const int64_t M = rows_of(ms.a), N = cols_of(ms.b);
          Shape za{}, zb{};
          if (form == 1) {
            za = {M};
            zb = {N};
          } else if (form == 2 && ms.a.size() >= 2 && ms.b.size() >= 2) {
            za = ms.a;
            za.back() = 1;
            zb = ms.b;
            zb[zb.size() - 2] = 1;
          }
          const std::vector<int64_t> av = random_zps(at, numel(za), rng), bv = random_zps(bt, numel(zb), rng);
          // Per batch and row: za = [..., M, 1] flat is batch · M + row; 1-D: row; scalar: 0.
          MatFn az = [&](int64_t batch, int64_t i) {
            return av[static_cast<size_t>(za.size() >= 2 ? batch * M + i : za.size() == 1 ? i : 0)];
          };
          MatFn bz = [&](int64_t batch, int64_t j) {
            return bv[static_cast<size_t>(zb.size() >= 2 ? batch * N + j : zb.size() == 1 ? j : 0)];
          };
          auto y = run_op("MatMulInteger", {a, b, zp_tensor(at, za, av), zp_tensor(bt, zb, bv)});
          ASSERT_TRUE(y.is_ok()) << y.status().message();
          const MatRef ref = ref_matmul(a, az, b, bz);
          ASSERT_EQ((*y)[0].dtype(), DType::kI32);
          ASSERT_EQ((*y)[0].shape(), ref.out);
          EXPECT_EQ(values_i64((*y)[0]), ref.acc);
        }
}

TEST(MatMulInteger, OnnxExampleAndDefaultZeroPoints) {
  // ONNX's MatMulInteger example: A − 12 = [[−1, −5, −9], [−2, −6, −10], ...] · B.
  const Tensor a = Tensor::from_vector<uint8_t>({4, 3}, {11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0});
  const Tensor b = Tensor::from_vector<uint8_t>({3, 2}, {1, 4, 2, 5, 3, 6});
  auto y = run_op("MatMulInteger", {a, b, Tensor::scalar<uint8_t>(12), Tensor::scalar<uint8_t>(0)});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_EQ(values<int32_t>((*y)[0]), (std::vector<int32_t>{-38, -83, -44, -98, -50, -113, -56, -128}));
  // No zero points: 11·1 + 7·2 + 3·3 = 34, 11·4 + 7·5 + 3·6 = 97.
  auto y0 = run_op("MatMulInteger", {Tensor::from_vector<uint8_t>({1, 3}, {11, 7, 3}), b});
  ASSERT_TRUE(y0.is_ok()) << y0.status().message();
  EXPECT_EQ(values<int32_t>((*y0)[0]), (std::vector<int32_t>{34, 97}));
}

TEST(MatMulInteger, RejectsBadInputs) {
  const Tensor a = Tensor::zeros(DType::kU8, {2, 3});
  const Tensor b = Tensor::zeros(DType::kI8, {3, 4});
  EXPECT_TRUE(op_fails_with("MatMulInteger", {a, Tensor::zeros(DType::kI32, {3, 4})}, {}, "does not support input B of dtype i32"));
  EXPECT_TRUE(op_fails_with("MatMulInteger", {a, b, Tensor::scalar<int8_t>(0)}, {}, "a_zero_point is i8, its tensor is u8"));
  EXPECT_TRUE(op_fails_with("MatMulInteger", {a, b, Tensor::scalar<uint8_t>(0), Tensor::zeros(DType::kI8, {3})}, {},
                            "b_zero_point has shape [3], expected a scalar, [4] (one per column of B) or [1,4]"));
  EXPECT_TRUE(op_fails_with("MatMulInteger", {a, b, Tensor::zeros(DType::kU8, {3})}, {}, "one per row of A"));
  EXPECT_TRUE(op_fails_with("MatMulInteger", {a, Tensor::zeros(DType::kI8, {4, 4})}, {}, "do not chain"));
  EXPECT_TRUE(op_fails_with("MatMulInteger", {Tensor::zeros(DType::kU8, {2, 2, 3}), Tensor::zeros(DType::kI8, {3, 3, 4})}, {},
                            "do not broadcast"));
}

// --- QLinearMatMul ------------------------------------------------------------------------

TEST(QLinearMatMul, MatchesReferenceWithPerRowAndPerColumnParams) {
  std::mt19937 rng(7);
  for (const MatShapes& ms : kMatShapes)
    for (DType at : kTypes)
      for (DType bt : kTypes)
        for (DType yt : kTypes)
          for (bool per_axis : {false, true}) {
            SCOPED_TRACE(shape_str(ms.a) + " @ " + shape_str(ms.b) + " a " + std::string(dtype_name(at)) + " b " +
                         std::string(dtype_name(bt)) + " y " + std::string(dtype_name(yt)) + (per_axis ? " per-axis" : ""));
            const Tensor a = random_q(at, ms.a, rng), b = random_q(bt, ms.b, rng);
            const int64_t M = rows_of(ms.a), N = cols_of(ms.b);
            const Shape sa = per_axis ? Shape{M} : Shape{}, sb = per_axis ? Shape{N} : Shape{};
            const std::vector<float> as = random_scales(numel(sa), rng), bs = random_scales(numel(sb), rng);
            const float ys = random_scales(1, rng)[0] * 10.f;
            const std::vector<int64_t> av = random_zps(at, numel(sa), rng), bv = random_zps(bt, numel(sb), rng),
                                       yz = random_zps(yt, 1, rng);
            auto y = run_op("QLinearMatMul", {a, Tensor::from_vector<float>(sa, as), zp_tensor(at, sa, av), b,
                                              Tensor::from_vector<float>(sb, bs), zp_tensor(bt, sb, bv),
                                              Tensor::scalar<float>(ys), zp_tensor(yt, {}, yz)});
            ASSERT_TRUE(y.is_ok()) << y.status().message();
            auto pick = [&](int64_t i) { return static_cast<size_t>(per_axis ? i : 0); };
            const MatRef ref = ref_matmul(a, [&](int64_t, int64_t i) { return av[pick(i)]; }, b,
                                          [&](int64_t, int64_t j) { return bv[pick(j)]; });
            ASSERT_EQ((*y)[0].dtype(), yt);
            ASSERT_EQ((*y)[0].shape(), ref.out);
            std::vector<int64_t> want(ref.acc.size());
            for (size_t e = 0; e < want.size(); ++e)
              want[e] = ref_requant(ref.acc[e], as[pick(ref.row[e])], bs[pick(ref.col[e])], ys, yz[0], yt);
            EXPECT_EQ(values_i64((*y)[0]), want);
          }
}

TEST(QLinearMatMul, PerBatchColumnScalesOfB) {
  // b_scale [2, 1, 3]: per batch and column of B [2, 4, 3].
  std::mt19937 rng(9);
  const Tensor a = random_q(DType::kU8, {2, 5, 4}, rng), b = random_q(DType::kI8, {2, 4, 3}, rng);
  const std::vector<float> bs = random_scales(6, rng);
  const std::vector<int64_t> bz = random_zps(DType::kI8, 6, rng);
  auto y = run_op("QLinearMatMul", {a, Tensor::scalar<float>(0.02f), Tensor::scalar<uint8_t>(120), b,
                                    Tensor::from_vector<float>({2, 1, 3}, bs), zp_tensor(DType::kI8, {2, 1, 3}, bz),
                                    Tensor::scalar<float>(0.1f), Tensor::scalar<uint8_t>(128)});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  const MatRef ref = ref_matmul(a, [](int64_t, int64_t) { return int64_t{120}; }, b,
                                [&](int64_t batch, int64_t j) { return bz[static_cast<size_t>(batch * 3 + j)]; });
  std::vector<int64_t> want(ref.acc.size());
  for (size_t e = 0; e < want.size(); ++e)
    want[e] = ref_requant(ref.acc[e], 0.02f, bs[static_cast<size_t>(ref.b_batch[e] * 3 + ref.col[e])], 0.1f, 128, DType::kU8);
  EXPECT_EQ(values_i64((*y)[0]), want);
}

TEST(QLinearMatMul, RoundsHalfToEvenAndSaturates) {
  // a − 0 = [[1, 3, 5, −1, −3, 100, −100]] as a column times b = 1 with scales 0.5 · 1 / 1:
  // {0.5, 1.5, 2.5, −0.5, −1.5, 50, −50} → {0, 2, 2, 0, −2, 50, −50}; + 100, saturated to u8.
  const Tensor a = Tensor::from_vector<int8_t>({7, 1}, {1, 3, 5, -1, -3, 100, -100});
  const Tensor b = Tensor::from_vector<int8_t>({1, 1}, {1});
  auto y = run_op("QLinearMatMul", {a, Tensor::scalar<float>(0.5f), Tensor::scalar<int8_t>(0), b, Tensor::scalar<float>(1.f),
                                    Tensor::scalar<int8_t>(0), Tensor::scalar<float>(1.f), Tensor::scalar<uint8_t>(100)});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_EQ(values<uint8_t>((*y)[0]), (std::vector<uint8_t>{100, 102, 102, 100, 98, 150, 50}));
  // y_scale 0.25: {2, 6, 10, −2, −6, 200, −200} + 100 → {102, 106, 110, 98, 94, 255 (sat), 0 (sat)}.
  auto s = run_op("QLinearMatMul", {a, Tensor::scalar<float>(0.5f), Tensor::scalar<int8_t>(0), b, Tensor::scalar<float>(1.f),
                                    Tensor::scalar<int8_t>(0), Tensor::scalar<float>(0.25f), Tensor::scalar<uint8_t>(100)});
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_EQ(values<uint8_t>((*s)[0]), (std::vector<uint8_t>{102, 106, 110, 98, 94, 255, 0}));
}

TEST(QLinearMatMul, RejectsBadParameters) {
  const Tensor a = Tensor::zeros(DType::kU8, {2, 3});
  const Tensor b = Tensor::zeros(DType::kU8, {3, 4});
  const Tensor one = Tensor::scalar<float>(1.f), u0 = Tensor::scalar<uint8_t>(0);
  auto inputs = [&](Tensor as, Tensor az, Tensor bs, Tensor bz, Tensor ys, Tensor yz) {
    return std::vector<Tensor>{a, as, az, b, bs, bz, ys, yz};
  };
  EXPECT_TRUE(op_fails_with("QLinearMatMul", inputs(one, Tensor::scalar<int8_t>(0), one, u0, one, u0), {},
                            "a_zero_point is i8, its tensor is u8"));
  EXPECT_TRUE(op_fails_with("QLinearMatMul", inputs(one, u0, Tensor::from_vector<float>({3}, {1.f, 1.f, 1.f}), u0, one, u0), {},
                            "b_scale has shape [3], expected a scalar, [4] (one per column of B)"));
  EXPECT_TRUE(op_fails_with("QLinearMatMul", inputs(Tensor::from_vector<float>({3}, {1.f, 1.f, 1.f}), u0, one, u0, one, u0), {},
                            "a_scale has shape [3], expected a scalar, [2] (one per row of A)"));
  EXPECT_TRUE(op_fails_with("QLinearMatMul", inputs(one, u0, Tensor::scalar<float>(-1.f), u0, one, u0), {},
                            "b_scale -1 is not a positive finite number"));
  EXPECT_TRUE(op_fails_with("QLinearMatMul", inputs(one, u0, one, u0, Tensor::scalar<float>(INFINITY), u0), {},
                            "y_scale inf is not a positive finite number"));
  EXPECT_TRUE(op_fails_with("QLinearMatMul", inputs(Tensor::scalar<float>(1e30f), u0, Tensor::scalar<float>(1e30f), u0, one, u0),
                            {}, "overflows float32"));
  std::vector<Tensor> bad_a = inputs(one, u0, one, u0, one, u0);
  bad_a[0] = Tensor::zeros(DType::kF32, {2, 3});
  EXPECT_TRUE(op_fails_with("QLinearMatMul", bad_a, {}, "does not support input a of dtype f32"));
}

TEST(IntegerOps, EmptyAndDegenerateShapes) {
  // K = 0: every sum is empty, so MatMulInteger gives 0 and QLinearMatMul the output zero point.
  const Tensor a0 = Tensor::zeros(DType::kU8, {2, 0}), b0 = Tensor::zeros(DType::kU8, {0, 3});
  auto z = run_op("MatMulInteger", {a0, b0, Tensor::scalar<uint8_t>(7)});
  ASSERT_TRUE(z.is_ok()) << z.status().message();
  EXPECT_EQ(values<int32_t>((*z)[0]), (std::vector<int32_t>(6, 0)));
  auto q = run_op("QLinearMatMul", {a0, Tensor::scalar<float>(1.f), Tensor::scalar<uint8_t>(7), b0, Tensor::scalar<float>(1.f),
                                    Tensor::scalar<uint8_t>(0), Tensor::scalar<float>(1.f), Tensor::scalar<int8_t>(-3)});
  ASSERT_TRUE(q.is_ok()) << q.status().message();
  EXPECT_EQ(values<int8_t>((*q)[0]), (std::vector<int8_t>(6, -3)));
  // No rows, with a per-row scale of no elements.
  auto e = run_op("QLinearMatMul", {Tensor::zeros(DType::kU8, {0, 3}), Tensor::zeros(DType::kF32, {0}),
                                    Tensor::zeros(DType::kU8, {0}), Tensor::zeros(DType::kU8, {3, 2}), Tensor::scalar<float>(1.f),
                                    Tensor::scalar<uint8_t>(0), Tensor::scalar<float>(1.f), Tensor::scalar<uint8_t>(0)});
  ASSERT_TRUE(e.is_ok()) << e.status().message();
  EXPECT_EQ((*e)[0].shape(), (Shape{0, 2}));
  // A batch of no images.
  auto c = run_op("QLinearConv", {Tensor::zeros(DType::kU8, {0, 1, 3, 3}), Tensor::scalar<float>(1.f), Tensor::scalar<uint8_t>(0),
                                  Tensor::zeros(DType::kI8, {2, 1, 3, 3}), Tensor::scalar<float>(1.f), Tensor::scalar<int8_t>(0),
                                  Tensor::scalar<float>(1.f), Tensor::scalar<uint8_t>(0)});
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ((*c)[0].shape(), (Shape{0, 2, 1, 1}));
  EXPECT_TRUE(op_fails_with("ConvInteger", {Tensor::zeros(DType::kU8, {3, 3}), Tensor::zeros(DType::kU8, {3, 3})}, {},
                            "expected rank 3 to 5"));
}

// --- In a graph ---------------------------------------------------------------------------

// x [?, 2, 5, 5] u8 → QLinearConv (3×3, pads 1, per-channel w) → y u8, and separately
// ConvInteger(x, w) and QLinearMatMul / MatMulInteger of a [?, 4] u8 with a constant B: shape
// inference fills the outputs, folding leaves them, and Session matches the ops run alone.
TEST(IntegerOpsGraph, PrepareInferAndRunThroughSession) {
  std::mt19937 rng(3);
  ir::Graph g;
  g.opset = 13;
  const int x = g.add_value("x"), a = g.add_value("a");
  g.value(x).dtype = DType::kU8;
  g.value(x).shape = Shape{-1, 2, 5, 5};
  g.value(a).dtype = DType::kU8;
  g.value(a).shape = Shape{-1, 4};
  g.inputs = {x, a};
  const Tensor w = random_q(DType::kI8, {3, 2, 3, 3}, rng), b = random_q(DType::kU8, {4, 6}, rng);
  const std::vector<Tensor> conv_params = {Tensor::scalar<float>(0.02f), Tensor::scalar<uint8_t>(128), w,
                                           Tensor::from_vector<float>({3}, {0.01f, 0.02f, 0.03f}),
                                           Tensor::from_vector<int8_t>({3}, {0, 1, -1}), Tensor::scalar<float>(0.05f),
                                           Tensor::scalar<uint8_t>(120)};
  const std::vector<Tensor> mm_params = {Tensor::scalar<float>(0.1f), Tensor::scalar<uint8_t>(3), b,
                                         Tensor::from_vector<float>({6}, {0.1f, 0.2f, 0.3f, 0.1f, 0.2f, 0.3f}),
                                         Tensor::from_vector<uint8_t>({6}, {0, 10, 20, 30, 40, 50}), Tensor::scalar<float>(2.f),
                                         Tensor::scalar<int8_t>(0)};
  std::vector<int> conv_in = {x}, mm_in = {a};
  for (size_t i = 0; i < conv_params.size(); ++i)
    conv_in.push_back(g.add_constant("cp" + std::to_string(i), conv_params[i]));
  for (size_t i = 0; i < mm_params.size(); ++i) mm_in.push_back(g.add_constant("mp" + std::to_string(i), mm_params[i]));
  const int y = g.add_value("y"), yi = g.add_value("yi"), z = g.add_value("z"), zi = g.add_value("zi");
  ir::Attributes pads;
  pads.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  g.add_node(ir::Node{"qconv", "QLinearConv", "", conv_in, {y}, pads});
  g.add_node(ir::Node{"iconv", "ConvInteger", "", {x, conv_in[3], conv_in[2]}, {yi}, pads});
  g.add_node(ir::Node{"qmm", "QLinearMatMul", "", mm_in, {z}, {}});
  g.add_node(ir::Node{"imm", "MatMulInteger", "", {a, mm_in[3], mm_in[2]}, {zi}, {}});
  g.outputs = {y, yi, z, zi};
  ASSERT_TRUE(g.topo_sort().is_ok());
  ASSERT_TRUE(exec::check_supported(g).is_ok());
  const Status prepared = exec::prepare_graph(g);
  ASSERT_TRUE(prepared.is_ok()) << prepared.message();
  EXPECT_EQ(g.value(g.find_value("y")).dtype, DType::kU8);
  EXPECT_EQ(g.value(g.find_value("y")).shape, (Shape{-1, 3, 5, 5}));
  EXPECT_EQ(g.value(g.find_value("yi")).dtype, DType::kI32);
  EXPECT_EQ(g.value(g.find_value("yi")).shape, (Shape{-1, 3, 5, 5}));
  EXPECT_EQ(g.value(g.find_value("z")).dtype, DType::kI8);
  EXPECT_EQ(g.value(g.find_value("z")).shape, (Shape{-1, 6}));
  EXPECT_EQ(g.value(g.find_value("zi")).shape, (Shape{-1, 6}));

  Result<exec::Session> s = exec::Session::create(g);
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  const Tensor xv = random_q(DType::kU8, {2, 2, 5, 5}, rng), av = random_q(DType::kU8, {3, 4}, rng);
  Result<std::vector<Tensor>> out = s->run({xv, av});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  ASSERT_EQ(out->size(), 4u);

  std::vector<Tensor> ci = {xv}, mi = {av};
  ci.insert(ci.end(), conv_params.begin(), conv_params.end());
  mi.insert(mi.end(), mm_params.begin(), mm_params.end());
  auto y1 = run_op("QLinearConv", ci, pads);
  auto yi1 = run_op("ConvInteger", {xv, w, conv_params[1]}, pads);
  auto z1 = run_op("QLinearMatMul", mi);
  auto zi1 = run_op("MatMulInteger", {av, b, mm_params[1]});
  ASSERT_TRUE(y1.is_ok() && yi1.is_ok() && z1.is_ok() && zi1.is_ok());
  EXPECT_EQ(values<uint8_t>((*out)[0]), values<uint8_t>((*y1)[0]));
  EXPECT_EQ(values<int32_t>((*out)[1]), values<int32_t>((*yi1)[0]));
  EXPECT_EQ(values<int8_t>((*out)[2]), values<int8_t>((*z1)[0]));
  EXPECT_EQ(values<int32_t>((*out)[3]), values<int32_t>((*zi1)[0]));
  // And the ConvInteger output (no w zero point) against the reference directly.
  const ConvSpec cs = spec({2, 2, 5, 5}, {3, 2, 3, 3}, 1, {}, {1, 1, 1, 1});
  Shape os;
  const std::vector<int64_t> acc = ref_conv(cs, xv, 128, w, {0, 0, 0}, {}, &os);
  EXPECT_EQ(values_i64((*out)[1]), acc);
}

TEST(IntegerOpsGraph, ConstantInputsFold) {
  // MatMulInteger of constants folds to a constant holding (A − 1) @ B = [[1·1 + 2·2]] = [[5]].
  ir::Graph g;
  g.opset = 13;
  const int a = g.add_constant("a", Tensor::from_vector<uint8_t>({1, 2}, {2, 3}));
  const int b = g.add_constant("b", Tensor::from_vector<uint8_t>({2, 1}, {1, 2}));
  const int az = g.add_constant("az", Tensor::scalar<uint8_t>(1));
  const int y = g.add_value("y");
  g.add_node(ir::Node{"imm", "MatMulInteger", "", {a, b, az}, {y}, {}});
  g.outputs = {y};
  ASSERT_TRUE(g.topo_sort().is_ok());
  const Status prepared = exec::prepare_graph(g);
  ASSERT_TRUE(prepared.is_ok()) << prepared.message();
  const int yv = g.find_value("y");
  ASSERT_TRUE(g.value(yv).constant.has_value());
  EXPECT_EQ(g.value(yv).constant->at_i64(0), 5);
}

}  // namespace
}  // namespace lowbit::ops
