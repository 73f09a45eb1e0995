// gemm_avx2.cc: the int8 GEMM microkernel on AVX2 (vpmaddwd on int16). The only file of the
// int8 kernels built with `avx2`; gemm.cc calls it after isa_supported() said yes.
//
// Why not vpmaddubsw: it adds two u8 × s8 products into a *saturating* int16, and
// 255·127 + 255·127 = 64770 (or 2·255·(−128) = −65280) does not fit, so on full-range data it
// would differ from the scalar twin. Instead both operands are widened to int16 (A zero-
// extended, W sign-extended, one vpmovzxbw / vpmovsxbw each) and vpmaddwd adds two exact
// products into an int32 lane: |2·255·128| = 65280, far inside int32; the lanes then wrap
// modulo 2^32 exactly like the scalar twin's final conversion.
//
// Register tiles. Per group of 4 k the panel's 32 bytes (8 columns × 4 k, gemm.h's layout)
// widen to two ymm of int16, columns 0-3 and 4-7, each column's 4 weights in 4 consecutive
// int16. A row's 4 activations, broadcast and widened, give a0 a1 a2 a3 a0 a1 a2 a3 …, so
// vpmaddwd yields per column two int32 lanes (k 0-1, k 2-3):
//   acc[i][h] lane 2c + t += A[i][4q + 2t] · W[4h + c][4q + 2t] + A[i][4q + 2t + 1] · W[4h + c][4q + 2t + 1]
// and at the end vphaddd + vpermq fold the lane pairs into the 8 columns in order. A panel
// with more than 4 live columns runs kMr2 = 4 rows × both halves; one with at most 4 (the last
// panel when N mod 8 ≤ 4) runs kMr1 = 8 rows × the low half only. The accumulators start at
// the zero-point / bias term in lanes 2c (0 in lanes 2c + 1), so the fold yields the result;
// with small K and a large C the tile prefetches its rows of C first (prefetcht0: AVX2 CPUs
// before Broadwell lack PREFETCHW).
// The last partial group of K reads only the K % 4 remaining bytes of a row (or the whole 4
// where rows are dense and the next row exists: gemm.h, GemmArgs::m); edge columns use
// vpmaskmovd, edge rows a smaller tile. Below the pragma: an anonymous namespace and no
// standard-library templates (see gemm_avx512vnni.cc).
#include <immintrin.h>

#include <cstdint>

#include "kernels/int8/gemm.h"
#include "kernels/int8/gemm_loads.h"

#pragma GCC push_options
#pragma GCC target("avx2")

