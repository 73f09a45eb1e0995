// requantize_avx2.cc: the requantize row kernels on 8 int32 lanes (AVX2), bit-identical to
// the scalar ones in requantize.cc, which chooses between them at run time. The only file of
// the requant kernels with AVX2 flags; headers are all included above the pragma so that no
// inline function is compiled with AVX2 code generation (no ODR mixing).
//
// Lane by lane the steps are those of fixed_point.h:
//   saturating x · 2^left : sllv, then lanes above INT32_MAX >> left (below INT32_MIN >> left)
//                           replaced by INT32_MAX (INT32_MIN);
//   SRDHM(s, m0)          : the 64-bit products of even and odd lanes (vpmuldq), + 2^30; the
//                           result is bits 31..62 of each sum, which a logical shift exposes as
//                           well as an arithmetic one (AVX2 has no 64-bit arithmetic shift):
//                           >> 31 for the even lanes (low half), << 1 for the odd ones (high
//                           half), then one blend; INT32_MIN · INT32_MIN lanes set to INT32_MAX;
//   RDBP(h, right)        : mask = 2^right − 1 (sllv; 2^31 − 1 wraps correctly for right = 31),
//                           threshold = (mask >> 1) + [h < 0], h >> right + [rem > threshold];
//   zy + q, clamp         : q is first clamped to [INT32_MIN − zy, INT32_MAX − zy] ∩ int32, so the
//                           add cannot wrap — a saturated sum clamps to [lo, hi] exactly as the
//                           scalar int64 sum does — then clamped to [lo, hi].
// The tail of a row (cols mod 8) runs through the same lanes with masked loads, so every
// element takes the vector arithmetic.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/requant/requantize.h"

namespace lowbit::kernels {

// load8 reads DyadicMultipliers as pairs of int32 {m0, shift}.
static_assert(sizeof(DyadicMultiplier) == 8 && offsetof(DyadicMultiplier, m0) == 0 &&
                  offsetof(DyadicMultiplier, shift) == 4 && sizeof(int) == 4,
              "DyadicMultiplier must be two packed int32");

}  // namespace lowbit::kernels

#pragma GCC push_options
#pragma GCC target("avx2")

namespace lowbit::kernels {
namespace {

constexpr int32_t kI32Max = 0x7fffffff;
constexpr int32_t kI32Min = -kI32Max - 1;

// One multiplier per lane, its shift split, and the saturation bounds of the left shift.
struct Lanes {
  __m256i m0, left, right, shl_hi, shl_lo;
};

// Output side: the pre-add bounds that keep zy + q from wrapping, zy, and [lo, hi].
struct Clamp {
  __m256i pre_lo, pre_hi, zy, lo, hi;
};

// Shifts with `k` bits of headroom (requantize.h): left = shift > 0 ? shift : k,
// right = shift > 0 ? 0 : k − shift.
inline Lanes lanes_from(__m256i m0, __m256i shift, int k) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256i kv = _mm256_set1_epi32(k);
  const __m256i pos = _mm256_cmpgt_epi32(shift, zero);
  Lanes l;
  l.m0 = m0;
  l.left = _mm256_blendv_epi8(kv, shift, pos);
  l.right = _mm256_andnot_si256(pos, _mm256_sub_epi32(kv, shift));
  l.shl_hi = _mm256_srav_epi32(_mm256_set1_epi32(kI32Max), l.left);  // largest x with x · 2^left ≤ INT32_MAX
  l.shl_lo = _mm256_xor_si256(l.shl_hi, _mm256_set1_epi32(-1));     // ~(MAX >> left) = MIN >> left
  return l;
}

// Deinterleaves {m0, shift} pairs held in a (pairs 0–3) and b (pairs 4–7).
inline Lanes lanes_from_pairs(__m256i a, __m256i b, int k) {
  const __m256i idx = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
  const __m256i pa = _mm256_permutevar8x32_epi32(a, idx);  // m0 0..3 | shift 0..3
  const __m256i pb = _mm256_permutevar8x32_epi32(b, idx);  // m0 4..7 | shift 4..7
  return lanes_from(_mm256_permute2x128_si256(pa, pb, 0x20), _mm256_permute2x128_si256(pa, pb, 0x31), k);
}

inline Lanes load8(const DyadicMultiplier* m, int k) {
  const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m));
  const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(m + 4));
  return lanes_from_pairs(a, b, k);
}

