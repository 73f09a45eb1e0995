// nhwc8.h: uint8 kernels on channels-last (NHWC) activations — the integer runtime's layout
// for 4-D tensors. In NHWC one pixel's channels are contiguous, so
//   - an im2col patch row is kh·kw copies of C contiguous bytes (not C·kh·kw single bytes),
//   - a 1×1, stride-1 convolution needs no im2col at all (the input is the GEMM's A),
//   - the GEMM's [pixel][channel] result is already the output (no transpose),
//   - depthwise, pooling and global pooling vectorize over channels.
// Geometry is Conv2dGeom (depthwise8.h); x_zero is the quantized real 0, which padded taps
// hold (im2col) or skip (pooling, depthwise: they add (x_zero − x_zero)·w = 0).
// Preconditions as for depthwise8.h: sizes ≥ 1, pads ≥ 0, oh(), ow() ≥ 1, and no int32
// overflow (the caller bounds kh·kw·255·128 + |bias|).
#pragma once

#include <cstdint>

#include "kernels/int8/depthwise8.h"
#include "kernels/requant/fixed_point.h"

namespace lowbit::kernels {

// [n][c][hw] ↔ [n][hw][c].
void nchw_to_nhwc_u8(const uint8_t* x, int64_t n, int64_t c, int64_t hw, uint8_t* y);
void nhwc_to_nchw_u8(const uint8_t* x, int64_t n, int64_t c, int64_t hw, uint8_t* y);

// Patch rows of one NHWC image x [h][w][c_total], channels [c0, c0 + c) (one group); g.h and
// g.w must equal h and w (the output size is g.oh() · g.ow() rows):
//   col[p·ld + (ky·kw + kx)·c + ic] = x[iy][ix][c0 + ic]   (x_zero where (iy, ix) is padding),
// p = oy·ow + ox. The GEMM weight must be ordered [oc][ky][kx][ic] to match.
void im2col_nhwc_u8(const uint8_t* x, int64_t h, int64_t w, int64_t c_total, int64_t c0, int64_t c,
                    const Conv2dGeom& g, uint8_t x_zero, uint8_t* col, int64_t ld);

// Depthwise conv of NHWC images [n][h][w][c] with w [kh][kw][c] (tap-major, channels
// contiguous) and bias [c] (not null: zeros for none), requantized per channel straight to
// NHWC uint8 [n][oh][ow][c]:
//   y = clamp(y_zero + requant(bias[c] + Σ_taps in bounds (x − x_zero)·w, mult[c or 0]), lo, hi)
// with `headroom` as in requantize.h. nmult is 1 (per-tensor) or c. `images` [i0, i1) of the
// batch; serial.
void depthwise_nhwc_u8(const uint8_t* x, const Conv2dGeom& g, int64_t i0, int64_t i1, int32_t x_zero, const int8_t* w,
                       const int32_t* bias, const DyadicMultiplier* mult, int64_t nmult, int headroom, int32_t y_zero,
                       int32_t lo, int32_t hi, uint8_t* y);

// The same for output rows [r0, r1) of the batch, row r = image r / oh, output row r % oh —
// the finer split for a small batch.
void depthwise_nhwc_u8_rows(const uint8_t* x, const Conv2dGeom& g, int64_t r0, int64_t r1, int32_t x_zero,
                            const int8_t* w, const int32_t* bias, const DyadicMultiplier* mult, int64_t nmult,
                            int headroom, int32_t y_zero, int32_t lo, int32_t hi, uint8_t* y);

// Max pool of NHWC images [n][h][w][c] → [n][oh][ow][c] over in-bounds taps (a window with
// none gives 0, the uint8 lowest, as max_pool_u8 does). Images [i0, i1); serial.
void max_pool_nhwc_u8(const uint8_t* x, const Conv2dGeom& g, int64_t i0, int64_t i1, uint8_t* y);

// GlobalAveragePool of NHWC [n][hw][c] → [n][c]: y = clamp(y_zero + requant(Σ_p x − hw·x_zero, m), lo, hi),
// requantized with all the headroom the sum leaves (qelementwise8.h: headroom_bits /
// with_headroom). hw · 255 < 2^31 (the caller checks). Images [i0, i1); serial.
void global_avg_pool_nhwc_u8(const uint8_t* x, int64_t c, int64_t hw, int64_t i0, int64_t i1, int32_t x_zero,
                             DyadicMultiplier m, int32_t y_zero, int32_t lo, int32_t hi, uint8_t* y);

// ---- Internals shared with nhwc8_avx2.cc ----
// One depthwise output row's int32 sums for the channels in blocks of 16 (AVX2; the caller
// checks the CPU): rows ky in [ky0, ky1), per output column taps kx in [kx0[ox], kx1[ox]).
void depthwise_row_avx2(int32_t* acc, const uint8_t* xb, const int8_t* w, const int32_t* bias, int32_t x_zero,
                        const Conv2dGeom& g, int64_t oy, int64_t ow, int64_t ky0, int64_t ky1, const int64_t* kx0,
                        const int64_t* kx1);

}  // namespace lowbit::kernels
