// sgemm_test.cc: kernels::sgemm against a naive triple loop — transposes, leading dims
// wider than the matrix, alpha / beta, awkward sizes, and the threaded panel split.
#include "kernels/fp32/sgemm.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "ops/nn_test_util.h"

namespace lowbit::kernels {
namespace {

using nn_testing::all_close;
using nn_testing::random_vector;

struct Case {
  bool ta, tb;
  int64_t m, n, k;
  float alpha, beta;
  int64_t pad;  // extra columns in every leading dimension
};

void check(const Case& c, ThreadPool* pool, std::mt19937& rng) {
  const int64_t a_rows = c.ta ? c.k : c.m, a_cols = c.ta ? c.m : c.k;
  const int64_t b_rows = c.tb ? c.n : c.k, b_cols = c.tb ? c.k : c.n;
  const int64_t lda = a_cols + c.pad, ldb = b_cols + c.pad, ldc = c.n + c.pad;
  const std::vector<float> a = random_vector(static_cast<size_t>(a_rows * lda), rng);
  const std::vector<float> b = random_vector(static_cast<size_t>(b_rows * ldb), rng);
  std::vector<float> cmat = random_vector(static_cast<size_t>(c.m * ldc), rng);
  std::vector<float> want = cmat;
  for (int64_t i = 0; i < c.m; ++i)
    for (int64_t j = 0; j < c.n; ++j) {
      double acc = 0.0;
      for (int64_t p = 0; p < c.k; ++p) {
        const float av = c.ta ? a[static_cast<size_t>(p * lda + i)] : a[static_cast<size_t>(i * lda + p)];
        const float bv = c.tb ? b[static_cast<size_t>(j * ldb + p)] : b[static_cast<size_t>(p * ldb + j)];
        acc += static_cast<double>(av) * bv;
      }
      float& w = want[static_cast<size_t>(i * ldc + j)];
      w = static_cast<float>(c.alpha * acc + (c.beta == 0.0f ? 0.0 : c.beta * static_cast<double>(w)));
    }
  sgemm(c.ta, c.tb, c.m, c.n, c.k, c.alpha, a.data(), lda, b.data(), ldb, c.beta, cmat.data(), ldc, pool);
  EXPECT_TRUE(all_close(cmat.data(), want, 1e-4f))
      << "ta=" << c.ta << " tb=" << c.tb << " m=" << c.m << " n=" << c.n << " k=" << c.k;
}

TEST(Sgemm, MatchesNaiveOnAwkwardSizes) {
  std::mt19937 rng(1);
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (int64_t m : {1, 3, 17})
        for (int64_t n : {1, 15, 65})
          for (int64_t k : {1, 16, 63}) check({ta, tb, m, n, k, 1.0f, 0.0f, 0}, nullptr, rng);
}

TEST(Sgemm, AlphaBetaAndLeadingDims) {
  std::mt19937 rng(2);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check({ta, tb, 7, 9, 5, 0.5f, 2.0f, 3}, nullptr, rng);
      check({ta, tb, 7, 9, 5, -1.5f, 1.0f, 1}, nullptr, rng);
    }
}

TEST(Sgemm, ZeroDepthScalesC) {
  std::mt19937 rng(3);
  check({false, false, 4, 5, 0, 1.0f, 0.5f, 0}, nullptr, rng);
  check({false, false, 4, 5, 0, 1.0f, 0.0f, 2}, nullptr, rng);
}

TEST(Sgemm, ThreadedPanelsMatchNaive) {
  // Big enough to pass the parallel threshold, split along N (wide) and along M (tall).
  std::mt19937 rng(4);
  ThreadPool pool(3);
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      check({ta, tb, 37, 700, 96, 1.0f, 0.0f, 0}, &pool, rng);
      check({ta, tb, 640, 33, 80, 1.0f, 1.0f, 2}, &pool, rng);
    }
}

}  // namespace
}  // namespace lowbit::kernels
