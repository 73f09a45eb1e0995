// timing.cc: the latency protocol of timing.h.
#include "runtime/timing.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace lowbit::runtime {

Tensor random_input(const Shape& shape, uint32_t seed) {
  Tensor t = Tensor::zeros(DType::kF32, shape);
  float* p = t.data<float>();
  uint32_t s = seed;
  for (int64_t i = 0; i < t.numel(); ++i) {
    s += 0x6d2b79f5u;
    uint32_t x = s;
    x = (x ^ (x >> 15)) * (x | 1u);
    x ^= x + (x ^ (x >> 7)) * (x | 61u);
    x ^= x >> 14;
    p[i] = static_cast<float>(static_cast<double>(x) / 4294967296.0 * 2.0 - 1.0);
  }
  return t;
}

namespace {

double percentile(const std::vector<double>& sorted, double q) {
  const double pos = static_cast<double>(sorted.size() - 1) * q;
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - static_cast<double>(lo));
}

}  // namespace

Result<Latency> time_runs(const exec::RunFn& run, const std::vector<Tensor>& inputs, int64_t warmup, double seconds) {
  using clock = std::chrono::steady_clock;
  for (int64_t i = 0; i < warmup; ++i) LB_TRY(run(inputs).status());
  std::vector<double> ms;
  double total = 0;
  while (total < seconds * 1e3 || static_cast<int64_t>(ms.size()) < kMinTimedRuns) {
    const auto t0 = clock::now();
    LB_TRY(run(inputs).status());
    const double dt = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
    ms.push_back(dt);
    total += dt;
  }
  std::sort(ms.begin(), ms.end());
  Latency l;
  l.batch = inputs.empty() || inputs[0].rank() == 0 ? 1 : inputs[0].dim(0);
  l.p50_ms = percentile(ms, 0.5);
  l.p90_ms = percentile(ms, 0.9);
  l.runs = static_cast<int64_t>(ms.size());
  l.images_per_s = total > 0 ? static_cast<double>(l.batch * l.runs) / (total / 1e3) : 0.0;
  return l;
}

}  // namespace lowbit::runtime
