// nhwc8.cc: the channels-last uint8 kernels. The inner loops run over channels with no
// dependence between iterations, so the compiler vectorizes them; target_clones builds an
// AVX2 copy next to the baseline one and the loader picks by CPU at run time.
#include "kernels/int8/nhwc8.h"

#include "kernels/int8/im2col8.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/int8/qelementwise8.h"
#include "kernels/isa.h"
#include "kernels/requant/requantize.h"

namespace lowbit::kernels {
namespace {

#define LB_NHWC_CLONES __attribute__((target_clones("arch=skylake-avx512", "avx2", "default")))


std::vector<int32_t>& accumulators(int64_t n) {
  thread_local std::vector<int32_t> acc;
  if (static_cast<int64_t>(acc.size()) < n) acc.resize(static_cast<size_t>(n));
  return acc;
}

// Σ over the taps [ky0, ky1) × [kx0, kx1) of one output pixel for channels [cb, cb + B), kept in
// registers across all taps (one store per output instead of one load and store per tap).
// |x − x_zero| ≤ 255 and |w| ≤ 128 make each product fit int16 (≤ 32640), so the vectorizer
// multiplies 16-bit lanes and widens only to add.
template <int64_t B>
inline __attribute__((always_inline)) void depthwise_block(int32_t* out, const uint8_t* xb, const int8_t* w,
                                                           const int32_t* bias, int16_t z, const Conv2dGeom& g,
                                                           int64_t oy, int64_t ox, int64_t cb, int64_t ky0, int64_t ky1,
                                                           int64_t kx0, int64_t kx1) {
  const int64_t c = g.c;
  int32_t a[B];
  for (int64_t j = 0; j < B; ++j) a[j] = bias[cb + j];
  for (int64_t ky = ky0; ky < ky1; ++ky) {
    const uint8_t* xr = xb + (oy * g.stride_h - g.pad_t + ky * g.dil_h) * g.w * c;
    for (int64_t kx = kx0; kx < kx1; ++kx) {
      const uint8_t* xp = xr + (ox * g.stride_w - g.pad_l + kx * g.dil_w) * c + cb;
      const int8_t* wp = w + (ky * g.kw + kx) * c + cb;
      for (int64_t j = 0; j < B; ++j)
        a[j] += static_cast<int16_t>(static_cast<int16_t>(xp[j] - z) * static_cast<int16_t>(wp[j]));
    }
  }
  for (int64_t j = 0; j < B; ++j) out[cb + j] = a[j];
}

// One output row of a depthwise conv: acc[ox][c] = bias[c] + Σ_{taps in bounds} (x − x_zero)·w,
// channels [c_begin, c) in blocks of 32, then one of 16 and one of 8, then one at a time.
LB_NHWC_CLONES void depthwise_out_row(int32_t* acc, const uint8_t* xb, const int8_t* w, const int32_t* bias,
                                      int32_t x_zero, const Conv2dGeom& g, int64_t oy, int64_t ow, int64_t c_begin) {
  const int64_t c = g.c;
  const int16_t z = static_cast<int16_t>(x_zero);
  int64_t ky0 = 0, ky1 = 0;
  tap_span(g.kh, g.dil_h, oy * g.stride_h - g.pad_t, g.h, &ky0, &ky1);  // taps ky with iy in [0, h)
  for (int64_t ox = 0; ox < ow; ++ox) {
    int64_t kx0 = 0, kx1 = 0;
    tap_span(g.kw, g.dil_w, ox * g.stride_w - g.pad_l, g.w, &kx0, &kx1);
    int32_t* out = acc + ox * c;
    int64_t cb = c_begin;
    for (; cb + 32 <= c; cb += 32) depthwise_block<32>(out, xb, w, bias, z, g, oy, ox, cb, ky0, ky1, kx0, kx1);
    if (cb + 16 <= c) {
      depthwise_block<16>(out, xb, w, bias, z, g, oy, ox, cb, ky0, ky1, kx0, kx1);
      cb += 16;
    }
    if (cb + 8 <= c) {
      depthwise_block<8>(out, xb, w, bias, z, g, oy, ox, cb, ky0, ky1, kx0, kx1);
      cb += 8;
    }
    for (; cb < c; ++cb) depthwise_block<1>(out, xb, w, bias, z, g, oy, ox, cb, ky0, ky1, kx0, kx1);
  }
}

bool depthwise_uses_avx2() {
  return avx2_allowed();
}

// The row on AVX2 for the channels in blocks of 16, the rest portable.
void depthwise_row(int32_t* acc, const uint8_t* xb, const int8_t* w, const int32_t* bias, int32_t x_zero,
                   const Conv2dGeom& g, int64_t oy, int64_t ow) {
  if (!depthwise_uses_avx2() || g.c < 16) return depthwise_out_row(acc, xb, w, bias, x_zero, g, oy, ow, 0);
  int64_t ky0 = 0, ky1 = 0;
  tap_span(g.kh, g.dil_h, oy * g.stride_h - g.pad_t, g.h, &ky0, &ky1);
  thread_local std::vector<int64_t> spans;
  spans.resize(static_cast<size_t>(2 * ow));
  for (int64_t ox = 0; ox < ow; ++ox)
    tap_span(g.kw, g.dil_w, ox * g.stride_w - g.pad_l, g.w, &spans[static_cast<size_t>(ox)],
               &spans[static_cast<size_t>(ow + ox)]);
  depthwise_row_avx2(acc, xb, w, bias, x_zero, g, oy, ow, ky0, ky1, spans.data(), spans.data() + ow);
  if (g.c % 16) depthwise_out_row(acc, xb, w, bias, x_zero, g, oy, ow, g.c / 16 * 16);
}

// y[ox][c] = max(y[ox][c], x[iy][ix][c]) over one input row's taps.
LB_NHWC_CLONES void max_row(uint8_t* y, const uint8_t* xr, const Conv2dGeom& g, int64_t ow) {
  const int64_t c = g.c;
  for (int64_t kx = 0; kx < g.kw; ++kx) {
    int64_t lo_x, hi_x;
    tap_span(ow, g.stride_w, kx * g.dil_w - g.pad_l, g.w, &lo_x, &hi_x);
    for (int64_t ox = lo_x; ox < hi_x; ++ox) {
      const uint8_t* xp = xr + (ox * g.stride_w - g.pad_l + kx * g.dil_w) * c;
      uint8_t* yp = y + ox * c;
      for (int64_t ch = 0; ch < c; ++ch) yp[ch] = std::max(yp[ch], xp[ch]);
    }
  }
}

LB_NHWC_CLONES void sum_into(int32_t* s, const uint8_t* x, int64_t c) {
  for (int64_t ch = 0; ch < c; ++ch) s[ch] += x[ch];
}

}  // namespace

void nchw_to_nhwc_u8(const uint8_t* x, int64_t n, int64_t c, int64_t hw, uint8_t* y) {
  for (int64_t b = 0; b < n; ++b, x += c * hw, y += c * hw)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p) y[p * c + ch] = x[ch * hw + p];
}

