// shape_ops.cc: ops that make shapes or tensors from shapes — Shape, ConstantOfShape, Range.
//
// Shape gives an input's dims as int64 (opset 15: only dims [start, end), both clamped to
// [0, rank] after adding rank to negatives). ConstantOfShape fills a tensor of the shape given
// by its int64 input with the one-element `value` attribute (default f32 0). Range(start, limit,
// delta) gives start + i·delta for i < max(ceil((limit − start) / delta), 0).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

// [start, end) of the dims Shape reports for a tensor of rank `rank`.
Result<std::pair<int64_t, int64_t>> shape_range(const ir::Attributes& attrs, int64_t opset, int64_t rank) {
  int64_t start = 0, end = rank;
  if (opset >= 15) {
    LB_ASSIGN_OR_RETURN(start, attrs.get_int("start", 0));
    LB_ASSIGN_OR_RETURN(end, attrs.get_int("end", rank));
  }
  if (start < 0) start += rank;
  if (end < 0) end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, 0, rank);
  return std::make_pair(start, std::max(start, end));
}

Status shape_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const TensorInfo& x = c.inputs[0];
  std::optional<Shape> shape = Shape{-1};
  if (x.shape) {
    LB_ASSIGN_OR_RETURN(auto r, shape_range(c.attrs(), c.opset, static_cast<int64_t>(x.shape->size())));
    shape = Shape{r.second - r.first};
  }
  set_output(c, 0, DType::kI64, std::move(shape));
  return Status::ok();
}

Status shape_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const Tensor& x = c.in(0);
  LB_ASSIGN_OR_RETURN(auto r, shape_range(c.attrs(), c.opset, x.rank()));
  std::vector<int64_t> dims(x.shape().begin() + r.first, x.shape().begin() + r.second);
  c.outputs[0] = Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims);
  return Status::ok();
}

// The fill value: the `value` attribute (one element) or f32 zero.
Result<Tensor> constant_value(const ir::Attributes& attrs) {
  if (!attrs.has("value")) return Tensor::scalar<float>(0.f);
  LB_ASSIGN_OR_RETURN(Tensor v, attrs.get_tensor("value"));
  if (v.numel() != 1)
    return Status::errorf("ConstantOfShape value must hold one element, got shape {}", shape_str(v.shape()));
  return v;
}

Result<Shape> constant_shape(const Tensor& s) {
  if (s.dtype() != DType::kI64) return Status::errorf("ConstantOfShape input must be int64, got {}", dtype_name(s.dtype()));
  LB_ASSIGN_OR_RETURN(Shape shape, read_int_list(s, "ConstantOfShape input"));
  for (int64_t d : shape)
    if (d < 0) return Status::errorf("ConstantOfShape shape {} has a negative dim", shape_str(shape));
  return shape;
}

Status constant_of_shape_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 1));
  LB_ASSIGN_OR_RETURN(Tensor v, constant_value(c.attrs()));
  std::optional<Shape> shape;
  if (const Tensor* s = const_input(c, 0)) {
    LB_ASSIGN_OR_RETURN(shape, constant_shape(*s));
  } else if (c.inputs[0].shape && c.inputs[0].shape->size() == 1 && (*c.inputs[0].shape)[0] >= 0) {
    shape = unknown_dims((*c.inputs[0].shape)[0]);
  }
  set_output(c, 0, v.dtype(), std::move(shape));
  return Status::ok();
}

Status constant_of_shape_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 1));
  LB_ASSIGN_OR_RETURN(Tensor v, constant_value(c.attrs()));
  LB_ASSIGN_OR_RETURN(Shape shape, constant_shape(c.in(0)));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(v.dtype(), std::move(shape)));
  visit_elem_bits(v.dtype(), [&](auto tag) {
    using U = decltype(tag);
    U fill;
    std::memcpy(&fill, v.raw(), sizeof(U));
    std::fill_n(static_cast<U*>(y.raw()), y.numel(), fill);
    return 0;
  });
  c.outputs[0] = std::move(y);
  return Status::ok();
}

constexpr DTypeSet kRangeDTypes = dtype_bit(DType::kF32) | dtype_bit(DType::kI32) | dtype_bit(DType::kI64);

