// qpool8.h: integer-only average pooling on uint8 activations with a zero point (NCHW /
// NCDHW, PoolGeom from kernels/fp32/pool.h), the windowed AveragePool and GlobalAveragePool.
// Max pooling needs no arithmetic and lives in kernels/fp32/pool.h (max_pool_u8).
//
// With x = sx · (q − zx) and y = sy · (qy − zy), the mean of a window W with divisor c is
//   y = sx · Σ_W (q − zx) / c   ⇒   qy = zy + Σ_W (q − zx) · sx / (sy · c),
// so qy = requantize(Σ_W (q − zx) · 2^k, M_c · 2^−k, zy, lo, hi) with one dyadic
// M_c = sx / (sy · c) per possible divisor, made once by avg_pool_multipliers, and k spare
// bits (qelementwise8.h, headroom_bits; without them an M_c near 1/4 would round a quarter
// of the outputs 1 too high): k = headroom_bits(M_c, B), B = bit_width(255 · kernel volume)
// (bit_width(255 · size) for the global pool), so Σ · 2^k stays in int32.
// A padded position is the real value 0, i.e. q = zx, and adds nothing to the sum. c is
// exactly avg_pool_f32's divisor: the input positions in the window, or with
// count_include_pad the positions inside the padded extent [−pad_begin, in + pad_end) (a
// ceil-mode window hanging past pad_end is not charged for the overhang). The window geometry is found by stepping through the taps, so no float and no
// integer division runs in the kernels; the result does not depend on the thread split.
//
// Range: |q − zx| ≤ 255, so a window sum fits int32 while kernel volume · 255 < 2^31
// (avg_pool_multipliers refuses larger windows; the kernels assume it).
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "kernels/fp32/pool.h"
#include "kernels/requant/fixed_point.h"

namespace lowbit::kernels {

// Largest window (kernel volume) whose sum of (q − zx) fits int32: 255 · kMaxPoolWindow < 2^31.
inline constexpr int64_t kMaxPoolWindow = ((int64_t{1} << 31) - 1) / 255;

// Entry c in [1, max_count] is dyadic_multiplier(sx / (sy · c)); entry 0 (an empty window)
// is {0, 0}. Pass max_count = kernel volume. Multipliers below 2^−32 are flushed to 0 (the
// output then is zy: the exact value is within 255 · 2^−32 of it).
// Errors: sx or sy not finite or ≤ 0; max_count outside [1, kMaxPoolWindow]; sx / sy of 2^30
// or more (not representable as a dyadic multiplier).
Result<std::vector<DyadicMultiplier>> avg_pool_multipliers(double sx, double sy, int64_t max_count);

// The multiplier of global_avg_pool_u8: dyadic_multiplier(sx / (sy · size)), flushed to 0
// below 2^−32. Errors as above, with size in [1, kMaxPoolWindow].
Result<DyadicMultiplier> global_avg_pool_multiplier(double sx, double sy, int64_t size);

// y[o] = requantize(Σ_window (x − x_zero) · 2^k, with_headroom(mult_by_count[c], k), y_zero,
// lo, hi), c the window's divisor and k as above; c = 0 gives y_zero clamped to [lo, hi].
// x [planes, in], y [planes, out] (overwritten).
// Preconditions (the op proves them): geometry as for avg_pool_f32 (sizes ≥ 1, strides and
// dilations ≥ 1, pads ≥ 0); kernel volume ≤ kMaxPoolWindow; mult_by_count holds kernel
// volume + 1 entries. Checked (abort): 0 ≤ x_zero ≤ 255, 0 ≤ lo ≤ hi ≤ 255, every shift in
// [−31, 30]. Parallel over planes when `pool` is given and the pool is big enough.
void avg_pool_u8(const PoolGeom& g, const uint8_t* x, int32_t x_zero, bool count_include_pad,
                 const DyadicMultiplier* mult_by_count, int32_t y_zero, int32_t lo, int32_t hi, uint8_t* y,
                 ThreadPool* pool);

// y[p] = requantize(Σ_{i < size} (x[p·size + i] − x_zero) · 2^k, with_headroom(m, k), y_zero,
// lo, hi) for p in [0, planes), k as above; m = global_avg_pool_multiplier(sx, sy, size). Preconditions: planes ≥ 0,
// 0 ≤ size ≤ kMaxPoolWindow (the sum stays in int32; size 0 gives y_zero clamped).
// Checked (abort): x_zero, lo, hi as above, m.shift in [−31, 30].
void global_avg_pool_u8(int64_t planes, int64_t size, const uint8_t* x, int32_t x_zero, DyadicMultiplier m,
                        int32_t y_zero, int32_t lo, int32_t hi, uint8_t* y, ThreadPool* pool);

}  // namespace lowbit::kernels
