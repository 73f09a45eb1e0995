// evaluate.h: top-1 accuracy of a one-input classifier Session over a labelled dataset — the
// measurement behind `lowbit eval` and `lowbit compare`.
#pragma once

#include <cstdint>
#include <functional>

#include "core/status.h"
#include "data/dataset.h"
#include "exec/session.h"

namespace lowbit::exec {

struct Top1 {
  int64_t n = 0;
  int64_t correct = 0;
  double infer_seconds = 0;  // time inside Session::run
  double top1() const { return n > 0 ? static_cast<double>(correct) / static_cast<double>(n) : 0.0; }
};

// Index of the largest of n logits (the first on ties, like torch.argmax).
int64_t argmax(const float* p, int64_t n);

// A model as a function from inputs to outputs (a Session, a compiled integer Program, ...).
using RunFn = std::function<Result<std::vector<Tensor>>(const std::vector<Tensor>&)>;

// Runs the first `limit` samples (≤ 0: all) in batches; output 0 must be [batch, classes].
// `progress(done, total, correct)` is called after each batch.
Result<Top1> evaluate_top1(const RunFn& run, const data::Dataset& data, int64_t limit, int64_t batch,
                           const std::function<void(int64_t, int64_t, int64_t)>& progress = nullptr);
Result<Top1> evaluate_top1(const Session& session, const data::Dataset& data, int64_t limit, int64_t batch,
                           const std::function<void(int64_t, int64_t, int64_t)>& progress = nullptr);

}  // namespace lowbit::exec
