// unary.cc: elementwise activations and math — Relu, LeakyRelu, Sigmoid, Tanh, HardSigmoid,
// HardSwish, Erf, Sqrt, Exp, Log, Reciprocal (f32), and Neg, Abs (f32 and integers).
//
// Each op is y = f(x) with the ONNX definition of f written beside it; NaN propagates the way
// numpy's reference does (comparisons are written so a NaN input gives a NaN output). Exp,
// Sigmoid, Tanh and Erf use the branch-free kernels/elementwise/fast_math.h forms (≤ 3 ulp,
// erf ≤ 5e-7), which vectorize; libm's are scalar calls 5-30× slower.
#include <cmath>
#include <type_traits>

#include "kernels/elementwise/fast_math.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

constexpr DTypeSet kSignedDTypes =
    dtype_bit(DType::kF32) | dtype_bit(DType::kI8) | dtype_bit(DType::kI32) | dtype_bit(DType::kI64);

// Output has the input's dtype and shape; the dtype must be in `kAllowed`.
template <DTypeSet kAllowed>
Status unary_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const TensorInfo& x = c.inputs[0];
  if (x.dtype) LB_TRY(check_dtype(c.node.op_type, "input", *x.dtype, kAllowed));
  set_output(c, 0, x.dtype, x.shape);
  return Status::ok();
}

// y = f(x) over an f32 tensor.
template <typename F>
Status float_unary(RunCtx& c, F f) {
  LB_TRY(require_inputs(c, 1));
  const Tensor& x = c.in(0);
  LB_TRY(check_dtype(c.node.op_type, "input", x.dtype(), kFloatDTypes));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(x.dtype(), x.shape()));
  parallel_map(x.data<float>(), y.data<float>(), x.numel(), c.pool, f);
  c.outputs[0] = std::move(y);
  return Status::ok();
}

// y = max(x, 0)
Status relu_forward(RunCtx& c) {
  return float_unary(c, [](float v) { return kernels::max_f32(v, 0.f); });
}

// y = x for x >= 0, alpha·x otherwise (alpha defaults to 0.01)
Status leaky_relu_forward(RunCtx& c) {
  LB_ASSIGN_OR_RETURN(const float alpha, c.attrs().get_float("alpha", 0.01f));
  return float_unary(c, [alpha](float v) { return kernels::select_f32(v < 0.f, alpha * v, v); });
}

// y = 1 / (1 + e^-x)
Status sigmoid_forward(RunCtx& c) {
  return float_unary(c, [](float v) { return kernels::sigmoid_f32(v); });
}

Status tanh_forward(RunCtx& c) {
  return float_unary(c, [](float v) { return kernels::tanh_f32(v); });
}

// clamp(t, 0, 1); a NaN t stays NaN.
inline float clamp01(float t) { return kernels::min_f32(kernels::max_f32(t, 0.f), 1.f); }

// y = max(0, min(1, alpha·x + beta)), alpha = 0.2 and beta = 0.5 by default
Status hard_sigmoid_forward(RunCtx& c) {
  LB_ASSIGN_OR_RETURN(const float alpha, c.attrs().get_float("alpha", 0.2f));
  LB_ASSIGN_OR_RETURN(const float beta, c.attrs().get_float("beta", 0.5f));
  return float_unary(c, [alpha, beta](float v) { return clamp01(alpha * v + beta); });
}

// y = x · max(0, min(1, x/6 + 1/2))  (HardSwish-14: HardSigmoid with alpha = 1/6, beta = 0.5)
Status hard_swish_forward(RunCtx& c) {
  return float_unary(c, [](float v) { return v * clamp01(v * (1.f / 6.f) + 0.5f); });
}

Status erf_forward(RunCtx& c) {
  return float_unary(c, [](float v) { return kernels::erf_f32(v); });
}

// Round: halves to even (the default floating-point rounding mode), as ONNX specifies.
Status round_forward(RunCtx& c) {
  return float_unary(c, [](float v) { return std::nearbyint(v); });
}

Status sqrt_forward(RunCtx& c) {
  return float_unary(c, [](float v) { return std::sqrt(v); });
}

Status exp_forward(RunCtx& c) {
  return float_unary(c, [](float v) { return kernels::exp_f32(v); });
}

Status log_forward(RunCtx& c) {
  return float_unary(c, [](float v) { return std::log(v); });
}

Status reciprocal_forward(RunCtx& c) {
  return float_unary(c, [](float v) { return 1.f / v; });
}

// y = f(x) for any numeric dtype in `allowed`; f is called with the element type.
template <typename F>
Status numeric_unary(RunCtx& c, DTypeSet allowed, F f) {
  LB_TRY(require_inputs(c, 1));
  const Tensor& x = c.in(0);
  LB_TRY(check_dtype(c.node.op_type, "input", x.dtype(), allowed));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(x.dtype(), x.shape()));
  visit_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    parallel_map(static_cast<const T*>(x.raw()), static_cast<T*>(y.raw()), x.numel(), c.pool,
                 [&](T v) { return f(v); });
    return 0;
  });
  c.outputs[0] = std::move(y);
  return Status::ok();
}

// Integer negation wraps (−INT_MIN = INT_MIN, as numpy); unsigned arithmetic avoids the UB.
template <typename T>
T negate(T v) {
  if constexpr (std::is_integral_v<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(U{0} - static_cast<U>(v)));
  } else {
    return -v;
  }
}

Status neg_forward(RunCtx& c) {
  return numeric_unary(c, kSignedDTypes, [](auto v) { return negate(v); });
}

Status abs_forward(RunCtx& c) {
  return numeric_unary(c, kNumericDTypes, [](auto v) {
    using T = decltype(v);
    if constexpr (std::is_unsigned_v<T>) {
      return v;
    } else {
      return v < T{0} ? negate(v) : v;
    }
  });
}

}  // namespace

extern const OpDef kRelu{"Relu", 1, 1, unary_infer<kFloatDTypes>, relu_forward};
extern const OpDef kLeakyRelu{"LeakyRelu", 1, 1, unary_infer<kFloatDTypes>, leaky_relu_forward};
extern const OpDef kSigmoid{"Sigmoid", 1, 1, unary_infer<kFloatDTypes>, sigmoid_forward};
extern const OpDef kTanh{"Tanh", 1, 1, unary_infer<kFloatDTypes>, tanh_forward};
extern const OpDef kHardSigmoid{"HardSigmoid", 1, 1, unary_infer<kFloatDTypes>, hard_sigmoid_forward};
extern const OpDef kHardSwish{"HardSwish", 1, 1, unary_infer<kFloatDTypes>, hard_swish_forward};
extern const OpDef kErf{"Erf", 1, 1, unary_infer<kFloatDTypes>, erf_forward};
extern const OpDef kRound{"Round", 1, 1, unary_infer<kFloatDTypes>, round_forward};
extern const OpDef kSqrt{"Sqrt", 1, 1, unary_infer<kFloatDTypes>, sqrt_forward};
extern const OpDef kExp{"Exp", 1, 1, unary_infer<kFloatDTypes>, exp_forward};
extern const OpDef kLog{"Log", 1, 1, unary_infer<kFloatDTypes>, log_forward};
extern const OpDef kReciprocal{"Reciprocal", 1, 1, unary_infer<kFloatDTypes>, reciprocal_forward};
extern const OpDef kNeg{"Neg", 1, 1, unary_infer<kSignedDTypes>, neg_forward};
extern const OpDef kAbs{"Abs", 1, 1, unary_infer<kNumericDTypes>, abs_forward};

}  // namespace lowbit::ops
