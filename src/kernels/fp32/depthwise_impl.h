// depthwise_impl.h: the depthwise 2-D conv loops, compiled once per ISA — included only by
// depthwise.cc (baseline x86-64) and depthwise_avx2.cc (under `#pragma GCC target`).
// Everything here sits in an anonymous namespace so each including file keeps its own copy
// built for its own ISA (no ODR merging of differently compiled inline functions), and uses
// no standard-library templates for the same reason.
//
// Per output row, the interior columns (where every kernel column reads inside the input)
// compute y = b + Σ_ki Σ_kj w[ki][kj] · x[ih][ow·sw + kj·dw − pw] in one pass with the whole
// kernel unrolled (KH = KW = 3, 5, 7 are template instances), which the compiler vectorizes
// along ow; a kernel row that falls into the vertical padding reads a row of zeros instead
// (`zeros`, at least IW floats), so the pass needs no tests. The few border columns take a
// scalar loop with bounds tests; other kernel sizes a generic tap-by-tap loop.
#pragma once

#include <cstdint>

#include "kernels/fp32/conv.h"

namespace lowbit::kernels {
namespace {

inline int64_t dw_min(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t dw_max(int64_t a, int64_t b) { return a > b ? a : b; }

// Columns ow in [0, n) with 0 <= ow·s + off < limit, as [*lo, *hi).
inline void dw_valid_range(int64_t n, int64_t s, int64_t off, int64_t limit, int64_t* lo, int64_t* hi) {
  int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t h = limit - off <= 0 ? 0 : (limit - off + s - 1) / s;
  l = dw_min(l, n);
  h = dw_max(dw_min(h, n), l);
  *lo = l;
  *hi = h;
}

// Border column ow of output row oh, every tap tested.
inline float dw_border(const ConvGeom& g, const float* xc, const float* wm, float b, int64_t oh, int64_t ow) {
  const int64_t IH = g.in[1], IW = g.in[2], KH = g.kernel[1], KW = g.kernel[2];
  float acc = b;
  for (int64_t ki = 0; ki < KH; ++ki) {
    const int64_t ih = oh * g.stride[1] - g.pad[1] + ki * g.dilation[1];
    if (ih < 0 || ih >= IH) continue;
    for (int64_t kj = 0; kj < KW; ++kj) {
      const int64_t iw = ow * g.stride[2] - g.pad[2] + kj * g.dilation[2];
      if (iw >= 0 && iw < IW) acc += wm[ki * KW + kj] * xc[ih * IW + iw];
    }
  }
  return acc;
}

// Interior of one output row for a K×K kernel: rows[ki][ow·sw + kj·dw] is tap (ki, kj).
// `out` never aliases the input (the op writes a fresh tensor), which __restrict tells the
// compiler so it vectorizes without run-time overlap checks.
template <int K, bool kUnit>
void dw_row_interior(float* __restrict out, const float* const* rows, const float* w, float b, int64_t L, int64_t H,
                     int64_t sw, int64_t dw) {
  const float* __restrict r[K];
  float wk[K * K];
  for (int ki = 0; ki < K; ++ki) r[ki] = rows[ki];
  for (int i = 0; i < K * K; ++i) wk[i] = w[i];
  for (int64_t ow = L; ow < H; ++ow) {
    float acc = b;
    for (int ki = 0; ki < K; ++ki)
      for (int kj = 0; kj < K; ++kj)
        acc += wk[ki * K + kj] * (kUnit ? r[ki][ow + kj] : r[ki][ow * sw + kj * dw]);
    out[ow] = acc;
  }
}

// Size of the zero-padded copy of an input plane that covers every tap: rows × cols.
inline void dw_padded_size(const ConvGeom& g, int64_t* rows, int64_t* cols) {
  *rows = (g.out[1] - 1) * g.stride[1] + (g.kernel[1] - 1) * g.dilation[1] + 1;
  *cols = (g.out[2] - 1) * g.stride[2] + (g.kernel[2] - 1) * g.dilation[2] + 1;
}

// Floats of scratch dw_plane_padded needs: the padded plane, slack for the flat pass reading
// past its end, and (stride 1) the output in padded-row layout.
inline int64_t dw_padded_scratch(const ConvGeom& g) {
  int64_t rows, cols;
  dw_padded_size(g, &rows, &cols);
  return rows * cols + (g.kernel[2] - 1) * g.dilation[2] + 16 + g.out[1] * cols;
}

// One output plane with a K×K kernel unrolled, via a zero-padded copy of the input plane
// (`buf`, dw_padded_size floats): every output column is then interior, no border cases.
template <int K>
void dw_plane_padded(const ConvGeom& g, const float* xc, const float* wm, float b, float* ym, float* buf) {
  const int64_t IH = g.in[1], IW = g.in[2], OH = g.out[1], OW = g.out[2];
  const int64_t sh = g.stride[1], sw = g.stride[2], dh = g.dilation[1], dw = g.dilation[2];
  const int64_t ph = g.pad[1], pw = g.pad[2];
  int64_t PH, PW;
  dw_padded_size(g, &PH, &PW);
  const int64_t copy = dw_max(0, dw_min(IW, PW - pw));
  for (int64_t r = 0; r < PH; ++r) {
    float* br = buf + r * PW;
    const int64_t ih = r - ph;
    if (ih < 0 || ih >= IH) {
      for (int64_t c = 0; c < PW; ++c) br[c] = 0.0f;
      continue;
    }
    const float* xr = xc + ih * IW;
    for (int64_t c = 0; c < pw; ++c) br[c] = 0.0f;
    for (int64_t c = 0; c < copy; ++c) br[pw + c] = xr[c];
    for (int64_t c = pw + copy; c < PW; ++c) br[c] = 0.0f;
  }
  const float* rows[K];
  if (sh == 1 && sw == 1) {
    // Stride 1: compute all OH rows as one flat run over the padded layout (row pitch PW),
    // t[f] = b + Σ w[ki][kj] · buf[f + ki·dh·PW + kj·dw], then keep the first OW of each row.
    // The run reads up to (KW − 1)·dw floats past the plane: zeroed slack, discarded columns.
    float* slack = buf + PH * PW;
    for (int64_t i = 0; i < (g.kernel[2] - 1) * dw + 16; ++i) slack[i] = 0.0f;
    float* t = slack + (g.kernel[2] - 1) * dw + 16;
    for (int ki = 0; ki < K; ++ki) rows[ki] = buf + ki * dh * PW;
    if (dw == 1) {
      dw_row_interior<K, true>(t, rows, wm, b, 0, OH * PW, 1, 1);
    } else {
      dw_row_interior<K, false>(t, rows, wm, b, 0, OH * PW, 1, dw);
    }
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) ym[oh * OW + ow] = t[oh * PW + ow];
    return;
  }
  for (int64_t oh = 0; oh < OH; ++oh) {
    for (int ki = 0; ki < K; ++ki) rows[ki] = buf + (oh * sh + ki * dh) * PW;
    if (sw == 1 && dw == 1) {
      dw_row_interior<K, true>(ym + oh * OW, rows, wm, b, 0, OW, 1, 1);
    } else {
      dw_row_interior<K, false>(ym + oh * OW, rows, wm, b, 0, OW, sw, dw);
    }
  }
}

// One output plane with a K×K kernel unrolled (K > 0), or any kernel tap by tap (K == 0).
template <int K>
void dw_plane(const ConvGeom& g, const float* xc, const float* wm, float b, float* ym, const float* zeros) {
  const int64_t IH = g.in[1], IW = g.in[2], OH = g.out[1], OW = g.out[2];
  const int64_t KH = g.kernel[1], KW = g.kernel[2];
  const int64_t sh = g.stride[1], sw = g.stride[2], dh = g.dilation[1], dw = g.dilation[2];
  const int64_t ph = g.pad[1], pw = g.pad[2];
  // Interior [L, H): every kernel column inside the input.
  int64_t L = 0, H = OW;
  for (int64_t kj = 0; kj < KW; ++kj) {
    int64_t lo, hi;
    dw_valid_range(OW, sw, kj * dw - pw, IW, &lo, &hi);
    L = dw_max(L, lo);
    H = dw_min(H, hi);
  }
  if (H < L) H = L;
  for (int64_t oh = 0; oh < OH; ++oh) {
    float* row = ym + oh * OW;
    for (int64_t ow = 0; ow < L; ++ow) row[ow] = dw_border(g, xc, wm, b, oh, ow);
    for (int64_t ow = H; ow < OW; ++ow) row[ow] = dw_border(g, xc, wm, b, oh, ow);
    if (H <= L) continue;
    if constexpr (K > 0) {
      // Input rows (zeros for padding rows), shifted so column ow·sw + kj·dw reads tap kj.
      const float* rows[K];
      for (int ki = 0; ki < K; ++ki) {
        const int64_t ih = oh * sh - ph + ki * dh;
        rows[ki] = (ih < 0 || ih >= IH ? zeros : xc + ih * IW) - pw;
      }
      if (sw == 1 && dw == 1) {
        dw_row_interior<K, true>(row, rows, wm, b, L, H, 1, 1);
      } else {
        dw_row_interior<K, false>(row, rows, wm, b, L, H, sw, dw);
      }
    } else {
      for (int64_t ow = L; ow < H; ++ow) row[ow] = b;
      for (int64_t ki = 0; ki < KH; ++ki) {
        const int64_t ih = oh * sh - ph + ki * dh;
        if (ih < 0 || ih >= IH) continue;
        const float* xr = xc + ih * IW;
        for (int64_t kj = 0; kj < KW; ++kj) {
          const float wv = wm[ki * KW + kj];
          const int64_t off = kj * dw - pw;
          for (int64_t ow = L; ow < H; ++ow) row[ow] += wv * xr[ow * sw + off];
        }
      }
    }
  }
}

// Planes [q0, q1) of y (plane q = image n, output channel m). `zeros`: IW zero floats;
// `padded`: dw_padded_size floats of scratch, or nullptr when that would be too large.
inline void dw_planes(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y, int64_t q0,
                      int64_t q1, const float* zeros, float* padded) {
  const int64_t mult = g.out_channels / g.groups;
  const int64_t in_plane = g.in[1] * g.in[2], out_plane = g.out[1] * g.out[2];
  const int64_t kk = g.kernel[1] * g.kernel[2];
  const int64_t k = g.kernel[1] == g.kernel[2] ? g.kernel[1] : 0;
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t n = q / g.out_channels, m = q % g.out_channels, c = m / mult;
    const float* xc = x + (n * g.in_channels + c) * in_plane;
    const float* wm = w + m * kk;
    float* ym = y + q * out_plane;
    const float b = bias ? bias[m] : 0.0f;
    if (padded && (k == 3 || k == 5 || k == 7)) {
      switch (k) {
        case 3: dw_plane_padded<3>(g, xc, wm, b, ym, padded); break;
        case 5: dw_plane_padded<5>(g, xc, wm, b, ym, padded); break;
        default: dw_plane_padded<7>(g, xc, wm, b, ym, padded); break;
      }
      continue;
    }
    switch (k) {
      case 3: dw_plane<3>(g, xc, wm, b, ym, zeros); break;
      case 5: dw_plane<5>(g, xc, wm, b, ym, zeros); break;
      case 7: dw_plane<7>(g, xc, wm, b, ym, zeros); break;
      default: dw_plane<0>(g, xc, wm, b, ym, zeros); break;
    }
  }
}

}  // namespace
}  // namespace lowbit::kernels
