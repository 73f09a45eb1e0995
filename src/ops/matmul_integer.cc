// matmul_integer.cc: ONNX MatMulInteger (opset 10+) — MatMul on 8-bit integers with an exact
// int32 result and numpy broadcasting:
//   y[..., i, j] = Σ_k (A[..., i, k] − a_zero[i]) · (B[..., k, j] − b_zero[j])
// A and B are u8 or i8 (independently). a_zero is a scalar, one per row ([M]) or [..., M, 1]
// (per batch and row of A); b_zero a scalar, one per column ([N]) or [..., 1, N]. Each zero
// point has its tensor's dtype and defaults to 0.
#include "ops/integer_linear.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

constexpr std::string_view kOp = "MatMulInteger";

Status matmul_integer_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 2));
  for (size_t i = 0; i < 2; ++i)
    if (c.inputs[i].dtype) LB_TRY(check_dtype(kOp, i == 0 ? "input A" : "input B", *c.inputs[i].dtype, kInt8DTypes));
  LB_TRY(check_zero_dtype(kOp, c, 2, 0, "a_zero_point"));
  LB_TRY(check_zero_dtype(kOp, c, 3, 1, "b_zero_point"));
  c.outputs[0].dtype = DType::kI32;
  if (c.inputs[0].shape && c.inputs[1].shape) {
    LB_ASSIGN_OR_RETURN(MatMulPlan p, plan_int_matmul(kOp, *c.inputs[0].shape, *c.inputs[1].shape));
    c.outputs[0].shape = std::move(p.out);
  }
  return Status::ok();
}

Status matmul_integer_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 2));
  const Tensor& a = c.in(0);
  const Tensor& b = c.in(1);
  LB_TRY(check_dtype(kOp, "input A", a.dtype(), kInt8DTypes));
  LB_TRY(check_dtype(kOp, "input B", b.dtype(), kInt8DTypes));
  LB_ASSIGN_OR_RETURN(MatMulPlan p, plan_int_matmul(kOp, a.shape(), b.shape()));
  LB_ASSIGN_OR_RETURN(MatParam<int32_t> az,
                      read_mat_zero_point(kOp, "a_zero_point", c.has_input(2) ? &c.in(2) : nullptr, a, true, true));
  LB_ASSIGN_OR_RETURN(MatParam<int32_t> bz,
                      read_mat_zero_point(kOp, "b_zero_point", c.has_input(3) ? &c.in(3) : nullptr, b, false, true));
  LB_ASSIGN_OR_RETURN(Tensor y, matmul_integer(kOp, a, az, b, bz, p, c.pool));
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kMatMulInteger{"MatMulInteger", 2, 4, matmul_integer_infer, matmul_integer_forward};

}  // namespace lowbit::ops
