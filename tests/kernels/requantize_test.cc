// requantize_test.cc: the dyadic requantization primitives (fixed_point.h), dyadic_multiplier
// and the row kernels (requantize.h) against hand-computed values, against independent
// reimplementations of gemmlowp's definitions (its literal nudge-and-divide SRDHM, RDBP as
// int64 division rounding ties away from zero), against the exact value acc · m0 / 2^(31−shift)
// in 128-bit arithmetic, and the AVX2 and AVX-512 row kernels against the scalar ones bit for bit.
#include "kernels/requant/requantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"

namespace lowbit::kernels {
namespace {

constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
constexpr int32_t kP30 = int32_t{1} << 30;

// ---- Independent references -------------------------------------------------------------

// gemmlowp's SRDHM as it writes it: a nudge of 2^30 (or 1 − 2^30 for a negative product),
// then division by 2^31 truncating toward zero.
int32_t ref_srdhm(int32_t a, int32_t b) {
  if (a == kMin && b == kMin) return kMax;
  const int64_t ab = static_cast<int64_t>(a) * b;
  const int64_t nudge = ab >= 0 ? (int64_t{1} << 30) : 1 - (int64_t{1} << 30);
  return static_cast<int32_t>((ab + nudge) / (int64_t{1} << 31));
}

// x / 2^e to nearest, ties away from zero, from the truncated quotient and remainder.
int32_t ref_rdbp(int32_t x, int e) {
  const int64_t d = int64_t{1} << e;
  int64_t q = static_cast<int64_t>(x) / d;
  const int64_t r = static_cast<int64_t>(x) % d;  // sign of x
  if (2 * (r < 0 ? -r : r) >= d) q += x < 0 ? -1 : 1;
  return static_cast<int32_t>(q);
}

int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

int32_t ref_requantize(int32_t acc, DyadicMultiplier m, int32_t zy, int32_t lo, int32_t hi) {
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift < 0 ? -m.shift : 0;
  const int64_t shifted = clamp64(static_cast<int64_t>(acc) * (int64_t{1} << left), kMin, kMax);
  const int64_t y = static_cast<int64_t>(zy) + ref_rdbp(ref_srdhm(static_cast<int32_t>(shifted), m.m0), right);
  return static_cast<int32_t>(clamp64(y, lo, hi));
}

// floor(n / d) for d > 0 in 128-bit arithmetic.
__int128 floor_div(__int128 n, __int128 d) {
  __int128 q = n / d;
  if ((n % d != 0) && (n < 0)) --q;
  return q;
}

// acc · M for M = m0 · 2^(shift − 31), exactly, rounded once: ties away from zero, and ties up.
int64_t exact_round_away(int32_t acc, DyadicMultiplier m) {
  const __int128 num = static_cast<__int128>(acc) * m.m0;
  const __int128 d = static_cast<__int128>(1) << (31 - m.shift);
  const __int128 mag = floor_div(2 * (num < 0 ? -num : num) + d, 2 * d);
  return static_cast<int64_t>(num < 0 ? -mag : mag);
}
int64_t exact_round_up(int32_t acc, DyadicMultiplier m) {
  const __int128 num = static_cast<__int128>(acc) * m.m0;
  const __int128 d = static_cast<__int128>(1) << (31 - m.shift);
  return static_cast<int64_t>(floor_div(2 * num + d, 2 * d));
}

// acc · 2^left overflows int32.
bool left_shift_saturates(int32_t acc, DyadicMultiplier m) {
  const int left = m.shift > 0 ? m.shift : 0;
  const int64_t v = static_cast<int64_t>(acc) * (int64_t{1} << left);
  return v > kMax || v < kMin;
}

// Accumulators from a mix of ranges: full int32, typical conv sums, small, and the edges.
int32_t random_acc(std::mt19937& rng) {
  static const int32_t kEdges[] = {kMin, kMin + 1, -kP30, -1, 0, 1, kP30, kMax - 1, kMax};
  switch (rng() % 5) {
    case 0: return static_cast<int32_t>(rng());
    case 1: return std::uniform_int_distribution<int32_t>(-(1 << 20), 1 << 20)(rng);
    case 2: return std::uniform_int_distribution<int32_t>(-1000, 1000)(rng);
    case 3: return std::uniform_int_distribution<int32_t>(-(1 << 26), 1 << 26)(rng);
    default: return kEdges[rng() % (sizeof(kEdges) / sizeof(kEdges[0]))];
  }
}

// A valid multiplier: m log-uniform over [2^-32, 2^30) through dyadic_multiplier, or a
// typical one in [2^-16, 4), or the extreme shifts.
DyadicMultiplier random_multiplier(std::mt19937& rng) {
  std::uniform_real_distribution<double> mant(1.0, 2.0);
  const int kind = static_cast<int>(rng() % 6);
  if (kind == 0) return DyadicMultiplier{std::uniform_int_distribution<int32_t>(kP30, kMax)(rng), kMinDyadicShift};
  if (kind == 1) return DyadicMultiplier{std::uniform_int_distribution<int32_t>(kP30, kMax)(rng), kMaxDyadicShift};
  const int e = kind == 2 ? std::uniform_int_distribution<int>(-32, 29)(rng)
                          : std::uniform_int_distribution<int>(-16, 1)(rng);
  Result<DyadicMultiplier> r = dyadic_multiplier(std::ldexp(mant(rng), e));
  return r.is_ok() ? *r : DyadicMultiplier{kP30, 0};
}

// ---- SaturatingRoundingDoublingHighMul --------------------------------------------------

TEST(RequantizeFixedPoint, SrdhmMinTimesMinSaturates) {
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kMin, kMin), kMax);
}

