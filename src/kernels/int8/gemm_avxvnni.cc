// gemm_avxvnni.cc: the int8 GEMM microkernel on AVX-VNNI (VEX vpdpbusd ymm, e.g. Alder Lake,
// which has no AVX-512). The only file of the int8 kernels built with `avxvnni`; gemm.cc calls
// it after isa_supported() said yes.
//
// Register tiles. Per group of 4 k the panel gives two ymm of weights (columns 0-7 and 8-15,
// 8 lanes × 4 k each, gemm.h's layout), each row of A one 32-bit broadcast, and each (row,
// ymm of columns) one vpdpbusd:  acc[i][j] += Σ_{r<4} A[i][4q + r] · W[j][4q + r]  (u8 × s8
// → s32). A panel with more than 8 live columns runs kMr2 = 6 rows × 2 ymm (12 of the 16 ymm
// registers, plus two of weights and one broadcast); one with at most 8 (the last panel when
// N mod 16 ≤ 8) runs kMr1 = 12 rows × 1 ymm and skips the all-zero half.
// The accumulators start at the zero-point / bias term, so a row's epilogue is its store
// (vpmaskmovd only on a partial panel); with small K and a large C the tile PREFETCHWs its rows
// of C first (gemm_avx512vnni.cc explains both). The last partial group of K reads only the K % 4
// remaining bytes of each row — or, where rows are dense (lda == k) and the next row exists,
// the whole 4 bytes, whose extra weights are zero (gemm.h, GemmArgs::m) — so A is never read
// past row m. When the call's packed W is small, blocks of kRowBlock rows go outermost
// (gemm_avx512vnni.cc explains why). Below the pragma: an anonymous namespace and no standard-
// library templates (see gemm_avx512vnni.cc).
#include <immintrin.h>

#include <cstdint>

#include "kernels/int8/gemm.h"
#include "kernels/int8/gemm_loads.h"

#pragma GCC push_options
#pragma GCC target("avx2,avxvnni,prfchw")

namespace lowbit::kernels {
namespace {

constexpr int kNr = 16;
constexpr int kMr2 = 6;                // rows per tile with 16 columns (2 ymm per row)
constexpr int kMr1 = 12;               // rows per tile with ≤ 8 columns (1 ymm per row)
constexpr int64_t kRowBlock = kMr1;    // rows per block when row blocks go outermost
// Tiles prefetch their rows of C when C is larger than kPrefetchCMinBytes and K at most
// kPrefetchCMaxK, where storing C is most of the work (gemm_avx512vnni.cc has the numbers).
constexpr int64_t kPrefetchCMinBytes = 1 << 20;
constexpr int64_t kPrefetchCMaxK = 32;
constexpr int64_t kMaxRowBlockPanels = 32;  // most panels (512 columns) for row blocks outermost

using int8_gemm::load4;
using int8_gemm::load_tail;

// acc += Σ_{r<4} a[4l + r] · w[4l + r] per 32-bit lane l (a unsigned, w signed). One asm
// statement: {vex} keeps the AVX-VNNI encoding (the EVEX form needs AVX-512 VL) and "+x" ties
// the accumulator in place, which GCC 12's intrinsic does not (it copies it every call).
inline __m256i dpbusd(__m256i acc, __m256i a, __m256i w) {
  __asm__("%{vex%} vpdpbusd %[w], %[a], %[acc]" : [acc] "+x"(acc) : [a] "x"(a), [w] "xm"(w));
  return acc;
}

// One panel of the call, ready for its row tiles.
struct Panel {
  __m256i off0, off1;      // bias[n] − z · row_sums[n] (gemm.h), modulo 2^32
  __m256i mask0, mask1;    // live columns of each ymm half (all ones: lane stored)
  bool full;               // all 16 columns live: plain stores
  bool prefetch_c;         // PREFETCHW the tile's rows of C first (small K, large C)
  int64_t groups;          // whole groups of 4 k a tile reads (whole_rows: one more)
  int64_t rest;            // k of the partial group, 0 … 3 (0 for whole-group tiles)
  const int8_t* w;         // the panel's packed weights
  int32_t* c;              // C at the panel's first column
  int64_t cols;            // live columns, ≤ 16
};

// Rows of a tile, for the macros below: GCC keeps named vector variables in registers but
// spills arrays of them.
#define LB_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define LB_DECL(i) __m256i acc##i##a = pn.off0, acc##i##b = pn.off1;
// A row of the panel is 64 bytes, one line of an aligned C (measured: a second PREFETCHW per
// row for its other half costs 5-10%).
#define LB_PREFETCH_C(i) \
  if constexpr (MR > i) __builtin_prefetch(c + i * ldc, 1, 3);
#define LB_STEP(i, load)                                              \
  if constexpr (MR > i) {                                             \
    const __m256i av = _mm256_set1_epi32(load(a + i * lda + kk));     \
    acc##i##a = dpbusd(acc##i##a, av, w0);                            \
    if constexpr (NC == 2) acc##i##b = dpbusd(acc##i##b, av, w1);     \
  }
#define LB_STEP_FULL(i) LB_STEP(i, load4)
#define LB_LOAD_TAIL(p) load_tail(p, rest)
#define LB_STEP_TAIL(i) LB_STEP(i, LB_LOAD_TAIL)
#define LB_STORE(i)                                                                                    \
  if constexpr (MR > i) {                                                                              \
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + i * ldc), acc##i##a);                           \
    if constexpr (NC == 2) _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + i * ldc + 8), acc##i##b); \
  }
