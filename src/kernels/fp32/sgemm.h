// sgemm.h: FP32 matrix multiply on OpenBLAS, with lowbit's one threading policy for GEMM.
//
// Threading policy (the only place it is decided): OpenBLAS always runs on one thread, and
// every bit of parallelism comes from the lowbit ThreadPool. A large GEMM called with a pool
// is cut into column (or row) panels that workers multiply independently; ops that already
// run in parallel (conv over images, MatMul over batches) call sgemm from inside a worker,
// where parallel_for runs serially, so the two kinds of threading never nest.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace lowbit::kernels {

// Largest dimension or leading dimension OpenBLAS (32-bit blasint) accepts; ops check their
// GEMM sizes against it and return an error beyond it.
inline constexpr int64_t kMaxBlasDim = 2147483647;

// Pins OpenBLAS to one thread (once per process); sgemm calls it, and so may anyone who
// calls cblas directly.
void init_blas();

// Row-major C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, op(X) = Xᵀ when trans_x.
// lda / ldb / ldc are the row strides of A, B, C as stored. beta == 0 ignores C's contents.
// With a pool (not nullptr) and enough work, panels of C run on the pool's threads.
// Every size must be in [0, kMaxBlasDim] (LB_CHECK).
void sgemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc, ThreadPool* pool = nullptr);

}  // namespace lowbit::kernels
