// im2col8.cc: the u8 im2col of im2col8.h, both layouts.
//
// Along an output row (fixed oy) the pixels whose tap (ky, kx) lands inside the input form one
// interval [lo, hi) of ox, so each piece is x_zero fill | copied run | x_zero fill with no
// per-element bounds test; with stride_w 1 the run is a memcpy.
#include "kernels/int8/im2col8.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace lowbit::kernels {
namespace {

// Output positions o in [0, n) with 0 <= o·s + off < limit, as [*lo, *hi).

void check_geom(int64_t c, int64_t h, int64_t w, const Conv2dGeom& g) {
  (void)c, (void)h, (void)w, (void)g;
  assert(c >= 1 && h >= 1 && w >= 1 && g.kh >= 1 && g.kw >= 1 && g.stride_h >= 1 && g.stride_w >= 1);
  assert(g.dil_h >= 1 && g.dil_w >= 1 && g.pad_t >= 0 && g.pad_l >= 0 && g.pad_b >= 0 && g.pad_r >= 0);
}

// oh, ow of the conv over an h × w image (g.h, g.w are not the image's).
int64_t out_h(const Conv2dGeom& g, int64_t h) {
  return (h + g.pad_t + g.pad_b - g.dil_h * (g.kh - 1) - 1) / g.stride_h + 1;
}
int64_t out_w(const Conv2dGeom& g, int64_t w) {
  return (w + g.pad_l + g.pad_r - g.dil_w * (g.kw - 1) - 1) / g.stride_w + 1;
}

}  // namespace

void im2col_u8(const uint8_t* x, int64_t c, int64_t h, int64_t w, const Conv2dGeom& g, uint8_t x_zero, uint8_t* col) {
  check_geom(c, h, w, g);
  const int64_t OH = out_h(g, h), OW = out_w(g, w), P = OH * OW, sw = g.stride_w;
  assert(OH >= 1 && OW >= 1);
  uint8_t* dst = col;
  for (int64_t ic = 0; ic < c; ++ic) {
    const uint8_t* xc = x + ic * h * w;
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      for (int64_t kx = 0; kx < g.kw; ++kx, dst += P) {
        const int64_t off = kx * g.dil_w - g.pad_l;
        int64_t lo, hi;
        tap_span(OW, sw, off, w, &lo, &hi);
        for (int64_t oy = 0; oy < OH; ++oy) {
          uint8_t* d = dst + oy * OW;
          const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
          if (iy < 0 || iy >= h) {
            std::memset(d, x_zero, static_cast<size_t>(OW));
            continue;
          }
          // Tap column ox·sw + off is inside the row for ox in [lo, hi).
          std::memset(d, x_zero, static_cast<size_t>(lo));
          if (sw == 1) {
            if (hi > lo) std::memcpy(d + lo, xc + iy * w + lo + off, static_cast<size_t>(hi - lo));
          } else {
            for (int64_t ox = lo; ox < hi; ++ox) d[ox] = xc[iy * w + ox * sw + off];
          }
          std::memset(d + hi, x_zero, static_cast<size_t>(OW - hi));
        }
      }
    }
  }
}

namespace {

// One output pixel's patch row for a kernel KW wide (a compile-time constant where it is a
// common size, so the tap copies are a few register moves instead of memcpy calls — those
// dominated the integer convolution before). `ix0` is the pixel's leftmost tap column.
template <int KW>
inline void copy_taps(uint8_t* d, const uint8_t* xr, int64_t ix0, int64_t kw) {
  if constexpr (KW > 0) {
    (void)kw;
    std::memcpy(d, xr + ix0, KW);
  } else {
    for (int64_t kx = 0; kx < kw; ++kx) d[kx] = xr[ix0 + kx];
  }
}

template <int KW>
void im2col_rows_impl(const uint8_t* x, int64_t c, int64_t h, int64_t w, const Conv2dGeom& g, uint8_t x_zero,
                      uint8_t* col, int64_t ld, int64_t xlo, int64_t xhi) {
  const int64_t OH = out_h(g, h), OW = out_w(g, w), kw = KW > 0 ? KW : g.kw;
  for (int64_t oy = 0; oy < OH; ++oy) {
    for (int64_t ox = 0; ox < OW; ++ox) {
      uint8_t* d = col + (oy * OW + ox) * ld;
      const bool inner = ox >= xlo && ox < xhi;
      const int64_t ix0 = ox * g.stride_w - g.pad_l;
      for (int64_t ic = 0; ic < c; ++ic) {
        const uint8_t* xc = x + ic * h * w;
        for (int64_t ky = 0; ky < g.kh; ++ky, d += kw) {
          const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
          if (iy < 0 || iy >= h) {
            for (int64_t kx = 0; kx < kw; ++kx) d[kx] = x_zero;
            continue;
          }
          const uint8_t* xr = xc + iy * w;
          if (inner && g.dil_w == 1) {
            copy_taps<KW>(d, xr, ix0, kw);
          } else {
            for (int64_t kx = 0; kx < kw; ++kx) {
              const int64_t ix = ix0 + kx * g.dil_w;
              d[kx] = ix >= 0 && ix < w ? xr[ix] : x_zero;
            }
          }
        }
      }
    }
  }
}

}  // namespace

void im2col_u8_rows(const uint8_t* x, int64_t c, int64_t h, int64_t w, const Conv2dGeom& g, uint8_t x_zero,
                    uint8_t* col, int64_t ld) {
  check_geom(c, h, w, g);
  assert(out_h(g, h) >= 1 && out_w(g, w) >= 1 && ld >= c * g.kh * g.kw);
  // Interior columns [xlo, xhi): every kx in bounds, so a (ic, ky) run of kw taps is a plain
  // copy when dil_w is 1.
  const int64_t OW = out_w(g, w);
  int64_t xlo = 0, xhi = OW;
  for (int64_t kx = 0; kx < g.kw; ++kx) {
    int64_t lo, hi;
    tap_span(OW, g.stride_w, kx * g.dil_w - g.pad_l, w, &lo, &hi);
    xlo = std::max(xlo, lo);
    xhi = std::min(xhi, hi);
  }
  if (xhi < xlo) xhi = xlo;
  switch (g.kw) {
    case 1: return im2col_rows_impl<1>(x, c, h, w, g, x_zero, col, ld, xlo, xhi);
    case 3: return im2col_rows_impl<3>(x, c, h, w, g, x_zero, col, ld, xlo, xhi);
    case 5: return im2col_rows_impl<5>(x, c, h, w, g, x_zero, col, ld, xlo, xhi);
    case 7: return im2col_rows_impl<7>(x, c, h, w, g, x_zero, col, ld, xlo, xhi);
    default: return im2col_rows_impl<0>(x, c, h, w, g, x_zero, col, ld, xlo, xhi);
  }
}


}  // namespace lowbit::kernels
