// depthwise8_impl.h: the padded pair view of an input plane that the SIMD int8 depthwise
// variants read — plain loops compiled once per ISA, included only by depthwise8_avx2.cc and
// depthwise8_avx512.cc under their `#pragma GCC target`. Everything sits in an anonymous
// namespace and uses no standard-library templates, so each including file keeps its own copy
// built for its own ISA (no ODR merging of differently compiled inline functions).
//
// The view: zero point removed, zero-padded, two kernel rows dil_h apart interleaved as s16
// pairs, columns split into stride_w phases. With v = x − x_zero inside the plane and 0
// outside (a padded tap is the real 0), one 32-bit lane holds (v[r][col], v[r + dil_h][col]):
//   lane(r, col) = view[r·pitch + (col % stride_w)·phase_len + col / stride_w]
// (r, col: padded coordinates, r = iy + pad_t, col = ix + pad_l). Output row oy needs, per
// pair of kernel rows (2j, 2j + 1) and kernel column kx, the lanes of padded row
// oy·stride_h + 2j·dil_h at col = ox·stride_w + kx·dil_w — consecutive in ox — and one
// vpmaddwd against the weight pair (w[2j][kx], w[2j+1][kx]) adds both taps into s32 exactly:
// |v·w| ≤ 255·128 = 32640. For odd kh the last pair's second weight is 0. Only the rows some
// output row reads are filled; each phase has room for `vec` lanes of over-read past the last
// output column, so the tail vector needs no special load.
#pragma once

#include <cstdint>

#include "kernels/int8/depthwise8.h"

namespace lowbit::kernels {
namespace {

struct Dw8View {
  int64_t rows = 0;       // padded rows covered (first row of a pair < rows)
  int64_t phase_len = 0;  // lanes per phase
  int64_t pitch = 0;      // stride_w · phase_len
  int64_t pairs = 0;      // ⌈kh / 2⌉
  int32_t* lanes = nullptr;
  uint8_t* need = nullptr;  // need[r]: some output row reads padded row r
  int32_t* wp = nullptr;    // weight pairs, pairs·kw
};

inline uint32_t dw8_pack(int32_t a, int32_t b) {
  return static_cast<uint32_t>(static_cast<uint16_t>(a)) | static_cast<uint32_t>(static_cast<uint16_t>(b)) << 16;
}

// Sizes the view and takes its scratch; false when it would be unreasonably large for the
// plane (absurd strides, pads or dilations) or x_zero lies outside [0, 255] — the caller then
// runs the scalar plane.
inline bool dw8_view_init(const Conv2dGeom& g, int32_t z, int64_t vec, Dw8View* v) {
  if (z < 0 || z > 255) return false;
  const int64_t OH = g.oh(), OW = g.ow(), sw = g.stride_w;
  v->pairs = (g.kh + 1) / 2;
  v->rows = (OH - 1) * g.stride_h + (v->pairs - 1) * 2 * g.dil_h + 1;
  v->phase_len = (OW + vec - 1) / vec * vec + (g.kw - 1) * g.dil_w / sw + 1;
  v->pitch = sw * v->phase_len;
  const double lanes = static_cast<double>(v->rows) * static_cast<double>(v->pitch);
  const double fair = 8.0 * static_cast<double>(g.h * g.w + OH * OW) + 8192.0;
  if (lanes > fair) return false;
  const int64_t n_lanes = v->rows * v->pitch, n_wp = v->pairs * g.kw;
  char* s = static_cast<char*>(depthwise8_scratch(4 * (n_lanes + n_wp) + v->rows));
  v->lanes = reinterpret_cast<int32_t*>(s);
  v->wp = v->lanes + n_lanes;
  v->need = reinterpret_cast<uint8_t*>(v->wp + n_wp);
  for (int64_t r = 0; r < v->rows; ++r) v->need[r] = 0;
  for (int64_t oy = 0; oy < OH; ++oy)
    for (int64_t j = 0; j < v->pairs; ++j) v->need[oy * g.stride_h + 2 * j * g.dil_h] = 1;
  return true;
}

// Weight pairs of channel wc: wp[j·kw + kx] = (w[2j][kx], w[2j+1][kx]) as s16 pair (0 past kh).
inline void dw8_weight_pairs(const Conv2dGeom& g, const int8_t* wc, Dw8View* v) {
  for (int64_t j = 0; j < v->pairs; ++j)
    for (int64_t kx = 0; kx < g.kw; ++kx) {
      const int32_t lo = wc[2 * j * g.kw + kx];
      const int32_t hi = 2 * j + 1 < g.kh ? wc[(2 * j + 1) * g.kw + kx] : 0;
      v->wp[j * g.kw + kx] = static_cast<int32_t>(dw8_pack(lo, hi));
    }
}

// Lanes [lo, hi) of one phase from the two rows (nullptr: a padding row), source column
// advancing by S (S == 0: by `s`, any stride) per lane; xa, xb point at lane lo's column.
template <int S>
void dw8_pack_run(int32_t* __restrict d, const uint8_t* __restrict xa, const uint8_t* __restrict xb, int32_t z,
                  int64_t n, int64_t s) {
  const int64_t st = S > 0 ? S : s;
  if (xa && xb) {
    for (int64_t i = 0; i < n; ++i) d[i] = static_cast<int32_t>(dw8_pack(xa[i * st] - z, xb[i * st] - z));
  } else if (xa) {
    for (int64_t i = 0; i < n; ++i) d[i] = static_cast<int32_t>(dw8_pack(xa[i * st] - z, 0));
  } else if (xb) {
    for (int64_t i = 0; i < n; ++i) d[i] = static_cast<int32_t>(dw8_pack(0, xb[i * st] - z));
  } else {
    for (int64_t i = 0; i < n; ++i) d[i] = 0;
  }
}

// Fills the needed rows of the view for plane xc.
inline void dw8_view_build(const uint8_t* xc, const Conv2dGeom& g, int32_t z, const Dw8View& v) {
  const int64_t sw = g.stride_w;
  for (int64_t p = 0; p < sw; ++p) {
    // Lanes i whose column i·sw + p − pad_l lies in [0, w): [lo, hi).
    const int64_t off = p - g.pad_l;
    int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
    int64_t hi = g.w - off <= 0 ? 0 : (g.w - off + sw - 1) / sw;
    if (lo > v.phase_len) lo = v.phase_len;
    if (hi > v.phase_len) hi = v.phase_len;
    if (hi < lo) hi = lo;
    const int64_t c0 = lo * sw + off;  // column of lane lo (in the row when hi > lo)
    for (int64_t r = 0; r < v.rows; ++r) {
      if (!v.need[r]) continue;
      int32_t* d = v.lanes + r * v.pitch + p * v.phase_len;
      for (int64_t i = 0; i < lo; ++i) d[i] = 0;
      for (int64_t i = hi; i < v.phase_len; ++i) d[i] = 0;
      if (hi == lo) continue;
      const int64_t ia = r - g.pad_t, ib = ia + g.dil_h;
      const uint8_t* xa = ia >= 0 && ia < g.h ? xc + ia * g.w + c0 : nullptr;
      const uint8_t* xb = ib >= 0 && ib < g.h ? xc + ib * g.w + c0 : nullptr;
      if (sw == 1) {
        dw8_pack_run<1>(d + lo, xa, xb, z, hi - lo, 1);
      } else if (sw == 2) {
        dw8_pack_run<2>(d + lo, xa, xb, z, hi - lo, 2);
      } else {
        dw8_pack_run<0>(d + lo, xa, xb, z, hi - lo, sw);
      }
    }
  }
}

}  // namespace
}  // namespace lowbit::kernels