void nhwc_to_nchw_u8(const uint8_t* x, int64_t n, int64_t c, int64_t hw, uint8_t* y) {
  for (int64_t b = 0; b < n; ++b, x += c * hw, y += c * hw)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p) y[ch * hw + p] = x[p * c + ch];
}

namespace {

// Copies n bytes with at most two (possibly overlapping) moves per 32-byte step; the small
// copies of an im2col row are too short for memcpy's call to pay.
inline void copy_short(uint8_t* d, const uint8_t* s, int64_t n) {
  if (n >= 16) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) std::memcpy(d + i, s + i, 16);
    if (i < n) std::memcpy(d + n - 16, s + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(d, s, 8);
    std::memcpy(d + n - 8, s + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(d, s, 4);
    std::memcpy(d + n - 4, s + n - 4, 4);
  } else {
    for (int64_t i = 0; i < n; ++i) d[i] = s[i];
  }
}

// One image's patch rows with C channels per tap (a compile-time constant for the common
// widths, so each tap is a few register moves instead of a memcpy call; 0: any width). A pixel
// whose window lies inside the image with dilation 1 along x copies each kernel row as one run
// of kw·C contiguous bytes.
template <int C>
void im2col_nhwc_impl(const uint8_t* x, int64_t h, int64_t w, int64_t c_total, int64_t c0, int64_t c_any,
                      const Conv2dGeom& g, uint8_t x_zero, uint8_t* col, int64_t ld) {
  const int64_t c = C > 0 ? C : c_any, oh = g.oh(), ow = g.ow();
  const bool runs = g.dil_w == 1 && c == c_total;  // a kernel row is contiguous in x
  const int64_t run = g.kw * c;
  int64_t xlo = 0, xhi = 0;  // output columns whose window is inside [0, w)
  tap_span(ow, g.stride_w, -g.pad_l, w - (g.kw - 1) * g.dil_w, &xlo, &xhi);
  for (int64_t oy = 0; oy < oh; ++oy) {
    for (int64_t ox = 0; ox < ow; ++ox) {
      uint8_t* d = col + (oy * ow + ox) * ld;
      const int64_t ix0 = ox * g.stride_w - g.pad_l;
      const bool inside_x = ox >= xlo && ox < xhi;
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
        if (iy < 0 || iy >= h) {
          std::memset(d, x_zero, static_cast<size_t>(g.kw * c));
          d += g.kw * c;
          continue;
        }
        const uint8_t* xr = x + iy * w * c_total + c0;
        if (runs && inside_x) {
          copy_short(d, xr + ix0 * c, run);
          d += run;
          continue;
        }
        for (int64_t kx = 0; kx < g.kw; ++kx, d += c) {
          const int64_t ix = ix0 + kx * g.dil_w;
          if (ix < 0 || ix >= w) std::memset(d, x_zero, static_cast<size_t>(c));
          else std::memcpy(d, xr + ix * c_total, static_cast<size_t>(c));
        }
      }
    }
  }
}

}  // namespace

