// gemm_scalar.cc: the scalar reference twin of the int8 GEMM — plain loops over the packed
// layout (gemm.h), the spec every SIMD variant must equal bit for bit.
#include <cstdint>

#include "kernels/int8/gemm.h"

namespace lowbit::kernels {

void gemm_rows_panels_scalar(const GemmArgs& g, int64_t m0, int64_t m1, int64_t p0, int64_t p1) {
  for (int64_t p = p0; p < p1; ++p) {
    const int8_t* panel = g.w + p * g.kp * g.nr;
    const int64_t n0 = p * g.nr;
    const int64_t cols = g.n - n0 < g.nr ? g.n - n0 : g.nr;
    for (int64_t i = m0; i < m1; ++i) {
      const uint8_t* arow = g.a + i * g.lda;
      for (int64_t j = 0; j < cols; ++j) {
        // Σ_k A·W in int64 (exact); the padding k in [K, Kp) is never read from A.
        int64_t acc = 0;
        for (int64_t kk = 0; kk < g.k; ++kk)
          acc += static_cast<int64_t>(arow[kk]) * panel[((kk / 4) * g.nr + j) * 4 + kk % 4];
        const int64_t n = n0 + j;
        acc -= static_cast<int64_t>(g.a_zero) * g.row_sums[n];
        if (g.bias) acc += g.bias[n];
        g.c[i * g.ldc + n] = static_cast<int32_t>(acc);  // modulo 2^32, like the int32 SIMD lanes
      }
    }
  }
}

}  // namespace lowbit::kernels
