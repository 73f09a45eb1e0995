// gemm_avx512vnni.cc: the int8 GEMM microkernel on AVX-512 VNNI (vpdpbusd zmm). The only file
// of the int8 kernels built for AVX-512; gemm.cc calls it after isa_supported() said yes.
//
// Register tiles. Per group of 4 k the panel gives two zmm of weights (columns 0-15 and 16-31,
// 16 lanes × 4 k each, gemm.h's layout), each row of A one 32-bit broadcast (its 4
// activations), and each (row, zmm of columns) one vpdpbusd:
//   acc[i][j] += Σ_{r<4} A[i][4q + r] · W[j][4q + r]     (u8 × s8, exact, summed into s32)
// A panel with more than 16 live columns runs kMr2 = 12 rows × 2 zmm (24 accumulators); one
// with at most 16 (N ≤ 16, or the last panel when N mod 32 ≤ 16) runs kMr1 = 24 rows × 1 zmm
// and never touches the all-zero half, so narrow layers spend no vpdpbusd on padding.
// The accumulators start at the zero-point / bias term (first k block) or at C (later
// blocks), so a row's epilogue is its masked store and nothing else. With small K and a large
// C (storing C is then most of the work) the tile first asks for its rows of C with PREFETCHW,
// so their read-for-ownership overlaps the k loop.
// The last partial group of K reads only the K % 4 remaining bytes of a row with a byte-masked
// load (masked-off bytes never fault) — or, where rows are dense (lda == k) and the next row
// exists, the whole 4 bytes as a plain broadcast: the extra bytes are the next row's first
// ones and meet zero weights (gemm.h, GemmArgs::m). So A is never read past its last row's K.
//
// Loop order. When the call's packed W is small (at most kGemmL1WeightBytes: the narrow, short-K
// layers of small CNNs), blocks of kRowBlock rows go outermost and visit every panel, with the
// next block of A prefetched: each block of A is read from memory once and each row of C is
// written in one pass. Otherwise each panel walks all rows in K blocks of about kKc, so the
// block of W (32 × kKc bytes) and a tile's rows of A stay in L1.
// Everything below the pragma sits in an anonymous namespace and instantiates no standard-
// library function template (std::integer_sequence is only a type), so no differently
// compiled inline function can be merged with a baseline one. PREFETCHW (prfchw) exists on
// every CPU with AVX-512 VNNI.
#include <immintrin.h>

#include <cstdint>
#include <utility>

#include "kernels/int8/gemm.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512vnni,prfchw")

