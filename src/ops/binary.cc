// binary.cc: broadcasting arithmetic — Add, Sub, Mul, Div, Pow — and the comparison Equal.
//
// Add/Sub/Mul/Div take two inputs of one numeric dtype (f32, i8, u8, i32, i64). Integer
// arithmetic wraps like numpy (done in unsigned arithmetic, so no signed-overflow UB); integer
// Div truncates toward zero like C and ONNX Runtime (numpy's // floors: they differ only for
// operands of opposite sign), divides INT_MIN by -1 to INT_MIN, and rejects a zero divisor.
// Pow (opset 12+) allows different base and exponent dtypes; the output has the base's dtype.
// Equal compares any two tensors of one dtype and gives bool.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "ops/broadcast.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

// Shape inference shared by the binary ops: checks dtypes, broadcasts shapes.
// `same_dtype`: both inputs must agree; `out` overrides the output dtype (Equal: bool).
Status binary_infer_impl(InferCtx& c, DTypeSet a_allowed, DTypeSet b_allowed, bool same_dtype,
                         std::optional<DType> out) {
  LB_TRY(require_inputs(c, 2));
  const TensorInfo& a = c.inputs[0];
  const TensorInfo& b = c.inputs[1];
  if (a.dtype) LB_TRY(check_dtype(c.node.op_type, "input A", *a.dtype, a_allowed));
  if (b.dtype) LB_TRY(check_dtype(c.node.op_type, "input B", *b.dtype, b_allowed));
  if (same_dtype && a.dtype && b.dtype && *a.dtype != *b.dtype)
    return Status::errorf("{} inputs have different dtypes {} and {}", c.node.op_type, dtype_name(*a.dtype),
                          dtype_name(*b.dtype));
  std::optional<Shape> shape;
  if (a.shape && b.shape) {
    LB_ASSIGN_OR_RETURN(shape, broadcast_shape_partial(*a.shape, *b.shape));
  }
  set_output(c, 0, out ? out : a.dtype, std::move(shape));
  return Status::ok();
}

Status arith_infer(InferCtx& c) { return binary_infer_impl(c, kNumericDTypes, kNumericDTypes, true, std::nullopt); }
Status pow_infer(InferCtx& c) { return binary_infer_impl(c, kNumericDTypes, kNumericDTypes, false, std::nullopt); }
Status equal_infer(InferCtx& c) { return binary_infer_impl(c, kAllDTypes, kAllDTypes, true, DType::kBool); }

// Validates a same-dtype binary op's inputs and allocates its broadcast output.
Result<Tensor> binary_output(RunCtx& c, DTypeSet allowed, std::optional<DType> out_dtype) {
  LB_TRY(require_inputs(c, 2));
  const Tensor& a = c.in(0);
  const Tensor& b = c.in(1);
  LB_TRY(check_dtype(c.node.op_type, "input A", a.dtype(), allowed));
  if (a.dtype() != b.dtype())
    return Status::errorf("{} inputs have different dtypes {} and {}", c.node.op_type, dtype_name(a.dtype()),
                          dtype_name(b.dtype()));
  LB_ASSIGN_OR_RETURN(Shape shape, broadcast_shape(a.shape(), b.shape()));
  return Tensor::make_uninit(out_dtype.value_or(a.dtype()), std::move(shape));  // broadcast_binary writes all
}

template <typename T>
using Wide = std::make_unsigned_t<T>;

enum class Arith { kAdd, kSub, kMul };

// a ∘ b with integer wrap-around done in unsigned arithmetic.
template <Arith kOp, typename T>
T arith(T a, T b) {
  if constexpr (std::is_integral_v<T>) {
    using U = Wide<T>;
    const U x = static_cast<U>(a), y = static_cast<U>(b);
    if constexpr (kOp == Arith::kAdd) return static_cast<T>(static_cast<U>(x + y));
    if constexpr (kOp == Arith::kSub) return static_cast<T>(static_cast<U>(x - y));
    if constexpr (kOp == Arith::kMul) return static_cast<T>(static_cast<U>(x * y));
  } else {
    if constexpr (kOp == Arith::kAdd) return a + b;
    if constexpr (kOp == Arith::kSub) return a - b;
    if constexpr (kOp == Arith::kMul) return a * b;
  }
}

template <Arith kOp>
Status arith_forward(RunCtx& c) {
  LB_ASSIGN_OR_RETURN(Tensor y, binary_output(c, kNumericDTypes, std::nullopt));
  visit_numeric(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    broadcast_binary<T, T, T>(c.in(0), c.in(1), y, c.pool, [](T a, T b) { return arith<kOp, T>(a, b); });
    return 0;
  });
  c.outputs[0] = std::move(y);
  return Status::ok();
}

