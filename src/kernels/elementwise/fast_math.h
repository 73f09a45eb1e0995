// fast_math.h: branch-free f32 exp, sigmoid, tanh and erf that the compiler vectorizes.
//
// libm's expf/tanhf/erff are scalar calls (3-30 ns per element); these are written with
// +, ×, ÷, compares and integer bit moves only, so loops over them become SSE/AVX code on any
// x86-64 baseline. Selects go through select_f32 (a bit mask, not a ternary: with GCC's default
// -ftrapping-math a float ternary often stays a branch and blocks vectorization), NaN is passed
// through explicitly, and float → int conversions only see finite, in-range values (no UB).
// Accuracy, checked against the double-precision libm functions in
// tests/kernels/fast_math_test.cc: exp within 1 ulp, tanh 2 ulp, sigmoid 3 ulp, erf within
// 5e-7 absolute and relative error.
#pragma once

#include <bit>
#include <cstdint>

namespace lowbit::kernels {

// c ? a : b without a branch.
inline float select_f32(bool c, float a, float b) {
  const uint32_t m = 0u - static_cast<uint32_t>(c);
  return std::bit_cast<float>((std::bit_cast<uint32_t>(a) & m) | (std::bit_cast<uint32_t>(b) & ~m));
}

// min / max whose result is x when x is NaN (the bound is the second operand).
inline float max_f32(float x, float lo) { return select_f32(x < lo, lo, x); }
inline float min_f32(float x, float hi) { return select_f32(x > hi, hi, x); }

// e^x. Range reduction x = n·ln2 + r, |r| ≤ ln2/2 (ln2 split in two so n·ln2_hi is exact), a
// degree-7 minimax polynomial for e^r (Cephes' expf), then · 2^n applied as two factors 2^n1·2^n2
// so results overflow to inf and underflow through the subnormals like the real function.
inline float exp_f32(float x) {
  const bool nan = x != x;
  // e^-104 < smallest subnormal / 2 and e^89 > FLT_MAX; a NaN becomes 0 for the integer path.
  const float xc = min_f32(max_f32(select_f32(nan, 0.f, x), -104.f), 89.f);
  const float t = xc * 1.44269504088896341f + 12582912.f;  // 1.5·2^23: rounds to an integer
  const float n = t - 12582912.f;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = (p * (r * r) + r) + 1.f;
  const int32_t ni = static_cast<int32_t>(n);  // in [-150, 129]
  const int32_t n1 = ni / 2, n2 = ni - n1;      // each in [-75, 65]: normal powers of two
  const float s1 = std::bit_cast<float>(static_cast<uint32_t>(n1 + 127) << 23);
  const float s2 = std::bit_cast<float>(static_cast<uint32_t>(n2 + 127) << 23);
  return select_f32(nan, x, (y * s1) * s2);
}

// 1 / (1 + e^-x): e^-x overflows to inf for x < -89 and the quotient is then 0, as it should be.
inline float sigmoid_f32(float x) { return 1.f / (1.f + exp_f32(-x)); }

// tanh(x): for |x| < 0.625 the odd polynomial x + x·z·P(z), z = x² (Cephes' tanhf; avoids the
// cancellation in 1 − 2/(e^2x + 1) near 0), else sign(x)·(1 − 2/(e^(2|x|) + 1)).
inline float tanh_f32(float x) {
  const float a = std::bit_cast<float>(std::bit_cast<uint32_t>(x) & 0x7fffffffu);
  const float z = x * x;
  float p = -5.70498872745e-3f;
  p = p * z + 2.06390887954e-2f;
  p = p * z - 5.37397155531e-2f;
  p = p * z + 1.33314422036e-1f;
  p = p * z - 3.33332819422e-1f;
  const float small = x + x * z * p;
  const float big = 1.f - 2.f / (exp_f32(2.f * a) + 1.f);
  const float signed_big =
      std::bit_cast<float>(std::bit_cast<uint32_t>(big) | (std::bit_cast<uint32_t>(x) & 0x80000000u));
  return select_f32((a < 0.625f) | (x != x), small, signed_big);  // small(NaN) is NaN
}

// erf(x): x·P(x²)/Q(x²) on [-4, 4] (beyond, erf rounds to ±1 in f32), the rational minimax
// approximation Eigen and XLA use for float erf.
inline float erf_f32(float x) {
  const float c = max_f32(min_f32(x, 4.f), -4.f);  // NaN passes through
  const float z = c * c;
  float p = -2.72614225801306e-10f;
  p = p * z + 2.77068142495902e-08f;
  p = p * z + -2.10102402082508e-06f;
  p = p * z + -5.69250639462346e-05f;
  p = p * z + -7.34990630326855e-04f;
  p = p * z + -2.95459980854025e-03f;
  p = p * z + -1.60960333262415e-02f;
  float q = -1.45660718464996e-05f;
  q = q * z + -2.13374055278905e-04f;
  q = q * z + -1.68282697438203e-03f;
  q = q * z + -7.37332916720468e-03f;
  q = q * z + -1.42647390514189e-02f;
  return c * p / q;
}

}  // namespace lowbit::kernels
