// requantize_avx512.cc: the requantize row kernels on 16 int32 lanes (AVX-512 F + BW + VL),
// bit-identical to the scalar ones in requantize.cc, which chooses between the variants at run
// time. The only file of the requant kernels with AVX-512 flags; headers are all included above
// the pragma, and nothing below it instantiates a standard-library template, so no inline
// function compiled with AVX-512 code generation can be merged with a baseline copy.
//
// The math. With s = saturate(acc · 2^left) and p = s · m0 (exact in int64, |p| ≤ 2^62),
//   h = SRDHM(s, m0) = floor((p + 2^30) / 2^31)                  (fixed_point.h)
//   q = RDBP(h, r)   = floor((h + N) / 2^r),  N = 2^(r−1) − [h < 0] for r ≥ 1, N = 0 for r = 0
// (RDBP adds 1 to floor(h / 2^r) exactly when rem ≥ 2^(r−1) + [h < 0], i.e. when
// rem + N ≥ 2^r). Since floor((floor(a / m) + N) / k) = floor((a + N·m) / (m·k)) for integer N,
//   q = floor((p + 2^30 + N · 2^31) / 2^(31 + r)),
// one 64-bit add and one 64-bit arithmetic shift (vpsravq, 31 + r ≤ 62) per lane instead of
// gemmlowp's two roundings in 32 bits. The sign test [h < 0] may be read as [p < 0]: they differ
// only for p in [−2^30, 0), where h = 0 and floor((0 + 2^(r−1) − 1) / 2^r) = 0 = RDBP(0, r).
// The two constants C+ = 2^30 + N+ · 2^31 and C− = 2^30 + N− · 2^31 are set up per lane once;
// p + C stays below 2^62 + 2^61 + 2^30 < 2^63. SRDHM's one saturation, INT32_MIN · INT32_MIN
// (p = 2^62 → h = 2^31), becomes p = min(p, 2^62 − 2^31), whose h is INT32_MAX; every other
// product is at most 2^62 − 2^31, so the min is only emitted when some m0 is INT32_MIN (the
// path is chosen per call from the multipliers).
//
// Lane by lane:
//   saturating x · 2^left : x raised to INT32_MIN >> left (that shifts to INT32_MIN exactly),
//                           then vpsllvd merge-masked by x ≤ INT32_MAX >> left over INT32_MAX;
//   p                     : vpmuldq on the even lanes and on the odd lanes moved down (vpshufd);
//   q                     : + C+ or C− (vpcmpq p < 0 as the merge mask), vpsravq by 31 + r;
//                           the odd results go back up into the odd dwords with one masked vpshufd;
//   zy + q, clamp         : q clamped to [lo − zy, hi − zy] (exact in int64, then bounded to
//                           int32; when lo − zy > INT32_MAX or hi − zy < INT32_MIN every output
//                           is lo, resp. hi, and the block is filled), + zy, which now lies in
//                           [lo, hi], so vpmovdb's truncation to 8 bits is exact (uint8 and int8
//                           alike).
// 22 vector instructions per 16 lanes, 3 of them shifts; the AVX2 kernel spends about 36 per 8.
// Measured (rows 784, cols 16 and 128, per column): 2.2–3× the AVX2 kernel's throughput.
//
// Per-column multipliers: the lanes of a 16-column block are unpacked once per call. A row
// whose width has a short period against 16 lanes (cols / gcd(cols, 16) ≤ 16 blocks: every
// width ≤ 256 that is a multiple of 16, and 1..15, 24, 40, …) runs as one flat stream over
// rows · cols elements with the blocks taken in turn, so only the block's very end is masked;
// other widths go row by row in tiles of 256 columns, each row's last block masked.

// GCC 12's AVX-512 intrinsics start their unmasked forms from a self-initialized
// _mm512_undefined_epi32(), which -Wmaybe-uninitialized reports once inlined (a false
// positive); the warning is located in the intrinsics header, so it is silenced around it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/requant/requantize.h"

namespace lowbit::kernels {

// load16 reads DyadicMultipliers as pairs of int32 {m0, shift}.
static_assert(sizeof(DyadicMultiplier) == 8 && offsetof(DyadicMultiplier, m0) == 0 &&
                  offsetof(DyadicMultiplier, shift) == 4 && sizeof(int) == 4,
              "DyadicMultiplier must be two packed int32");

}  // namespace lowbit::kernels

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl")

