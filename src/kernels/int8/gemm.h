// gemm.h: u8 × s8 → s32 GEMM for the integer runtime: weights packed once per ISA, then
// C = (A − a_zero) · Wᵀ (+ bias) on the instruction set they were packed for.
//
// Math. C[m][n] = Σ_k (A[m][k] − z) · W[n][k] + bias[n]
//              = Σ_k A[m][k] · W[n][k] − z · Σ_k W[n][k] + bias[n]
// The kernels accumulate the unsigned × signed products (what vpdpbusd multiplies) and
// subtract z · row_sums[n] at the end. |A·W| ≤ 255 · 128, so the int32 sum is exact for
// K < 65794; beyond that every ISA wraps modulo 2^32 identically (the scalar twin computes in
// int64 and converts, which C++20 defines as modulo 2^32), so results stay bit-exact.
//
// Packed layout (all ISAs; only the panel width NR = isa_panel_width(isa) differs):
//   K is padded with zeros to Kp = round_up(K, 4) and N to a multiple of NR; panel p holds
//   columns [p·NR, p·NR + NR) and is Kp · NR contiguous bytes, group by group of 4 k:
//     data[p·Kp·NR + (q·NR + j)·4 + r] = W[p·NR + j][4q + r]     (0 where out of range)
//   so one 4·NR-byte load gives, per column, the 4 weights one vpdpbusd lane multiplies
//   with 4 broadcast activations. The AVX2 kernel sign-extends the same bytes to int16.
//   Columns 0 … NR/2 − 1 of a group are its first 2·NR bytes, so on a panel with at most NR/2
//   live columns (N ≤ 16 on AVX-512, or the last panel) the kernels read only that half and
//   run twice the rows per tile instead of multiplying zeros.
//   Panels start 64-byte aligned (the buffer is aligned and Kp·NR is a multiple of 64 for
//   NR ≥ 16, of 32 for NR = 8 — loads use unaligned forms, so either works).
//
// Threading: with a pool and enough work, the pool's threads take disjoint column panels
// when there are many panels and W is large; otherwise (few panels, or a packed W that fits
// in L1 — the tall-skinny GEMMs of small CNNs) disjoint row blocks. Every thread writes only
// its own part of C, and results do not depend on the split.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/isa.h"

namespace lowbit::kernels {

// std::allocator with 64-byte alignment (a cache line, a zmm register).
template <typename T>
struct Aligned64Allocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  Aligned64Allocator() = default;
  template <typename U>
  Aligned64Allocator(const Aligned64Allocator<U>&) {}  // NOLINT: rebinding, as std::allocator
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, size_t) { ::operator delete(p, kAlign); }
  template <typename U>
  bool operator==(const Aligned64Allocator<U>&) const {
    return true;
  }
};

// Columns per packed panel for `isa`: scalar 8, avx2 8, avxvnni 16, avx512vnni 32.
int64_t isa_panel_width(Isa isa);

// W [N][K] int8 packed once for one ISA (layout above).
struct PackedWeights {
  Isa isa = Isa::kScalar;
  int64_t n = 0, k = 0;
  int64_t nr = 0;   // panel width, isa_panel_width(isa)
  int64_t kp = 0;   // K rounded up to a multiple of 4
  std::vector<int8_t, Aligned64Allocator<int8_t>> data;  // ceil(N / nr) · kp · nr bytes
  std::vector<int32_t> row_sums;                          // [N]: Σ_k W[n][k], for the zero-point term
};

// Packs row-major w [n][k] (row stride k) for `isa`. Sizes are the caller's to validate:
// n, k ≥ 0 (LB_CHECK) and the packed buffer must be affordable.
PackedWeights pack_weights(const int8_t* w, int64_t n, int64_t k, Isa isa);

// C[m][n] = Σ_k (A[m][k] − a_zero) · W[n][k] (+ bias[n] when bias != nullptr), in int32.
// A: uint8 row-major [M][K], row stride lda ≥ K; C: row-major [M][N], row stride ldc ≥ N.
// Runs on w.isa, which must be supported by this CPU (LB_CHECK). With `pool` (may be
// nullptr) large products split over its threads. Reads only A's elements A[i][0..K), i < M:
// where lda == K a kernel may read a row's last partial group of 4 k together with the next
// row's first bytes (their products meet W's zero padding), never past A[M − 1][K − 1].
void gemm_u8s8s32(const uint8_t* a, int64_t m, int64_t lda, int32_t a_zero, const PackedWeights& w,
                  const int32_t* bias, int32_t* c, int64_t ldc, ThreadPool* pool);

// --- Per-ISA entry points (gemm_<isa>.cc), called by gemm.cc; not for other callers. ---

// One call's operands, as the per-ISA loops see them.
struct GemmArgs {
  const uint8_t* a;
  int64_t lda;
  int32_t a_zero;
  const int8_t* w;         // PackedWeights::data
  const int32_t* row_sums;  // [n]
  const int32_t* bias;      // [n] or nullptr
  int32_t* c;
  int64_t ldc;
  int64_t n, k, kp, nr;
  // Rows of A in the whole call (not just a thread's share). Where lda == k, the bytes after
  // row i's K are row i + 1's first elements, so a kernel may read the last partial group of 4
  // k as a whole one (its extra weights are zero padding) as long as it stays below row m.
  int64_t m = 0;
};

// Computes C rows [m0, m1) × panels [p0, p1) (columns p·nr … clipped to n).
void gemm_rows_panels_scalar(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1);
void gemm_rows_panels_avx2(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1);
void gemm_rows_panels_avxvnni(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1);
void gemm_rows_panels_avx512vnni(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1);

// Rows per row block of each ISA's microkernel (its largest tile; the unit of the row split).
int64_t isa_tile_rows(Isa isa);

// A packed W of at most this many bytes stays in L1 beside a block of A and C: the SIMD
// kernels then walk blocks of rows outermost (each block of A read once for all panels, each
// row of C written in one pass) and gemm_u8s8s32 splits rows, not panels, over threads.
inline constexpr int64_t kGemmL1WeightBytes = 16 * 1024;

}  // namespace lowbit::kernels
