// gemm.cc: int8 GEMM — weight packing, the per-ISA dispatch and the split over the pool.
#include "kernels/int8/gemm.h"

#include <algorithm>

#include "core/check.h"

namespace lowbit::kernels {
namespace {

// Below this many multiply-adds a GEMM runs on the calling thread (a pool wake-up costs
// about as much as ~1M int8 MACs).
constexpr double kParallelMinMacs = 4.0 * 1024 * 1024;

using RowsPanelsFn = void (*)(const GemmArgs&, int64_t, int64_t, int64_t, int64_t);

RowsPanelsFn rows_panels_fn(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return gemm_rows_panels_scalar;
    case Isa::kAvx2:
      return gemm_rows_panels_avx2;
    case Isa::kAvxVnni:
      return gemm_rows_panels_avxvnni;
    case Isa::kAvx512Vnni:
      return gemm_rows_panels_avx512vnni;
  }
  return gemm_rows_panels_scalar;
}

}  // namespace

int64_t isa_panel_width(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
    case Isa::kAvx2:
      return 8;
    case Isa::kAvxVnni:
      return 16;
    case Isa::kAvx512Vnni:
      return 32;
  }
  return 8;
}

// The row block of each gemm_<isa>.cc microkernel: its largest tile's MR (narrow panels run
// more rows per tile). It only sets the granularity of the row split, so a mismatch would cost
// speed, never correctness.
int64_t isa_tile_rows(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return 4;
    case Isa::kAvx2:
      return 8;
    case Isa::kAvxVnni:
      return 12;
    case Isa::kAvx512Vnni:
      return 24;
  }
  return 4;
}

PackedWeights pack_weights(const int8_t* w, int64_t n, int64_t k, Isa isa) {
  LB_CHECK(n >= 0 && k >= 0, "pack_weights: negative size");
  PackedWeights p;
  p.isa = isa;
  p.n = n;
  p.k = k;
  p.nr = isa_panel_width(isa);
  p.kp = (k + 3) / 4 * 4;
  const int64_t panels = (n + p.nr - 1) / p.nr;
  p.data.assign(static_cast<size_t>(panels * p.kp * p.nr), 0);
  p.row_sums.assign(static_cast<size_t>(n), 0);
  for (int64_t col = 0; col < n; ++col) {
    const int8_t* src = w + col * k;
    int8_t* panel = p.data.data() + (col / p.nr) * p.kp * p.nr;
    const int64_t j = col % p.nr;
    int64_t sum = 0;
    for (int64_t kk = 0; kk < k; ++kk) {
      panel[((kk / 4) * p.nr + j) * 4 + kk % 4] = src[kk];
      sum += src[kk];
    }
    p.row_sums[static_cast<size_t>(col)] = static_cast<int32_t>(sum);  // modulo 2^32 past K = 2^24
  }
  return p;
}

void gemm_u8s8s32(const uint8_t* a, int64_t m, int64_t lda, int32_t a_zero, const PackedWeights& w,
                  const int32_t* bias, int32_t* c, int64_t ldc, ThreadPool* pool) {
  LB_CHECK(m >= 0 && lda >= w.k && ldc >= w.n, "gemm_u8s8s32: bad sizes or strides");
  LB_CHECK(w.nr == isa_panel_width(w.isa) && w.kp == (w.k + 3) / 4 * 4, "gemm_u8s8s32: weights not packed");
  LB_CHECK(isa_supported(w.isa), "gemm_u8s8s32: weights packed for an ISA this CPU lacks");
  if (m == 0 || w.n == 0) return;
  const GemmArgs g{a, lda, a_zero, w.data.data(), w.row_sums.data(), bias, c, ldc, w.n, w.k, w.kp, w.nr, m};
  const RowsPanelsFn fn = rows_panels_fn(w.isa);
  const int64_t panels = (w.n + w.nr - 1) / w.nr;
  const double macs = static_cast<double>(m) * static_cast<double>(w.n) * static_cast<double>(std::max<int64_t>(w.k, 1));
  const int threads = pool ? pool->num_threads() : 1;
  if (threads <= 1 || macs < kParallelMinMacs) {
    fn(g, 0, m, 0, panels);
    return;
  }
  if (panels >= 2 * threads && panels * w.kp * w.nr > kGemmL1WeightBytes) {
    // Column panels: each thread streams all of A against its own slice of a large W.
    pool->parallel_for(panels, 1, [&](int64_t p0, int64_t p1) { fn(g, 0, m, p0, p1); });
  } else {
    // Few panels (narrow N) or a W that fits in L1 (small N · K, tall M): row blocks of whole
    // register tiles, so each thread reads only its share of A and the shared W stays in cache.
    const int64_t mr = isa_tile_rows(w.isa);
    const int64_t blocks = (m + mr - 1) / mr;
    pool->parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
      fn(g, b0 * mr, std::min(m, b1 * mr), 0, panels);
    });
  }
}

}  // namespace lowbit::kernels