namespace lowbit::kernels {
namespace {

constexpr int32_t kI32Max = 0x7fffffff;
constexpr int32_t kI32Min = -kI32Max - 1;
constexpr int kMaxBlocks = 16;  // blocks of 16 lanes unpacked at once (256 columns, 11 KiB)

// One multiplier per lane, unpacked: dword lanes for the left shift, qword lanes (even lanes
// and odd lanes apart) for the product and the rounding shift.
struct Block {
  __m512i shl_lo, shl_hi, left;  // INT32_MIN >> left, INT32_MAX >> left, left
  __m512i m0_even, m0_odd;       // m0 of lanes 2i / 2i + 1 in the low dword of qword i
  __m512i c_pos_even, c_pos_odd;  // 2^30 + N · 2^31 for p ≥ 0
  __m512i c_neg_even, c_neg_odd;  // the same for p < 0
  __m512i sh_even, sh_odd;       // 31 + right
};

// Output side: [lo − zy, hi − zy] bounded to int32, and zy.
struct Out {
  __m512i q_lo, q_hi, zy;
};

// C+, C− and 31 + r for qword lanes holding r in [0, 31].
inline void rounding_constants(__m512i r, __m512i* c_pos, __m512i* c_neg, __m512i* sh) {
  const __m512i one = _mm512_set1_epi64(1);
  const __m512i half = _mm512_set1_epi64(int64_t{1} << 30);
  const __m512i n_pos = _mm512_srli_epi64(_mm512_sllv_epi64(one, r), 1);      // 2^(r−1), 0 for r = 0
  const __m512i n_neg = _mm512_sub_epi64(n_pos, _mm512_min_epu64(n_pos, one));  // 2^(r−1) − 1, 0 for r = 0
  *c_pos = _mm512_add_epi64(_mm512_slli_epi64(n_pos, 31), half);
  *c_neg = _mm512_add_epi64(_mm512_slli_epi64(n_neg, 31), half);
  *sh = _mm512_add_epi64(r, _mm512_set1_epi64(31));
}

// Shifts with `k` bits of headroom (requantize.h): left = shift > 0 ? shift : k,
// right = shift > 0 ? 0 : k − shift.
inline Block block_from(__m512i m0, __m512i shift, int k) {
  const __m512i kv = _mm512_set1_epi32(k);
  const __mmask16 pos = _mm512_cmpgt_epi32_mask(shift, _mm512_setzero_si512());
  Block b;
  b.left = _mm512_mask_blend_epi32(pos, kv, shift);
  const __m512i right = _mm512_maskz_sub_epi32(static_cast<__mmask16>(~pos), kv, shift);
  b.shl_hi = _mm512_srav_epi32(_mm512_set1_epi32(kI32Max), b.left);
  b.shl_lo = _mm512_xor_si512(b.shl_hi, _mm512_set1_epi32(-1));  // ~(MAX >> left) = MIN >> left
  b.m0_even = m0;
  b.m0_odd = _mm512_srli_epi64(m0, 32);
  rounding_constants(_mm512_and_si512(right, _mm512_set1_epi64(0xffffffff)), &b.c_pos_even, &b.c_neg_even,
                     &b.sh_even);
  rounding_constants(_mm512_srli_epi64(right, 32), &b.c_pos_odd, &b.c_neg_odd, &b.sh_odd);
  return b;
}

// Deinterleaves {m0, shift} pairs held in a (pairs 0–7) and c (pairs 8–15).
inline Block block_from_pairs(__m512i a, __m512i c, int k) {
  const __m512i idx_m0 = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i idx_shift = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  return block_from(_mm512_permutex2var_epi32(a, idx_m0, c), _mm512_permutex2var_epi32(a, idx_shift, c), k);
}

inline Block load16(const DyadicMultiplier* m, int k) {
  return block_from_pairs(_mm512_loadu_si512(m), _mm512_loadu_si512(m + 8), k);
}

// The first n in [1, 16) multipliers; lanes past n get {0, 0} and are never stored.
inline Block load_partial(const DyadicMultiplier* m, int n, int k) {
  if (n <= 8) return block_from_pairs(_mm512_maskz_loadu_epi32(static_cast<__mmask16>((1u << (2 * n)) - 1), m),
                                      _mm512_setzero_si512(), k);
  return block_from_pairs(_mm512_loadu_si512(m),
                          _mm512_maskz_loadu_epi32(static_cast<__mmask16>((1u << (2 * n - 16)) - 1), m + 8), k);
}

inline __mmask16 lane_mask(int64_t n) { return static_cast<__mmask16>((1u << n) - 1); }

// 16 accumulators → 16 output bytes (the header's arithmetic; see the top of the file).
template <bool kSatMul>
inline __m128i requant16(__m512i x, const Block& b, const Out& o) {
  // Saturating x · 2^left.
  const __m512i xc = _mm512_max_epi32(x, b.shl_lo);
  const __mmask16 fits = _mm512_cmple_epi32_mask(x, b.shl_hi);
  const __m512i s = _mm512_mask_sllv_epi32(_mm512_set1_epi32(kI32Max), fits, xc, b.left);
  // p = s · m0 in 64 bits, even lanes and odd lanes.
  __m512i pe = _mm512_mul_epi32(s, b.m0_even);
  __m512i po = _mm512_mul_epi32(_mm512_shuffle_epi32(s, _MM_PERM_DDBB), b.m0_odd);
  if constexpr (kSatMul) {
    const __m512i top = _mm512_set1_epi64((int64_t{1} << 62) - (int64_t{1} << 31));
    pe = _mm512_min_epi64(pe, top);
    po = _mm512_min_epi64(po, top);
  }
  // q = (p + C) >> (31 + r), C chosen by the sign of p.
  const __m512i zero = _mm512_setzero_si512();
  const __m512i te =
      _mm512_mask_add_epi64(_mm512_add_epi64(pe, b.c_pos_even), _mm512_cmplt_epi64_mask(pe, zero), pe, b.c_neg_even);
  const __m512i to =
      _mm512_mask_add_epi64(_mm512_add_epi64(po, b.c_pos_odd), _mm512_cmplt_epi64_mask(po, zero), po, b.c_neg_odd);
  const __m512i qe = _mm512_srav_epi64(te, b.sh_even);
  const __m512i qo = _mm512_srav_epi64(to, b.sh_odd);
  // Odd results (low dword of each qword of qo) into the odd dwords of qe.
  __m512i q = _mm512_mask_shuffle_epi32(qe, 0xAAAA, qo, _MM_PERM_CCAA);
  // zy + q in [lo, hi], without wrapping; then exactly 8 bits.
  q = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(q, o.q_lo), o.q_hi), o.zy);
  return _mm512_cvtepi32_epi8(q);
}