Status range_check_dtypes(std::optional<DType> a, std::optional<DType> b, std::optional<DType> d) {
  for (const auto& t : {a, b, d})
    if (t) LB_TRY(check_dtype("Range", "input", *t, kRangeDTypes));
  if ((a && b && *a != *b) || (a && d && *a != *d) || (b && d && *b != *d))
    return Status::error("Range inputs start, limit and delta must have one dtype");
  return Status::ok();
}

// Number of elements of Range(start, limit, delta), as numpy's arange counts them.
template <typename T>
Result<int64_t> range_count(T start, T limit, T delta) {
  if (delta == T{0}) return Status::error("Range delta must not be 0");
  double n;
  if constexpr (std::is_integral_v<T>) {
    // Exact ceil((limit − start) / delta) in 128-bit arithmetic (int64 differences can overflow).
    const __int128 diff = static_cast<__int128>(limit) - start, d = delta;
    __int128 q = diff / d;
    if (q * d != diff && ((diff > 0) == (d > 0))) ++q;
    n = static_cast<double>(q);
  } else {
    n = std::ceil((static_cast<double>(limit) - static_cast<double>(start)) / static_cast<double>(delta));
    if (std::isnan(n)) return Status::error("Range of non-finite values");
  }
  if (n <= 0) return int64_t{0};
  if (n > static_cast<double>(int64_t{1} << 48)) return Status::errorf("Range would have {} elements", n);
  return static_cast<int64_t>(n);
}

Status range_scalar_check(const Tensor& t, const char* what) {
  if (t.numel() != 1) return Status::errorf("Range {} must be a scalar, got shape {}", what, shape_str(t.shape()));
  return Status::ok();
}

Status range_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 3));
  LB_TRY(range_check_dtypes(c.inputs[0].dtype, c.inputs[1].dtype, c.inputs[2].dtype));
  std::optional<DType> dtype = c.inputs[0].dtype ? c.inputs[0].dtype : c.inputs[1].dtype;
  Shape shape{-1};
  const Tensor* s = const_input(c, 0);
  const Tensor* l = const_input(c, 1);
  const Tensor* d = const_input(c, 2);
  if (s && l && d && s->numel() == 1 && l->numel() == 1 && d->numel() == 1 && s->dtype() == l->dtype() &&
      s->dtype() == d->dtype()) {
    Result<int64_t> n = visit_numeric(s->dtype(), [&](auto tag) -> Result<int64_t> {
      using T = decltype(tag);
      return range_count<T>(static_cast<const T*>(s->raw())[0], static_cast<const T*>(l->raw())[0],
                            static_cast<const T*>(d->raw())[0]);
    });
    if (!n) return n.status();
    shape = Shape{*n};
  }
  set_output(c, 0, dtype, shape);
  return Status::ok();
}

Status range_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 3));
  const Tensor& s = c.in(0);
  const Tensor& l = c.in(1);
  const Tensor& d = c.in(2);
  LB_TRY(range_check_dtypes(s.dtype(), l.dtype(), d.dtype()));
  LB_TRY(range_scalar_check(s, "start"));
  LB_TRY(range_scalar_check(l, "limit"));
  LB_TRY(range_scalar_check(d, "delta"));
  Result<Tensor> out = visit_numeric(s.dtype(), [&](auto tag) -> Result<Tensor> {
    using T = decltype(tag);
    const T start = static_cast<const T*>(s.raw())[0];
    const T delta = static_cast<const T*>(d.raw())[0];
    LB_ASSIGN_OR_RETURN(const int64_t n, range_count<T>(start, static_cast<const T*>(l.raw())[0], delta));
    LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(s.dtype(), {n}));
    T* p = static_cast<T*>(y.raw());
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_integral_v<T>) {
        // start + i·delta lies in [start, limit), but i·delta alone may not fit T.
        p[i] = static_cast<T>(static_cast<__int128>(start) + static_cast<__int128>(i) * delta);
      } else {
        p[i] = start + static_cast<T>(i) * delta;
      }
    }
    return y;
  });
  if (!out) return out.status();
  c.outputs[0] = std::move(out).value();
  return Status::ok();
}

}  // namespace

extern const OpDef kShape{"Shape", 1, 1, shape_infer, shape_forward};
extern const OpDef kConstantOfShape{"ConstantOfShape", 1, 1, constant_of_shape_infer, constant_of_shape_forward};
extern const OpDef kRange{"Range", 3, 3, range_infer, range_forward};

}  // namespace lowbit::ops