// The first n < 8 multipliers; lanes past n get {0, 0} and are never stored.
inline Lanes load_partial(const DyadicMultiplier* m, int n, int k) {
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i a =
      _mm256_maskload_epi32(reinterpret_cast<const int*>(m), _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * n), iota));
  __m256i b = _mm256_setzero_si256();
  if (n > 4) {
    b = _mm256_maskload_epi32(reinterpret_cast<const int*>(m + 4),
                              _mm256_cmpgt_epi32(_mm256_set1_epi32(2 * n - 8), iota));
  }
  return lanes_from_pairs(a, b, k);
}

inline __m256i lane_mask(int n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

inline Clamp make_clamp(int32_t zy, int32_t lo, int32_t hi) {
  Clamp k;
  k.pre_lo = _mm256_set1_epi32(zy < 0 ? kI32Min - zy : kI32Min);
  k.pre_hi = _mm256_set1_epi32(zy > 0 ? kI32Max - zy : kI32Max);
  k.zy = _mm256_set1_epi32(zy);
  k.lo = _mm256_set1_epi32(lo);
  k.hi = _mm256_set1_epi32(hi);
  return k;
}

inline __m256i requant8(__m256i x, const Lanes& l, const Clamp& k) {
  const __m256i vmax = _mm256_set1_epi32(kI32Max);
  const __m256i vmin = _mm256_set1_epi32(kI32Min);
  const __m256i one = _mm256_set1_epi32(1);
  // Saturating x · 2^left.
  __m256i s = _mm256_sllv_epi32(x, l.left);
  s = _mm256_blendv_epi8(s, vmax, _mm256_cmpgt_epi32(x, l.shl_hi));
  s = _mm256_blendv_epi8(s, vmin, _mm256_cmpgt_epi32(l.shl_lo, x));
  // SRDHM(s, m0) = bits 31..62 of s · m0 + 2^30.
  const __m256i half = _mm256_set1_epi64x(int64_t{1} << 30);
  const __m256i even = _mm256_add_epi64(_mm256_mul_epi32(s, l.m0), half);
  const __m256i odd =
      _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(s, 32), _mm256_srli_epi64(l.m0, 32)), half);
  __m256i h = _mm256_blend_epi32(_mm256_srli_epi64(even, 31), _mm256_slli_epi64(odd, 1), 0xAA);
  h = _mm256_blendv_epi8(h, vmax, _mm256_and_si256(_mm256_cmpeq_epi32(s, vmin), _mm256_cmpeq_epi32(l.m0, vmin)));
  // RDBP(h, right); the compares give −1 for true, so subtracting them adds 1.
  const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, l.right), one);
  const __m256i rem = _mm256_and_si256(h, mask);
  const __m256i thr = _mm256_sub_epi32(_mm256_srai_epi32(mask, 1), _mm256_cmpgt_epi32(_mm256_setzero_si256(), h));
  __m256i q = _mm256_sub_epi32(_mm256_srav_epi32(h, l.right), _mm256_cmpgt_epi32(rem, thr));
  // zy + q without wrapping, then [lo, hi].
  q = _mm256_min_epi32(_mm256_max_epi32(q, k.pre_lo), k.pre_hi);
  q = _mm256_add_epi32(q, k.zy);
  return _mm256_min_epi32(_mm256_max_epi32(q, k.lo), k.hi);
}

// 8 int32 lanes already in the output type's range → 8 bytes in the low half.
template <bool kUnsigned>
inline __m128i pack8(__m256i v) {
  const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  if constexpr (kUnsigned) {
    return _mm_packus_epi16(w, w);
  } else {
    return _mm_packs_epi16(w, w);
  }
}