template <bool kSatMul>
inline void run16(const int32_t* a, const Block& b, const Out& o, uint8_t* out) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out), requant16<kSatMul>(_mm512_loadu_si512(a), b, o));
}

// The first n in [1, 16) elements only: masked loads read nothing past them.
template <bool kSatMul>
inline void run_partial(const int32_t* a, int64_t n, const Block& b, const Out& o, uint8_t* out) {
  const __mmask16 m = lane_mask(n);
  _mm_mask_storeu_epi8(out, m, requant16<kSatMul>(_mm512_maskz_loadu_epi32(m, a), b, o));
}

// n elements of a flat run whose lanes repeat with period 16 · nblocks: element i takes lane
// i mod 16 of blocks[(i / 16) mod nblocks].
template <bool kSatMul>
void run_flat(const int32_t* a, int64_t n, const Block* blocks, int nblocks, const Out& o, uint8_t* out) {
  const int64_t period = int64_t{16} * nblocks;
  int64_t i = 0;
  if (nblocks == 1) {
    const Block b = blocks[0];
    for (; i + 16 <= n; i += 16) run16<kSatMul>(a + i, b, o, out + i);
    if (i < n) run_partial<kSatMul>(a + i, n - i, b, o, out + i);
    return;
  }
  for (; i + period <= n; i += period) {
    for (int j = 0; j < nblocks; ++j) run16<kSatMul>(a + i + 16 * j, blocks[j], o, out + i + 16 * j);
  }
  int j = 0;
  for (; i + 16 <= n; i += 16, ++j) run16<kSatMul>(a + i, blocks[j], o, out + i);
  if (i < n) run_partial<kSatMul>(a + i, n - i, blocks[j], o, out + i);
}

// cols / gcd(cols, 16): how many 16-lane blocks a flat run over whole rows cycles through.
inline int64_t period_blocks(int64_t cols) {
  int64_t g = 16;
  while (cols % g != 0) g >>= 1;
  return cols / g;
}

