// tensor_op_util.h: helpers shared by the tensor ops — dtype checks and dispatch, reading
// shape-like integer inputs, input/output presence, and the parallel elementwise map.
#pragma once

#include <cstdint>
#include <limits>
#include <string_view>
#include <vector>

#include "core/check.h"
#include "core/status.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "ops/op.h"

namespace lowbit::ops {

// Elements per parallel_for chunk for cheap elementwise loops: big enough that a chunk costs
// far more than the hand-off (~µs), small enough that batch-64 activations split across cores.
inline constexpr int64_t kElementwiseGrain = 16384;

// A set of dtypes as a bit mask, for "which dtypes does this op accept" checks.
using DTypeSet = uint32_t;
inline constexpr DTypeSet dtype_bit(DType t) { return DTypeSet{1} << static_cast<unsigned>(t); }
inline constexpr DTypeSet kFloatDTypes = dtype_bit(DType::kF32);
inline constexpr DTypeSet kIndexDTypes = dtype_bit(DType::kI32) | dtype_bit(DType::kI64);
inline constexpr DTypeSet kNumericDTypes = dtype_bit(DType::kF32) | dtype_bit(DType::kI8) | dtype_bit(DType::kU8) |
                                           dtype_bit(DType::kI32) | dtype_bit(DType::kI64);
inline constexpr DTypeSet kAllDTypes = kNumericDTypes | dtype_bit(DType::kBool);

// "f32, i32, i64": the members of a set, for error messages.
std::string dtype_set_str(DTypeSet set);

// Error unless `t` is in `allowed`: "<op> does not support <what> of dtype i32 (supported: f32)".
Status check_dtype(std::string_view op, std::string_view what, DType t, DTypeSet allowed);

// Calls f(T{}) where T is the C++ type of a numeric dtype (f32, i8, u8, i32, i64); the caller
// has checked the dtype is numeric (bool is an internal error).
template <typename F>
decltype(auto) visit_numeric(DType t, F&& f) {
  switch (t) {
    case DType::kI8: return f(int8_t{});
    case DType::kU8: return f(uint8_t{});
    case DType::kI32: return f(int32_t{});
    case DType::kI64: return f(int64_t{});
    case DType::kF32: break;
    case DType::kBool: LB_CHECK(false, "visit_numeric: bool is not numeric");
  }
  return f(float{});
}

// Calls f(U{}) with U an unsigned integer as wide as one element of `t`, for byte-moving ops.
template <typename F>
decltype(auto) visit_elem_bits(DType t, F&& f) {
  switch (dtype_size(t)) {
    case 1: return f(uint8_t{});
    case 4: return f(uint32_t{});
    case 8: return f(uint64_t{});
    default: break;
  }
  LB_CHECK(false, "visit_elem_bits: unexpected element size");
  return f(uint8_t{});
}

// A shape-like integer tensor (int32 or int64, rank 0 or 1) as int64 values; `what` names it in errors.
Result<std::vector<int64_t>> read_int_list(const Tensor& t, std::string_view what);

// Error unless the first n inputs are present (a model may pass "" for a required input).
Status require_inputs(const InferCtx& c, size_t n);
Status require_inputs(const RunCtx& c, size_t n);

// Whether the node wants output i (it may omit optional outputs).
inline bool wants_output(const ir::Node& node, size_t i) {
  return i < node.outputs.size() && node.outputs[i] != ir::kNoValue;
}

// Constant contents of input i during inference, or nullptr when absent or unknown.
inline const Tensor* const_input(const InferCtx& c, size_t i) { return c.has_input(i) ? c.inputs[i].value : nullptr; }

// Rank of input i during inference, or -1 when unknown.
inline int64_t known_rank(const InferCtx& c, size_t i) {
  return c.has_input(i) && c.inputs[i].shape ? static_cast<int64_t>(c.inputs[i].shape->size()) : -1;
}

// Sets what infer knows about output i (no-op when the node has no such output slot).
inline void set_output(InferCtx& c, size_t i, std::optional<DType> dtype, std::optional<Shape> shape) {
  if (i >= c.outputs.size()) return;
  c.outputs[i].dtype = dtype;
  c.outputs[i].shape = std::move(shape);
}

// A shape of `rank` unknown dims.
inline Shape unknown_dims(int64_t rank) { return Shape(static_cast<size_t>(rank), -1); }

// out[i] = f(in[i]) for i in [0, n), split across the pool. Pointers are captured by value:
// stores through a byte-typed `out` could otherwise alias captured pointer variables, forcing
// reloads that stop vectorization. `in` may equal `out` (an in-place map).
template <typename T, typename U, typename F>
void parallel_map(const T* in, U* out, int64_t n, ThreadPool& pool, F f) {
  pool.parallel_for(n, kElementwiseGrain, [in, out, f](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = f(in[i]);
  });
}

// Float → integer T the way numpy's astype does it for in-range values (truncation toward
// zero), made total for untrusted data: NaN gives 0 and out-of-range values saturate.
template <typename T>
T float_to_int(double v) {
  if (!(v == v)) return T{0};
  constexpr double lo = static_cast<double>(std::numeric_limits<T>::lowest());
  constexpr double hi = static_cast<double>(std::numeric_limits<T>::max());
  if (v <= lo) return std::numeric_limits<T>::lowest();
  if (v >= hi) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

}  // namespace lowbit::ops
