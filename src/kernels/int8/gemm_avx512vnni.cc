// gemm_avx512vnni.cc: the int8 GEMM microkernel on AVX-512 VNNI (vpdpbusd zmm). The only file
// of the int8 kernels built for AVX-512; gemm.cc calls it after isa_supported() said yes.
//
// Register tile: kMr rows × 32 columns of C = 2·kMr zmm accumulators. Per group of 4 k, the
// panel gives two zmm of weights (16 columns × 4 k each, gemm.h's layout), each row of A one
// 32-bit broadcast (its 4 activations), and each (row, half) one vpdpbusd:
//   acc[i][j] += Σ_{r<4} A[i][4q + r] · W[j][4q + r]     (u8 × s8, exact, summed into s32)
// The last partial group reads only the K % 4 remaining bytes of each row (zero-filled), so
// A is never read past K. Edge columns use masked loads and stores; edge rows a smaller tile.
// K runs in blocks of kKc per panel (the first block stores, later ones add to C), so the
// block of W and the tile's rows of A stay in L1 however long K is.
// Everything below the pragma sits in an anonymous namespace and instantiates no standard-
// library function template (std::integer_sequence is only a type), so no differently
// compiled inline function can be merged with a baseline one.
#include <immintrin.h>

#include <cstdint>
#include <utility>

#include "kernels/int8/gemm.h"
#include "kernels/int8/gemm_loads.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni")

