// int8_quantize8_test.cc: the boundary conversions against kernels/quant's definitions, bit for
// bit, on random values, exact ties, NaN, ±inf and values far out of range, in every variant.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/int8/quantize8.h"
#include "kernels/isa.h"
#include "kernels/quant/quantize.h"

namespace lowbit::kernels {
namespace {

using QuantFn = void (*)(const float*, int64_t, float, int32_t, int32_t, int32_t, uint8_t*);
using DequantFn = void (*)(const uint8_t*, int64_t, float, int32_t, float*);

std::vector<QuantFn> quant_variants() {
  std::vector<QuantFn> v = {quantize_u8_scalar, quantize_u8};
  if (isa_supported(Isa::kAvx2)) v.push_back(quantize_u8_avx2);
  return v;
}

std::vector<DequantFn> dequant_variants() {
  std::vector<DequantFn> v = {dequantize_u8_scalar, dequantize_u8};
  if (isa_supported(Isa::kAvx2)) v.push_back(dequantize_u8_avx2);
  return v;
}

TEST(Int8Quantize8, MatchesQuantizeValueOnRandomTiesAndSpecials) {
  std::mt19937 rng(3);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  for (int trial = 0; trial < 60; ++trial) {
    const float scale = std::exp(std::uniform_real_distribution<float>(-8.f, 2.f)(rng));
    const int32_t zero = static_cast<int32_t>(rng() % 256);
    const int32_t qmin = trial % 3 == 0 ? static_cast<int32_t>(rng() % 64) : 0;
    const int32_t qmax = trial % 3 == 0 ? 200 + static_cast<int32_t>(rng() % 56) : 255;
    for (int64_t n : {1, 3, 7, 8, 9, 15, 16, 17, 63, 64, 65, 257, 1000}) {
      std::vector<float> x(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        const int kind = static_cast<int>(rng() % 10);
        float v = std::normal_distribution<float>(0.f, 80.f)(rng) * scale;
        if (kind == 0) v = (std::floor(v / scale) + 0.5f) * scale;  // a tie (when exact in float)
        if (kind == 1) v = (rng() % 2 ? 1.f : -1.f) * 1e30f;
        if (kind == 2) v = rng() % 3 == 0 ? nan : (rng() % 2 ? inf : -inf);
        x[static_cast<size_t>(i)] = v;
      }
      std::vector<uint8_t> want(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i)
        want[static_cast<size_t>(i)] = static_cast<uint8_t>(
            quantize_value(x[static_cast<size_t>(i)], scale, zero, {qmin, qmax}, Rounding::kHalfEven, 0.5f));
      for (QuantFn f : quant_variants()) {
        std::vector<uint8_t> got(static_cast<size_t>(n));
        f(x.data(), n, scale, zero, qmin, qmax, got.data());
        ASSERT_EQ(got, want) << "trial " << trial << " n " << n;
      }
    }
  }
}

TEST(Int8Quantize8, HandValues) {
  const float x[] = {0.f, 0.25f, 0.5f, 0.75f, 1.25f, -0.25f, -100.f, 100.f};
  uint8_t y[8];
  for (QuantFn f : quant_variants()) {
    f(x, 8, 0.5f, 10, 0, 255, y);  // x / 0.5 = 0, 0.5, 1, 1.5, 2.5, -0.5, -200, 200; ties to even
    const uint8_t want[] = {10, 10, 11, 12, 12, 10, 0, 210};
    for (int i = 0; i < 8; ++i) EXPECT_EQ(y[i], want[i]) << i;
  }
}

TEST(Int8Quantize8, DequantizeIsTheFloatProduct) {
  std::vector<uint8_t> q(300);
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<uint8_t>(i * 37);
  for (DequantFn f : dequant_variants()) {
    std::vector<float> y(q.size());
    f(q.data(), static_cast<int64_t>(q.size()), 0.0371f, 131, y.data());
    for (size_t i = 0; i < q.size(); ++i) ASSERT_EQ(y[i], static_cast<float>(static_cast<int32_t>(q[i]) - 131) * 0.0371f);
  }
}

}  // namespace
}  // namespace lowbit::kernels
