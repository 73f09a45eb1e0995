// conv_integer.cc: ONNX ConvInteger (opset 10+) — Conv on 8-bit integers with an exact int32 result:
//   y[n, m, o] = Σ_{c in group(m), k} (x[n, c, src(o, k)] − x_zero) · (w[m, c, k] − w_zero[m])
// x and w are u8 or i8 (independently); x_zero is per tensor, w_zero per tensor or per output
// channel; each zero point has its tensor's dtype and defaults to 0. Positions outside x read as
// x_zero (the real 0), so padding adds nothing. Attributes as Conv's.
#include "ops/integer_linear.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

constexpr std::string_view kOp = "ConvInteger";

Status conv_integer_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 2));
  LB_ASSIGN_OR_RETURN(Shape out, infer_int_conv(kOp, c, 0, 1));
  LB_TRY(check_zero_dtype(kOp, c, 2, 0, "x_zero_point"));
  LB_TRY(check_zero_dtype(kOp, c, 3, 1, "w_zero_point"));
  c.outputs[0].dtype = DType::kI32;
  if (!out.empty()) c.outputs[0].shape = std::move(out);
  return Status::ok();
}

Status conv_integer_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 2));
  const Tensor& x = c.in(0);
  const Tensor& w = c.in(1);
  LB_TRY(check_dtype(kOp, "input x", x.dtype(), kInt8DTypes));
  LB_TRY(check_dtype(kOp, "weight w", w.dtype(), kInt8DTypes));
  LB_ASSIGN_OR_RETURN(ConvSetup s, int_conv_setup(kOp, c.attrs(), x.shape(), w.shape()));
  LB_ASSIGN_OR_RETURN(std::vector<int32_t> xz,
                      read_zero_point(kOp, "x_zero_point", c.has_input(2) ? &c.in(2) : nullptr, x.dtype(), -1));
  LB_ASSIGN_OR_RETURN(std::vector<int32_t> wz,
                      read_zero_point(kOp, "w_zero_point", c.has_input(3) ? &c.in(3) : nullptr, w.dtype(), w.dim(0)));
  LB_ASSIGN_OR_RETURN(Tensor y, conv_integer(kOp, x, xz[0], w, wz, nullptr, s, c.pool));
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kConvInteger{"ConvInteger", 2, 4, conv_integer_infer, conv_integer_forward};

}  // namespace lowbit::ops