template <bool kUnsigned, typename T>
inline void store8(T* o, __m256i v) {
  _mm_storel_epi64(reinterpret_cast<__m128i*>(o), pack8<kUnsigned>(v));
}

template <bool kUnsigned, typename T>
inline void store_partial(T* o, __m256i v, int n) {
  alignas(16) T buf[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(buf), pack8<kUnsigned>(v));
  for (int j = 0; j < n; ++j) o[j] = buf[j];
}

// n elements of a, all with the lanes l.
template <bool kUnsigned, typename T>
void run_uniform(const int32_t* a, int64_t n, const Lanes& l, const Clamp& k, T* o) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    store8<kUnsigned>(o + i, requant8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i)), l, k));
  }
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    store_partial<kUnsigned>(o + i, requant8(_mm256_maskload_epi32(a + i, lane_mask(rest)), l, k), rest);
  }
}

template <bool kUnsigned, typename T>
void requantize_rows_avx2(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult,
                          int64_t nmult, int32_t zy, int32_t lo, int32_t hi, T* out, int headroom) {
  const Clamp k = make_clamp(zy, lo, hi);
  if (nmult == 1) {
    const Lanes l = lanes_from(_mm256_set1_epi32(mult[0].m0), _mm256_set1_epi32(mult[0].shift), headroom);
    run_uniform<kUnsigned>(acc, rows * cols, l, k, out);
    return;
  }
  // Per-column multipliers: unpack each 8-column block's lanes once for all rows when the
  // row is narrow enough to keep them (the common case: ≤ 256 output channels).
  constexpr int64_t kMaxCachedBlocks = 32;
  const int64_t full = cols / 8;
  const int rest = static_cast<int>(cols - full * 8);
  if (full + 1 <= kMaxCachedBlocks) {
    Lanes blocks[kMaxCachedBlocks];
    for (int64_t b = 0; b < full; ++b) blocks[b] = load8(mult + b * 8, headroom);
    if (rest) blocks[full] = load_partial(mult + full * 8, rest, headroom);
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t* a = acc + r * cols;
      T* o = out + r * cols;
      for (int64_t b = 0; b < full; ++b)
        store8<kUnsigned>(o + b * 8, requant8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + b * 8)), blocks[b], k));
      if (rest) {
        const __m256i x = _mm256_maskload_epi32(a + full * 8, lane_mask(rest));
        store_partial<kUnsigned>(o + full * 8, requant8(x, blocks[full], k), rest);
      }
    }
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a = acc + r * cols;
    T* o = out + r * cols;
    int64_t c = 0;
    for (; c + 8 <= cols; c += 8) {
      store8<kUnsigned>(o + c, requant8(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + c)), load8(mult + c, headroom), k));
    }
    if (c < cols) {
      const __m256i x = _mm256_maskload_epi32(a + c, lane_mask(rest));
      store_partial<kUnsigned>(o + c, requant8(x, load_partial(mult + c, rest, headroom), k), rest);
    }
  }
}

}  // namespace

void requantize_to_u8_avx2(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult,
                           int64_t nmult, int32_t zy, int32_t lo, int32_t hi, uint8_t* out, int headroom) {
  check_requantize_rows(rows, cols, mult, nmult, lo, hi, 0, 255, headroom);
  requantize_rows_avx2<true>(acc, rows, cols, mult, nmult, zy, lo, hi, out, headroom);
}

void requantize_to_s8_avx2(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult,
                           int64_t nmult, int32_t zy, int32_t lo, int32_t hi, int8_t* out, int headroom) {
  check_requantize_rows(rows, cols, mult, nmult, lo, hi, -128, 127, headroom);
  requantize_rows_avx2<false>(acc, rows, cols, mult, nmult, zy, lo, hi, out, headroom);
}

}  // namespace lowbit::kernels
#pragma GCC pop_options