#define LB_STORE_MASKED(i)                                                                  \
  if constexpr (MR > i) {                                                                   \
    _mm256_maskstore_epi32(c + i * ldc, mask0, acc##i##a);                                  \
    if constexpr (NC == 2) _mm256_maskstore_epi32(c + i * ldc + 8, mask1, acc##i##b);       \
  }

// C[i][j] for i < MR and the panel's live columns j: rows of A from a (stride lda), C from c
// (stride ldc, already at the panel's first column). NC ymm of columns per row; `whole` reads
// the partial group as a whole one.
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
    const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(wp));
    const __m256i w1 = NC == 2 ? _mm256_load_si256(reinterpret_cast<const __m256i*>(wp + 32)) : w0;
    LB_ROWS(LB_STEP_FULL)
  }
  if (rest) {
    const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(wp));
    const __m256i w1 = NC == 2 ? _mm256_load_si256(reinterpret_cast<const __m256i*>(wp + 32)) : w0;
    LB_ROWS(LB_STEP_TAIL)
  }
  if (pn.full) {
    LB_ROWS(LB_STORE)
  } else {
    const __m256i mask0 = pn.mask0, mask1 = pn.mask1;  // locals: the stores to C may alias pn
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
#undef LB_STORE
#undef LB_STORE_MASKED

using TileFn = void (*)(const Panel&, bool, const uint8_t*, int64_t, int32_t*, int64_t);

// The tile for 1 ≤ rows < kMr2 rows (the bottom edge; NC = 1 runs 6 rows first if it can).
template <int NC>
TileFn edge_tile(int64_t rows) {
  switch (rows) {
    case 1:
      return tile<1, NC>;
    case 2:
      return tile<2, NC>;
    case 3:
      return tile<3, NC>;
    case 4:
      return tile<4, NC>;
    default:
      return tile<5, NC>;
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
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  pn.mask0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(pn.cols)), lane);
  pn.mask1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(pn.cols) - 8), lane);
  const __m256i vz = _mm256_set1_epi32(g.a_zero);
  pn.off0 = _mm256_sub_epi32(_mm256_setzero_si256(),
                             _mm256_mullo_epi32(vz, _mm256_maskload_epi32(g.row_sums + n0, pn.mask0)));
  pn.off1 = _mm256_sub_epi32(_mm256_setzero_si256(),
                             _mm256_mullo_epi32(vz, _mm256_maskload_epi32(g.row_sums + n0 + 8, pn.mask1)));
  if (g.bias) {
    pn.off0 = _mm256_add_epi32(pn.off0, _mm256_maskload_epi32(g.bias + n0, pn.mask0));
    pn.off1 = _mm256_add_epi32(pn.off1, _mm256_maskload_epi32(g.bias + n0 + 8, pn.mask1));
  }
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
  if (pn.cols > 8) {
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

void gemm_rows_panels_avxvnni(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
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
