// matmul.cc: MatMul with numpy semantics — a 1-D A is a row [1, K] and a 1-D B a column
// [K, 1] (the added dim is dropped from the result); leading (batch) dims broadcast.
#include <algorithm>
#include <vector>

#include "kernels/fp32/sgemm.h"
#include "ops/conv_util.h"
#include "ops/matmul_plan.h"
#include "ops/op.h"

namespace lowbit::ops {
namespace {

Status matmul_infer(InferCtx& c) {
  for (size_t i = 0; i < 2; ++i)
    if (c.inputs[i].dtype && *c.inputs[i].dtype != DType::kF32)
      return Status::errorf("input {} must be float32, got {}", i, dtype_name(*c.inputs[i].dtype));
  c.outputs[0].dtype = DType::kF32;
  if (!c.inputs[0].shape || !c.inputs[1].shape) return Status::ok();
  LB_ASSIGN_OR_RETURN(MatMulPlan p, plan_matmul(*c.inputs[0].shape, *c.inputs[1].shape));
  c.outputs[0].shape = p.out;
  return Status::ok();
}

Status matmul_forward(RunCtx& c) {
  const Tensor& a = c.in(0);
  const Tensor& b = c.in(1);
  LB_TRY(expect_f32(a, "input A"));
  LB_TRY(expect_f32(b, "input B"));
  LB_ASSIGN_OR_RETURN(MatMulPlan p, plan_matmul(a.shape(), b.shape()));
  for (int64_t v : {p.m, p.n, p.k}) LB_TRY(expect_blas_size(v, "MatMul dimension"));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(DType::kF32, p.out));
  c.outputs[0] = y;
  if (y.numel() == 0) return Status::ok();
  const int64_t batches = numel(p.batch), a_batches = numel(p.a_batch), b_batches = numel(p.b_batch);
  const float* ap = a.data<float>();
  const float* bp = b.data<float>();
  float* yp = y.data<float>();
  const int64_t a_mat = p.m * p.k, b_mat = p.k * p.n, y_mat = p.m * p.n;
  if (b_batches == 1 && a_batches == batches && batches * p.m <= kernels::kMaxBlasDim) {
    // One B for every batch and A stored batch after batch: stack A's rows into one GEMM.
    kernels::sgemm(false, false, batches * p.m, p.n, p.k, 1.0f, ap, p.k, bp, p.n, 0.0f, yp, p.n, &c.pool);
    return Status::ok();
  }
  // Row-major strides of each operand's batch dims, 0 where broadcast.
  const size_t r = p.batch.size();
  std::vector<int64_t> sa(r), sb(r);
  for (size_t i = r, ea = a_mat, eb = b_mat; i-- > 0;) {
    sa[i] = p.a_batch[i] == 1 ? 0 : static_cast<int64_t>(ea);
    sb[i] = p.b_batch[i] == 1 ? 0 : static_cast<int64_t>(eb);
    ea *= static_cast<size_t>(p.a_batch[i]);
    eb *= static_cast<size_t>(p.b_batch[i]);
  }
  auto run = [&](int64_t i0, int64_t i1, ThreadPool* gemm_pool) {
    for (int64_t bi = i0; bi < i1; ++bi) {
      int64_t oa = 0, ob = 0;
      for (size_t d = r, rem = static_cast<size_t>(bi); d-- > 0;) {
        const size_t idx = rem % static_cast<size_t>(p.batch[d]);
        rem /= static_cast<size_t>(p.batch[d]);
        oa += static_cast<int64_t>(idx) * sa[d];
        ob += static_cast<int64_t>(idx) * sb[d];
      }
      kernels::sgemm(false, false, p.m, p.n, p.k, 1.0f, ap + oa, p.k, bp + ob, p.n, 0.0f, yp + bi * y_mat, p.n,
                     gemm_pool);
    }
  };
  // Many batches: one GEMM per task; few: each GEMM uses the pool itself; tiny: serial.
  const double macs = static_cast<double>(batches) * static_cast<double>(y_mat) * static_cast<double>(p.k);
  if (macs < 262144.0) {
    run(0, batches, nullptr);
  } else if (batches >= c.pool.num_threads()) {
    c.pool.parallel_for(batches, 1, [&](int64_t i0, int64_t i1) { run(i0, i1, nullptr); });
  } else {
    run(0, batches, &c.pool);
  }
  return Status::ok();
}

}  // namespace

extern const OpDef kMatMul{"MatMul", 2, 2, matmul_infer, matmul_forward};

}  // namespace lowbit::ops