TEST(RequantizeFixedPoint, SrdhmHandValues) {
  // a · b / 2^31, rounded to nearest with ties up.
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kP30, kP30), 1 << 29);               // 0.5 · 0.5
  EXPECT_EQ(saturating_rounding_doubling_high_mul(100, kP30), 50);
  EXPECT_EQ(saturating_rounding_doubling_high_mul(3, kP30), 2);                        // 1.5 → 2
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-3, kP30), -1);                      // −1.5 → −1
  EXPECT_EQ(saturating_rounding_doubling_high_mul(1, kP30), 1);                        // 0.5 → 1
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-1, kP30), 0);                       // −0.5 → 0
  EXPECT_EQ(saturating_rounding_doubling_high_mul(5, 3 << 29), 4);                     // 3.75
  EXPECT_EQ(saturating_rounding_doubling_high_mul(-5, 3 << 29), -4);                   // −3.75
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kMax, kMax), 2147483646);            // 2^31 − 2 + 2^−31
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kMin, kMax), -2147483647);           // exact
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kMin, kMin + 1), 2147483647);        // exact
  EXPECT_EQ(saturating_rounding_doubling_high_mul(kMin, 1), -1);                       // exact
  EXPECT_EQ(saturating_rounding_doubling_high_mul(0, kMin), 0);
}

TEST(RequantizeFixedPoint, SrdhmMatchesGemmlowpDefinition) {
  std::mt19937 rng(11);
  for (int i = 0; i < 200000; ++i) {
    const int32_t a = random_acc(rng);
    const int32_t b = (i % 3 == 0) ? random_acc(rng) : static_cast<int32_t>(rng());
    ASSERT_EQ(saturating_rounding_doubling_high_mul(a, b), ref_srdhm(a, b)) << a << " * " << b;
  }
  // Every tie sign: a · b = ±(2k + 1) · 2^30.
  for (int32_t a = -9; a <= 9; ++a) {
    EXPECT_EQ(saturating_rounding_doubling_high_mul(a, kP30), ref_srdhm(a, kP30)) << a;
  }
}

// ---- RoundingDivideByPOT ----------------------------------------------------------------

TEST(RequantizeFixedPoint, RdbpHandValues) {
  EXPECT_EQ(rounding_divide_by_pot(-5, 1), -3);  // −2.5 → away from zero
  EXPECT_EQ(rounding_divide_by_pot(-3, 1), -2);  // −1.5
  EXPECT_EQ(rounding_divide_by_pot(5, 1), 3);    // 2.5
  EXPECT_EQ(rounding_divide_by_pot(3, 1), 2);
  EXPECT_EQ(rounding_divide_by_pot(-4, 1), -2);
  EXPECT_EQ(rounding_divide_by_pot(7, 2), 2);    // 1.75
  EXPECT_EQ(rounding_divide_by_pot(-7, 2), -2);  // −1.75
  EXPECT_EQ(rounding_divide_by_pot(-6, 2), -2);  // −1.5
  EXPECT_EQ(rounding_divide_by_pot(6, 2), 2);    // 1.5
  EXPECT_EQ(rounding_divide_by_pot(-5, 2), -1);  // −1.25
  EXPECT_EQ(rounding_divide_by_pot(-1, 1), -1);  // −0.5
  EXPECT_EQ(rounding_divide_by_pot(1, 1), 1);    // 0.5
  // Exponent 0 is the identity.
  for (int32_t x : {kMin, -7, -1, 0, 1, 7, kMax}) EXPECT_EQ(rounding_divide_by_pot(x, 0), x);
  // Exponent 31: x / 2^31 is in [−1, 1).
  EXPECT_EQ(rounding_divide_by_pot(kMax, 31), 1);         // 1 − 2^−31
  EXPECT_EQ(rounding_divide_by_pot(kMin, 31), -1);        // exactly −1
  EXPECT_EQ(rounding_divide_by_pot(kP30, 31), 1);         // 0.5
  EXPECT_EQ(rounding_divide_by_pot(-kP30, 31), -1);       // −0.5
  EXPECT_EQ(rounding_divide_by_pot(kP30 - 1, 31), 0);
  EXPECT_EQ(rounding_divide_by_pot(-kP30 + 1, 31), 0);
  EXPECT_EQ(rounding_divide_by_pot(0, 31), 0);
  // The int32 ends at other exponents.
  EXPECT_EQ(rounding_divide_by_pot(kMin, 1), -kP30);
  EXPECT_EQ(rounding_divide_by_pot(kMax, 1), kP30);       // 2^30 − 0.5 → 2^30
  EXPECT_EQ(rounding_divide_by_pot(kMin, 30), -2);
  EXPECT_EQ(rounding_divide_by_pot(kMax, 30), 2);         // 2 − 2^−30
  EXPECT_EQ(rounding_divide_by_pot(kMin + 1, 31), -1);
}

