// memory_plan_test.cc: arena placement — no two buffers alive at the same step share bytes,
// offsets are aligned, and buffers with disjoint lifetimes reuse space.
#include <gtest/gtest.h>

#include <random>

#include "runtime/memory_plan.h"

namespace lowbit::runtime {
namespace {

TEST(MemoryPlan, DisjointLifetimesShareBytes) {
  // A [0,1] and C [2,3] never meet; B [1,2] meets both. 100 bytes round to 128.
  const MemoryPlan p = plan_memory({{100, 0, 1}, {100, 1, 2}, {100, 2, 3}}, 64);
  EXPECT_EQ(p.total, 256);
  EXPECT_EQ(p.offsets[0], p.offsets[2]);
  EXPECT_NE(p.offsets[0], p.offsets[1]);
}

TEST(MemoryPlan, RandomPlansNeverOverlapLiveBuffers) {
  std::mt19937 rng(5);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<BufferLife> b(1 + rng() % 40);
    int64_t live_max = 0;
    for (auto& x : b) {
      x.bytes = rng() % 5000;
      x.first = static_cast<int>(rng() % 30);
      x.last = x.first + static_cast<int>(rng() % 10);
    }
    const MemoryPlan p = plan_memory(b, 64);
    for (int step = 0; step < 40; ++step) {
      int64_t live = 0;
      for (const auto& x : b)
        if (x.first <= step && step <= x.last) live += x.bytes;
      live_max = std::max(live_max, live);
    }
    EXPECT_GE(p.total, live_max);
    for (size_t i = 0; i < b.size(); ++i) {
      EXPECT_EQ(p.offsets[i] % 64, 0);
      EXPECT_LE(p.offsets[i] + b[i].bytes, p.total);
      for (size_t j = i + 1; j < b.size(); ++j) {
        const bool same_time = !(b[i].last < b[j].first || b[j].last < b[i].first);
        const bool same_bytes = p.offsets[i] < p.offsets[j] + b[j].bytes && p.offsets[j] < p.offsets[i] + b[i].bytes;
        ASSERT_FALSE(same_time && same_bytes) << "trial " << trial << " buffers " << i << ", " << j;
      }
    }
  }
}

}  // namespace
}  // namespace lowbit::runtime