namespace lowbit::kernels {
namespace {

constexpr int kNr = 8;
constexpr int kMr2 = 4;               // rows per tile with 8 columns (both halves)
constexpr int kMr1 = 8;               // rows per tile with ≤ 4 columns (low half)
constexpr int64_t kRowBlock = kMr1;   // rows per block when row blocks go outermost
// Tiles prefetch their rows of C when C is larger than kPrefetchCMinBytes and K at most
// kPrefetchCMaxK, where storing C is most of the work (gemm_avx512vnni.cc has the numbers).
constexpr int64_t kPrefetchCMinBytes = 1 << 20;
constexpr int64_t kPrefetchCMaxK = 32;
constexpr int64_t kMaxRowBlockPanels = 32;  // most panels (256 columns) for row blocks outermost

using int8_gemm::load4;
using int8_gemm::load_tail;

// One panel of the call, ready for its row tiles.
struct Panel {
  __m256i off_a, off_b;   // bias[n] − z · row_sums[n] (gemm.h) of columns 0-3 / 4-7 in lanes 2c
  __m256i mask;           // live columns (all ones: lane stored)
  bool full;              // all 8 columns live: plain stores
  bool prefetch_c;        // prefetch the tile's rows of C first (small K, large C)
  int64_t groups;         // whole groups of 4 k a tile reads (whole tiles: one more)
  int64_t rest;           // k of the partial group, 0 … 3
  const int8_t* w;        // the panel's packed weights
  int32_t* c;             // C at the panel's first column
  int64_t cols;           // live columns, ≤ 8
};

// Rows of a tile, for the macros below: GCC keeps named vector variables in registers but
// spills arrays of them.
#define LB_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
#define LB_DECL(i) __m256i acc##i##a = pn.off_a, acc##i##b = pn.off_b;
#define LB_PREFETCH_C(i) \
  if constexpr (MR > i) __builtin_prefetch(c + i * ldc, 1, 3);
#define LB_STEP(i, load)                                                                          \
  if constexpr (MR > i) {                                                                         \
    const __m256i av = _mm256_cvtepu8_epi16(_mm_set1_epi32(load(a + i * lda + kk)));              \
    acc##i##a = _mm256_add_epi32(acc##i##a, _mm256_madd_epi16(av, w0));                           \
    if constexpr (NC == 2) acc##i##b = _mm256_add_epi32(acc##i##b, _mm256_madd_epi16(av, w1));    \
  }
#define LB_STEP_FULL(i) LB_STEP(i, load4)
#define LB_LOAD_TAIL(p) load_tail(p, rest)
#define LB_STEP_TAIL(i) LB_STEP(i, LB_LOAD_TAIL)
// hadd gives [c0 c1 c4 c5 | c2 c3 c6 c7]; vpermq (0, 2, 1, 3) puts the 64-bit pairs in order.
// With one half, hadd(acc, acc) gives c0 … c3 in the low 4 lanes (the rest is never stored).
#define LB_SUM(i) \
  _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc##i##a, NC == 2 ? acc##i##b : acc##i##a), 0xd8)
#define LB_STORE(i) \
  if constexpr (MR > i) _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + i * ldc), LB_SUM(i));
#define LB_STORE_MASKED(i) \
  if constexpr (MR > i) _mm256_maskstore_epi32(c + i * ldc, mask, LB_SUM(i));

// Widens 16 weights (4 columns × 4 k) to int16.
inline __m256i widen_weights(const int8_t* p) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// C[i][j] for i < MR and the panel's live columns j: rows of A from a (stride lda), C from c
// (stride ldc, already at the panel's first column). NC halves of columns; `whole` reads the
// partial group as a whole one.
template <int MR, int NC>
void tile(const Panel& pn, bool whole, const uint8_t* a, int64_t lda, int32_t* c, int64_t ldc) {
  static_assert(MR >= 1 && MR <= kMr1 && (NC == 1 || (NC == 2 && MR <= kMr2)));
  if (pn.prefetch_c) {
    LB_ROWS(LB_PREFETCH_C)
  }
  LB_ROWS(LB_DECL)
  const int64_t groups = pn.groups + (whole ? 1 : 0), rest = whole ? 0 : pn.rest;
  const int8_t* wp = pn.w;
  int64_t kk = 0;
  for (int64_t q = 0; q < groups; ++q, wp += 4 * kNr, kk += 4) {
    const __m256i w0 = widen_weights(wp);
    const __m256i w1 = NC == 2 ? widen_weights(wp + 16) : w0;
    LB_ROWS(LB_STEP_FULL)
  }
  if (rest) {
    const __m256i w0 = widen_weights(wp);
    const __m256i w1 = NC == 2 ? widen_weights(wp + 16) : w0;
    LB_ROWS(LB_STEP_TAIL)
  }
  if (pn.full) {
    LB_ROWS(LB_STORE)
  } else {
    const __m256i mask = pn.mask;  // a local: the stores to C may alias pn
    LB_ROWS(LB_STORE_MASKED)
  }
}

#undef LB_ROWS
#undef LB_DECL
#undef LB_PREFETCH_C
#undef LB_STEP
#undef LB_STEP_FULL
#undef LB_LOAD_TAIL
#undef LB_STEP_TAIL
#undef LB_SUM
#undef LB_STORE
#undef LB_STORE_MASKED

using TileFn = void (*)(const Panel&, bool, const uint8_t*, int64_t, int32_t*, int64_t);