TEST(RequantizeFixedPoint, RdbpMatchesRoundHalfAwayFromZero) {
  std::mt19937 rng(12);
  for (int e = 0; e <= 31; ++e) {
    for (int i = 0; i < 4000; ++i) {
      const int32_t x = random_acc(rng);
      ASSERT_EQ(rounding_divide_by_pot(x, e), ref_rdbp(x, e)) << x << " / 2^" << e;
    }
    if (e > 0) {  // the ties ±(2k + 1) · 2^(e−1), where k keeps them in int32
      for (int64_t k = -3; k <= 2; ++k) {
        const int64_t t = (2 * k + 1) * (int64_t{1} << (e - 1));
        if (t < kMin || t > kMax) continue;
        EXPECT_EQ(rounding_divide_by_pot(static_cast<int32_t>(t), e), ref_rdbp(static_cast<int32_t>(t), e)) << t;
      }
    }
  }
}

// ---- dyadic_multiplier ------------------------------------------------------------------

void expect_dyadic(double m, int32_t m0, int shift) {
  Result<DyadicMultiplier> r = dyadic_multiplier(m);
  ASSERT_TRUE(r.is_ok()) << m << ": " << r.status().message();
  EXPECT_EQ(r->m0, m0) << m;
  EXPECT_EQ(r->shift, shift) << m;
}

TEST(RequantizeMultiplier, HandValues) {
  expect_dyadic(0.0, 0, 0);
  expect_dyadic(0.5, kP30, 0);                    // 0.5 · 2^0
  expect_dyadic(1.0, kP30, 1);                    // 0.5 · 2^1
  expect_dyadic(1.5, 3 << 29, 1);                 // 0.75 · 2^1
  expect_dyadic(1000.0, 2097152000, 10);          // 0.9765625 · 2^10, 0.9765625 · 2^31 = 2097152000
  expect_dyadic(std::ldexp(1.0, -31), kP30, -30);  // 0.5 · 2^−30
  expect_dyadic(0.25, kP30, -1);
  expect_dyadic(0.75, 3 << 29, 0);
  // 1 − 2^−40: q · 2^31 = 2^31 − 2^−9 rounds up to 2^31, which carries into the shift.
  expect_dyadic(1.0 - std::ldexp(1.0, -40), kP30, 1);
}

TEST(RequantizeMultiplier, EndsOfTheMantissaRange) {
  // m0 = 2^31 − 1, the top of [2^30, 2^31).
  expect_dyadic((2147483648.0 - 1.0) / 2147483648.0, kMax, 0);
  // q · 2^31 = 2^31 − 1.5 rounds (tie, away from zero) to 2^31 − 1.
  expect_dyadic(1.0 - std::ldexp(1.5, -31), kMax, 0);
  // q · 2^31 = 2^31 − 0.5 rounds (tie) to 2^31: carry.
  expect_dyadic(1.0 - std::ldexp(1.0, -32), kP30, 1);
  // m0 = 2^30 exactly, and the next one up.
  expect_dyadic(0.5 + std::ldexp(1.0, -31), kP30 + 1, 0);
  // 2^30 + 0.5 ulp of Q31 rounds (tie) away to 2^30 + 1.
  expect_dyadic(0.5 + std::ldexp(1.0, -32), kP30 + 1, 0);
  // The ends of the shift range: 2^−32 is the smallest multiplier, just below 2^30 the largest.
  expect_dyadic(std::ldexp(1.0, -32), kP30, -31);
  expect_dyadic(std::ldexp(1.5, 29), 3 << 29, 30);
  expect_dyadic(std::ldexp(1.0 - std::ldexp(1.0, -31), 30), kMax, 30);
  // Just below 2^−32, rounding up to 2^−32 brings it back in range.
  expect_dyadic(std::ldexp(1.0 - std::ldexp(1.0, -40), -32), kP30, -31);
}

TEST(RequantizeMultiplier, RejectsWhatInt32CannotApply) {
  for (double m : {-1.0, -std::ldexp(1.0, -40), std::nan(""), std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity(), std::ldexp(1.0, -33), std::ldexp(1.9, -34),
                   std::numeric_limits<double>::denorm_min(), std::ldexp(1.0, 30),
                   std::ldexp(1.0 - std::ldexp(1.0, -40), 30), 1e300}) {
    Result<DyadicMultiplier> r = dyadic_multiplier(m);
    EXPECT_FALSE(r.is_ok()) << m;
    if (!r.is_ok()) {
      EXPECT_NE(r.status().message().find("multiplier"), std::string::npos);
    }
  }
}

TEST(RequantizeMultiplier, RandomIsNearestDyadic) {
  std::mt19937 rng(13);
  std::uniform_real_distribution<double> mant(1.0, 2.0);
  for (int i = 0; i < 20000; ++i) {
    const double m = std::ldexp(mant(rng), std::uniform_int_distribution<int>(-32, 29)(rng));
    Result<DyadicMultiplier> r = dyadic_multiplier(m);
    ASSERT_TRUE(r.is_ok()) << m;
    ASSERT_GE(r->m0, kP30);
    ASSERT_GE(r->shift, kMinDyadicShift);
    ASSERT_LE(r->shift, kMaxDyadicShift);
    // |m − m0 · 2^(shift−31)| ≤ half a unit of m0 (both terms and the difference are exact).
    const double dyadic = std::ldexp(static_cast<double>(r->m0), r->shift - 31);
    ASSERT_LE(std::fabs(m - dyadic), std::ldexp(0.5, r->shift - 31)) << m;
  }
}

// ---- requantize ---------------------------------------------------------------------------

