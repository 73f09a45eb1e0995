// sgemm.cc: cblas_sgemm behind lowbit's threading policy (see sgemm.h), and a reference GEMM.
#include "kernels/fp32/sgemm.h"

#include <cblas.h>

#include <algorithm>
#include <mutex>

#include "core/check.h"

namespace lowbit::kernels {
namespace {

// Below this many multiply-adds a GEMM runs on the calling thread: waking workers costs
// tens of microseconds, about what 1M FMAs take on one core.
constexpr int64_t kParallelMinMacs = int64_t{1} << 20;
// Panels are multiples of this many columns (rows), a multiple of every OpenBLAS micro-tile.
constexpr int64_t kPanelAlign = 64;

void blas_call(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
               int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              static_cast<blasint>(m), static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
              static_cast<blasint>(std::max<int64_t>(lda, 1)), b, static_cast<blasint>(std::max<int64_t>(ldb, 1)),
              beta, c, static_cast<blasint>(std::max<int64_t>(ldc, 1)));
}

}  // namespace

void init_blas() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(1); });
}

void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc, ThreadPool* pool) {
  LB_CHECK(m >= 0 && n >= 0 && k >= 0 && m <= kMaxBlasDim && n <= kMaxBlasDim && k <= kMaxBlasDim,
           "sgemm: size outside BLAS range");
  LB_CHECK(lda <= kMaxBlasDim && ldb <= kMaxBlasDim && ldc <= kMaxBlasDim, "sgemm: leading dimension too large");
  init_blas();
  if (m == 0 || n == 0) return;
  if (k == 0) {  // C = beta·C; BLAS would do the same, but some builds skip the scaling
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
    return;
  }
  const int threads = pool ? pool->num_threads() : 1;
  const double macs = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  if (threads <= 1 || macs < static_cast<double>(kParallelMinMacs)) {
    blas_call(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // Split the longer side of C into about 2 panels per thread (aligned), each a GEMM of its own.
  const bool split_n = n >= m;
  const int64_t len = split_n ? n : m;
  int64_t panel = (len + 2 * threads - 1) / (2 * threads);
  panel = std::max<int64_t>(kPanelAlign, (panel + kPanelAlign - 1) / kPanelAlign * kPanelAlign);
  const int64_t panels = (len + panel - 1) / panel;
  if (panels <= 1) {
    blas_call(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  pool->parallel_for(panels, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t s = p * panel, len_p = std::min(panel, len - s);
      if (split_n) {  // columns s..s+len_p of op(B) and C
        const float* bp = trans_b ? b + s * ldb : b + s;
        blas_call(trans_a, trans_b, m, len_p, k, alpha, a, lda, bp, ldb, beta, c + s, ldc);
      } else {  // rows s..s+len_p of op(A) and C
        const float* ap = trans_a ? a + s : a + s * lda;
        blas_call(trans_a, trans_b, len_p, n, k, alpha, ap, lda, b, ldb, beta, c + s * ldc, ldc);
      }
    }
  });
}

}  // namespace lowbit::kernels
