// expand_tile.cc: Expand (broadcast to a shape) and Tile (repeat along each axis), any dtype.
//
// Expand's output is the broadcast of the input's shape with the int64 `shape` input, so a 1
// in `shape` keeps the input's dim (ONNX's bidirectional broadcast). Tile's output dim k is
// dim(k)·repeats[k]. Both are strided_copy gathers: Expand reads with stride 0 along broadcast
// dims; Tile views the output as [r0, d0, r1, d1, ...] (row-major, out index rk·dk + ik) and
// reads with strides [0, s0, 0, s1, ...].
#include <limits>

#include "ops/broadcast.h"
#include "ops/op.h"
#include "ops/strided_copy.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

Result<std::vector<int64_t>> shape_operand(const Tensor& t, const char* what) {
  if (t.dtype() != DType::kI64) return Status::errorf("{} must be int64, got {}", what, dtype_name(t.dtype()));
  LB_ASSIGN_OR_RETURN(std::vector<int64_t> v, read_int_list(t, what));
  for (int64_t d : v)
    if (d < 0) return Status::errorf("{} {} has a negative value", what, shape_str(v));
  return v;
}

Status expand_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 2));
  const TensorInfo& x = c.inputs[0];
  std::optional<Shape> shape;
  if (const Tensor* s = const_input(c, 1)) {
    LB_ASSIGN_OR_RETURN(Shape target, shape_operand(*s, "Expand shape"));
    if (x.shape) {
      LB_ASSIGN_OR_RETURN(shape, broadcast_shape_partial(*x.shape, target));
    }
  } else if (x.shape && c.inputs[1].shape && c.inputs[1].shape->size() == 1 && (*c.inputs[1].shape)[0] >= 0) {
    shape = unknown_dims(std::max<int64_t>(static_cast<int64_t>(x.shape->size()), (*c.inputs[1].shape)[0]));
  }
  set_output(c, 0, x.dtype, std::move(shape));
  return Status::ok();
}

Status expand_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 2));
  const Tensor& x = c.in(0);
  LB_ASSIGN_OR_RETURN(Shape target, shape_operand(c.in(1), "Expand shape"));
  LB_ASSIGN_OR_RETURN(Shape shape, broadcast_shape(x.shape(), target));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(x.dtype(), shape));
  strided_copy(y.raw(), x.raw(), x.dtype(), shape, broadcast_strides(x.shape(), shape), 0, c.pool);
  c.outputs[0] = std::move(y);
  return Status::ok();
}

// dim · reps, or an error when it overflows (a zero elsewhere would hide it from checked_numel).
Result<int64_t> tiled_dim(int64_t d, int64_t reps) {
  if (d > 0 && reps > std::numeric_limits<int64_t>::max() / d)
    return Status::errorf("Tile output dim {}·{} overflows", d, reps);
  return d * reps;
}

Status tile_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 2));
  const TensorInfo& x = c.inputs[0];
  std::optional<Shape> shape;
  if (x.shape) {
    const size_t rank = x.shape->size();
    if (const Tensor* r = const_input(c, 1)) {
      LB_ASSIGN_OR_RETURN(std::vector<int64_t> reps, shape_operand(*r, "Tile repeats"));
      if (reps.size() != rank)
        return Status::errorf("Tile has {} repeats for an input of rank {}", reps.size(), rank);
      Shape s(rank);
      for (size_t i = 0; i < rank; ++i) {
        const int64_t d = (*x.shape)[i];
        if (d < 0) {
          s[i] = -1;
        } else {
          LB_ASSIGN_OR_RETURN(s[i], tiled_dim(d, reps[i]));
        }
      }
      shape = std::move(s);
    } else {
      shape = unknown_dims(static_cast<int64_t>(rank));
    }
  }
  set_output(c, 0, x.dtype, std::move(shape));
  return Status::ok();
}

Status tile_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 2));
  const Tensor& x = c.in(0);
  LB_ASSIGN_OR_RETURN(std::vector<int64_t> reps, shape_operand(c.in(1), "Tile repeats"));
  const size_t rank = x.shape().size();
  if (reps.size() != rank) return Status::errorf("Tile has {} repeats for an input of rank {}", reps.size(), rank);
  Shape out(rank), view;
  std::vector<int64_t> strides;
  const std::vector<int64_t> in_strides = contiguous_strides(x.shape());
  for (size_t i = 0; i < rank; ++i) {
    view.push_back(reps[i]);
    strides.push_back(0);
    view.push_back(x.shape()[i]);
    strides.push_back(in_strides[i]);
  }
  for (size_t i = 0; i < rank; ++i) {
    LB_ASSIGN_OR_RETURN(out[i], tiled_dim(x.shape()[i], reps[i]));
  }
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(x.dtype(), std::move(out)));
  strided_copy(y.raw(), x.raw(), x.dtype(), view, strides, 0, c.pool);
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kExpand{"Expand", 2, 2, expand_infer, expand_forward};
extern const OpDef kTile{"Tile", 2, 2, tile_infer, tile_forward};

}  // namespace lowbit::ops