TEST(Requantize, MatchesGemmlowpExactlyAndTheExactProductWithinOne) {
  std::mt19937 rng(14);
  int64_t compared = 0, off_by_one = 0;
  for (int i = 0; i < 300000; ++i) {
    const int32_t acc = random_acc(rng);
    const DyadicMultiplier m = random_multiplier(rng);
    const int32_t y = requantize(acc, m, 0, kMin, kMax);
    ASSERT_EQ(y, ref_requantize(acc, m, 0, kMin, kMax)) << acc << " m0 " << m.m0 << " shift " << m.shift;
    if (left_shift_saturates(acc, m)) continue;
    ++compared;
    const int64_t exact = exact_round_away(acc, m);
    const int64_t diff = y - exact;
    ASSERT_LE(diff < 0 ? -diff : diff, 1) << acc << " m0 " << m.m0 << " shift " << m.shift;
    if (diff != 0) {
      ++off_by_one;
      // acc · m0 / D with D = 2^(31−shift); r = its remainder in [0, D).
      const __int128 num = static_cast<__int128>(acc) * m.m0;
      const __int128 d = static_cast<__int128>(1) << (31 - m.shift);
      const __int128 r = num - floor_div(num, d) * d;
      const __int128 dist = r > d / 2 ? r - d / 2 : d / 2 - r;
      if (m.shift >= 0) {
        // One rounding: only an exact negative tie differs (SRDHM ties up, not away).
        ASSERT_TRUE(num < 0 && dist == 0) << acc << " m0 " << m.m0 << " shift " << m.shift;
      } else {
        // Two roundings: only where SRDHM's (±1/2 at its scale, i.e. ±2^30 in units of
        // acc · m0) can carry the value across RDBP's half-way point.
        ASSERT_LE(dist, static_cast<__int128>(1) << 30) << acc << " m0 " << m.m0 << " shift " << m.shift;
      }
    }
    // With no right shift there is one rounding only: SRDHM's, to nearest with ties up.
    if (m.shift >= 0) {
      ASSERT_EQ(y, exact_round_up(acc, m)) << acc << " m0 " << m.m0 << " shift " << m.shift;
    }
  }
  EXPECT_GT(compared, 100000);
  EXPECT_GT(off_by_one, 0);  // the sweep does reach the double-rounding cases
}

TEST(Requantize, DoubleRoundingHandExamples) {
  // M = 1/4 = 2^30 · 2^(−1−31): SRDHM(acc, 2^30) = acc / 2 (ties up), then RDBP by 1.
  const DyadicMultiplier quarter{kP30, -1};
  EXPECT_EQ(requantize(1, quarter, 0, kMin, kMax), 1);    // 0.5 → 1, 0.5 → 1; exact 0.25 → 0
  EXPECT_EQ(requantize(5, quarter, 0, kMin, kMax), 2);    // 2.5 → 3, 1.5 → 2; exact 1.25 → 1
  EXPECT_EQ(requantize(3, quarter, 0, kMin, kMax), 1);    // 1.5 → 2, 1 ; exact 0.75 → 1
  EXPECT_EQ(requantize(2, quarter, 0, kMin, kMax), 1);    // 1, 0.5 → 1; exact 0.5 → 1
  EXPECT_EQ(requantize(-1, quarter, 0, kMin, kMax), 0);   // −0.5 → 0; exact −0.25 → 0
  EXPECT_EQ(requantize(-2, quarter, 0, kMin, kMax), -1);  // −1, −0.5 → −1; exact −0.5 → −1
  EXPECT_EQ(requantize(-3, quarter, 0, kMin, kMax), -1);  // −1.5 → −1, −0.5 → −1
  EXPECT_EQ(requantize(-5, quarter, 0, kMin, kMax), -1);  // −2.5 → −2, −1
  EXPECT_EQ(requantize(-7, quarter, 0, kMin, kMax), -2);  // −3.5 → −3, −1.5 → −2
}

TEST(Requantize, SaturatesAtInt32Limits) {
  const DyadicMultiplier k1000{2097152000, 10};  // 1000
  // acc · 2^10 saturates to INT32_MAX; SRDHM(INT32_MAX, m0) = m0 − m0 / 2^31 → m0 − 1.
  EXPECT_EQ(requantize(kMax, k1000, 0, kMin, kMax), 2097151999);
  EXPECT_EQ(requantize(kMin, k1000, 0, kMin, kMax), -2097152000);  // −m0 exactly
  EXPECT_EQ(requantize(1 << 21, k1000, 0, kMin, kMax), 2097151999);  // 2^31 saturates too
  EXPECT_EQ(requantize((1 << 21) - 1, k1000, 0, kMin, kMax), 2097151000);  // (2^21 − 1) · 1000, exact
  // Shift 30: 1 · 2^30 fits, 2 · 2^30 saturates.
  const DyadicMultiplier half_top{kP30, 30};  // 2^29
  EXPECT_EQ(requantize(1, half_top, 0, kMin, kMax), 1 << 29);
  EXPECT_EQ(requantize(2, half_top, 0, kMin, kMax), kP30);          // SRDHM(MAX, 2^30) = 2^30 − 0.5 → 2^30
  EXPECT_EQ(requantize(-2, half_top, 0, kMin, kMax), -kP30);        // SRDHM(MIN, 2^30) = −2^30
  // A hand-made m0 = INT32_MIN meets a saturated acc: SRDHM's own saturation.
  EXPECT_EQ(requantize(kMin, DyadicMultiplier{kMin, 0}, 0, kMin, kMax), kMax);
  // zy + scaled beyond int32 saturates into [lo, hi] rather than wrapping.
  const DyadicMultiplier half{kP30, 0};
  EXPECT_EQ(requantize(100, half, kMax, kMin, kMax), kMax);
  EXPECT_EQ(requantize(-100, half, kMin, kMin, kMax), kMin);
  EXPECT_EQ(requantize(-100, half, kMax, kMin, kMax), kMax - 50);
  EXPECT_EQ(requantize(kMax, half, 128, 0, 255), 255);
  EXPECT_EQ(requantize(kMin, half, 128, 0, 255), 0);
  // The smallest multiplier, 2^−32 (right shift 31): results are in {−1, 0, 1}.
  const DyadicMultiplier tiny{kP30, -31};
  EXPECT_EQ(requantize(kMax, tiny, 0, kMin, kMax), 1);    // SRDHM 2^30 − 0.5 → 2^30, RDBP 0.5 → 1 (exact 0.4999…)
  EXPECT_EQ(requantize(kMin, tiny, 0, kMin, kMax), -1);   // −2^30, −0.5 → −1
  EXPECT_EQ(requantize(kP30, tiny, 0, kMin, kMax), 0);    // 2^29, 0.25 → 0
}

