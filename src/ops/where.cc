// where.cc: Where(condition, X, Y) = condition ? X : Y elementwise, all three broadcast together.
// condition is bool; X and Y share any dtype (the select moves element bytes).
#include "ops/broadcast.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

Status where_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 3));
  const TensorInfo& cond = c.inputs[0];
  const TensorInfo& x = c.inputs[1];
  const TensorInfo& y = c.inputs[2];
  if (cond.dtype && *cond.dtype != DType::kBool)
    return Status::errorf("Where condition must be bool, got {}", dtype_name(*cond.dtype));
  if (x.dtype && y.dtype && *x.dtype != *y.dtype)
    return Status::errorf("Where inputs X and Y have different dtypes {} and {}", dtype_name(*x.dtype),
                          dtype_name(*y.dtype));
  std::optional<Shape> shape;
  if (cond.shape && x.shape && y.shape) {
    LB_ASSIGN_OR_RETURN(Shape s, broadcast_shape_partial(*cond.shape, *x.shape));
    LB_ASSIGN_OR_RETURN(shape, broadcast_shape_partial(s, *y.shape));
  }
  set_output(c, 0, x.dtype ? x.dtype : y.dtype, std::move(shape));
  return Status::ok();
}

Status where_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 3));
  const Tensor& cond = c.in(0);
  const Tensor& x = c.in(1);
  const Tensor& y = c.in(2);
  if (cond.dtype() != DType::kBool) return Status::errorf("Where condition must be bool, got {}", dtype_name(cond.dtype()));
  if (x.dtype() != y.dtype())
    return Status::errorf("Where inputs X and Y have different dtypes {} and {}", dtype_name(x.dtype()),
                          dtype_name(y.dtype()));
  LB_ASSIGN_OR_RETURN(Shape s, broadcast_shape(cond.shape(), x.shape()));
  LB_ASSIGN_OR_RETURN(s, broadcast_shape(s, y.shape()));
  LB_ASSIGN_OR_RETURN(Tensor out, Tensor::make(x.dtype(), std::move(s)));
  if (out.numel() > 0) {
    const BroadcastPlan<3> p = make_broadcast_plan<3>(out.shape(), {&cond.shape(), &x.shape(), &y.shape()});
    const int64_t inner = p.inner();
    const int64_t sc = p.inner_stride(0), sx = p.inner_stride(1), sy = p.inner_stride(2);
    const auto* pc = static_cast<const uint8_t*>(cond.raw());
    visit_elem_bits(x.dtype(), [&](auto tag) {
      using U = decltype(tag);
      const U* px = static_cast<const U*>(x.raw());
      const U* py = static_cast<const U*>(y.raw());
      U* po = static_cast<U*>(out.raw());
      parallel_broadcast_rows(p, c.pool, [&](int64_t r, const std::array<int64_t, 3>& off) {
        const uint8_t* cr = pc + off[0];
        const U* xr = px + off[1];
        const U* yr = py + off[2];
        U* o = po + r * inner;
        for (int64_t i = 0; i < inner; ++i) {
          const U a = xr[i * sx], b = yr[i * sy];  // unconditional loads: the select needs no branch
          o[i] = cr[i * sc] ? a : b;
        }
      });
      return 0;
    });
  }
  c.outputs[0] = std::move(out);
  return Status::ok();
}

}  // namespace

extern const OpDef kWhere{"Where", 3, 3, where_infer, where_forward};

}  // namespace lowbit::ops
