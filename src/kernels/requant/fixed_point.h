// fixed_point.h: the scalar integer primitives of dyadic requantization — gemmlowp's
// SaturatingRoundingDoublingHighMul and RoundingDivideByPOT, a saturating left shift, and
// requantize(), which chains them. Everything is inline: the runtime calls requantize() per
// element in places (residual add, pooling) and the row kernels inline it in their loops.
//
// A real multiplier M > 0 is held in dyadic form M = m0 · 2^(shift − 31), m0 in [2^30, 2^31)
// (a Q0.31 fraction in [0.5, 1)) and shift in [kMinDyadicShift, kMaxDyadicShift]. Then
//   requantize(acc) = clamp(zy + RDBP(SRDHM(acc · 2^left, m0), right), lo, hi),
//   left = max(shift, 0), right = max(−shift, 0),
// which is acc · M rounded twice: once to nearest (ties up) in SRDHM, once to nearest (ties
// away from zero) in RDBP. The double rounding can land 1 away from acc · M rounded once
// (acc = 1, M = 1/4: SRDHM gives 1, RDBP(1, 1) gives 1, exact round(0.25) = 0); the contract
// is gemmlowp's result, bit for bit, and within 1 of the exact one when the shift does not
// saturate. No float and no integer division is used; C++20 defines >> on negative values
// as an arithmetic shift, which every step below relies on.
#pragma once

#include <cstdint>
#include <limits>

#include "core/check.h"

namespace lowbit::kernels {

// Range of DyadicMultiplier::shift that int32 arithmetic can apply: a right shift of up to
// 31 bits (RDBP's exponent range) and a left shift of up to 30 bits (acc · 2^30 still keeps
// |acc| ≤ 1 unsaturated). Multipliers in [2^−32, 2^30) fit.
inline constexpr int kMinDyadicShift = -31;
inline constexpr int kMaxDyadicShift = 30;

// M = m0 · 2^(shift − 31) with m0 in [2^30, 2^31) — the dyadic form of a real multiplier.
// m0 = 0 (with shift 0) encodes M = 0. The primitives accept any m0; only dyadic_multiplier
// (requantize.h) guarantees the normalized range.
struct DyadicMultiplier {
  int32_t m0 = 0;
  int shift = 0;
};

// round(a · b / 2^31) with ties rounded up (towards +inf), i.e. floor((a · b + 2^30) / 2^31),
// saturating the one overflow, INT32_MIN · INT32_MIN (= 2^31 after the division), to
// INT32_MAX. Reading a and b as Q0.31 fractions in [−1, 1), it is their product, rounded.
// gemmlowp writes this as (a·b + nudge) / 2^31 truncated, nudge = 2^30 for a·b ≥ 0 and
// 1 − 2^30 below: for a·b < 0 truncation is ceil, and ceil((p + 1 − 2^30) / 2^31) =
// floor((p + 2^30) / 2^31), so both signs reduce to the one shift used here (as ARM's
// VQRDMULH does). Every other product stays inside int32 after the shift:
// (−2^31) · (−2^31 + 1) → 2^31 − 1, (−2^31) · (2^31 − 1) → −2^31 + 1.
inline int32_t saturating_rounding_doubling_high_mul(int32_t a, int32_t b) {
  if (a == b && a == std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::max();
  const int64_t ab = static_cast<int64_t>(a) * static_cast<int64_t>(b);
  return static_cast<int32_t>((ab + (int64_t{1} << 30)) >> 31);
}

// x / 2^exponent rounded to nearest, ties away from zero, for exponent in [0, 31].
// floor(x / 2^e) is x >> e and the dropped bits are rem = x & (2^e − 1); the floor moves up
// by one when rem exceeds half of 2^e — strictly above (2^(e−1) − 1) for x ≥ 0 (so a tie
// goes up, away from zero), strictly above 2^(e−1) for x < 0 (a tie stays on the floor,
// again away from zero). That "+ 1 for negative x" in the threshold is gemmlowp's
// negative-number correction. exponent 0 leaves x unchanged (mask 0, rem 0).
inline int32_t rounding_divide_by_pot(int32_t x, int exponent) {
  const int32_t mask = static_cast<int32_t>((int64_t{1} << exponent) - 1);
  const int32_t remainder = x & mask;
  const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

// x · 2^exponent for exponent in [0, 30], saturated to [INT32_MIN, INT32_MAX] (gemmlowp's
// SaturatingRoundingMultiplyByPOT for a positive exponent; TFLite leaves this overflow
// undefined). A saturated acc then leaves SRDHM at ≈ ±m0 (INT32_MAX · m0 / 2^31 rounds to
// m0 − 1 or m0, INT32_MIN · m0 / 2^31 is −m0), not ±INT32_MAX; the output clamp to [lo, hi]
// saturates it further as usual.
inline int32_t saturating_left_shift(int32_t x, int exponent) {
  const int64_t v = static_cast<int64_t>(x) * (int64_t{1} << exponent);
  if (v > std::numeric_limits<int32_t>::max()) return std::numeric_limits<int32_t>::max();
  if (v < std::numeric_limits<int32_t>::min()) return std::numeric_limits<int32_t>::min();
  return static_cast<int32_t>(v);
}

// requantize() with the shift already split (left, right ≥ 0, one of them 0) and unchecked:
// the row kernels split once per multiplier. zy + RDBP(·) is formed in int64 so that an
// extreme zero point saturates into [lo, hi] instead of wrapping; clamp is min(max(·, lo), hi).
inline int32_t requantize_split(int32_t acc, int32_t m0, int left, int right, int32_t zy, int32_t lo, int32_t hi) {
  const int32_t scaled =
      rounding_divide_by_pot(saturating_rounding_doubling_high_mul(saturating_left_shift(acc, left), m0), right);
  int64_t y = static_cast<int64_t>(zy) + scaled;
  y = y < lo ? lo : y;
  y = y > hi ? hi : y;
  return static_cast<int32_t>(y);
}

// y = clamp(zy + RDBP(SRDHM(acc · 2^left, m0), right), lo, hi), left = max(shift, 0),
// right = max(−shift, 0); the left shift saturates (saturating_left_shift). m.shift outside
// [kMinDyadicShift, kMaxDyadicShift] is a bug in the caller (dyadic_multiplier never makes
// one) and aborts.
inline int32_t requantize(int32_t acc, DyadicMultiplier m, int32_t zy, int32_t lo, int32_t hi) {
  LB_CHECK(m.shift >= kMinDyadicShift && m.shift <= kMaxDyadicShift, "dyadic shift out of [-31, 30]");
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift < 0 ? -m.shift : 0;
  return requantize_split(acc, m.m0, left, right, zy, lo, hi);
}

}  // namespace lowbit::kernels
