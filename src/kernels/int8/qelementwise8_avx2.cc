// qelementwise8_avx2.cc: add_u8 on 8 int32 lanes (AVX2), bit-identical to add_u8_scalar in
// qelementwise8.cc, which chooses between them at run time. Headers are all included above
// the pragma so that no inline function is compiled with AVX2 code generation (no ODR mixing).
//
// Per lane, the steps of fixed_point.h (the same lane arithmetic as requantize_avx2.cc):
//   x · 2^left (saturating) : sllv, lanes above INT32_MAX >> left (below INT32_MIN >> left)
//                             replaced by INT32_MAX (INT32_MIN);
//   SRDHM(s, m0)            : 64-bit products of even and odd lanes (vpmuldq) + 2^30; the
//                             result is bits 31..62, exposed by >> 31 (even lanes) and << 1
//                             (odd lanes) and one blend; INT32_MIN · INT32_MIN → INT32_MAX;
//   RDBP(h, right)          : mask = 2^right − 1, threshold = (mask >> 1) + [h < 0],
//                             h >> right + [(h & mask) > threshold].
// The inputs' (q − z) · 2^left_shift and a' + b' cannot overflow (check_add_params bounds
// them), and zy + q is clamped first to [INT32_MIN − zy, INT32_MAX − zy] so it cannot wrap,
// then to [lo, hi]. The tail (n mod 8) runs through add_u8_scalar.
#include <immintrin.h>

#include <cstdint>

#include "core/check.h"
#include "kernels/int8/qelementwise8.h"

#pragma GCC push_options
#pragma GCC target("avx2")

namespace lowbit::kernels {
namespace {

constexpr int32_t kI32Max = 0x7fffffff;
constexpr int32_t kI32Min = -kI32Max - 1;
constexpr int64_t kTableMin = 1024;  // elements from which building the tables pays

// One multiplier in every lane, its shift split, and the saturation bounds of the left shift.
struct Mult {
  __m256i m0, left, right, shl_hi, shl_lo, mask, half_mask;
  bool m0_is_min;
};

inline Mult mult_from(DyadicMultiplier m) {
  const int left = m.shift > 0 ? m.shift : 0;
  const int right = m.shift < 0 ? -m.shift : 0;
  Mult r;
  r.m0 = _mm256_set1_epi32(m.m0);
  r.left = _mm256_set1_epi32(left);
  r.right = _mm256_set1_epi32(right);
  r.shl_hi = _mm256_set1_epi32(kI32Max >> left);  // largest x with x · 2^left ≤ INT32_MAX
  r.shl_lo = _mm256_set1_epi32(kI32Min >> left);  // smallest x with x · 2^left ≥ INT32_MIN
  const int32_t mask = static_cast<int32_t>((int64_t{1} << right) - 1);
  r.mask = _mm256_set1_epi32(mask);
  r.half_mask = _mm256_set1_epi32(mask >> 1);
  r.m0_is_min = m.m0 == kI32Min;
  return r;
}

// RDBP(SRDHM(x · 2^left, m0), right) per lane: multiply_by_dyadic.
inline __m256i mul8(__m256i x, const Mult& m) {
  const __m256i vmax = _mm256_set1_epi32(kI32Max);
  const __m256i vmin = _mm256_set1_epi32(kI32Min);
  __m256i s = _mm256_sllv_epi32(x, m.left);
  s = _mm256_blendv_epi8(s, vmax, _mm256_cmpgt_epi32(x, m.shl_hi));
  s = _mm256_blendv_epi8(s, vmin, _mm256_cmpgt_epi32(m.shl_lo, x));
  const __m256i half = _mm256_set1_epi64x(int64_t{1} << 30);
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(s, m.m0), half);
  const __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(s, 32), _mm256_srli_epi64(m.m0, 32)), half);
  __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
  if (m.m0_is_min) h = _mm256_blendv_epi8(h, vmax, _mm256_cmpeq_epi32(s, vmin));
  // The compares give −1 for true, so subtracting them adds 1.
  const __m256i rem = _mm256_and_si256(h, m.mask);
  const __m256i thr = _mm256_sub_epi32(m.half_mask, _mm256_cmpgt_epi32(_mm256_setzero_si256(), h));
  return _mm256_sub_epi32(_mm256_srav_epi32(h, m.right), _mm256_cmpgt_epi32(rem, thr));
}

// 8 bytes → 8 lanes of (q − z) · 2^left_shift.
inline __m256i widen8(const uint8_t* q, __m256i z, __m128i left_shift) {
  const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q)));
  return _mm256_sll_epi32(_mm256_sub_epi32(v, z), left_shift);
}

}  // namespace

void add_u8_avx2(const uint8_t* a, const uint8_t* b, int64_t n, const AddParams& p, uint8_t* y) {
  LB_CHECK(n >= 0, "negative element count");
  check_add_params(p);
  const Mult ma = mult_from(p.a), mb = mult_from(p.b), mo = mult_from(p.out);
  const __m128i ls = _mm_cvtsi32_si128(p.left_shift);
  const __m256i za = _mm256_set1_epi32(p.a_zero), zb = _mm256_set1_epi32(p.b_zero);
  const __m256i zy = _mm256_set1_epi32(p.y_zero);
  const __m256i pre_lo = _mm256_set1_epi32(p.y_zero < 0 ? kI32Min - p.y_zero : kI32Min);
  const __m256i pre_hi = _mm256_set1_epi32(p.y_zero > 0 ? kI32Max - p.y_zero : kI32Max);
  const __m256i lo = _mm256_set1_epi32(p.lo), hi = _mm256_set1_epi32(p.hi);
  // On long inputs the two input multiplies become lookups in their 256-entry tables
  // (add_input_table: the same values), leaving one multiply per element.
  const bool tables = n >= kTableMin;
  alignas(32) int32_t ta[256], tb[256];
  if (tables) {
    add_input_table(p.a_zero, p.left_shift, p.a, ta);
    add_input_table(p.b_zero, p.left_shift, p.b, tb);
  }
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i sum;
    if (tables) {
      const __m256i ia = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(a + i)));
      const __m256i ib = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(b + i)));
      sum = _mm256_add_epi32(_mm256_i32gather_epi32(ta, ia, 4), _mm256_i32gather_epi32(tb, ib, 4));
    } else {
      sum = _mm256_add_epi32(mul8(widen8(a + i, za, ls), ma), mul8(widen8(b + i, zb, ls), mb));
    }
    __m256i q = mul8(sum, mo);
    q = _mm256_min_epi32(_mm256_max_epi32(q, pre_lo), pre_hi);
    q = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(q, zy), lo), hi);
    // Lanes are in [0, 255]: two packs keep them exact.
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(y + i), _mm_packus_epi16(w, w));
  }
  if (i < n) add_u8_scalar(a + i, b + i, n - i, p, y + i);
}

}  // namespace lowbit::kernels

#pragma GCC pop_options
