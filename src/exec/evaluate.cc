// evaluate.cc: batched top-1 evaluation.
#include "exec/evaluate.h"

#include <chrono>

namespace lowbit::exec {

int64_t argmax(const float* p, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (p[i] > p[best]) best = i;
  return best;
}

Result<Top1> evaluate_top1(const Session& session, const data::Dataset& data, int64_t limit, int64_t batch,
                           const std::function<void(int64_t, int64_t, int64_t)>& progress) {
  if (session.graph().inputs.size() != 1)
    return Status::errorf("evaluation needs a model with one input, this one has {}", session.graph().inputs.size());
  return evaluate_top1([&](const std::vector<Tensor>& in) { return session.run(in); }, data, limit, batch, progress);
}

Result<Top1> evaluate_top1(const RunFn& run, const data::Dataset& data, int64_t limit, int64_t batch,
                           const std::function<void(int64_t, int64_t, int64_t)>& progress) {
  if (!data.has_labels()) return Status::error("evaluation needs labels");
  Top1 r;
  const Status st = data::for_each_batch(data, limit, batch, [&](const data::Batch& b, int64_t done, int64_t total) -> Status {
    const auto t0 = std::chrono::steady_clock::now();
    LB_ASSIGN_OR_RETURN(std::vector<Tensor> out, run({b.x}));
    r.infer_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const Tensor& logits = out[0];
    const int64_t n = static_cast<int64_t>(b.labels.size());
    if (logits.dtype() != DType::kF32 || logits.rank() < 1 || logits.dim(0) != n || n == 0)
      return Status::errorf("output 0 has shape {}, expected [batch, classes]", shape_str(logits.shape()));
    const int64_t classes = logits.numel() / n;
    for (int64_t i = 0; i < n; ++i)
      r.correct += argmax(logits.data<float>() + i * classes, classes) == b.labels[static_cast<size_t>(i)];
    r.n += n;
    if (progress) progress(done, total, r.correct);
    return Status::ok();
  });
  LB_TRY(st);
  return r;
}

}  // namespace lowbit::exec