// The tile for 1 ≤ rows < kMr2 rows (the bottom edge; NC = 1 runs 4 rows first if it can).
template <int NC>
TileFn edge_tile(int64_t rows) {
  switch (rows) {
    case 1:
      return tile<1, NC>;
    case 2:
      return tile<2, NC>;
    default:
      return tile<3, NC>;
  }
}

Panel make_panel(const GemmArgs& g, int64_t p) {
  Panel pn;
  const int64_t n0 = p * kNr;
  pn.cols = g.n - n0 < kNr ? g.n - n0 : kNr;
  pn.full = pn.cols == kNr;
  pn.prefetch_c = g.kp <= kPrefetchCMaxK && g.m * g.n * static_cast<int64_t>(sizeof(int32_t)) > kPrefetchCMinBytes;
  pn.groups = g.k / 4;
  pn.rest = g.k % 4;
  pn.w = g.w + p * g.kp * kNr;
  pn.c = g.c + n0;
  pn.mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(pn.cols)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  __m256i off = _mm256_sub_epi32(
      _mm256_setzero_si256(),
      _mm256_mullo_epi32(_mm256_set1_epi32(g.a_zero), _mm256_maskload_epi32(g.row_sums + n0, pn.mask)));
  if (g.bias) off = _mm256_add_epi32(off, _mm256_maskload_epi32(g.bias + n0, pn.mask));
  // Columns 0-3 and 4-7 zero-extended to 64 bits: off[c] in lane 2c, 0 in lane 2c + 1.
  pn.off_a = _mm256_cvtepu32_epi64(_mm256_castsi256_si128(off));
  pn.off_b = _mm256_cvtepu32_epi64(_mm256_extracti128_si256(off, 1));
  return pn;
}

// C rows [i0, i1) of one panel. Tiles ending at or above `whole_rows` read the partial group
// as a whole one.
void panel_rows(const GemmArgs& g, const Panel& pn, int64_t whole_rows, int64_t i0, int64_t i1) {
  const int64_t lda = g.lda, ldc = g.ldc;
  auto run = [&](TileFn fn, int64_t i, int64_t rows) {
    fn(pn, i + rows <= whole_rows, g.a + i * lda, lda, pn.c + i * ldc, ldc);
  };
  int64_t i = i0;
  if (pn.cols > 4) {
    for (; i + kMr2 <= i1; i += kMr2) run(tile<kMr2, 2>, i, kMr2);
    if (i < i1) run(edge_tile<2>(i1 - i), i, i1 - i);
  } else {
    for (; i + kMr1 <= i1; i += kMr1) run(tile<kMr1, 1>, i, kMr1);
    if (i + kMr2 <= i1) {
      run(tile<kMr2, 1>, i, kMr2);
      i += kMr2;
    }
    if (i < i1) run(edge_tile<1>(i1 - i), i, i1 - i);
  }
}

}  // namespace

void gemm_rows_panels_avx2(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  // With dense rows the partial group's missing bytes are the next row's first ones, times
  // zero weights: tiles whose 4-byte reads end inside A use them (gemm.h, GemmArgs::m).
  int64_t whole_rows = 0;
  if (g.k % 4 && g.lda == g.k && g.m * g.lda >= g.kp) whole_rows = (g.m * g.lda - g.kp) / g.lda + 1;
  if (p1 - p0 <= kMaxRowBlockPanels && (p1 - p0) * g.kp * kNr <= kGemmL1WeightBytes) {
    // Small W: row blocks outermost, every panel per block.
    Panel panels[kMaxRowBlockPanels];
    for (int64_t p = p0; p < p1; ++p) panels[p - p0] = make_panel(g, p);
    for (int64_t i = m0; i < m1; i += kRowBlock) {
      const int64_t i1 = m1 - i < kRowBlock ? m1 : i + kRowBlock;
      for (int64_t p = p0; p < p1; ++p) panel_rows(g, panels[p - p0], whole_rows, i, i1);
    }
    return;
  }
  for (int64_t p = p0; p < p1; ++p) panel_rows(g, make_panel(g, p), whole_rows, m0, m1);
}

}  // namespace lowbit::kernels
#pragma GCC pop_options
