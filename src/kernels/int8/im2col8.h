// im2col8.h: unfold one u8 image into the patch matrix of an int8 GEMM convolution.
//
// With K = c·kh·kw and P = oh·ow, the conv of one image (one group) is
//   out[oc][p] = Σ_k W[oc][k] · col[k][p]   (s32, then the GEMM's zero-point compensation)
// where col[(ic·kh + ky)·kw + kx][oy·ow + ox] = x[ic][iy][ix], iy = oy·stride_h − pad_t + ky·dil_h,
// ix = ox·stride_w − pad_l + kx·dil_w. A padded tap holds x_zero — the quantized real 0 — so the
// GEMM's Σ_k (col − x_zero)·W is exact with no padding case. Geometry: Conv2dGeom (depthwise8.h);
// its n, c, h, w are ignored here, the image's own c, h, w are passed. Groups are the caller's:
// pass the group's channel slice x + g0·h·w and c = channels per group.
// Preconditions as for depthwise8.h (sizes ≥ 1, pads ≥ 0, oh(), ow() ≥ 1); no threading (the
// caller splits images / groups).
#pragma once

#include <algorithm>
#include <cstdint>

#include "kernels/int8/depthwise8.h"

namespace lowbit::kernels {

// col [K, P], row-major (rows = patch elements, P contiguous).
void im2col_u8(const uint8_t* x, int64_t c, int64_t h, int64_t w, const Conv2dGeom& g, uint8_t x_zero, uint8_t* col);

// The transposed layout: col[p·ld + k], rows = output pixels with K contiguous, ld ≥ K — the A
// operand of a GEMM with M = P, K = c·kh·kw. Bytes [K, ld) of each row are left untouched.
void im2col_u8_rows(const uint8_t* x, int64_t c, int64_t h, int64_t w, const Conv2dGeom& g, uint8_t x_zero,
                    uint8_t* col, int64_t ld);

// Output positions [lo, hi) of [0, out) whose tap at offset `off` (o·stride + off) lands
// inside [0, n): the in-bounds span of one kernel tap, shared by the int8 window kernels.
// o·stride + off ≥ 0 ⇔ o ≥ ceil(−off / stride);  o·stride + off < n ⇔ o < ceil((n − off) / stride).
inline void tap_span(int64_t out, int64_t stride, int64_t off, int64_t n, int64_t* lo, int64_t* hi) {
  const int64_t l = std::min(off >= 0 ? 0 : (-off + stride - 1) / stride, out);
  const int64_t h = n - off <= 0 ? 0 : (n - off + stride - 1) / stride;
  *lo = l;
  *hi = std::clamp(h, l, out);
}

}  // namespace lowbit::kernels