TEST(Requantize, ClampBoundsFoldRelu6) {
  // M = 0.5, zy = 10, ReLU6 folded into [10, 70].
  const DyadicMultiplier half{kP30, 0};
  EXPECT_EQ(requantize(-20, half, 10, 10, 70), 10);   // −10 + 10 = 0 → 10
  EXPECT_EQ(requantize(-41, half, 10, 10, 70), 10);   // −20.5 → −20, −10 → 10
  EXPECT_EQ(requantize(41, half, 10, 10, 70), 31);    // 20.5 → 21
  EXPECT_EQ(requantize(100, half, 10, 10, 70), 60);
  EXPECT_EQ(requantize(117, half, 10, 10, 70), 69);   // 58.5 → 59
  EXPECT_EQ(requantize(119, half, 10, 10, 70), 70);   // 59.5 → 60
  EXPECT_EQ(requantize(121, half, 10, 10, 70), 70);   // 60.5 → 61, 71 → 70
  EXPECT_EQ(requantize(200, half, 10, 10, 70), 70);
  EXPECT_EQ(requantize(0, half, 10, 10, 70), 10);
}

// ---- Row kernels ---------------------------------------------------------------------------

using U8Kernel = void (*)(const int32_t*, int64_t, int64_t, const DyadicMultiplier*, int64_t, int32_t, int32_t,
                          int32_t, uint8_t*, int);
using S8Kernel = void (*)(const int32_t*, int64_t, int64_t, const DyadicMultiplier*, int64_t, int32_t, int32_t,
                          int32_t, int8_t*, int);

bool have_avx2() {
  const CpuFeatures& f = cpu_features();
  return f.avx2 && f.os_avx;
}

bool have_avx512() {
  const CpuFeatures& f = cpu_features();
  return f.avx512f && f.avx512bw && f.avx512vl && f.os_avx512;
}

std::vector<U8Kernel> u8_kernels() {
  std::vector<U8Kernel> k = {requantize_to_u8_scalar, requantize_to_u8};
  if (have_avx2()) k.push_back(requantize_to_u8_avx2);
  if (have_avx512()) k.push_back(requantize_to_u8_avx512);
  return k;
}
std::vector<S8Kernel> s8_kernels() {
  std::vector<S8Kernel> k = {requantize_to_s8_scalar, requantize_to_s8};
  if (have_avx2()) k.push_back(requantize_to_s8_avx2);
  if (have_avx512()) k.push_back(requantize_to_s8_avx512);
  return k;
}

TEST(RequantizeRows, HandValues) {
  // Per channel: 0.5, 0.25, 1.5; zy = 3.
  const std::vector<int32_t> acc = {10, 10, 10, -20, 7, 200};
  const DyadicMultiplier per_channel[] = {{kP30, 0}, {kP30, -1}, {3 << 29, 1}};
  // 10·0.5 = 5; 10·0.25: SRDHM 5, RDBP 2.5 → 3; 10·1.5: 20 · 0.75 = 15; −20·0.5 = −10;
  // 7·0.25: 3.5 → 4, 2; 200·1.5 = 300. Each + 3, then clamped.
  const std::vector<uint8_t> want_u8 = {8, 6, 18, 0, 5, 255};
  const std::vector<int8_t> want_s8 = {8, 6, 18, -7, 5, 127};
  // Per tensor 0.25: 10 → 3; −20 → −5; 7 → 2; 200 → 50. Each + 3.
  const DyadicMultiplier per_tensor[] = {{kP30, -1}};
  const std::vector<uint8_t> want_u8_t = {6, 6, 6, 0, 5, 53};
  const std::vector<int8_t> want_s8_t = {6, 6, 6, -2, 5, 53};
  for (U8Kernel k : u8_kernels()) {
    std::vector<uint8_t> out(6);
    k(acc.data(), 2, 3, per_channel, 3, 3, 0, 255, out.data(), 0);
    EXPECT_EQ(out, want_u8);
    k(acc.data(), 2, 3, per_tensor, 1, 3, 0, 255, out.data(), 0);
    EXPECT_EQ(out, want_u8_t);
  }
  for (S8Kernel k : s8_kernels()) {
    std::vector<int8_t> out(6);
    k(acc.data(), 2, 3, per_channel, 3, 3, -128, 127, out.data(), 0);
    EXPECT_EQ(out, want_s8);
    k(acc.data(), 2, 3, per_tensor, 1, 3, -128, 127, out.data(), 0);
    EXPECT_EQ(out, want_s8_t);
  }
}

