// minmax.cc: variadic Max and Min — the elementwise extreme of one or more inputs of one
// numeric dtype, all broadcast together. A NaN in any input gives NaN (numpy's maximum/minimum).
#include <cmath>
#include <type_traits>

#include "ops/broadcast.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

Status minmax_infer(InferCtx& c) {
  if (c.num_inputs() == 0) return Status::errorf("{} needs at least one input", c.node.op_type);
  LB_TRY(require_inputs(c, c.num_inputs()));
  std::optional<DType> dtype = c.inputs[0].dtype;
  std::optional<Shape> shape = c.inputs[0].shape;
  for (const TensorInfo& in : c.inputs) {
    if (in.dtype) {
      LB_TRY(check_dtype(c.node.op_type, "input", *in.dtype, kNumericDTypes));
      if (dtype && *dtype != *in.dtype)
        return Status::errorf("{} inputs have different dtypes {} and {}", c.node.op_type, dtype_name(*dtype),
                              dtype_name(*in.dtype));
      dtype = in.dtype;
    }
    if (shape && in.shape) {
      LB_ASSIGN_OR_RETURN(shape, broadcast_shape_partial(*shape, *in.shape));
    } else {
      shape.reset();
    }
  }
  set_output(c, 0, dtype, std::move(shape));
  return Status::ok();
}

template <bool kMax, typename T>
T pick(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a)) return a;
  }
  if constexpr (kMax) {
    return a >= b ? a : b;  // NaN in b: the comparison fails and b (NaN) is returned
  } else {
    return a <= b ? a : b;
  }
}

template <bool kMax>
Status minmax_forward(RunCtx& c) {
  if (c.num_inputs() == 0) return Status::errorf("{} needs at least one input", c.node.op_type);
  LB_TRY(require_inputs(c, c.num_inputs()));
  const DType dtype = c.in(0).dtype();
  LB_TRY(check_dtype(c.node.op_type, "input", dtype, kNumericDTypes));
  Shape shape = c.in(0).shape();
  for (size_t i = 1; i < c.num_inputs(); ++i) {
    if (c.in(i).dtype() != dtype)
      return Status::errorf("{} inputs have different dtypes {} and {}", c.node.op_type, dtype_name(dtype),
                            dtype_name(c.in(i).dtype()));
    LB_ASSIGN_OR_RETURN(shape, broadcast_shape(shape, c.in(i).shape()));
  }
  if (c.num_inputs() == 1) {
    c.outputs[0] = c.in(0).clone();
    return Status::ok();
  }
  Tensor acc;
  // Fold left: acc = pick(acc, input i), acc growing to the broadcast shape as inputs come in.
  Status st = visit_numeric(dtype, [&](auto tag) -> Status {
    using T = decltype(tag);
    const Tensor* left = &c.in(0);
    for (size_t i = 1; i < c.num_inputs(); ++i) {
      LB_ASSIGN_OR_RETURN(Shape s, broadcast_shape(left->shape(), c.in(i).shape()));
      LB_ASSIGN_OR_RETURN(Tensor next, Tensor::make(dtype, std::move(s)));
      broadcast_binary<T, T, T>(*left, c.in(i), next, c.pool, [](T a, T b) { return pick<kMax, T>(a, b); });
      acc = std::move(next);
      left = &acc;
    }
    return Status::ok();
  });
  LB_TRY(st);
  c.outputs[0] = std::move(acc);
  return Status::ok();
}

}  // namespace

extern const OpDef kMax{"Max", 1, -1, minmax_infer, minmax_forward<true>};
extern const OpDef kMin{"Min", 1, -1, minmax_infer, minmax_forward<false>};

}  // namespace lowbit::ops
