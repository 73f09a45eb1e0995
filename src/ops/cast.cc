// cast.cc: Cast to the dtype named by the `to` attribute (an ONNX TensorProto.DataType code),
// between f32, i8, u8, i32, i64 and bool, with numpy's astype results (ONNX's tests use them):
//   float → int: truncation toward zero; NaN → 0 and out-of-range values saturate for i32/i64
//     (numpy leaves those undefined); i8/u8 go through int32 and wrap, as numpy does on x86.
//   int → int: two's-complement wrap;  any → bool: x != 0;  bool → any: 0 or 1.
// lowbit holds DOUBLE and FLOAT16 data as f32 (the importer converts such tensors), so Cast to
// DOUBLE gives f32 and Cast to FLOAT16 gives f32 rounded to the nearest half-precision value
// (ties to even; beyond ±65504 to ±inf; subnormal halves kept) — what a float16 round trip yields.
#include <cmath>
#include <type_traits>

#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

struct CastTarget {
  DType dtype;
  bool to_half = false;  // FLOAT16: round the f32 result to half precision
};

// ONNX TensorProto.DataType code → target, or an error naming the unsupported type.
Result<CastTarget> onnx_code_target(int64_t code) {
  switch (code) {
    case 1: return CastTarget{DType::kF32};
    case 2: return CastTarget{DType::kU8};
    case 3: return CastTarget{DType::kI8};
    case 6: return CastTarget{DType::kI32};
    case 7: return CastTarget{DType::kI64};
    case 9: return CastTarget{DType::kBool};
    case 10: return CastTarget{DType::kF32, true};
    case 11: return CastTarget{DType::kF32};
    default: break;
  }
  static constexpr const char* kNames[] = {"UNDEFINED", "FLOAT",  "UINT8",  "INT8",      "UINT16",     "INT16",
                                           "INT32",     "INT64",  "STRING", "BOOL",      "FLOAT16",    "DOUBLE",
                                           "UINT32",    "UINT64", "COMPLEX64", "COMPLEX128", "BFLOAT16"};
  if (code >= 0 && code < static_cast<int64_t>(std::size(kNames)))
    return Status::errorf("Cast to {} is not supported (supported: FLOAT, UINT8, INT8, INT32, INT64, BOOL, "
                          "DOUBLE and FLOAT16 as f32)",
                          kNames[code]);
  return Status::errorf("Cast 'to' has unknown data type code {}", code);
}

Result<CastTarget> cast_target(const ir::Attributes& attrs) {
  LB_ASSIGN_OR_RETURN(const int64_t to, attrs.get_int("to"));
  return onnx_code_target(to);
}

// The nearest IEEE half-precision value to v, as a float. Scaling by powers of two is exact,
// so rounding v / quantum to an integer (ties to even) and scaling back rounds to the half grid.
float round_to_half(float v) {
  if (!std::isfinite(v) || v == 0.f) return v;
  const float a = std::fabs(v);
  if (a >= 65520.f) return std::copysign(INFINITY, v);  // rounds past the largest half, 65504
  int e;
  std::frexp(a, &e);                    // a = m · 2^e, m in [0.5, 1): 11 significant bits → quantum 2^(e−11)
  const int q = std::max(e - 11, -24);  // below 2^-14 halves are subnormal with quantum 2^-24
  return std::copysign(std::ldexp(std::nearbyint(std::ldexp(a, -q)), q), v);
}

Status cast_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 1));
  LB_ASSIGN_OR_RETURN(const CastTarget to, cast_target(c.attrs()));
  set_output(c, 0, to.dtype, c.inputs[0].shape);
  return Status::ok();
}

// One element From → To by the rules above.
template <typename To, typename From>
To convert(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != From{0};
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if constexpr (sizeof(To) < 4) {
      return static_cast<To>(float_to_int<int32_t>(v));
    } else {
      return float_to_int<To>(v);
    }
  } else {
    return static_cast<To>(v);
  }
}

// Calls f(T{}) with T the C++ type of any dtype, bool included.
template <typename F>
decltype(auto) visit_any(DType t, F&& f) {
  if (t == DType::kBool) return f(bool{});
  return visit_numeric(t, std::forward<F>(f));
}

Status cast_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const Tensor& x = c.in(0);
  LB_ASSIGN_OR_RETURN(const CastTarget target, cast_target(c.attrs()));
  const DType to = target.dtype;
  if (to == x.dtype() && !target.to_half) {
    c.outputs[0] = x.clone();
    return Status::ok();
  }
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(to, x.shape()));
  visit_any(x.dtype(), [&](auto from_tag) {
    using From = decltype(from_tag);
    visit_any(to, [&](auto to_tag) {
      using To = decltype(to_tag);
      if constexpr (std::is_same_v<From, bool>) {
        // Read bools as bytes: a loaded tensor may hold any non-zero byte for true.
        parallel_map(static_cast<const uint8_t*>(x.raw()), static_cast<To*>(y.raw()), x.numel(), c.pool,
                     [](uint8_t v) { return static_cast<To>(v != 0); });
      } else {
        parallel_map(static_cast<const From*>(x.raw()), static_cast<To*>(y.raw()), x.numel(), c.pool,
                     [](From v) { return convert<To, From>(v); });
      }
      return 0;
    });
    return 0;
  });
  if (target.to_half) {
    float* p = y.data<float>();
    parallel_map(p, p, y.numel(), c.pool, round_to_half);
  }
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kCast{"Cast", 1, 1, cast_infer, cast_forward};

}  // namespace lowbit::ops
