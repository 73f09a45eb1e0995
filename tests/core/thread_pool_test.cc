// thread_pool_test.cc: parallel_for covers every index exactly once, at any size and grain.
#include "core/thread_pool.h"

#include <atomic>
#include <vector>

#include <gtest/gtest.h>

#include "core/cpu_features.h"
#include "core/status.h"

namespace lowbit {
namespace {

TEST(ThreadPool, CoversEachIndexOnce) {
  ThreadPool pool(4);
  for (int64_t n : {0, 1, 3, 17, 1000, 100003}) {
    for (int64_t grain : {1, 7, 4096}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
      });
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "n=" << n << " i=" << i;
    }
  }
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(3);
  std::atomic<int64_t> sum{0};
  pool.parallel_for(8, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      pool.parallel_for(10, 1, [&](int64_t b2, int64_t e2) { sum += (e2 - b2) * (i + 1); });
  });
  EXPECT_EQ(sum.load(), 10 * (8 * 9 / 2));
}

TEST(Status, ContextAndResult) {
  Status s = Status::errorf("bad {}", 42).with_context("m.onnx");
  EXPECT_EQ(s.message(), "m.onnx: bad 42");
  Result<int> r = Status::error("nope");
  EXPECT_FALSE(r.is_ok());
  Result<int> ok = 5;
  EXPECT_EQ(*ok, 5);
  EXPECT_TRUE(Status::ok().with_context("x").is_ok());
}

TEST(CpuFeatures, ImpliedFeaturesAreConsistent) {
  const CpuFeatures& f = cpu_features();
  // AVX-512 extensions never appear without the foundation; AVX2 implies AVX.
  EXPECT_TRUE(!(f.avx512vnni || f.avx512bw || f.avx512vl) || f.avx512f);
  EXPECT_TRUE(!f.avx2 || f.avx);
  EXPECT_TRUE(!f.avx512f || f.os_avx512);
  EXPECT_FALSE(f.vendor.empty());
}

}  // namespace
}  // namespace lowbit
