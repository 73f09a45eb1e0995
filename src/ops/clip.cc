// clip.cc: Clip, y = min(max(x, lo), hi). Before opset 11 lo/hi are the float attributes
// min/max (default ∓FLT_MAX); from opset 11 they are optional scalar inputs 1 and 2 of x's dtype
// (default: the dtype's lowest/highest value). As in numpy, lo > hi gives hi everywhere.
#include <limits>
#include <type_traits>

#include "kernels/elementwise/fast_math.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

DTypeSet clip_dtypes(int64_t opset) { return opset < 11 ? kFloatDTypes : kNumericDTypes; }

Status clip_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const TensorInfo& x = c.inputs[0];
  if (x.dtype) {
    LB_TRY(check_dtype("Clip", "input", *x.dtype, clip_dtypes(c.opset)));
    for (size_t i = 1; i < 3 && c.opset >= 11; ++i)
      if (c.has_input(i) && c.inputs[i].dtype && *c.inputs[i].dtype != *x.dtype)
        return Status::errorf("Clip bound input {} is {}, the input is {}", i, dtype_name(*c.inputs[i].dtype),
                              dtype_name(*x.dtype));
  }
  set_output(c, 0, x.dtype, x.shape);
  return Status::ok();
}

// Reads bound input i (a one-element tensor of type T), or returns `def` when omitted.
template <typename T>
Result<T> clip_bound(const RunCtx& c, size_t i, T def) {
  if (!c.has_input(i)) return def;
  const Tensor& b = c.in(i);
  if (b.dtype() != DTypeOf<T>::value)
    return Status::errorf("Clip bound input {} is {}, the input is {}", i, dtype_name(b.dtype()),
                          dtype_name(DTypeOf<T>::value));
  if (b.numel() != 1) return Status::errorf("Clip bound input {} must be a scalar, got shape {}", i, shape_str(b.shape()));
  return static_cast<const T*>(b.raw())[0];
}

Status clip_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const Tensor& x = c.in(0);
  LB_TRY(check_dtype("Clip", "input", x.dtype(), clip_dtypes(c.opset)));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(x.dtype(), x.shape()));
  Status st = visit_numeric(x.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    T lo = std::numeric_limits<T>::lowest(), hi = std::numeric_limits<T>::max();
    if (c.opset < 11) {
      LB_ASSIGN_OR_RETURN(const float a, c.attrs().get_float("min", std::numeric_limits<float>::lowest()));
      LB_ASSIGN_OR_RETURN(const float b, c.attrs().get_float("max", std::numeric_limits<float>::max()));
      lo = static_cast<T>(a);
      hi = static_cast<T>(b);
    } else {
      LB_ASSIGN_OR_RETURN(lo, clip_bound<T>(c, 1, lo));
      LB_ASSIGN_OR_RETURN(hi, clip_bound<T>(c, 2, hi));
    }
    parallel_map(static_cast<const T*>(x.raw()), static_cast<T*>(y.raw()), x.numel(), c.pool, [lo, hi](T v) {
      if constexpr (std::is_floating_point_v<T>) {
        return kernels::min_f32(kernels::max_f32(v, lo), hi);  // NaN passes through; branch-free
      } else {
        const T t = v < lo ? lo : v;
        return t > hi ? hi : t;
      }
    });
    return Status::ok();
  });
  LB_TRY(st);
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kClip{"Clip", 1, 3, clip_infer, clip_forward};

}  // namespace lowbit::ops