void im2col_nhwc_u8(const uint8_t* x, int64_t h, int64_t w, int64_t c_total, int64_t c0, int64_t c,
                    const Conv2dGeom& g, uint8_t x_zero, uint8_t* col, int64_t ld) {
  switch (c) {
    case 1: return im2col_nhwc_impl<1>(x, h, w, c_total, c0, c, g, x_zero, col, ld);
    case 3: return im2col_nhwc_impl<3>(x, h, w, c_total, c0, c, g, x_zero, col, ld);
    case 4: return im2col_nhwc_impl<4>(x, h, w, c_total, c0, c, g, x_zero, col, ld);
    case 8: return im2col_nhwc_impl<8>(x, h, w, c_total, c0, c, g, x_zero, col, ld);
    case 16: return im2col_nhwc_impl<16>(x, h, w, c_total, c0, c, g, x_zero, col, ld);
    case 32: return im2col_nhwc_impl<32>(x, h, w, c_total, c0, c, g, x_zero, col, ld);
    case 64: return im2col_nhwc_impl<64>(x, h, w, c_total, c0, c, g, x_zero, col, ld);
    default: return im2col_nhwc_impl<0>(x, h, w, c_total, c0, c, g, x_zero, col, ld);
  }
}

void depthwise_nhwc_u8_rows(const uint8_t* x, const Conv2dGeom& g, int64_t r0, int64_t r1, int32_t x_zero,
                            const int8_t* w, const int32_t* bias, const DyadicMultiplier* mult, int64_t nmult,
                            int headroom, int32_t y_zero, int32_t lo, int32_t hi, uint8_t* y) {
  const int64_t c = g.c, oh = g.oh(), ow = g.ow();
  std::vector<int32_t>& acc_buf = accumulators(ow * c);
  int32_t* acc = acc_buf.data();
  for (int64_t r = r0; r < r1; ++r) {
    const int64_t b = r / oh, oy = r % oh;
    depthwise_row(acc, x + b * g.h * g.w * c, w, bias, x_zero, g, oy, ow);
    requantize_to_u8(acc, ow, c, mult, nmult, y_zero, lo, hi, y + (b * oh + oy) * ow * c, headroom);
  }
}

void depthwise_nhwc_u8(const uint8_t* x, const Conv2dGeom& g, int64_t i0, int64_t i1, int32_t x_zero, const int8_t* w,
                       const int32_t* bias, const DyadicMultiplier* mult, int64_t nmult, int headroom, int32_t y_zero,
                       int32_t lo, int32_t hi, uint8_t* y) {
  const int64_t oh = g.oh();
  depthwise_nhwc_u8_rows(x, g, i0 * oh, i1 * oh, x_zero, w, bias, mult, nmult, headroom, y_zero, lo, hi, y);
}

void max_pool_nhwc_u8(const uint8_t* x, const Conv2dGeom& g, int64_t i0, int64_t i1, uint8_t* y) {
  const int64_t c = g.c, oh = g.oh(), ow = g.ow();
  for (int64_t b = i0; b < i1; ++b) {
    const uint8_t* xb = x + b * g.h * g.w * c;
    uint8_t* yb = y + b * oh * ow * c;
    std::memset(yb, 0, static_cast<size_t>(oh * ow * c));
    for (int64_t oy = 0; oy < oh; ++oy)
      for (int64_t ky = 0; ky < g.kh; ++ky) {
        const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
        if (iy < 0 || iy >= g.h) continue;
        max_row(yb + oy * ow * c, xb + iy * g.w * c, g, ow);
      }
  }
}

void global_avg_pool_nhwc_u8(const uint8_t* x, int64_t c, int64_t hw, int64_t i0, int64_t i1, int32_t x_zero,
                             DyadicMultiplier m, int32_t y_zero, int32_t lo, int32_t hi, uint8_t* y) {
  std::vector<int32_t>& sums_buf = accumulators(c);
  int32_t* sums = sums_buf.data();
  const int32_t offset = static_cast<int32_t>(hw) * x_zero;
  // |Σ (x − x_zero)| ≤ 255·hw: scale it up by the spare bits so requantize's first rounding
  // is fine-grained (qelementwise8.h, "Headroom").
  int bits = 1;
  while ((int64_t{1} << bits) <= 255 * hw) ++bits;
  const int k = headroom_bits(m, bits);
  const DyadicMultiplier mk = with_headroom(m, k);
  for (int64_t b = i0; b < i1; ++b) {
    std::fill(sums, sums + c, 0);
    const uint8_t* xb = x + b * hw * c;
    for (int64_t p = 0; p < hw; ++p) sum_into(sums, xb + p * c, c);
    for (int64_t ch = 0; ch < c; ++ch)
      y[b * c + ch] = static_cast<uint8_t>(requantize((sums[ch] - offset) * (int32_t{1} << k), mk, y_zero, lo, hi));
  }
}

}  // namespace lowbit::kernels
