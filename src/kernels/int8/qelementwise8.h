// qelementwise8.h: integer-only elementwise kernels on uint8 activations with a zero point —
// rescaling to a new (scale, zero point) with Relu / Clip folded into the clamp, and the
// residual Add of two same-shape tensors (TFLite / gemmlowp style).
//
// A uint8 tensor holds real = s · (q − z). Every real factor reaches the kernels already in
// dyadic form (DyadicMultiplier, fixed_point.h); the prepare_* helpers, run once when a model
// is compiled, are the only code here that touches double. The kernels use neither float nor
// integer division, and their output depends neither on the thread split nor on the ISA.
//
// Rescale:  y = requantize((q − zx) · 2^k, M · 2^−k, zy, lo, hi),  M = sx / sy,  k =
// headroom_bits(M, 8): the real value (q − zx) · M, computed with k spare bits (below).
// Relu is lo = zy, Clip(a, b) is lo = zy + round(a / sy), hi = zy + round(b / sy), each
// clamped to [0, 255].
//
// Headroom. requantize() rounds twice: SRDHM to a multiple of 2^−right, then RDBP to an
// integer, ties away from zero. Fed a small accumulator (|q − zx| ≤ 255) with M near 1 the
// first rounding is coarse: M in [1/4, 1/2) has right = 1, and every value with fraction in
// [1/4, 1/2) is pushed onto a tie and rounded up — a quarter of all outputs land 1 above
// round(acc · M). Multiplying acc by 2^k and M by 2^−k (only the shift changes, so the real
// multiplier is the same bit for bit) leaves the product alone and makes the first rounding
// 2^k times finer; with k ≈ 20 the result is round(acc · M) except within 2^−21 of a tie.
// The Add below gets the same effect from its 2^20 pre-shift; the average pools use it too.
//
// Add:  y = sa·(qa − za) + sb·(qb − zb), quantized with (sy, zy). With T = 2·max(sa, sb):
//   a' = multiply_by_dyadic((qa − za) · 2^20, sa / T)      ≈ (qa − za) · 2^20 · sa / T
//   b' = multiply_by_dyadic((qb − zb) · 2^20, sb / T)
//   y  = clamp(zy + multiply_by_dyadic(a' + b', T / (2^20 · sy)), lo, hi)
// Why 20 bits of headroom: |q − z| ≤ 255 < 2^8, so (q − z) · 2^20 < 2^28 and, the input
// multipliers being ≤ 1/2, |a'|, |b'| ≤ 2^27 and |a' + b'| < 2^28 (< 2^29 even for
// multipliers up to 1): no int32 step can overflow. Precision: a' and b' are each within
// about one unit of their exact values (two roundings of ½ plus the multiplier's 2^−31
// relative error); one unit of a' + b' is T / (2^20 · sy) output steps, so the two input
// roundings move the output by at most 2^−19 · T / sy steps — below 2^−9 of a step while
// T / sy ≤ 2^10, i.e. far under the final rounding (whose own first step, with right ≈ 20,
// is fine as well). The result is within 1 of round(zy + y / sy) and equal to it except at
// exact ties (away from zero here, to even in ONNX) and within a hair of one.
#pragma once

#include <cstdint>

#include "core/status.h"
#include "core/thread_pool.h"
#include "kernels/requant/fixed_point.h"

namespace lowbit::kernels {

// x · M with M = m0 · 2^(shift − 31): RDBP(SRDHM(x · 2^left, m0), right), left = max(shift, 0)
// (a saturating shift), right = max(−shift, 0) — requantize() without the zero point and the
// clamp. m.shift must lie in [kMinDyadicShift, kMaxDyadicShift] (unchecked).
inline int32_t multiply_by_dyadic(int32_t x, DyadicMultiplier m) {
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift < 0 ? -m.shift : 0;
  return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(saturating_left_shift(x, left), m.m0), right);
}

// The k of the header's headroom argument for an accumulator with |acc| < 2^acc_bits:
// as many bits as keep acc · 2^k inside int32 (k ≤ 31 − acc_bits) and the shift of
// M · 2^−k representable (k ≤ shift + 31); 0 where M ≥ 1 (m.shift > 0), whose requantize
// shifts left and rounds only once.
inline int headroom_bits(DyadicMultiplier m, int acc_bits) {
  if (m.shift > 0) return 0;
  const int by_acc = 31 - acc_bits, by_shift = m.shift - kMinDyadicShift;
  const int k = by_acc < by_shift ? by_acc : by_shift;
  return k > 0 ? k : 0;
}