TEST(RequantizeRows, EmptyBlocksWriteNothing) {
  const DyadicMultiplier m[] = {{kP30, 0}};
  uint8_t out[1] = {77};
  for (U8Kernel k : u8_kernels()) {
    k(nullptr, 0, 5, m, 1, 0, 0, 255, out, 0);
    k(nullptr, 3, 0, m, 1, 0, 0, 255, out, 0);
    EXPECT_EQ(out[0], 77);
  }
}

struct Case {
  int32_t zy, lo, hi;
};

// Every kernel variant against ref_requantize (the independent reference) element by element,
// on random blocks of the awkward widths; guard bytes after the block must stay untouched.
template <typename T, typename Kernel>
void check_random_blocks(const std::vector<Kernel>& kernels, int32_t qmin, int32_t qmax, uint32_t seed) {
  std::mt19937 rng(seed);
  const Case cases[] = {{0, qmin, qmax}, {qmin < 0 ? 0 : 128, qmin, qmax}, {-17, qmin, qmax},
                        {qmin < 0 ? -128 : 0, qmin < 0 ? -128 : 0, qmin < 0 ? -80 : 48},  // ReLU6-like
                        {kMax, qmin, qmax}, {kMin, qmin, qmax}, {kMax - 3, qmax - 5, qmax}};
  constexpr int kGuard = 40;
  for (int64_t cols : {1, 3, 15, 16, 17, 63, 64, 65, 255, 257}) {
    for (int64_t rows : {1, 3}) {
      for (bool per_channel : {false, true}) {
        const Case& c = cases[rng() % (sizeof(cases) / sizeof(cases[0]))];
        const int64_t n = rows * cols;
        std::vector<int32_t> acc(static_cast<size_t>(n));
        for (int32_t& a : acc) a = random_acc(rng);
        std::vector<DyadicMultiplier> mult(per_channel ? static_cast<size_t>(cols) : 1);
        for (DyadicMultiplier& m : mult) m = random_multiplier(rng);
        if (per_channel && cols >= 3) {  // hand-made extremes: m0 = 0, INT32_MIN, INT32_MAX
          mult[0].m0 = 0;
          mult[1] = DyadicMultiplier{kMin, 0};
          mult[2] = DyadicMultiplier{kMax, kMaxDyadicShift};
          acc[1] = kMin;
        }
        std::vector<T> want(static_cast<size_t>(n));
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t j = 0; j < cols; ++j) {
            const DyadicMultiplier& m = mult[per_channel ? static_cast<size_t>(j) : 0];
            want[static_cast<size_t>(r * cols + j)] =
                static_cast<T>(ref_requantize(acc[static_cast<size_t>(r * cols + j)], m, c.zy, c.lo, c.hi));
          }
        }
        for (size_t ki = 0; ki < kernels.size(); ++ki) {
          std::vector<T> out(static_cast<size_t>(n + kGuard), static_cast<T>(0x5a));
          kernels[ki](acc.data(), rows, cols, mult.data(), static_cast<int64_t>(mult.size()), c.zy, c.lo, c.hi,
                      out.data(), 0);
          for (int64_t i = 0; i < n; ++i) {
            ASSERT_EQ(static_cast<int>(out[static_cast<size_t>(i)]), static_cast<int>(want[static_cast<size_t>(i)]))
                << "kernel " << ki << " cols " << cols << " rows " << rows << " per_channel " << per_channel
                << " element " << i << " acc " << acc[static_cast<size_t>(i)];
          }
          for (int g = 0; g < kGuard; ++g) ASSERT_EQ(out[static_cast<size_t>(n + g)], static_cast<T>(0x5a));
        }
      }
    }
  }
}

TEST(RequantizeRows, AllVariantsMatchReferenceU8) {
  for (uint32_t seed = 1; seed <= 4; ++seed) check_random_blocks<uint8_t>(u8_kernels(), 0, 255, seed);
}

TEST(RequantizeRows, AllVariantsMatchReferenceS8) {
  for (uint32_t seed = 5; seed <= 8; ++seed) check_random_blocks<int8_t>(s8_kernels(), -128, 127, seed);
}

// The AVX2 kernels against the scalar ones directly (the brief's bit-exactness check), on
// many random blocks and full-range clamps.
TEST(RequantizeRows, Avx2EqualsScalar) {
  if (!have_avx2()) GTEST_SKIP() << "CPU has no AVX2";
  std::mt19937 rng(99);
  for (int iter = 0; iter < 200; ++iter) {
    const int64_t cols = std::uniform_int_distribution<int64_t>(1, 300)(rng);
    const int64_t rows = std::uniform_int_distribution<int64_t>(1, 4)(rng);
    const bool per_channel = rng() % 2;
    std::vector<int32_t> acc(static_cast<size_t>(rows * cols));
    for (int32_t& a : acc) a = random_acc(rng);
    std::vector<DyadicMultiplier> mult(per_channel ? static_cast<size_t>(cols) : 1);
    for (DyadicMultiplier& m : mult) m = random_multiplier(rng);
    const int32_t zy = (iter % 4 == 0) ? static_cast<int32_t>(rng()) : std::uniform_int_distribution<int32_t>(-128, 255)(rng);
    const auto nm = static_cast<int64_t>(mult.size());
    std::vector<uint8_t> u_scalar(acc.size()), u_avx(acc.size());
    requantize_to_u8_scalar(acc.data(), rows, cols, mult.data(), nm, zy, 0, 255, u_scalar.data());
    requantize_to_u8_avx2(acc.data(), rows, cols, mult.data(), nm, zy, 0, 255, u_avx.data());
    ASSERT_EQ(u_scalar, u_avx) << "iter " << iter;
    std::vector<int8_t> s_scalar(acc.size()), s_avx(acc.size());
    requantize_to_s8_scalar(acc.data(), rows, cols, mult.data(), nm, zy, -128, 127, s_scalar.data());
    requantize_to_s8_avx2(acc.data(), rows, cols, mult.data(), nm, zy, -128, 127, s_avx.data());
    ASSERT_EQ(s_scalar, s_avx) << "iter " << iter;
  }
}

