// slice.cc: Slice — numpy basic slicing, starts:ends:steps along the listed axes.
//
// Before opset 10, starts/ends/axes are attributes and steps are 1; from opset 10 they are
// inputs 1-4 (axes and steps optional). Per axis of size n, as the ONNX spec defines it:
//   start += n if start < 0;  end += n if end < 0
//   step > 0: start, end clamped to [0, n];     count = ceil((end − start) / step) if end > start
//   step < 0: start clamped to [0, n−1], end to [−1, n−1]; count = ceil((start − end) / −step)
// so INT64_MAX / INT64_MIN ends mean "to the end" in either direction. The result is a strided
// view copied out by strided_copy (negative steps give negative strides).
#include <algorithm>
#include <limits>

#include "ops/axes.h"
#include "ops/op.h"
#include "ops/strided_copy.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

struct SliceArgs {
  std::vector<int64_t> starts, ends, axes, steps;  // axes normalized, steps filled
};

// Checks lengths, fills default axes/steps, normalizes axes for a tensor of rank `rank`.
Result<SliceArgs> finish_args(SliceArgs a, bool has_axes, bool has_steps, int64_t rank) {
  const size_t n = a.starts.size();
  if (a.ends.size() != n)
    return Status::errorf("Slice has {} starts but {} ends", n, a.ends.size());
  if (!has_axes) {
    if (static_cast<int64_t>(n) > rank)
      return Status::errorf("Slice has {} starts for a tensor of rank {}", n, rank);
    a.axes.resize(n);
    for (size_t i = 0; i < n; ++i) a.axes[i] = static_cast<int64_t>(i);
  } else if (a.axes.size() != n) {
    return Status::errorf("Slice has {} starts but {} axes", n, a.axes.size());
  }
  LB_ASSIGN_OR_RETURN(a.axes, normalize_axes(a.axes, rank, "Slice axes"));
  if (!has_steps) {
    a.steps.assign(n, 1);
  } else if (a.steps.size() != n) {
    return Status::errorf("Slice has {} starts but {} steps", n, a.steps.size());
  }
  for (int64_t s : a.steps)
    if (s == 0) return Status::error("Slice step must not be 0");
  return a;
}

// One axis: first index, element count and step after the clamping rules above.
struct AxisRange {
  int64_t start = 0, count = 0, step = 1;
};

AxisRange clamp_axis(int64_t start, int64_t end, int64_t step, int64_t n) {
  AxisRange r;
  if (n <= 0) return r;
  if (start < 0) start += n;
  if (end < 0) end += n;
  if (step > 0) {
    start = std::clamp<int64_t>(start, 0, n);
    end = std::clamp<int64_t>(end, 0, n);
    if (end > start) r.count = 1 + (end - start - 1) / step;
  } else {
    start = std::clamp<int64_t>(start, 0, n - 1);
    end = std::clamp<int64_t>(end, -1, n - 1);
    // |step| in unsigned arithmetic: −INT64_MIN does not fit an int64.
    const uint64_t mag = uint64_t{0} - static_cast<uint64_t>(step);
    if (start > end) r.count = 1 + static_cast<int64_t>(static_cast<uint64_t>(start - end - 1) / mag);
  }
  r.start = start;
  r.step = r.count > 1 ? step : 1;  // a huge step only matters when it is taken
  return r;
}

// Reads the arguments from the attributes (opset < 10) or from the given int lists.
Result<SliceArgs> attr_args(const ir::Attributes& attrs, bool* has_axes) {
  SliceArgs a;
  LB_ASSIGN_OR_RETURN(a.starts, attrs.get_ints("starts"));
  LB_ASSIGN_OR_RETURN(a.ends, attrs.get_ints("ends"));
  *has_axes = attrs.has("axes");
  if (*has_axes) {
    LB_ASSIGN_OR_RETURN(a.axes, attrs.get_ints("axes"));
  }
  return a;
}

Status slice_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, c.opset < 10 ? 1 : 3));
  const TensorInfo& x = c.inputs[0];
  for (size_t i = 1; i < c.num_inputs() && c.opset >= 10; ++i)
    if (c.has_input(i) && c.inputs[i].dtype && !(dtype_bit(*c.inputs[i].dtype) & kIndexDTypes))
      return Status::errorf("Slice input {} must be int32 or int64, got {}", i, dtype_name(*c.inputs[i].dtype));
  std::optional<Shape> shape;
  if (x.shape) {
    const int64_t rank = static_cast<int64_t>(x.shape->size());
    SliceArgs a;
    bool has_axes = false, has_steps = false, known = true;
    if (c.opset < 10) {
      LB_ASSIGN_OR_RETURN(a, attr_args(c.attrs(), &has_axes));
    } else {
      std::vector<int64_t>* dst[] = {&a.starts, &a.ends, &a.axes, &a.steps};
      for (size_t i = 1; i <= 4; ++i) {
        if (!c.has_input(i)) continue;
        if (i == 3) has_axes = true;
        if (i == 4) has_steps = true;
        if (const Tensor* t = const_input(c, i)) {
          LB_ASSIGN_OR_RETURN(*dst[i - 1], read_int_list(*t, "Slice argument"));
        } else {
          known = false;
        }
      }
    }
    if (known) {
      LB_ASSIGN_OR_RETURN(a, finish_args(std::move(a), has_axes, has_steps, rank));
      Shape s = *x.shape;
      for (size_t i = 0; i < a.axes.size(); ++i) {
        int64_t& d = s[static_cast<size_t>(a.axes[i])];
        if (d >= 0) d = clamp_axis(a.starts[i], a.ends[i], a.steps[i], d).count;
      }
      shape = std::move(s);
    } else {
      shape = unknown_dims(rank);  // slicing keeps the rank
    }
  }
  set_output(c, 0, x.dtype, std::move(shape));
  return Status::ok();
}

Status slice_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, c.opset < 10 ? 1 : 3));
  const Tensor& x = c.in(0);
  SliceArgs a;
  bool has_axes = false, has_steps = false;
  if (c.opset < 10) {
    LB_ASSIGN_OR_RETURN(a, attr_args(c.attrs(), &has_axes));
  } else {
    LB_ASSIGN_OR_RETURN(a.starts, read_int_list(c.in(1), "Slice starts"));
    LB_ASSIGN_OR_RETURN(a.ends, read_int_list(c.in(2), "Slice ends"));
    if ((has_axes = c.has_input(3))) {
      LB_ASSIGN_OR_RETURN(a.axes, read_int_list(c.in(3), "Slice axes"));
    }
    if ((has_steps = c.has_input(4))) {
      LB_ASSIGN_OR_RETURN(a.steps, read_int_list(c.in(4), "Slice steps"));
    }
  }
  LB_ASSIGN_OR_RETURN(a, finish_args(std::move(a), has_axes, has_steps, x.rank()));
  Shape shape = x.shape();
  std::vector<int64_t> strides = contiguous_strides(x.shape());
  int64_t offset = 0;
  for (size_t i = 0; i < a.axes.size(); ++i) {
    const size_t ax = static_cast<size_t>(a.axes[i]);
    const AxisRange r = clamp_axis(a.starts[i], a.ends[i], a.steps[i], shape[ax]);
    shape[ax] = r.count;
    if (r.count > 0) offset += r.start * strides[ax];
    strides[ax] *= r.step;
  }
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(x.dtype(), shape));
  strided_copy(y.raw(), x.raw(), x.dtype(), shape, strides, offset, c.pool);
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kSlice{"Slice", 1, 5, slice_infer, slice_forward};

}  // namespace lowbit::ops
