// fast_math_test.cc: the vectorizable f32 exp / sigmoid / tanh / erf against double-precision libm
// over dense sweeps of their whole useful range, plus the special values.
#include "kernels/elementwise/fast_math.h"

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>

#include <gtest/gtest.h>

namespace lowbit::kernels {
namespace {

// Distance in units in the last place between a float and the correctly rounded double value.
double ulp_error(float got, double want) {
  const float w = static_cast<float>(want);
  if (std::isinf(w) || w == 0.f) return got == w ? 0.0 : std::fabs(got - want) / std::numeric_limits<float>::denorm_min();
  const double ulp = std::nextafter(std::fabs(w), INFINITY) - std::fabs(w);
  return std::fabs(static_cast<double>(got) - want) / ulp;
}

struct Errors {
  double max_ulp = 0, max_abs = 0, max_rel = 0;
};

Errors sweep(float lo, float hi, int n, const std::function<float(float)>& f, const std::function<double(double)>& ref) {
  Errors e;
  for (int i = 0; i <= n; ++i) {
    const float x = lo + (hi - lo) * static_cast<float>(i) / static_cast<float>(n);
    const double want = ref(x);
    const float got = f(x);
    e.max_ulp = std::max(e.max_ulp, ulp_error(got, want));
    e.max_abs = std::max(e.max_abs, std::fabs(got - want));
    if (std::fabs(want) > 1e-30) e.max_rel = std::max(e.max_rel, std::fabs(got - want) / std::fabs(want));
  }
  return e;
}

TEST(FastMath, ExpWithinTwoUlp) {
  const Errors e = sweep(-87.f, 88.7f, 2000003, exp_f32, [](double x) { return std::exp(x); });
  EXPECT_LE(e.max_ulp, 2.0);
  const Errors s = sweep(-1e-3f, 1e-3f, 100001, exp_f32, [](double x) { return std::exp(x); });
  EXPECT_LE(s.max_ulp, 1.0);
  // Subnormal results stay close in absolute terms.
  const Errors d = sweep(-103.f, -87.5f, 100001, exp_f32, [](double x) { return std::exp(x); });
  EXPECT_LE(d.max_abs, 2e-44);
}

TEST(FastMath, ExpSpecialValues) {
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(exp_f32(0.f), 1.f);
  EXPECT_EQ(exp_f32(inf), inf);
  EXPECT_EQ(exp_f32(89.f), inf);
  EXPECT_EQ(exp_f32(1000.f), inf);
  EXPECT_EQ(exp_f32(-inf), 0.f);
  EXPECT_EQ(exp_f32(-200.f), 0.f);
  EXPECT_TRUE(std::isnan(exp_f32(std::nanf(""))));
  EXPECT_GT(exp_f32(88.72f), 3.3e38f);
  EXPECT_FALSE(std::isinf(exp_f32(88.72f)));
}

TEST(FastMath, Sigmoid) {
  const Errors e = sweep(-80.f, 80.f, 1000003, sigmoid_f32, [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
  EXPECT_LE(e.max_ulp, 3.0);
  EXPECT_EQ(sigmoid_f32(-200.f), 0.f);
  EXPECT_EQ(sigmoid_f32(200.f), 1.f);
  EXPECT_TRUE(std::isnan(sigmoid_f32(std::nanf(""))));
}

TEST(FastMath, Tanh) {
  const Errors e = sweep(-12.f, 12.f, 1000003, tanh_f32, [](double x) { return std::tanh(x); });
  EXPECT_LE(e.max_ulp, 2.0);
  const Errors s = sweep(-1e-4f, 1e-4f, 100001, tanh_f32, [](double x) { return std::tanh(x); });
  EXPECT_LE(s.max_rel, 2e-7);
  EXPECT_EQ(tanh_f32(50.f), 1.f);
  EXPECT_EQ(tanh_f32(-std::numeric_limits<float>::infinity()), -1.f);
  EXPECT_TRUE(std::isnan(tanh_f32(std::nanf(""))));
}

TEST(FastMath, Erf) {
  const Errors e = sweep(-6.f, 6.f, 1000003, erf_f32, [](double x) { return std::erf(x); });
  EXPECT_LE(e.max_abs, 6e-7);
  EXPECT_LE(e.max_rel, 6e-7);
  const Errors s = sweep(-1e-4f, 1e-4f, 100001, erf_f32, [](double x) { return std::erf(x); });
  EXPECT_LE(s.max_rel, 3e-7);
  EXPECT_EQ(erf_f32(10.f), 1.f);
  EXPECT_EQ(erf_f32(-std::numeric_limits<float>::infinity()), -1.f);
  EXPECT_TRUE(std::isnan(erf_f32(std::nanf(""))));
}

}  // namespace
}  // namespace lowbit::kernels