namespace lowbit::kernels {
namespace {

constexpr int kNr = 32;
constexpr int kMr2 = 12;            // rows per tile with 32 columns (2 zmm per row)
constexpr int kMr1 = 24;            // rows per tile with ≤ 16 columns (1 zmm per row)
constexpr int64_t kRowBlock = kMr1;  // rows per block when row blocks go outermost
constexpr int64_t kKc = 512;        // most k per block, a multiple of 4
constexpr int64_t kMaxRowBlockPanels = 16;  // most panels (512 columns) for row blocks outermost
constexpr int64_t kPrefetchMaxBytes = 4096;  // largest block of A prefetch_rows fetches ahead
// When the tiles PREFETCHW their rows of C: a C of more than kPrefetchCMinBytes and K of at
// most kPrefetchCMaxK, where storing C is most of the work. Measured at M = 12544 … 50176:
// K = 9 … 32 with C beyond L2 up to 25% faster; an 800 KB C (M = 3136, N = 64, K = 32) 5%
// slower; K = 64 3-7% slower, K = 144 even.
constexpr int64_t kPrefetchCMinBytes = 1 << 20;
constexpr int64_t kPrefetchCMaxK = 32;

// acc += Σ_{r<4} a[4l + r] · w[4l + r] per 32-bit lane l (a unsigned, w signed): vpdpbusd.
// As one asm statement because GCC 12 copies the accumulator of _mm512_dpbusd_epi32 to a
// fresh register and back on every call in a loop; "+v" ties it in place.
inline __m512i dpbusd(__m512i acc, __m512i a, __m512i w) {
  __asm__("vpdpbusd %[w], %[a], %[acc]" : [acc] "+v"(acc) : [a] "v"(a), [w] "vm"(w));
  return acc;
}

// What every tile of one (panel, k block) shares: where its sums start and which columns and
// k it covers.
struct Block {
  __m512i off0, off1;       // first block: bias[n] − z · row_sums[n] (gemm.h), modulo 2^32
  __mmask16 m0, m1;         // live columns of each zmm half
  __mmask16 tail;           // the k of a last partial group: bit r for k = 4·groups + r
  bool first;               // k block 0: start from off; later blocks: start from C
  bool prefetch_c;          // PREFETCHW the tile's rows of C first (k block 0 of a large C)
  int64_t groups;           // whole groups of 4 k
  const int8_t* w;          // the panel's first group of this block
};

// Row r (0 ≤ r < 8) of a tile sits at base + r·lda, written as an x86 address base + scale ·
// index with the index one of lda, 3·lda, 5·lda, 7·lda. With bases 8 rows apart, a 24-row tile
// needs 3 bases + 4 indices in general registers; left to itself GCC keeps one offset per row
// and spills half of them, an extra load per broadcast in the inner loop. Hence asm for the
// loads of A: a row's step (the 32-bit broadcast and its one or two vpdpbusd, in one
// statement so GCC does not shuttle the last accumulator between registers every trip) and
// the byte-masked load of a partial group (masked-off bytes never fault). The statements read
// A through their address registers without declaring that memory: nothing writes A during a
// GEMM, so no store needs ordering against them.
struct RowIndex {
  int64_t l1, l3, l5, l7;
};

template <int R>
void step_row1(const uint8_t* base, const RowIndex& x, __m512i w0, __m512i& acc0);
template <int R>
void step_row2(const uint8_t* base, const RowIndex& x, __m512i w0, __m512i w1, __m512i& acc0, __m512i& acc1);
template <int R>
__m128i tail_row(const uint8_t* base, const RowIndex& x, __mmask16 mask);

// acc0 += A·w0 (and acc1 += A·w1) for row R's 4 activations at base + R·lda.
#define LB_ROW_ASM(R, ADDR, INDEX)                                                                          \
  template <>                                                                                               \
  inline void step_row1<R>(const uint8_t* base, const RowIndex& x, __m512i w0, __m512i& acc0) {             \
    __m512i t;                                                                                              \
    __asm__("vpbroadcastd " ADDR ", %[t]\n\tvpdpbusd %[w0], %[t], %[a0]"                                    \
            : [t] "=&v"(t), [a0] "+v"(acc0)                                                                 \
            : [p] "r"(base), [i] "r"(INDEX), [w0] "v"(w0));                                                 \
  }                                                                                                         \
  template <>                                                                                               \
  inline void step_row2<R>(const uint8_t* base, const RowIndex& x, __m512i w0, __m512i w1, __m512i& acc0,   \
                           __m512i& acc1) {                                                                 \
    __m512i t;                                                                                              \
    __asm__("vpbroadcastd " ADDR ", %[t]\n\tvpdpbusd %[w0], %[t], %[a0]\n\tvpdpbusd %[w1], %[t], %[a1]"      \
            : [t] "=&v"(t), [a0] "+v"(acc0), [a1] "+v"(acc1)                                                \
            : [p] "r"(base), [i] "r"(INDEX), [w0] "v"(w0), [w1] "v"(w1));                                   \
  }                                                                                                         \
  template <>                                                                                               \
  inline __m128i tail_row<R>(const uint8_t* base, const RowIndex& x, __mmask16 mask) {                      \
    __m128i v;                                                                                              \
    __asm__("vmovdqu8 " ADDR ", %[v]%{%[k]%}%{z%}" : [v] "=v"(v) : [p] "r"(base), [i] "r"(INDEX), [k] "Yk"(mask)); \
    return v;                                                                                               \
  }
LB_ROW_ASM(0, "(%[p])", x.l1)
LB_ROW_ASM(1, "(%[p],%[i],1)", x.l1)
LB_ROW_ASM(2, "(%[p],%[i],2)", x.l1)
LB_ROW_ASM(3, "(%[p],%[i],1)", x.l3)
LB_ROW_ASM(4, "(%[p],%[i],4)", x.l1)
LB_ROW_ASM(5, "(%[p],%[i],1)", x.l5)
LB_ROW_ASM(6, "(%[p],%[i],2)", x.l3)
LB_ROW_ASM(7, "(%[p],%[i],1)", x.l7)
#undef LB_ROW_ASM

// Rows 0 … 23 of a tile, for the macros below: GCC keeps named __m512i variables in registers
// but spills arrays of them (no scalar replacement for aggregates this large).
#define LB_ROWS(X)                                                                                            \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16) X(17) X(18) \
  X(19) X(20) X(21) X(22) X(23)
#define LB_BASE(i) (i < 8 ? p0 : i < 16 ? p1 : p2)
#define LB_DECL(i) __m512i acc##i##a = _mm512_setzero_si512(), acc##i##b = _mm512_setzero_si512();
// Asks for the tile's rows of C in the exclusive state now, so their read-for-ownership
// overlaps the k loop instead of stalling the stores at the end (PREFETCHW; a NOP hint on CPUs
// without it).
#define LB_PREFETCH_C(i)                                                                       \
  if constexpr (MR > i) {                                                                      \
    __builtin_prefetch(c + i * ldc, 1, 3);                                                     \
    if constexpr (NC == 2) __builtin_prefetch(c + i * ldc + 16, 1, 3);                         \
  }
#define LB_INIT_OFF(i)                         \
  if constexpr (MR > i) {                      \
    acc##i##a = b.off0;                        \
    if constexpr (NC == 2) acc##i##b = b.off1; \
  }
#define LB_INIT_C(i)                                                                    \
  if constexpr (MR > i) {                                                               \
    acc##i##a = _mm512_maskz_loadu_epi32(m0, c + i * ldc);                            \
    if constexpr (NC == 2) acc##i##b = _mm512_maskz_loadu_epi32(m1, c + i * ldc + 16); \
  }
// One group of 4 k for row i: its 4 activations broadcast to every lane, times the weights.
#define LB_STEP_FULL(i)                                                                      \
  if constexpr (MR > i) {                                                                    \
    if constexpr (NC == 2) {                                                                 \
      step_row2<i % 8>(LB_BASE(i), x, w0, w1, acc##i##a, acc##i##b);                         \
    } else {                                                                                 \
      step_row1<i % 8>(LB_BASE(i), x, w0, acc##i##a);                                        \
    }                                                                                        \
  }
// The partial group: the row's K % 4 last bytes, zero-extended, broadcast.
#define LB_STEP_TAIL(i)                                                                                 \
  if constexpr (MR > i) {                                                                               \
    const __m512i av = _mm512_maskz_broadcastd_epi32(0xffff, tail_row<i % 8>(LB_BASE(i), x, tail));     \
    acc##i##a = dpbusd(acc##i##a, av, w0);                                                              \
    if constexpr (NC == 2) acc##i##b = dpbusd(acc##i##b, av, w1);                                       \
  }
#define LB_STORE(i)                                                                     \
  if constexpr (MR > i) {                                                               \
    _mm512_mask_storeu_epi32(c + i * ldc, m0, acc##i##a);                             \
    if constexpr (NC == 2) _mm512_mask_storeu_epi32(c + i * ldc + 16, m1, acc##i##b); \
  }

// C[i][j] for i < MR and the block's live columns j, over its k: rows of A from a (stride
// lda, already at the block's first k), C from c (stride ldc, already at the panel's first
// column). NC zmm of columns per row: 1 when the panel has at most 16 live columns.
template <int MR, int NC>
void tile(const Block& b, const uint8_t* a, int64_t lda, int32_t* c, int64_t ldc) {
  static_assert(MR >= 1 && MR <= kMr1 && (NC == 1 || (NC == 2 && MR <= kMr2)));
  const __mmask16 m0 = b.m0, m1 = b.m1, tail = b.tail;  // locals: the stores to C may alias b
  LB_ROWS(LB_DECL)
  if (b.prefetch_c) {
    LB_ROWS(LB_PREFETCH_C)
  }
  if (b.first) {
    LB_ROWS(LB_INIT_OFF)
  } else {
    LB_ROWS(LB_INIT_C)
  }
  const RowIndex x{lda, 3 * lda, 5 * lda, 7 * lda};
  const uint8_t* p0 = a;
  const uint8_t* p1 = MR > 8 ? a + 8 * lda : a;
  const uint8_t* p2 = MR > 16 ? a + 16 * lda : a;
  const int8_t* wp = b.w;
  const int8_t* const wend = wp + b.groups * 4 * kNr;
  for (; wp != wend; wp += 4 * kNr, p0 += 4, p1 += 4, p2 += 4) {
    const __m512i w0 = _mm512_load_si512(wp);
    const __m512i w1 = NC == 2 ? _mm512_load_si512(wp + 64) : w0;
    LB_ROWS(LB_STEP_FULL)
  }
  if (tail) {
    const __m512i w0 = _mm512_load_si512(wp);
    const __m512i w1 = NC == 2 ? _mm512_load_si512(wp + 64) : w0;
    LB_ROWS(LB_STEP_TAIL)
  }
  LB_ROWS(LB_STORE)
}

#undef LB_ROWS
#undef LB_BASE
#undef LB_DECL
#undef LB_PREFETCH_C
#undef LB_INIT_OFF
#undef LB_INIT_C
#undef LB_STEP_FULL
#undef LB_STEP_TAIL
#undef LB_STORE

using TileFn = void (*)(const Block&, const uint8_t*, int64_t, int32_t*, int64_t);

// The tile for 1 ≤ rows < kMr2 rows (the bottom edge; NC = 1 runs 12 rows first if it can).
template <int NC, int... R>
TileFn edge_tile(int rows, std::integer_sequence<int, R...>) {
  static constexpr TileFn kFns[] = {tile<R + 1, NC>...};
  return kFns[rows - 1];
}

// One panel over one k block [k0, k0 + klen) (k0 a multiple of 4), ready for its row tiles.
struct PanelBlock {
  Block exact;          // reads the partial group of 4 k with a byte mask
  Block whole;          // reads it as a whole group (see below)
  int64_t whole_rows;   // tiles ending at or above this row may use `whole`
  int64_t cols;         // live columns, ≤ 32
  const uint8_t* a;     // A at k0
  int32_t* c;           // C at the panel's first column
};

PanelBlock panel_block(const GemmArgs& g, int64_t p, int64_t k0, int64_t klen) {
  PanelBlock pb;
  const int64_t n0 = p * kNr;
  pb.cols = g.n - n0 < kNr ? g.n - n0 : kNr;
  pb.a = g.a + k0;
  pb.c = g.c + n0;
  Block& b = pb.exact;
  b.m0 = pb.cols >= 16 ? 0xffff : static_cast<__mmask16>((1u << pb.cols) - 1);
  b.m1 = pb.cols >= 32 ? 0xffff : pb.cols > 16 ? static_cast<__mmask16>((1u << (pb.cols - 16)) - 1) : 0;
  b.tail = static_cast<__mmask16>((1u << (klen % 4)) - 1);
  b.first = k0 == 0;
  b.prefetch_c = b.first && g.kp <= kPrefetchCMaxK &&
                 g.m * g.n * static_cast<int64_t>(sizeof(int32_t)) > kPrefetchCMinBytes;
  b.groups = klen / 4;
  b.w = g.w + p * g.kp * kNr + k0 * kNr;
  b.off0 = b.off1 = _mm512_setzero_si512();
  if (b.first) {
    const __m512i vz = _mm512_set1_epi32(g.a_zero);
    b.off0 = _mm512_sub_epi32(b.off0, _mm512_mullo_epi32(vz, _mm512_maskz_loadu_epi32(b.m0, g.row_sums + n0)));
    b.off1 = _mm512_sub_epi32(b.off1, _mm512_mullo_epi32(vz, _mm512_maskz_loadu_epi32(b.m1, g.row_sums + n0 + 16)));
    if (g.bias) {
      b.off0 = _mm512_add_epi32(b.off0, _mm512_maskz_loadu_epi32(b.m0, g.bias + n0));
      b.off1 = _mm512_add_epi32(b.off1, _mm512_maskz_loadu_epi32(b.m1, g.bias + n0 + 16));
    }
  }
  // With dense rows (lda == k) the partial group's missing bytes are the next row's first
  // ones, times zero weights: tiles whose reads end inside A (row `whole_rows` and below
  // excluded) read it as a whole group, a plain broadcast (gemm.h, GemmArgs::m).
  pb.whole = b;
  pb.whole_rows = 0;
  if (b.tail && g.lda == g.k) {
    pb.whole.groups += 1;
    pb.whole.tail = 0;
    const int64_t end = k0 + 4 * pb.whole.groups;  // one past the last byte a row's reads touch
    if (g.m * g.lda >= end) pb.whole_rows = (g.m * g.lda - end) / g.lda + 1;
  }
  return pb;
}

// C rows [i0, i1) of one panel block.
void panel_rows(const PanelBlock& pb, int64_t lda, int64_t ldc, int64_t i0, int64_t i1) {
  auto run = [&](TileFn fn, int64_t i, int64_t rows) {
    fn(i + rows <= pb.whole_rows ? pb.whole : pb.exact, pb.a + i * lda, lda, pb.c + i * ldc, ldc);
  };
  int64_t i = i0;
  if (pb.cols > 16) {
    for (; i + kMr2 <= i1; i += kMr2) run(tile<kMr2, 2>, i, kMr2);
    if (i < i1) run(edge_tile<2>(static_cast<int>(i1 - i), std::make_integer_sequence<int, kMr2 - 1>()), i, i1 - i);
  } else {
    for (; i + kMr1 <= i1; i += kMr1) run(tile<kMr1, 1>, i, kMr1);
    if (i + kMr2 <= i1) {
      run(tile<kMr2, 1>, i, kMr2);
      i += kMr2;
    }
    if (i < i1) run(edge_tile<1>(static_cast<int>(i1 - i), std::make_integer_sequence<int, kMr2 - 1>()), i, i1 - i);
  }
}

// Prefetches (into L1) the kRowBlock rows of A from row i on, below m1, when they span at most
// kPrefetchMaxBytes. A block of A is read once, 4 bytes of each of its rows at a time, and for
// short rows the hardware prefetchers leave its lines arriving at memory latency: measured,
// N = 16, K = 144 (3.4 KB blocks) runs 15% faster. Blocks of 24 × 400 bytes ran up to 10%
// slower (the streamer already follows them, and the prefetches crowd L1).
inline void prefetch_rows(const GemmArgs& g, int64_t i, int64_t m1) {
  if (i >= m1 || g.k == 0) return;
  const int64_t rows = m1 - i < kRowBlock ? m1 - i : kRowBlock;
  const uint8_t* p = g.a + i * g.lda;
  const int64_t bytes = (rows - 1) * g.lda + g.k;
  if (bytes > kPrefetchMaxBytes) return;
  // asm, not __builtin_prefetch: GCC 12 folds a loop of those into one prefetch, or none.
  for (int64_t off = 0; off < bytes; off += 64) __asm__ volatile("prefetcht0 %0" : : "m"(p[off]));
}

}  // namespace

void gemm_rows_panels_avx512vnni(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  if (g.kp <= kKc && p1 - p0 <= kMaxRowBlockPanels && (p1 - p0) * g.kp * kNr <= kGemmL1WeightBytes) {
    // Small W: row blocks outermost, every panel per block, K in one piece.
    PanelBlock blocks[kMaxRowBlockPanels];
    for (int64_t p = p0; p < p1; ++p) blocks[p - p0] = panel_block(g, p, 0, g.k);
    for (int64_t i = m0; i < m1; i += kRowBlock) {
      const int64_t i1 = m1 - i < kRowBlock ? m1 : i + kRowBlock;
      prefetch_rows(g, i + kRowBlock, m1);
      for (int64_t p = p0; p < p1; ++p) panel_rows(blocks[p - p0], g.lda, g.ldc, i, i1);
    }
    return;
  }
  // Panels outermost, K in equal blocks of at most kKc (a multiple of 4), so a K just past
  // kKc does not leave a sliver of a block.
  const int64_t kblocks = (g.kp + kKc - 1) / kKc;
  const int64_t kc = ((g.kp + kblocks - 1) / kblocks + 3) / 4 * 4;
  for (int64_t p = p0; p < p1; ++p)
    for (int64_t k0 = 0; k0 == 0 || k0 < g.k; k0 += kc)
      panel_rows(panel_block(g, p, k0, g.k - k0 < kc ? g.k - k0 : kc), g.lda, g.ldc, m0, m1);
}

}  // namespace lowbit::kernels
#pragma GCC pop_options
