// depthwise8_avx512.cc: the int8 depthwise conv with AVX-512BW — vpmaddwd over the pair view of
// depthwise8_impl.h, 16 output pixels per vector. The only file of this kernel built with AVX-512 flags;
// depthwise8.cc calls it after checking CPUID.
//
// Per output row, pair of kernel rows j and kernel column kx, one load of 8 lanes
// (v[r][col], v[r + dil_h][col]) times the broadcast weight pair (w[2j][kx], w[2j+1][kx]) gives
// 16 exact s32 two-tap sums (vpmaddwd: a0·b0 + a1·b1 per lane; |a| ≤ 255, |b| ≤ 128); the sums
// add into out = bias + Σ (x − z)·w. Padding is already 0 in the view, so no border cases.
// No standard-library template is used below the pragma (an inline function instantiated here
// would carry AVX-512 code the linker could pick for baseline callers).
#include <immintrin.h>

#include <cstdint>

#include "kernels/int8/depthwise8.h"

#pragma GCC push_options
#pragma GCC target("avx2,avx512f,avx512bw")
#include "kernels/int8/depthwise8_impl.h"

namespace lowbit::kernels {
namespace {

constexpr int64_t kVec = 16;

// Lanes [0, n) of a store, n in [0, 16].
inline __mmask16 tail_mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1u); }

// A K×K kernel (any stride and dilation) with its taps unrolled: T = ⌈K/2⌉·K weight pairs.
template <int K>
void plane_fixed(const Dw8View& pp, const Conv2dGeom& g, int32_t b, int32_t* oc) {
  constexpr int kPairs = (K + 1) / 2, kT = kPairs * K;
  const int64_t OH = g.oh(), OW = g.ow();
  __m512i wv[kT];
  for (int t = 0; t < kT; ++t) wv[t] = _mm512_set1_epi32(pp.wp[t]);
  int64_t off[K];
  for (int kx = 0; kx < K; ++kx) {
    const int64_t o = kx * g.dil_w;
    off[kx] = (o % g.stride_w) * pp.phase_len + o / g.stride_w;
  }
  const __m512i bv = _mm512_set1_epi32(b);
  const int64_t full = OW / kVec * kVec;
  const __mmask16 mask = tail_mask(OW - full);
  for (int64_t oy = 0; oy < OH; ++oy) {
    const int32_t* p[kT];
    for (int j = 0; j < kPairs; ++j)
      for (int kx = 0; kx < K; ++kx)
        p[j * K + kx] = pp.lanes + (oy * g.stride_h + 2 * j * g.dil_h) * pp.pitch + off[kx];
    int32_t* row = oc + oy * OW;
    for (int64_t ox = 0; ox < OW; ox += kVec) {
      __m512i acc = bv;
      for (int t = 0; t < kT; ++t)
        acc = _mm512_add_epi32(
            acc, _mm512_madd_epi16(_mm512_loadu_si512(p[t] + ox), wv[t]));
      if (ox < full) {
        _mm512_storeu_si512(row + ox, acc);
      } else {
        _mm512_mask_storeu_epi32(row + ox, mask, acc);
      }
    }
  }
}

// Any kernel, tap offsets computed as it goes.
void plane_generic(const Dw8View& pp, const Conv2dGeom& g, int32_t b, int32_t* oc) {
  const int64_t OH = g.oh(), OW = g.ow(), pairs = pp.pairs;
  const __m512i bv = _mm512_set1_epi32(b);
  const int64_t full = OW / kVec * kVec;
  const __mmask16 mask = tail_mask(OW - full);
  for (int64_t oy = 0; oy < OH; ++oy) {
    int32_t* row = oc + oy * OW;
    for (int64_t ox = 0; ox < OW; ox += kVec) {
      __m512i acc = bv;
      for (int64_t j = 0; j < pairs; ++j) {
        const int32_t* base = pp.lanes + (oy * g.stride_h + 2 * j * g.dil_h) * pp.pitch + ox;
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const int64_t o = kx * g.dil_w;
          const int32_t* src = base + (o % g.stride_w) * pp.phase_len + o / g.stride_w;
          acc = _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_loadu_si512(src),
                                                        _mm512_set1_epi32(pp.wp[j * g.kw + kx])));
        }
      }
      if (ox < full) {
        _mm512_storeu_si512(row + ox, acc);
      } else {
        _mm512_mask_storeu_epi32(row + ox, mask, acc);
      }
    }
  }
}

}  // namespace

void depthwise8_planes_avx512(const uint8_t* x, const Conv2dGeom& g, int32_t x_zero, const int8_t* w,
                            const int32_t* bias, int32_t* out, int64_t q0, int64_t q1) {
  const int64_t in_plane = g.h * g.w, out_plane = g.oh() * g.ow(), kk = g.kh * g.kw;
  const int64_t k = g.kh == g.kw ? g.kh : 0;
  Dw8View view;
  const bool simd = dw8_view_init(g, x_zero, kVec, &view);
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t c = q % g.c;
    const uint8_t* xc = x + q * in_plane;
    const int8_t* wc = w + c * kk;
    const int32_t b = bias ? bias[c] : 0;
    int32_t* oc = out + q * out_plane;
    if (!simd) {
      depthwise8_plane_scalar(xc, g, x_zero, wc, b, oc);
      continue;
    }
    dw8_view_build(xc, g, x_zero, view);
    dw8_weight_pairs(g, wc, &view);
    switch (k) {
      case 1: plane_fixed<1>(view, g, b, oc); break;
      case 3: plane_fixed<3>(view, g, b, oc); break;
      case 5: plane_fixed<5>(view, g, b, oc); break;
      default: plane_generic(view, g, b, oc); break;
    }
  }
}

}  // namespace lowbit::kernels

#pragma GCC pop_options
