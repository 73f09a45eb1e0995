// integer_linear.h: what ONNX's integer Conv / MatMul ops share (ConvInteger, MatMulInteger,
// QLinearConv, QLinearMatMul) — reading scales and zero points, the exact int32 conv and
// matmul cores, and the float requantization of an int32 accumulator.
//
// The cores compute with the zero points subtracted first:
//   acc = Σ (x − x_zero) · (w − w_zero) (+ bias)     in int32
// Both differences lie in [−255, 255], so each product fits 16 bits times 16 bits and
// 32768 of them (|Σ| ≤ 32768 · 65025 < 2^31) fit an int32; longer sums add such chunks
// modulo 2^32, so an accumulator that fits int32 is exact and one that does not wraps (ONNX
// leaves int32 overflow undefined; ONNX Runtime wraps too).
#pragma once

#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "ops/conv_util.h"
#include "ops/matmul_plan.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {

inline constexpr DTypeSet kInt8DTypes = dtype_bit(DType::kI8) | dtype_bit(DType::kU8);

// --- Scales and zero points -------------------------------------------------------------

// One element (rank 0, or rank 1 of size 1): a per-tensor parameter.
bool is_single(const Shape& s);

// Scale `what` of op `op`: float32, every value positive and finite; one element (per tensor),
// or, when n ≥ 0, a 1-D tensor of n elements (per channel). Returns 1 or n values.
Result<std::vector<float>> read_scale(std::string_view op, std::string_view what, const Tensor& s, int64_t n);

// Zero point `what` of a tensor of dtype `data` (it must have that dtype); nullptr reads as 0.
// Shapes as for read_scale. Returns 1 or n values.
Result<std::vector<int32_t>> read_zero_point(std::string_view op, std::string_view what, const Tensor* z, DType data,
                                             int64_t n);

// Value i of a per-tensor (size 1) or per-channel parameter vector.
template <typename T>
inline T param_at(const std::vector<T>& v, int64_t i) {
  return v.size() == 1 ? v[0] : v[static_cast<size_t>(i)];
}

// y = saturate(round_half_even(acc · m) + zero) into [lo, hi], the way ONNX's reference
// implementation requantizes: the multiplier m (x_scale · w_scale / y_scale) is computed in
// float32, the product in double — exact for |acc| < 2^29, so no second rounding can move a
// value across a .5 (ONNX Runtime's float32 product may, on rare near-ties). `m` is finite
// (check_multiplier).
inline int32_t requantize(int32_t acc, float m, int32_t zero, int32_t lo, int32_t hi) {
  double v = static_cast<double>(acc) * static_cast<double>(m);
  // Clamp before converting: keeps the conversion defined for any acc and m.
  const double dlo = lo - zero, dhi = hi - zero;
  if (!(v >= dlo)) v = dlo;
  if (v > dhi) v = dhi;
  return static_cast<int32_t>(std::nearbyint(v)) + zero;  // default rounding mode: half to even
}

// Error unless the requantization multiplier (x_scale · w_scale / y_scale, in float32) is
// finite: huge scale ratios overflow it.
Status check_multiplier(std::string_view op, float m);

// Shape inference's dtype checks: error when input zi (a zero point) and input di (its tensor)
// both have known dtypes that differ; `what` names the zero point.
Status check_zero_dtype(std::string_view op, const InferCtx& c, size_t zi, size_t di, std::string_view what);

// Shape inference of a QLinear op's output dtype: that of y_zero_point (input yi), u8 or i8;
// nullopt while unknown.
Result<std::optional<DType>> infer_qlinear_dtype(std::string_view op, const InferCtx& c, size_t yi);

// Output range of a u8 / i8 result.
inline int32_t qmin(DType t) { return t == DType::kI8 ? -128 : 0; }
inline int32_t qmax(DType t) { return t == DType::kI8 ? 127 : 255; }

// --- Convolution ------------------------------------------------------------------------

// setup_conv (conv_util.h) with errors prefixed by `op`.
Result<ConvSetup> int_conv_setup(std::string_view op, const ir::Attributes& a, const Shape& x, const Shape& w);

// Shape inference of x (input xi) and w (input wi): both u8 or i8 where known; the output shape
// when the ranks are known, else an empty shape (a conv output is never a scalar).
Result<Shape> infer_int_conv(std::string_view op, const InferCtx& c, size_t xi, size_t wi);

// y [N, M, out...] int32 = conv(x − x_zero, w − w_zero[m]) + bias[m], x and w u8 or i8 (checked
// by the caller), w_zero of size 1 or M, bias [M] or nullptr. Parallel over images, groups and
// blocks of output positions.
Result<Tensor> conv_integer(std::string_view op, const Tensor& x, int32_t x_zero, const Tensor& w,
                            const std::vector<int32_t>& w_zero, const int32_t* bias, const ConvSetup& s,
                            ThreadPool& pool);

// --- Matrix multiplication --------------------------------------------------------------

// MatMul's numpy semantics: a 1-D A is a row [1, K], a 1-D B a column [K, 1] (the added dim is
// dropped from the result); batch dims broadcast.
// plan_matmul (matmul_plan.h) with errors prefixed by `op`.
Result<MatMulPlan> plan_int_matmul(std::string_view op, const Shape& a, const Shape& b);

// A parameter of A per row or of B per column, possibly per batch of that operand:
// value(batch, i) = v[batch · batch_stride + i · stride] (strides 0 where it is shared).
template <typename T>
struct MatParam {
  std::vector<T> v;
  int64_t batch_stride = 0, stride = 0;
  T at(int64_t batch, int64_t i) const { return v[static_cast<size_t>(batch * batch_stride + i * stride)]; }
};

// Reads a scale (T = float) or zero point (T = int32_t) of A (`of_a`: per row) or B (per
// column) for operand `data` of shape `shape`: one element; 1-D of M rows / N columns; or, when
// `allow_nd` and the operand has rank ≥ 2, its own shape with K replaced by 1 ([..., M, 1] for A,
// [..., 1, N] for B: per batch and row / column). Zero points must have the operand's dtype
// (nullptr: 0); scales must be float32, positive and finite.
Result<MatParam<float>> read_mat_scale(std::string_view op, std::string_view what, const Tensor& s, const Shape& shape,
                                       bool of_a, bool allow_nd);
Result<MatParam<int32_t>> read_mat_zero_point(std::string_view op, std::string_view what, const Tensor* z,
                                              const Tensor& data, bool of_a, bool allow_nd);

// The batches of a MatMul: for broadcast batch i, the batch of A and of B it reads.
struct MatMulBatches {
  std::vector<int64_t> a, b;
};
// For a plan with known dims whose result is not empty.
MatMulBatches matmul_batches(const MatMulPlan& p);

// y int32 = (A − a_zero) @ (B − b_zero) with the plan's broadcasting; A and B u8 or i8 (checked
// by the caller). Parallel over batches and blocks of rows.
Result<Tensor> matmul_integer(std::string_view op, const Tensor& a, const MatParam<int32_t>& a_zero, const Tensor& b,
                              const MatParam<int32_t>& b_zero, const MatMulPlan& p, ThreadPool& pool);

}  // namespace lowbit::ops