Status div_forward(RunCtx& c) {
  LB_ASSIGN_OR_RETURN(Tensor y, binary_output(c, kNumericDTypes, std::nullopt));
  const Tensor& b = c.in(1);
  Status st = visit_numeric(y.dtype(), [&](auto tag) -> Status {
    using T = decltype(tag);
    if constexpr (std::is_integral_v<T>) {
      const T* pb = static_cast<const T*>(b.raw());
      if (std::find(pb, pb + b.numel(), T{0}) != pb + b.numel())
        return Status::error("Div: integer division by zero");
      broadcast_binary<T, T, T>(c.in(0), b, y, c.pool, [](T x, T d) -> T {
        if constexpr (std::is_signed_v<T>) {
          if (d == T{-1}) return static_cast<T>(Wide<T>{0} - static_cast<Wide<T>>(x));  // INT_MIN / -1 wraps
        }
        return static_cast<T>(x / d);
      });
    } else {
      broadcast_binary<T, T, T>(c.in(0), b, y, c.pool, [](T x, T d) { return x / d; });
    }
    return Status::ok();
  });
  LB_TRY(st);
  c.outputs[0] = std::move(y);
  return Status::ok();
}

// Integer power by squaring for exponents ≥ 0 (wrapping like numpy); other cases through
// double pow, truncated toward zero and saturated.
template <typename T, typename E>
T int_pow(T base, E e) {
  if constexpr (std::is_integral_v<E>) {
    if (std::is_unsigned_v<E> || e >= E{0}) {
      using U = Wide<T>;
      U result = 1, x = static_cast<U>(base);
      auto n = static_cast<std::make_unsigned_t<E>>(e);
      while (n) {
        if (n & 1u) result = static_cast<U>(result * x);
        x = static_cast<U>(x * x);
        n >>= 1;
      }
      return static_cast<T>(result);
    }
  }
  return float_to_int<T>(std::pow(static_cast<double>(base), static_cast<double>(e)));
}

// Float power by a scalar exponent, with the common small integer exponents as products.
Tensor pow_float_scalar(const Tensor& a, float e, Tensor y, ThreadPool& pool) {
  const float* x = a.data<float>();
  float* o = y.data<float>();
  const int64_t n = y.numel();
  if (e == 2.f) {
    parallel_map(x, o, n, pool, [](float v) { return v * v; });
  } else if (e == 3.f) {
    parallel_map(x, o, n, pool, [](float v) { return v * v * v; });
  } else if (e == 1.f) {
    parallel_map(x, o, n, pool, [](float v) { return v; });
  } else {
    parallel_map(x, o, n, pool, [e](float v) { return std::pow(v, e); });
  }
  return y;
}

Status pow_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 2));
  const Tensor& a = c.in(0);
  const Tensor& b = c.in(1);
  LB_TRY(check_dtype("Pow", "base", a.dtype(), kNumericDTypes));
  LB_TRY(check_dtype("Pow", "exponent", b.dtype(), kNumericDTypes));
  LB_ASSIGN_OR_RETURN(Shape shape, broadcast_shape(a.shape(), b.shape()));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(a.dtype(), std::move(shape)));
  if (a.dtype() == DType::kF32 && b.numel() == 1 && y.numel() == a.numel()) {
    c.outputs[0] = pow_float_scalar(a, static_cast<float>(b.at_f64(0)), std::move(y), c.pool);
    return Status::ok();
  }
  visit_numeric(a.dtype(), [&](auto base_tag) {
    using T = decltype(base_tag);
    visit_numeric(b.dtype(), [&](auto exp_tag) {
      using E = decltype(exp_tag);
      broadcast_binary<T, E, T>(a, b, y, c.pool, [](T x, E e) -> T {
        if constexpr (std::is_floating_point_v<T>) {
          return std::pow(x, static_cast<T>(e));
        } else {
          return int_pow<T, E>(x, e);
        }
      });
      return 0;
    });
    return 0;
  });
  c.outputs[0] = std::move(y);
  return Status::ok();
}

Status equal_forward(RunCtx& c) {
  LB_ASSIGN_OR_RETURN(Tensor y, binary_output(c, kAllDTypes, DType::kBool));
  const Tensor& a = c.in(0);
  if (a.dtype() == DType::kBool) {  // bytes may hold any non-zero value for true
    broadcast_binary<uint8_t, uint8_t, bool>(a, c.in(1), y, c.pool,
                                            [](uint8_t x, uint8_t z) { return (x != 0) == (z != 0); });
  } else {
    visit_numeric(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      broadcast_binary<T, T, bool>(a, c.in(1), y, c.pool, [](T x, T z) { return x == z; });
      return 0;
    });
  }
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kAdd{"Add", 2, 2, arith_infer, arith_forward<Arith::kAdd>};
extern const OpDef kSub{"Sub", 2, 2, arith_infer, arith_forward<Arith::kSub>};
extern const OpDef kMul{"Mul", 2, 2, arith_infer, arith_forward<Arith::kMul>};
extern const OpDef kDiv{"Div", 2, 2, arith_infer, div_forward};
extern const OpDef kPow{"Pow", 2, 2, pow_infer, pow_forward};
extern const OpDef kEqual{"Equal", 2, 2, equal_infer, equal_forward};

}  // namespace lowbit::ops
