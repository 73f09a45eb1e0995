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
// Register tile: kMr rows × 8 columns. Per group of 4 k the panel's 32 bytes (8 columns ×
// 4 k, gemm.h's layout) widen to two ymm of int16, columns 0-3 and 4-7, each column's 4
// weights in 4 consecutive int16. A row's 4 activations, broadcast and widened, give
// a0 a1 a2 a3 a0 a1 a2 a3 …, so vpmaddwd yields per column two int32 lanes (k 0-1, k 2-3):
//   acc[i][h] lane 2c + t += A[i][4q + 2t] · W[4h + c][4q + 2t] + A[i][4q + 2t + 1] · W[4h + c][4q + 2t + 1]
// and at the end vphaddd + vpermq fold the lane pairs into the 8 columns in order.
// The last partial group reads only the K % 4 remaining bytes of a row; edge columns use
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
constexpr int kMr = 4;

using int8_gemm::load4;
using int8_gemm::load_tail;

// Rows of a tile, for the macros below: GCC keeps named vector variables in registers but
// spills arrays of them.
#define LB_ROWS(X) X(0) X(1) X(2) X(3)
#define LB_DECL(i) __m256i acc##i##a = _mm256_setzero_si256(), acc##i##b = _mm256_setzero_si256();
#define LB_STEP(i, load)                                                                  \
  if constexpr (MR > i) {                                                                 \
    const __m256i av = _mm256_cvtepu8_epi16(_mm_set1_epi32(load(a + i * lda + kk)));      \
    acc##i##a = _mm256_add_epi32(acc##i##a, _mm256_madd_epi16(av, w0));                   \
    acc##i##b = _mm256_add_epi32(acc##i##b, _mm256_madd_epi16(av, w1));                   \
  }
#define LB_STEP_FULL(i) LB_STEP(i, load4)
#define LB_LOAD_TAIL(p) load_tail(p, rest)
#define LB_STEP_TAIL(i) LB_STEP(i, LB_LOAD_TAIL)
// hadd gives [c0 c1 c4 c5 | c2 c3 c6 c7]; vpermq (0, 2, 1, 3) puts the 64-bit pairs in order.
#define LB_STORE(i)                                                                                    \
  if constexpr (MR > i) {                                                                              \
    const __m256i sum = _mm256_permute4x64_epi64(_mm256_hadd_epi32(acc##i##a, acc##i##b), 0xd8);       \
    _mm256_maskstore_epi32(c + i * g.ldc + n0, mask, _mm256_add_epi32(sum, off));                      \
  }

// Widens 16 weights (4 columns × 4 k) to int16.
inline __m256i widen_weights(const int8_t* p) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// C[i][n0 + j] for i < MR, j < min(8, N − n0), from rows a (stride lda) and one panel.
template <int MR>
void tile(const GemmArgs& g, const uint8_t* a, const int8_t* panel, int64_t n0, int32_t* c) {
  static_assert(MR >= 1 && MR <= kMr);
  LB_ROWS(LB_DECL)
  const int64_t lda = g.lda, groups = g.k / 4, rest = g.k % 4;
  const int8_t* wp = panel;
  int64_t kk = 0;
  for (int64_t q = 0; q < groups; ++q, wp += 4 * kNr, kk += 4) {
    const __m256i w0 = widen_weights(wp);
    const __m256i w1 = widen_weights(wp + 16);
    LB_ROWS(LB_STEP_FULL)
  }
  if (rest) {
    const __m256i w0 = widen_weights(wp);
    const __m256i w1 = widen_weights(wp + 16);
    LB_ROWS(LB_STEP_TAIL)
  }
  // off[j] = bias[n] − z · row_sums[n], the zero-point correction (gemm.h), modulo 2^32.
  const int cols = static_cast<int>(g.n - n0 < kNr ? g.n - n0 : kNr);
  const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  __m256i off = _mm256_sub_epi32(
      _mm256_setzero_si256(),
      _mm256_mullo_epi32(_mm256_set1_epi32(g.a_zero), _mm256_maskload_epi32(g.row_sums + n0, mask)));
  if (g.bias) off = _mm256_add_epi32(off, _mm256_maskload_epi32(g.bias + n0, mask));
  LB_ROWS(LB_STORE)
}

#undef LB_ROWS
#undef LB_DECL
#undef LB_STEP
#undef LB_STEP_FULL
#undef LB_LOAD_TAIL
#undef LB_STEP_TAIL
#undef LB_STORE

using TileFn = void (*)(const GemmArgs&, const uint8_t*, const int8_t*, int64_t, int32_t*);

// The tile for 1 ≤ rows < kMr (the bottom edge).
TileFn edge_tile(int rows) {
  switch (rows) {
    case 1:
      return tile<1>;
    case 2:
      return tile<2>;
    default:
      return tile<3>;
  }
}

}  // namespace

void gemm_rows_panels_avx2(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p) {
    const int8_t* panel = g.w + p * g.kp * kNr;
    for (int64_t i = m0; i < m1; i += kMr) {
      const uint8_t* a = g.a + i * g.lda;
      if (m1 - i >= kMr) {
        tile<kMr>(g, a, panel, p * kNr, g.c + i * g.ldc);
      } else {
        edge_tile(static_cast<int>(m1 - i))(g, a, panel, p * kNr, g.c + i * g.ldc);
      }
    }
  }
}

}  // namespace lowbit::kernels
#pragma GCC pop_options