namespace lowbit::kernels {
namespace {

constexpr int kNr = 32;
constexpr int kMr = 12;
constexpr int64_t kKc = 512;  // k per block, a multiple of 4

using int8_gemm::load4;
using int8_gemm::load_tail;

// acc += Σ_{r<4} a[4l + r] · w[4l + r] per 32-bit lane l (a unsigned, w signed): vpdpbusd.
// As one asm statement because GCC 12 copies the accumulator of _mm512_dpbusd_epi32 to a
// fresh register and back on every call in a loop; "+v" ties it in place.
inline __m512i dpbusd(__m512i acc, __m512i a, __m512i w) {
  __asm__("vpdpbusd %[w], %[a], %[acc]" : [acc] "+v"(acc) : [a] "v"(a), [w] "vm"(w));
  return acc;
}

// Rows 0 … 11 of a tile, for the macros below: GCC keeps named __m512i variables in registers
// but spills arrays of them (no scalar replacement for aggregates this large).
#define LB_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define LB_DECL(i) __m512i acc##i##a = _mm512_setzero_si512(), acc##i##b = _mm512_setzero_si512();
// One group of 4 k for row i: `av` is the row's 4 activations broadcast to every lane.
#define LB_STEP(i, load)                                        \
  if constexpr (MR > i) {                                       \
    const __m512i av = _mm512_set1_epi32(load(a + i * lda + kk)); \
    acc##i##a = dpbusd(acc##i##a, av, w0);         \
    acc##i##b = dpbusd(acc##i##b, av, w1);         \
  }
#define LB_STEP_FULL(i) LB_STEP(i, load4)
#define LB_LOAD_TAIL(p) load_tail(p, rest)
#define LB_STEP_TAIL(i) LB_STEP(i, LB_LOAD_TAIL)
// The first k block stores acc + off; later blocks add their partial sums to C.
#define LB_STORE(i)                                                                                     \
  if constexpr (MR > i) {                                                                               \
    int32_t* row = c + i * g.ldc + n0;                                                                  \
    const __m512i add0 = first ? off0 : _mm512_maskz_loadu_epi32(m0, row);                              \
    const __m512i add1 = first ? off1 : _mm512_maskz_loadu_epi32(m1, row + 16);                         \
    _mm512_mask_storeu_epi32(row, m0, _mm512_add_epi32(acc##i##a, add0));                               \
    _mm512_mask_storeu_epi32(row + 16, m1, _mm512_add_epi32(acc##i##b, add1));                          \
  }

// C[i][n0 + j] for i < MR, j < min(32, N − n0), over k in [k0, k1) (k0 a multiple of 4):
// rows a (stride lda, already offset by k0) against the panel's groups from k0 on (wp).
// `first` (k0 == 0) stores the sums plus the zero-point / bias term, later blocks add to C.
template <int MR>
void tile(const GemmArgs& g, const uint8_t* a, const int8_t* wp, int64_t n0, int32_t* c, int64_t klen, bool first) {
  static_assert(MR >= 1 && MR <= 12);
  LB_ROWS(LB_DECL)
  const int64_t lda = g.lda, groups = klen / 4, rest = klen % 4;
  int64_t kk = 0;
  for (int64_t q = 0; q < groups; ++q, wp += 4 * kNr, kk += 4) {
    const __m512i w0 = _mm512_load_si512(wp);
    const __m512i w1 = _mm512_load_si512(wp + 64);
    LB_ROWS(LB_STEP_FULL)
  }
  if (rest) {
    const __m512i w0 = _mm512_load_si512(wp);
    const __m512i w1 = _mm512_load_si512(wp + 64);
    LB_ROWS(LB_STEP_TAIL)
  }
  // off[j] = bias[n] − z · row_sums[n], the zero-point correction (gemm.h), modulo 2^32.
  const int64_t cols = g.n - n0 < kNr ? g.n - n0 : kNr;
  const __mmask16 m0 = cols >= 16 ? 0xffff : static_cast<__mmask16>((1u << cols) - 1);
  const __mmask16 m1 = cols >= 32 ? 0xffff : cols > 16 ? static_cast<__mmask16>((1u << (cols - 16)) - 1) : 0;
  const __m512i vz = _mm512_set1_epi32(g.a_zero);
  __m512i off0 = _mm512_sub_epi32(_mm512_setzero_si512(),
                                  _mm512_mullo_epi32(vz, _mm512_maskz_loadu_epi32(m0, g.row_sums + n0)));
  __m512i off1 = _mm512_sub_epi32(_mm512_setzero_si512(),
                                  _mm512_mullo_epi32(vz, _mm512_maskz_loadu_epi32(m1, g.row_sums + n0 + 16)));
  if (first && g.bias) {
    off0 = _mm512_add_epi32(off0, _mm512_maskz_loadu_epi32(m0, g.bias + n0));
    off1 = _mm512_add_epi32(off1, _mm512_maskz_loadu_epi32(m1, g.bias + n0 + 16));
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

using TileFn = void (*)(const GemmArgs&, const uint8_t*, const int8_t*, int64_t, int32_t*, int64_t, bool);

// The tile for 1 ≤ rows < kMr (the bottom edge).
template <int... R>
TileFn edge_tile(int rows, std::integer_sequence<int, R...>) {
  static constexpr TileFn kFns[] = {tile<R + 1>...};
  return kFns[rows - 1];
}

}  // namespace

// Per panel, K runs in blocks of kKc so the block of W (32 × kKc bytes) and a tile's rows
// of A (kMr × kKc) stay in L1 while the tile walks down the rows.
void gemm_rows_panels_avx512vnni(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p) {
    const int8_t* panel = g.w + p * g.kp * kNr;
    const int64_t n0 = p * kNr;
    for (int64_t k0 = 0; k0 == 0 || k0 < g.k; k0 += kKc) {
      const int64_t klen = g.k - k0 < kKc ? g.k - k0 : kKc;
      const int8_t* wp = panel + k0 * kNr;
      for (int64_t i = m0; i < m1; i += kMr) {
        const int rows = m1 - i < kMr ? static_cast<int>(m1 - i) : kMr;
        const uint8_t* a = g.a + i * g.lda + k0;
        int32_t* c = g.c + i * g.ldc;
        if (rows == kMr) {
          tile<kMr>(g, a, wp, n0, c, klen, k0 == 0);
        } else {
          edge_tile(rows, std::make_integer_sequence<int, kMr - 1>())(g, a, wp, n0, c, klen, k0 == 0);
        }
      }
    }
  }
}

}  // namespace lowbit::kernels
#pragma GCC pop_options
