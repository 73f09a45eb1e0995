// quant_op_util.h: what the quantization ops (ONNX's and lowbit's domain) share — reading
// scale / zero-point inputs into per-slot vectors, building slot layouts, and running the
// quantize / dequantize kernels in parallel over a tensor.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/quant/quantize.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {

inline constexpr DTypeSet kQuantizedDTypes = dtype_bit(DType::kI8) | dtype_bit(DType::kU8) | dtype_bit(DType::kI32);

struct SlotParams {
  std::vector<float> scale;
  std::vector<int32_t> zero_point;
};

// Layout of x viewed around `axis` (negative counts from the end), with `group` channels per
// slot or blocks of `block` elements; axis −1 with one scale and no blocks is per-tensor.
// Checks that the number of slots equals `nscale`.
Result<kernels::SlotLayout> per_axis_layout(std::string_view op, const Shape& x, int64_t axis, int64_t nscale,
                                            int64_t group = 1, int64_t block = 0);

// Scales (f32, all finite and > 0) and zero points (any integer dtype, or all 0 when zp is
// null), each with `slots` elements.
Result<SlotParams> read_slot_params(std::string_view op, const Tensor& scale, const Tensor* zp, int64_t slots);

// x as f32 (int32 inputs of QuantizeLinear are converted).
Result<Tensor> as_float(std::string_view op, const Tensor& x);

// Quantizes f32 x into a tensor of dtype `out` (i8, u8 or i32; range must fit it).
Result<Tensor> quantize_to(const Tensor& x, const kernels::SlotLayout& layout, const SlotParams& p,
                           kernels::QuantRange range, kernels::Rounding mode, uint64_t seed, DType out,
                           ThreadPool& pool);
// Dequantizes q (i8, u8 or i32) into f32.
Result<Tensor> dequantize_from(const Tensor& q, const kernels::SlotLayout& layout, const SlotParams& p, ThreadPool& pool);

struct MinMax {
  float lo;
  float hi;
};
// Min and max of the finite values of x[0, n) (0, 0 when there are none).
MinMax min_max(const float* x, int64_t n);

}  // namespace lowbit::ops
