// nhwc8_avx2.cc: the depthwise row of nhwc8.cc with AVX2 intrinsics — 16 channels per block,
// their sums held in two ymm accumulators across all taps. Bit-identical to the portable row
// (integer arithmetic is exact; tested in int8_nhwc_test). The only file of nhwc8 with AVX2
// code generation; headers sit above the pragma so no inline function is compiled for AVX2.
#include <immintrin.h>

#include <cstdint>

#include "kernels/int8/nhwc8.h"

#pragma GCC push_options
#pragma GCC target("avx2")

namespace lowbit::kernels {

// acc[ox][c] = bias[c] + Σ_{taps in bounds} (x − x_zero)·w for one output row; taps are given
// per output column by [kx0[ox], kx1[ox]) and for the row by [ky0, ky1). Channels past the
// last multiple of 16 are the caller's (nhwc8.cc finishes them with the portable code).
// Each product (x − x_zero)·w fits int16 (|·| ≤ 255 · 128), so one vpmullw makes 16 of them.
void depthwise_row_avx2(int32_t* acc, const uint8_t* xb, const int8_t* w, const int32_t* bias, int32_t x_zero,
                        const Conv2dGeom& g, int64_t oy, int64_t ow, int64_t ky0, int64_t ky1, const int64_t* kx0,
                        const int64_t* kx1) {
  const int64_t c = g.c, c16 = c / 16 * 16;
  const __m256i z = _mm256_set1_epi16(static_cast<int16_t>(x_zero));
  for (int64_t ox = 0; ox < ow; ++ox) {
    int32_t* out = acc + ox * c;
    const int64_t ix_base = ox * g.stride_w - g.pad_l;
    for (int64_t cb = 0; cb < c16; cb += 16) {
      __m256i a0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + cb));
      __m256i a1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bias + cb + 8));
      for (int64_t ky = ky0; ky < ky1; ++ky) {
        const uint8_t* xr = xb + (oy * g.stride_h - g.pad_t + ky * g.dil_h) * g.w * c + cb;
        const int8_t* wr = w + ky * g.kw * c + cb;
        for (int64_t kx = kx0[ox]; kx < kx1[ox]; ++kx) {
          const __m128i xv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(xr + (ix_base + kx * g.dil_w) * c));
          const __m128i wv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(wr + kx * c));
          const __m256i p = _mm256_mullo_epi16(_mm256_sub_epi16(_mm256_cvtepu8_epi16(xv), z), _mm256_cvtepi8_epi16(wv));
          a0 = _mm256_add_epi32(a0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(p)));
          a1 = _mm256_add_epi32(a1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(p, 1)));
        }
      }
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + cb), a0);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + cb + 8), a1);
    }
  }
}

}  // namespace lowbit::kernels

#pragma GCC pop_options
