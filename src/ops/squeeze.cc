// squeeze.cc: Squeeze and Unsqueeze, views that drop or insert size-1 dims.
//
// The axes are an attribute before opset 13 and input 1 from 13. Squeeze without axes drops
// every size-1 dim; a listed axis must have size 1. Unsqueeze's axes index the output (rank
// r + len(axes)), may be negative and in any order, and must not repeat.
#include <algorithm>

#include "ops/axes.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

// What infer knows about the axes operand.
struct AxesInfo {
  bool given = false;                    // attribute or input present
  std::optional<std::vector<int64_t>> values;  // known values
  int64_t count = -1;                    // number of axes if known
};

Result<AxesInfo> axes_info(const InferCtx& c) {
  AxesInfo a;
  if (c.opset < 13) {
    if (!c.attrs().has("axes")) return a;
    LB_ASSIGN_OR_RETURN(std::vector<int64_t> v, c.attrs().get_ints("axes"));
    a.given = true;
    a.count = static_cast<int64_t>(v.size());
    a.values = std::move(v);
    return a;
  }
  if (!c.has_input(1)) return a;
  a.given = true;
  if (const Tensor* t = c.inputs[1].value) {
    LB_ASSIGN_OR_RETURN(std::vector<int64_t> v, read_int_list(*t, "axes"));
    a.count = static_cast<int64_t>(v.size());
    a.values = std::move(v);
  } else if (c.inputs[1].shape && c.inputs[1].shape->size() == 1) {
    a.count = (*c.inputs[1].shape)[0];
  }
  return a;
}

// The axes at run time, or nullopt when none are given.
Result<std::optional<std::vector<int64_t>>> run_axes(const RunCtx& c) {
  if (c.opset < 13) {
    if (!c.attrs().has("axes")) return std::optional<std::vector<int64_t>>();
    LB_ASSIGN_OR_RETURN(std::vector<int64_t> v, c.attrs().get_ints("axes"));
    return std::optional<std::vector<int64_t>>(std::move(v));
  }
  if (!c.has_input(1)) return std::optional<std::vector<int64_t>>();
  LB_ASSIGN_OR_RETURN(std::vector<int64_t> v, read_int_list(c.in(1), "axes"));
  return std::optional<std::vector<int64_t>>(std::move(v));
}

// Squeeze of `in` (dims < 0 unknown, assumed to be 1 where an axis names them).
Result<Shape> squeeze_shape(const Shape& in, const std::optional<std::vector<int64_t>>& axes) {
  const int64_t rank = static_cast<int64_t>(in.size());
  Shape out;
  if (!axes) {
    for (int64_t d : in)
      if (d != 1) out.push_back(d);
    return out;
  }
  LB_ASSIGN_OR_RETURN(std::vector<int64_t> ax, normalize_axes(*axes, rank, "Squeeze axes"));
  for (int64_t a : ax)
    if (in[static_cast<size_t>(a)] >= 0 && in[static_cast<size_t>(a)] != 1)
      return Status::errorf("Squeeze axis {} has size {}, not 1 (input shape {})", a, in[static_cast<size_t>(a)],
                            shape_str(in));
  for (int64_t i = 0; i < rank; ++i)
    if (std::find(ax.begin(), ax.end(), i) == ax.end()) out.push_back(in[static_cast<size_t>(i)]);
  return out;
}

Status squeeze_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const TensorInfo& x = c.inputs[0];
  LB_ASSIGN_OR_RETURN(AxesInfo a, axes_info(c));
  if (a.values && a.values->empty()) a = AxesInfo{};  // as in squeeze_forward
  std::optional<Shape> shape;
  if (x.shape) {
    if (!a.given) {
      // Without axes the result depends on which dims are 1: known only when no dim is unknown.
      if (std::all_of(x.shape->begin(), x.shape->end(), [](int64_t d) { return d >= 0; })) {
        LB_ASSIGN_OR_RETURN(shape, squeeze_shape(*x.shape, std::nullopt));
      }
    } else if (a.values) {
      LB_ASSIGN_OR_RETURN(shape, squeeze_shape(*x.shape, a.values));
    } else if (a.count >= 0 && a.count <= static_cast<int64_t>(x.shape->size())) {
      shape = unknown_dims(static_cast<int64_t>(x.shape->size()) - a.count);
    }
  }
  set_output(c, 0, x.dtype, std::move(shape));
  return Status::ok();
}

Status squeeze_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const Tensor& x = c.in(0);
  LB_ASSIGN_OR_RETURN(auto axes, run_axes(c));
  if (axes && axes->empty()) axes.reset();  // an empty list squeezes every 1, as ONNX Runtime does
  LB_ASSIGN_OR_RETURN(Shape shape, squeeze_shape(x.shape(), axes));
  c.outputs[0] = x.reshaped(std::move(shape));
  return Status::ok();
}

Result<Shape> unsqueeze_shape(const Shape& in, const std::vector<int64_t>& axes) {
  const int64_t out_rank = static_cast<int64_t>(in.size() + axes.size());
  LB_ASSIGN_OR_RETURN(std::vector<int64_t> ax, normalize_axes(axes, out_rank, "Unsqueeze axes"));
  Shape out(static_cast<size_t>(out_rank), 1);
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i)
    if (std::find(ax.begin(), ax.end(), i) == ax.end()) out[static_cast<size_t>(i)] = in[next++];
  return out;
}

Status unsqueeze_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, c.opset < 13 ? 1 : 2));
  const TensorInfo& x = c.inputs[0];
  LB_ASSIGN_OR_RETURN(AxesInfo a, axes_info(c));
  if (!a.given) return Status::error("Unsqueeze needs axes");
  std::optional<Shape> shape;
  if (x.shape) {
    if (a.values) {
      LB_ASSIGN_OR_RETURN(shape, unsqueeze_shape(*x.shape, *a.values));
    } else if (a.count >= 0) {
      shape = unknown_dims(static_cast<int64_t>(x.shape->size()) + a.count);
    }
  }
  set_output(c, 0, x.dtype, std::move(shape));
  return Status::ok();
}

Status unsqueeze_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, c.opset < 13 ? 1 : 2));
  const Tensor& x = c.in(0);
  LB_ASSIGN_OR_RETURN(auto axes, run_axes(c));
  if (!axes) return Status::error("Unsqueeze needs axes");
  LB_ASSIGN_OR_RETURN(Shape shape, unsqueeze_shape(x.shape(), *axes));
  c.outputs[0] = x.reshaped(std::move(shape));
  return Status::ok();
}

}  // namespace

extern const OpDef kSqueeze{"Squeeze", 1, 2, squeeze_infer, squeeze_forward};
extern const OpDef kUnsqueeze{"Unsqueeze", 1, 2, unsqueeze_infer, unsqueeze_forward};

}  // namespace lowbit::ops