// The AVX-512 kernels against the scalar ones directly, on many random blocks: widths 1..300
// (the flat periodic runs, the row tiles and their masked tails), per tensor and per column,
// headroom 0..12 with accumulators bounded so that it is legal, unbounded accumulators (the
// left shift saturates) with and without headroom, any-int32 m0 (negative, 0, INT32_MIN),
// extreme zero points and random clamp bounds; then a block of the extremes.
TEST(RequantizeRows, Avx512EqualsScalar) {
  if (!have_avx512()) GTEST_SKIP() << "CPU has no AVX-512 F/BW/VL";
  std::mt19937 rng(512);
  for (int iter = 0; iter < 1500; ++iter) {
    const int64_t cols = iter < 300 ? iter + 1 : std::uniform_int_distribution<int64_t>(1, 300)(rng);
    const int64_t rows = std::uniform_int_distribution<int64_t>(1, 9)(rng);
    const bool per_channel = rng() % 3 != 0;
    const int mode = static_cast<int>(rng() % 4);  // 0: headroom 0, 1-2: bounded headroom, 3: unbounded headroom
    const int k = mode == 0 ? 0 : std::uniform_int_distribution<int>(0, 12)(rng);
    std::vector<DyadicMultiplier> mult(per_channel ? static_cast<size_t>(cols) : 1);
    for (DyadicMultiplier& m : mult) {
      m = random_multiplier(rng);
      if (rng() % 16 == 0) m.m0 = static_cast<int32_t>(rng());  // any int32, negative included
      if (rng() % 64 == 0) m.m0 = rng() % 2 ? kMin : 0;
      if (m.shift <= 0 && k - m.shift > 31) m.shift = k - 31;  // keeps k − shift ≤ 31
    }
    std::vector<int32_t> acc(static_cast<size_t>(rows * cols));
    if (mode == 1 || mode == 2) {
      // |acc| · 2^k < 2^31.
      const int32_t bound = static_cast<int32_t>((int64_t{1} << (31 - k)) - 1);
      std::uniform_int_distribution<int32_t> dist(-bound, bound);
      for (int32_t& a : acc) a = rng() % 8 == 0 ? (rng() % 2 ? bound : -bound) : dist(rng);
    } else {
      for (int32_t& a : acc) a = random_acc(rng);
    }
    int32_t zy = std::uniform_int_distribution<int32_t>(-128, 255)(rng);
    if (iter % 5 == 0) zy = static_cast<int32_t>(rng());
    if (iter % 17 == 0) zy = rng() % 2 ? kMax : kMin;
    int32_t lo_u = 0, hi_u = 255, lo_s = -128, hi_s = 127;
    if (iter % 3 == 0) {
      lo_u = std::uniform_int_distribution<int32_t>(0, 255)(rng);
      hi_u = std::uniform_int_distribution<int32_t>(lo_u, 255)(rng);
      lo_s = std::uniform_int_distribution<int32_t>(-128, 127)(rng);
      hi_s = std::uniform_int_distribution<int32_t>(lo_s, 127)(rng);
    }
    const auto nm = static_cast<int64_t>(mult.size());
    std::vector<uint8_t> u_scalar(acc.size()), u_avx(acc.size() + 32, 0x5a);
    requantize_to_u8_scalar(acc.data(), rows, cols, mult.data(), nm, zy, lo_u, hi_u, u_scalar.data(), k);
    requantize_to_u8_avx512(acc.data(), rows, cols, mult.data(), nm, zy, lo_u, hi_u, u_avx.data(), k);
    for (size_t g = acc.size(); g < u_avx.size(); ++g) ASSERT_EQ(u_avx[g], 0x5a) << "iter " << iter;
    u_avx.resize(acc.size());
    ASSERT_EQ(u_scalar, u_avx) << "iter " << iter << " cols " << cols << " rows " << rows << " headroom " << k
                               << " zy " << zy;
    std::vector<int8_t> s_scalar(acc.size()), s_avx(acc.size() + 32, 0x5a);
    requantize_to_s8_scalar(acc.data(), rows, cols, mult.data(), nm, zy, lo_s, hi_s, s_scalar.data(), k);
    requantize_to_s8_avx512(acc.data(), rows, cols, mult.data(), nm, zy, lo_s, hi_s, s_avx.data(), k);
    for (size_t g = acc.size(); g < s_avx.size(); ++g) ASSERT_EQ(s_avx[g], 0x5a) << "iter " << iter;
    s_avx.resize(acc.size());
    ASSERT_EQ(s_scalar, s_avx) << "iter " << iter << " cols " << cols << " rows " << rows << " headroom " << k
                               << " zy " << zy;
  }
  // The extremes at once, every one in many lane positions: accumulators at the int32 ends and
  // at the left-shift thresholds, every shift in [−31, 30], m0 at its ends (620 columns: row
  // tiles and a masked tail).
  std::vector<int32_t> accs = {kMin, kMin + 1, -kP30 - 1, -kP30, -kP30 + 1, -3, -2, -1, 0, 1, 2, 3,
                               kP30 - 1, kP30, kP30 + 1, kMax - 1, kMax};
  for (int l = 1; l <= 31; ++l) {  // around INT32_MAX >> l and INT32_MIN >> l
    const int32_t t = kMax >> l;
    for (int32_t d = -1; d <= 1; ++d) {
      accs.push_back(t + d);
      accs.push_back(-t - 1 + d);
    }
  }
  const int32_t m0s[] = {kMin, kMin + 1, -kP30, -1, 0, 1, kP30, kP30 + 1, kMax - 1, kMax};
  for (int k : {0, 1, 5, 31}) {
    std::vector<DyadicMultiplier> mult;
    for (int32_t m0 : m0s)
      for (int shift = kMinDyadicShift; shift <= kMaxDyadicShift; ++shift)
        if (shift > 0 || k - shift <= 31) mult.push_back({m0, shift});
    const auto cols = static_cast<int64_t>(mult.size());
    const auto rows = static_cast<int64_t>(accs.size());
    std::vector<int32_t> acc(static_cast<size_t>(rows * cols));
    for (int64_t r = 0; r < rows; ++r)  // every value in every lane position
      for (int64_t c = 0; c < cols; ++c)
        acc[static_cast<size_t>(r * cols + c)] = accs[static_cast<size_t>((r + c) % rows)];
    for (int32_t zy : {0, 128, -1000, kMax, kMin, kMax - 200, kMin + 200}) {
      std::vector<uint8_t> u_scalar(acc.size()), u_avx(acc.size());
      requantize_to_u8_scalar(acc.data(), rows, cols, mult.data(), cols, zy, 0, 255, u_scalar.data(), k);
      requantize_to_u8_avx512(acc.data(), rows, cols, mult.data(), cols, zy, 0, 255, u_avx.data(), k);
      ASSERT_EQ(u_scalar, u_avx) << "headroom " << k << " zy " << zy;
      std::vector<int8_t> s_scalar(acc.size()), s_avx(acc.size());
      requantize_to_s8_scalar(acc.data(), rows, cols, mult.data(), cols, zy, -128, 127, s_scalar.data(), k);
      requantize_to_s8_avx512(acc.data(), rows, cols, mult.data(), cols, zy, -128, 127, s_avx.data(), k);
      ASSERT_EQ(s_scalar, s_avx) << "headroom " << k << " zy " << zy;
    }
  }
}

