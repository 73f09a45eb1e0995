// qlinear_matmul.cc: ONNX QLinearMatMul (opset 10+) — MatMul on quantized tensors, requantized
// to the output's scale and zero point, with numpy broadcasting:
//   acc[..., i, j] = Σ_k (a[..., i, k] − a_zero[i]) · (b[..., k, j] − b_zero[j])
//   y = saturate(round_half_even(acc · a_scale[i] · b_scale[j] / y_scale) + y_zero)
// Inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point. a and b are
// u8 or i8 (independently), each zero point has its tensor's dtype, y has y_zero_point's. a's
// scale and zero point are per tensor, per row ([M]) or per batch and row ([..., M, 1]); b's per
// tensor, per column ([N], as ONNX Runtime allows) or [..., 1, N]; y's per tensor. The
// multiplier a_scale · b_scale / y_scale is float32, as in ONNX's reference and ONNX Runtime
// (integer_linear.h: requantize).
#include <algorithm>
#include <limits>
#include <vector>

#include "ops/integer_linear.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

constexpr std::string_view kOp = "QLinearMatMul";

Status qlinear_matmul_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 8));
  if (c.inputs[0].dtype) LB_TRY(check_dtype(kOp, "input a", *c.inputs[0].dtype, kInt8DTypes));
  if (c.inputs[3].dtype) LB_TRY(check_dtype(kOp, "input b", *c.inputs[3].dtype, kInt8DTypes));
  LB_TRY(check_zero_dtype(kOp, c, 2, 0, "a_zero_point"));
  LB_TRY(check_zero_dtype(kOp, c, 5, 3, "b_zero_point"));
  LB_ASSIGN_OR_RETURN(std::optional<DType> dt, infer_qlinear_dtype(kOp, c, 7));
  c.outputs[0].dtype = dt;
  if (c.inputs[0].shape && c.inputs[3].shape) {
    LB_ASSIGN_OR_RETURN(MatMulPlan p, plan_int_matmul(kOp, *c.inputs[0].shape, *c.inputs[3].shape));
    c.outputs[0].shape = std::move(p.out);
  }
  return Status::ok();
}

struct Requant {
  MatParam<float> as, bs;
  float ys;
  int32_t zero;
};

// y[bi, r, c] = requantize(acc[bi, r, c]) with the multiplier of row r and column c.
template <typename T>
void requantize_rows(const int32_t* acc, const MatMulPlan& p, const MatMulBatches& mb, const Requant& q, T* y,
                     ThreadPool& pool) {
  const int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  const int64_t M = p.m, N = p.n, rows = static_cast<int64_t>(mb.a.size()) * M;
  pool.parallel_for(rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(N, 1)), [&](int64_t r0, int64_t r1) {
    std::vector<float> mult(static_cast<size_t>(N));
    for (int64_t row = r0; row < r1; ++row) {
      const int64_t bi = row / M, r = row % M;
      const int64_t ia = mb.a[static_cast<size_t>(bi)], ib = mb.b[static_cast<size_t>(bi)];
      const float sa = q.as.at(ia, r);
      for (int64_t c = 0; c < N; ++c)  // ONNX's order, in float32
        mult[static_cast<size_t>(c)] = sa * q.bs.at(ib, c) / q.ys;
      for (int64_t c = 0; c < N; ++c)
        y[row * N + c] = static_cast<T>(requantize(acc[row * N + c], mult[static_cast<size_t>(c)], q.zero, lo, hi));
    }
  });
}

Status qlinear_matmul_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 8));
  const Tensor& a = c.in(0);
  const Tensor& b = c.in(3);
  LB_TRY(check_dtype(kOp, "input a", a.dtype(), kInt8DTypes));
  LB_TRY(check_dtype(kOp, "input b", b.dtype(), kInt8DTypes));
  LB_TRY(check_dtype(kOp, "y_zero_point", c.in(7).dtype(), kInt8DTypes));
  const DType out = c.in(7).dtype();
  LB_ASSIGN_OR_RETURN(MatMulPlan p, plan_int_matmul(kOp, a.shape(), b.shape()));
  Requant q;
  LB_ASSIGN_OR_RETURN(q.as, read_mat_scale(kOp, "a_scale", c.in(1), a.shape(), true, true));
  LB_ASSIGN_OR_RETURN(MatParam<int32_t> az, read_mat_zero_point(kOp, "a_zero_point", &c.in(2), a, true, true));
  LB_ASSIGN_OR_RETURN(q.bs, read_mat_scale(kOp, "b_scale", c.in(4), b.shape(), false, true));
  LB_ASSIGN_OR_RETURN(MatParam<int32_t> bz, read_mat_zero_point(kOp, "b_zero_point", &c.in(5), b, false, true));
  LB_ASSIGN_OR_RETURN(std::vector<float> ys, read_scale(kOp, "y_scale", c.in(6), -1));
  LB_ASSIGN_OR_RETURN(std::vector<int32_t> yz, read_zero_point(kOp, "y_zero_point", &c.in(7), out, -1));
  q.ys = ys[0];
  q.zero = yz[0];
  // Float multiplication and division by a positive number are monotone, so the largest
  // multiplier is the one of the largest scales: if it is finite, all are. (A per-row or
  // per-column scale of an empty operand has no values, and no output uses it.)
  if (!q.as.v.empty() && !q.bs.v.empty()) {
    const float max_a = *std::max_element(q.as.v.begin(), q.as.v.end());
    const float max_b = *std::max_element(q.bs.v.begin(), q.bs.v.end());
    LB_TRY(check_multiplier(kOp, max_a * max_b / q.ys));
  }
  LB_ASSIGN_OR_RETURN(Tensor acc, matmul_integer(kOp, a, az, b, bz, p, c.pool));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(out, acc.shape()));
  if (y.numel() > 0) {
    const MatMulBatches mb = matmul_batches(p);
    if (out == DType::kU8)
      requantize_rows(acc.data<int32_t>(), p, mb, q, y.data<uint8_t>(), c.pool);
    else
      requantize_rows(acc.data<int32_t>(), p, mb, q, y.data<int8_t>(), c.pool);
  }
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kQLinearMatMul{"QLinearMatMul", 8, 8, qlinear_matmul_infer, qlinear_matmul_forward};

}  // namespace lowbit::ops