// M · 2^−k: the same m0, k more bits of right shift (k = headroom_bits(m, ·)).
inline DyadicMultiplier with_headroom(DyadicMultiplier m, int k) { return DyadicMultiplier{m.m0, m.shift - k}; }

// y[i] = requantize((x[i] − x_zero) · 2^k, with_headroom(m, k), y_zero, lo, hi) for i in
// [0, n), k = headroom_bits(m, 8): the rescale of the header comment, m = dyadic(sx / sy).
// Preconditions (checked, abort): n ≥ 0, 0 ≤ x_zero ≤ 255, 0 ≤ lo ≤ hi ≤ 255, m.shift in
// [−31, 30]. y_zero may be any int32. Above a few hundred elements the kernel maps through a
// 256-entry table built with the same requantize(), so it is exact by construction.
void rescale_u8(const uint8_t* x, int64_t n, int32_t x_zero, DyadicMultiplier m, int32_t y_zero, int32_t lo,
                int32_t hi, uint8_t* y, ThreadPool* pool);

// The fixed-point plan of one quantized Add (see the header comment).
struct AddParams {
  int left_shift = 20;     // (q − z) · 2^left_shift before the input multipliers
  DyadicMultiplier a, b;   // sa / T and sb / T, T = 2 · max(sa, sb): both ≤ 1/2
  DyadicMultiplier out;    // T / (2^left_shift · sy)
  int32_t a_zero = 0, b_zero = 0, y_zero = 0;
  int32_t lo = 0, hi = 255;  // output clamp (Relu / Clip folded in)
};

// Builds AddParams (left_shift = 20) from the real scales and zero points.
// Errors: a scale not finite or ≤ 0; a zero point outside [0, 255]; lo, hi not
// 0 ≤ lo ≤ hi ≤ 255; an output multiplier T / (2^20 · sy) of 2^30 or more (sy absurdly small
// next to the input scales). An input multiplier below 2^−32 (an input whose scale is under
// 2^−31 of the other's) is flushed to 0 as TFLite does: that input moves a' + b' by less
// than 255 · 2^20 · 2^−32 < 1/16 of a unit.
Result<AddParams> prepare_add(double sa, int32_t za, double sb, int32_t zb, double sy, int32_t zy, int32_t lo,
                              int32_t hi);

// y[i] = clamp(zy + multiply_by_dyadic(a'[i] + b'[i], p.out), lo, hi) for i in [0, n), a', b'
// as above. Same-shape inputs only (the runtime broadcasts elsewhere); y may alias a or b.
// Preconditions (checked, abort): n ≥ 0; 0 ≤ left_shift ≤ 22; p.a, p.b multipliers ≤ 1
// (shift ≤ 0, which keeps a' + b' inside int32); p.out.shift in [−31, 30]; zero points in
// [0, 255]; 0 ≤ lo ≤ hi ≤ 255. Uses the AVX2 variant where the CPU has it, unless
// LOWBIT_ISA=scalar; parallel over element chunks when `pool` is given and n is large.
void add_u8(const uint8_t* a, const uint8_t* b, int64_t n, const AddParams& p, uint8_t* y, ThreadPool* pool);

// The variants behind add_u8, serial, for tests and benchmarks (same contract and checks,
// bit-identical output). add_u8_avx2 may only run where isa_supported(Isa::kAvx2).
void add_u8_scalar(const uint8_t* a, const uint8_t* b, int64_t n, const AddParams& p, uint8_t* y);
void add_u8_avx2(const uint8_t* a, const uint8_t* b, int64_t n, const AddParams& p, uint8_t* y);

// True where add_u8 uses the AVX2 variant (CPU support, LOWBIT_ISA not "scalar").
bool add_u8_uses_avx2();
// The 256 values a' takes for one Add input: table[q] = multiply_by_dyadic((q − zero) ·
// 2^left_shift, m), exactly what the kernels compute per element (the AVX2 variant looks
// them up on long inputs instead of recomputing them).
void add_input_table(int32_t zero, int left_shift, DyadicMultiplier m, int32_t* table);

// Aborts unless the add_u8 preconditions on p hold (shared by the variant files).
void check_add_params(const AddParams& p);

}  // namespace lowbit::kernels
