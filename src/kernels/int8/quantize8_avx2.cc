// quantize8_avx2.cc: the boundary conversions on 8 float lanes. Quantize: v = x / s (the same
// IEEE division as the scalar path), NaN lanes → 0, round to nearest even (vroundps), clamp to
// [qmin − z, qmax − z] while still float (exact: the bounds are small integers, and clamping
// before adding z equals clamping after for an integer-valued v), convert, add z. Dequantize:
// float(q − z) · s, one rounding like the scalar path.
#include <immintrin.h>

#include <cstdint>

#include "kernels/int8/quantize8.h"

#pragma GCC push_options
#pragma GCC target("avx2")

namespace lowbit::kernels {

void quantize_u8_avx2(const float* x, int64_t n, float scale, int32_t zero, int32_t qmin, int32_t qmax, uint8_t* y) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(qmin - zero));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(qmax - zero));
  const __m256i z = _mm256_set1_epi32(zero);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i), s);
    v = _mm256_andnot_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q), v);  // NaN → +0
    v = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
    const __m256i q = _mm256_add_epi32(_mm256_cvttps_epi32(v), z);
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y + i), _mm_packus_epi16(w, w));
  }
  if (i < n) quantize_u8_scalar(x + i, n - i, scale, zero, qmin, qmax, y + i);
}

void dequantize_u8_avx2(const uint8_t* q, int64_t n, float scale, int32_t zero, float* y) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256i z = _mm256_set1_epi32(zero);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + i)));
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, z)), s));
  }
  if (i < n) dequantize_u8_scalar(q + i, n - i, scale, zero, y + i);
}

}  // namespace lowbit::kernels

#pragma GCC pop_options
