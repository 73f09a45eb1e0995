// memory_plan.h: placing buffers with known lifetimes in one arena (greedy by size, as
// TFLite's arena planner does): buffers live over a range of steps, and two buffers may share
// bytes only when their ranges do not overlap.
#pragma once

#include <cstdint>
#include <vector>

namespace lowbit::runtime {

struct BufferLife {
  int64_t bytes = 0;  // ≥ 0
  int first = 0;      // first step that writes it
  int last = 0;       // last step that reads it (≥ first)
};

struct MemoryPlan {
  std::vector<int64_t> offsets;  // per buffer, a multiple of `alignment`
  int64_t total = 0;             // arena bytes
};

// Largest buffers first, each at the lowest aligned offset that clears every already placed
// buffer alive at the same time. O(n²) in the number of buffers (tens for a model).
MemoryPlan plan_memory(const std::vector<BufferLife>& buffers, int64_t alignment);

}  // namespace lowbit::runtime