template <bool kSatMul>
void requantize_blocks(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult, int64_t nmult,
                       const Out& o, uint8_t* out, int headroom) {
  if (nmult == 1) {
    const Block b = block_from(_mm512_set1_epi32(mult[0].m0), _mm512_set1_epi32(mult[0].shift), headroom);
    run_flat<kSatMul>(acc, rows * cols, &b, 1, o, out);
    return;
  }
  Block blocks[kMaxBlocks];
  const int64_t period = period_blocks(cols);
  if (period <= kMaxBlocks) {
    for (int64_t j = 0; j < period; ++j) {
      if (cols % 16 == 0) {
        blocks[j] = load16(mult + 16 * j, headroom);
      } else {
        DyadicMultiplier lanes[16];
        for (int64_t l = 0; l < 16; ++l) lanes[l] = mult[(16 * j + l) % cols];
        blocks[j] = load16(lanes, headroom);
      }
    }
    run_flat<kSatMul>(acc, rows * cols, blocks, static_cast<int>(period), o, out);
    return;
  }
  // Row by row, in tiles of kMaxBlocks · 16 columns whose blocks are unpacked once.
  for (int64_t c0 = 0; c0 < cols; c0 += kMaxBlocks * 16) {
    const int64_t width = cols - c0 < kMaxBlocks * 16 ? cols - c0 : kMaxBlocks * 16;
    const int64_t full = width / 16;
    const int64_t rest = width - full * 16;
    for (int64_t j = 0; j < full; ++j) blocks[j] = load16(mult + c0 + 16 * j, headroom);
    if (rest) blocks[full] = load_partial(mult + c0 + 16 * full, static_cast<int>(rest), headroom);
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t* a = acc + r * cols + c0;
      uint8_t* y = out + r * cols + c0;
      for (int64_t j = 0; j < full; ++j) run16<kSatMul>(a + 16 * j, blocks[j], o, y + 16 * j);
      if (rest) run_partial<kSatMul>(a + 16 * full, rest, blocks[full], o, y + 16 * full);
    }
  }
}

// Both output types share the arithmetic: the result already lies in [lo, hi] and is stored
// as its low byte.
void requantize_rows_avx512(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult,
                            int64_t nmult, int32_t zy, int32_t lo, int32_t hi, uint8_t* out, int headroom) {
  const int64_t n = rows * cols;
  if (n == 0) return;
  const int64_t q_lo = int64_t{lo} - zy, q_hi = int64_t{hi} - zy;
  // zy + q with q in int32 can then only be below lo (resp. above hi): the scalar int64 sum
  // clamps every element to that bound.
  if (q_lo > kI32Max || q_hi < kI32Min) {
    std::memset(out, static_cast<unsigned char>(q_lo > kI32Max ? lo : hi), static_cast<size_t>(n));
    return;
  }
  Out o;
  o.q_lo = _mm512_set1_epi32(static_cast<int32_t>(q_lo < kI32Min ? kI32Min : q_lo));
  o.q_hi = _mm512_set1_epi32(static_cast<int32_t>(q_hi > kI32Max ? kI32Max : q_hi));
  o.zy = _mm512_set1_epi32(zy);
  bool sat_mul = false;
  for (int64_t i = 0; i < nmult; ++i) sat_mul |= mult[i].m0 == kI32Min;
  if (sat_mul) {
    requantize_blocks<true>(acc, rows, cols, mult, nmult, o, out, headroom);
  } else {
    requantize_blocks<false>(acc, rows, cols, mult, nmult, o, out, headroom);
  }
}

}  // namespace

void requantize_to_u8_avx512(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult,
                             int64_t nmult, int32_t zy, int32_t lo, int32_t hi, uint8_t* out, int headroom) {
  check_requantize_rows(rows, cols, mult, nmult, lo, hi, 0, 255, headroom);
  requantize_rows_avx512(acc, rows, cols, mult, nmult, zy, lo, hi, out, headroom);
}

void requantize_to_s8_avx512(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult,
                             int64_t nmult, int32_t zy, int32_t lo, int32_t hi, int8_t* out, int headroom) {
  check_requantize_rows(rows, cols, mult, nmult, lo, hi, -128, 127, headroom);
  requantize_rows_avx512(acc, rows, cols, mult, nmult, zy, lo, hi, reinterpret_cast<uint8_t*>(out), headroom);
}

}  // namespace lowbit::kernels
#pragma GCC pop_options
