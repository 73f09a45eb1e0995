// timing.h: latency measurement shared by `lowbit bench` and bench/ — the same protocol as
// tools/ort/ort_bench.js, so lowbit's and ONNX Runtime's numbers compare directly: `warmup`
// untimed runs, then timed runs until `seconds` have passed (at least kMinTimedRuns), p50 / p90
// of the per-run wall times (linear interpolation, numpy's default) and images/s =
// batch · runs / their summed time. Inputs are uniform [−1, 1) from mulberry32, as there.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "exec/evaluate.h"

namespace lowbit::runtime {

inline constexpr int64_t kMinTimedRuns = 3;

struct Latency {
  int64_t batch = 0;
  double p50_ms = 0, p90_ms = 0, images_per_s = 0;
  int64_t runs = 0;
};

// A float32 tensor of `shape` filled as ort_bench.js's random_input(count, seed) fills it.
Tensor random_input(const Shape& shape, uint32_t seed);

// Times `run` on `inputs` (whose dim 0 is the batch); errors are the first failed run's.
Result<Latency> time_runs(const exec::RunFn& run, const std::vector<Tensor>& inputs, int64_t warmup, double seconds);

}  // namespace lowbit::runtime
