// memory_plan.cc: greedy-by-size arena placement.
#include "runtime/memory_plan.h"

#include <algorithm>
#include <numeric>

#include "core/check.h"

namespace lowbit::runtime {

MemoryPlan plan_memory(const std::vector<BufferLife>& buffers, int64_t alignment) {
  LB_CHECK(alignment > 0, "plan_memory: alignment must be positive");
  const size_t n = buffers.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });
  auto round_up = [&](int64_t v) { return (v + alignment - 1) / alignment * alignment; };

  MemoryPlan plan;
  plan.offsets.assign(n, 0);
  std::vector<size_t> placed;
  std::vector<std::pair<int64_t, int64_t>> busy;  // [begin, end) of placed buffers alive with the current one
  for (size_t i : order) {
    const BufferLife& b = buffers[i];
    LB_CHECK(b.bytes >= 0 && b.first <= b.last, "plan_memory: bad buffer");
    busy.clear();
    for (size_t j : placed) {
      const BufferLife& o = buffers[j];
      if (o.last < b.first || b.last < o.first) continue;
      busy.emplace_back(plan.offsets[j], plan.offsets[j] + o.bytes);
    }
    std::sort(busy.begin(), busy.end());
    int64_t at = 0;
    for (const auto& [begin, end] : busy) {
      if (at + b.bytes <= begin) break;  // fits in the gap before this one
      at = std::max(at, round_up(end));
    }
    plan.offsets[i] = at;
    plan.total = std::max(plan.total, round_up(at + b.bytes));
    placed.push_back(i);
  }
  return plan;
}

}  // namespace lowbit::runtime