// Headroom k: every variant computes RDBP(SRDHM(acc · 2^k, m0), k − shift) for shift ≤ 0 (and
// plain requantize for shift > 0), written here with the reference primitives; and with
// enough headroom the result is the exactly rounded acc · M except near ties.
TEST(RequantizeRows, HeadroomMatchesReferenceAndRoundsOnce) {
  std::mt19937 rng(123);
  int64_t total = 0, exact = 0;
  for (int iter = 0; iter < 300; ++iter) {
    const int k = static_cast<int>(rng() % 12);
    const int64_t cols = 1 + static_cast<int64_t>(rng() % 70), rows = 1 + static_cast<int64_t>(rng() % 3);
    const bool per_channel = rng() % 2;
    std::vector<DyadicMultiplier> mult(per_channel ? static_cast<size_t>(cols) : 1);
    for (DyadicMultiplier& m : mult) {
      m.m0 = static_cast<int32_t>((int64_t{1} << 30) + static_cast<int64_t>(rng() % (1u << 30)));
      m.shift = -static_cast<int>(rng() % 12) + (rng() % 8 == 0 ? 2 : 0);  // mostly ≤ 0, some left shifts
    }
    std::vector<int32_t> acc(static_cast<size_t>(rows * cols));
    // |acc| < 2^(27 − k): acc · 2^k (and acc · 2^2 for the left-shift multipliers) stays in int32.
    const int64_t bound = int64_t{1} << (27 - k);
    for (int32_t& a : acc) a = static_cast<int32_t>(static_cast<int64_t>(rng() % static_cast<uint64_t>(2 * bound)) - bound);
    std::vector<uint8_t> want(acc.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) {
        const DyadicMultiplier m = mult[per_channel ? static_cast<size_t>(c) : 0];
        const int32_t a = acc[static_cast<size_t>(r * cols + c)];
        int64_t y;
        if (m.shift > 0) {
          y = ref_requantize(a, m, 0, -(int32_t{1} << 30), int32_t{1} << 30) + 100;
        } else {
          y = 100 + ref_rdbp(ref_srdhm(a * (int32_t{1} << k), m.m0), k - m.shift);
          const int64_t e = 100 + exact_round_away(a, m);
          total += 1;
          exact += y == e;
        }
        want[static_cast<size_t>(r * cols + c)] = static_cast<uint8_t>(clamp64(y, 0, 255));
      }
    for (U8Kernel kern : u8_kernels()) {
      std::vector<uint8_t> got(acc.size());
      kern(acc.data(), rows, cols, mult.data(), static_cast<int64_t>(mult.size()), 100, 0, 255, got.data(), k);
      ASSERT_EQ(got, want) << "iter " << iter << " headroom " << k;
    }
  }
  EXPECT_GT(total, 1000);
  EXPECT_GE(static_cast<double>(exact) / static_cast<double>(total), 0.9);
}


}  // namespace
}  // namespace lowbit::kernels
