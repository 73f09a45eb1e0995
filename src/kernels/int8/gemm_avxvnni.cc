// gemm_avxvnni.cc: the int8 GEMM microkernel on AVX-VNNI (VEX vpdpbusd ymm, e.g. Alder Lake,
// which has no AVX-512). The only file of the int8 kernels built with `avxvnni`; gemm.cc calls
// it after isa_supported() said yes.
//
// Register tile: kMr rows × 16 columns of C = 2·kMr ymm accumulators (12 of the 16 ymm
// registers, plus two of weights and one broadcast). Per group of 4 k the panel gives two
// ymm of weights (8 columns × 4 k each), each row of A one 32-bit broadcast, and each
// (row, half) one vpdpbusd:  acc[i][j] += Σ_{r<4} A[i][4q + r] · W[j][4q + r]  (u8 × s8 → s32).
// The last partial group reads only the K % 4 remaining bytes of each row, so A is never
// read past K; edge columns use vpmaskmovd, edge rows a smaller tile. Below the pragma: an
// anonymous namespace and no standard-library templates (see gemm_avx512vnni.cc).
#include <immintrin.h>

#include <cstdint>

#include "kernels/int8/gemm.h"
#include "kernels/int8/gemm_loads.h"

#pragma GCC push_options
#pragma GCC target("avx2,avxvnni")

namespace lowbit::kernels {
namespace {

constexpr int kNr = 16;
constexpr int kMr = 6;

using int8_gemm::load4;
using int8_gemm::load_tail;

// acc += Σ_{r<4} a[4l + r] · w[4l + r] per 32-bit lane l (a unsigned, w signed). One asm
// statement: {vex} keeps the AVX-VNNI encoding (the EVEX form needs AVX-512 VL) and "+x" ties
// the accumulator in place, which GCC 12's intrinsic does not (it copies it every call).
inline __m256i dpbusd(__m256i acc, __m256i a, __m256i w) {
  __asm__("%{vex%} vpdpbusd %[w], %[a], %[acc]" : [acc] "+x"(acc) : [a] "x"(a), [w] "xm"(w));
  return acc;
}

// Rows of a tile, for the macros below: GCC keeps named vector variables in registers but
// spills arrays of them.
#define LB_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define LB_DECL(i) __m256i acc##i##a = _mm256_setzero_si256(), acc##i##b = _mm256_setzero_si256();
#define LB_STEP(i, load)                                           \
  if constexpr (MR > i) {                                          \
    const __m256i av = _mm256_set1_epi32(load(a + i * lda + kk));  \
    acc##i##a = dpbusd(acc##i##a, av, w0);                         \
    acc##i##b = dpbusd(acc##i##b, av, w1);                         \
  }
#define LB_STEP_FULL(i) LB_STEP(i, load4)
#define LB_LOAD_TAIL(p) load_tail(p, rest)
#define LB_STEP_TAIL(i) LB_STEP(i, LB_LOAD_TAIL)
#define LB_STORE(i)                                                                 \
  if constexpr (MR > i) {                                                           \
    int32_t* row = c + i * g.ldc + n0;                                              \
    _mm256_maskstore_epi32(row, mask0, _mm256_add_epi32(acc##i##a, off0));          \
    _mm256_maskstore_epi32(row + 8, mask1, _mm256_add_epi32(acc##i##b, off1));      \
  }

// C[i][n0 + j] for i < MR, j < min(16, N − n0), from rows a (stride lda) and one panel.
template <int MR>
void tile(const GemmArgs& g, const uint8_t* a, const int8_t* panel, int64_t n0, int32_t* c) {
  static_assert(MR >= 1 && MR <= kMr);
  LB_ROWS(LB_DECL)
  const int64_t lda = g.lda, groups = g.k / 4, rest = g.k % 4;
  const int8_t* wp = panel;
  int64_t kk = 0;
  for (int64_t q = 0; q < groups; ++q, wp += 4 * kNr, kk += 4) {
    const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(wp));
    const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(wp + 32));
    LB_ROWS(LB_STEP_FULL)
  }
  if (rest) {
    const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(wp));
    const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(wp + 32));
    LB_ROWS(LB_STEP_TAIL)
  }
  // off[j] = bias[n] − z · row_sums[n], the zero-point correction (gemm.h), modulo 2^32.
  const int cols = static_cast<int>(g.n - n0 < kNr ? g.n - n0 : kNr);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i mask0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols), lane);
  const __m256i mask1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(cols - 8), lane);
  const __m256i vz = _mm256_set1_epi32(g.a_zero);
  __m256i off0 = _mm256_sub_epi32(_mm256_setzero_si256(),
                                  _mm256_mullo_epi32(vz, _mm256_maskload_epi32(g.row_sums + n0, mask0)));
  __m256i off1 = _mm256_sub_epi32(_mm256_setzero_si256(),
                                  _mm256_mullo_epi32(vz, _mm256_maskload_epi32(g.row_sums + n0 + 8, mask1)));
  if (g.bias) {
    off0 = _mm256_add_epi32(off0, _mm256_maskload_epi32(g.bias + n0, mask0));
    off1 = _mm256_add_epi32(off1, _mm256_maskload_epi32(g.bias + n0 + 8, mask1));
  }
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
    case 3:
      return tile<3>;
    case 4:
      return tile<4>;
    default:
      return tile<5>;
  }
}

}  // namespace

void gemm_rows_panels_avxvnni(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
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
