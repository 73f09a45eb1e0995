// reshape.cc: Reshape and Flatten, both views of the input's storage with a new shape.
//
// Reshape's target comes from input 1: a 0 copies the input dim at that index (unless
// allowzero=1, opset 14, where 0 means a zero dim), one -1 takes whatever count is left.
// Flatten(axis) gives [d0·…·d(axis-1), d(axis)·…·d(r-1)]; axis in [-r, r] (negative from opset 11).
#include "ops/axes.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

// The Reshape target for input dims `in` (dims < 0 unknown) and `spec`; unknown output dims
// where the input leaves them open. Errors on malformed specs and, when all is known, on an
// element-count mismatch.
Result<Shape> reshape_target(const Shape& in, const std::vector<int64_t>& spec, bool allowzero) {
  Shape out(spec.size());
  int infer_at = -1;
  bool has_zero = false, out_known = true;
  int64_t known_product = 1;  // product of the output dims other than -1, while known
  for (size_t i = 0; i < spec.size(); ++i) {
    int64_t d = spec[i];
    if (d == -1) {
      if (infer_at >= 0) return Status::errorf("Reshape shape {} has more than one -1", shape_str(spec));
      infer_at = static_cast<int>(i);
      continue;
    }
    if (d < -1) return Status::errorf("Reshape shape {} has an invalid dim {}", shape_str(spec), d);
    if (d == 0) {
      has_zero = true;
      if (!allowzero) {
        if (i >= in.size())
          return Status::errorf("Reshape shape {} copies dim {} (a 0), but the input {} has rank {}", shape_str(spec),
                                i, shape_str(in), in.size());
        d = in[i];
      }
    }
    out[i] = d;
    if (d < 0) {
      out_known = false;
    } else if (out_known) {
      if (d != 0 && known_product > std::numeric_limits<int64_t>::max() / d)
        return Status::errorf("Reshape shape {} overflows", shape_str(spec));
      known_product *= d;
    }
  }
  if (allowzero && has_zero && infer_at >= 0)
    return Status::errorf("Reshape shape {} has both 0 and -1 with allowzero=1", shape_str(spec));
  Result<int64_t> in_numel = checked_numel(in);  // an error here just means "unknown"
  const bool in_known = in_numel.is_ok();
  if (infer_at >= 0) {
    int64_t d = -1;
    if (in_known && out_known) {
      if (known_product == 0 || *in_numel % known_product != 0)
        return Status::errorf("cannot reshape {} to {}: no dim fits the -1", shape_str(in), shape_str(spec));
      d = *in_numel / known_product;
    }
    out[static_cast<size_t>(infer_at)] = d;
  } else if (in_known && out_known && known_product != *in_numel) {
    return Status::errorf("cannot reshape {} ({} elements) to {} ({} elements)", shape_str(in), *in_numel,
                          shape_str(out), known_product);
  }
  return out;
}

Result<bool> reshape_allowzero(const ir::Attributes& attrs, int64_t opset) {
  if (opset < 14) return false;
  LB_ASSIGN_OR_RETURN(const int64_t az, attrs.get_int("allowzero", 0));
  return az != 0;
}

Status reshape_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 2));
  const TensorInfo& x = c.inputs[0];
  const TensorInfo& s = c.inputs[1];
  if (s.dtype && (dtype_bit(*s.dtype) & kIndexDTypes) == 0)
    return Status::errorf("Reshape shape must be int64, got {}", dtype_name(*s.dtype));
  LB_ASSIGN_OR_RETURN(const bool allowzero, reshape_allowzero(c.attrs(), c.opset));
  std::optional<Shape> shape;
  if (s.value) {
    LB_ASSIGN_OR_RETURN(std::vector<int64_t> spec, read_int_list(*s.value, "Reshape shape"));
    const Shape in = x.shape ? *x.shape : Shape{};
    if (x.shape) {
      LB_ASSIGN_OR_RETURN(shape, reshape_target(in, spec, allowzero));
    } else {
      // Unknown input rank: only dims given outright are known.
      Shape out(spec.size(), -1);
      for (size_t i = 0; i < spec.size(); ++i)
        if (spec[i] > 0 || (spec[i] == 0 && allowzero)) out[i] = spec[i];
      shape = out;
    }
  } else if (s.shape && s.shape->size() == 1 && (*s.shape)[0] >= 0) {
    shape = unknown_dims((*s.shape)[0]);
  }
  set_output(c, 0, x.dtype, std::move(shape));
  return Status::ok();
}

Status reshape_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 2));
  const Tensor& x = c.in(0);
  LB_ASSIGN_OR_RETURN(std::vector<int64_t> spec, read_int_list(c.in(1), "Reshape shape"));
  LB_ASSIGN_OR_RETURN(const bool allowzero, reshape_allowzero(c.attrs(), c.opset));
  LB_ASSIGN_OR_RETURN(Shape shape, reshape_target(x.shape(), spec, allowzero));
  c.outputs[0] = x.reshaped(std::move(shape));
  return Status::ok();
}

// Product of dims [b, e), or -1 if any is unknown.
int64_t partial_product(const Shape& s, size_t b, size_t e) {
  int64_t p = 1;
  for (size_t i = b; i < e; ++i) {
    if (s[i] < 0) return -1;
    p *= s[i];
  }
  return p;
}

Result<int64_t> flatten_axis(const ir::Attributes& attrs, int64_t rank) {
  LB_ASSIGN_OR_RETURN(const int64_t axis, attrs.get_int("axis", 1));
  return normalize_split_point(axis, rank, "Flatten axis");
}

Status flatten_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const TensorInfo& x = c.inputs[0];
  std::optional<Shape> shape;
  if (x.shape) {
    LB_ASSIGN_OR_RETURN(const int64_t axis, flatten_axis(c.attrs(), static_cast<int64_t>(x.shape->size())));
    const size_t a = static_cast<size_t>(axis);
    shape = Shape{partial_product(*x.shape, 0, a), partial_product(*x.shape, a, x.shape->size())};
  } else {
    shape = unknown_dims(2);
  }
  set_output(c, 0, x.dtype, std::move(shape));
  return Status::ok();
}

Status flatten_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const Tensor& x = c.in(0);
  LB_ASSIGN_OR_RETURN(const int64_t axis, flatten_axis(c.attrs(), x.rank()));
  const size_t a = static_cast<size_t>(axis);
  c.outputs[0] = x.reshaped({partial_product(x.shape(), 0, a), partial_product(x.shape(), a, x.shape().size())});
  return Status::ok();
}

}  // namespace

extern const OpDef kReshape{"Reshape", 2, 2, reshape_infer, reshape_forward};
extern const OpDef kFlatten{"Flatten", 1, 1, flatten_infer, flatten_forward};

}  // namespace lowbit::ops
