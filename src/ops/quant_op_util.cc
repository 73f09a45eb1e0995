// quant_op_util.cc: slot layouts, scale/zero-point reading and parallel (de)quantization.
#include "ops/quant_op_util.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lowbit::ops {

Result<kernels::SlotLayout> per_axis_layout(std::string_view op, const Shape& x, int64_t axis, int64_t nscale,
                                            int64_t group, int64_t block) {
  kernels::SlotLayout l;
  for (int64_t d : x)
    if (d < 0) return Status::errorf("{}: input shape {} has unknown dims", op, shape_str(x));
  const int64_t n = numel(x);
  if (axis == -1 && nscale == 1 && block == 0) {
    l.outer = n;
    return l;
  }
  const int64_t rank = static_cast<int64_t>(x.size());
  if (axis < -rank || axis >= rank)
    return Status::errorf("{}: axis {} is out of range for an input of rank {}", op, axis, rank);
  if (axis < 0) axis += rank;
  if (group < 1) return Status::errorf("{}: group must be ≥ 1, got {}", op, group);
  if (block < 0) return Status::errorf("{}: block must be ≥ 0, got {}", op, block);
  l.channels = x[static_cast<size_t>(axis)];
  l.outer = 1;
  for (int64_t i = 0; i < axis; ++i) l.outer *= x[static_cast<size_t>(i)];
  l.inner = 1;
  for (int64_t i = axis + 1; i < rank; ++i) l.inner *= x[static_cast<size_t>(i)];
  l.group = group;
  l.block = block;
  if (l.num_slots() != nscale)
    return Status::errorf("{}: {} scales given, the input of shape {} has {} quantization slots along axis {}", op,
                          nscale, shape_str(x), l.num_slots(), axis);
  return l;
}

Result<SlotParams> read_slot_params(std::string_view op, const Tensor& scale, const Tensor* zp, int64_t slots) {
  if (scale.dtype() != DType::kF32) return Status::errorf("{}: scale must be float32, got {}", op, dtype_name(scale.dtype()));
  if (scale.numel() != slots) return Status::errorf("{}: scale has {} elements, expected {}", op, scale.numel(), slots);
  SlotParams p;
  p.scale.assign(scale.data<float>(), scale.data<float>() + slots);
  for (float s : p.scale)
    if (!(s > 0.0f) || !std::isfinite(s)) return Status::errorf("{}: scale {} is not a positive finite number", op, s);
  p.zero_point.assign(static_cast<size_t>(slots), 0);
  if (zp) {
    if (zp->numel() != slots) return Status::errorf("{}: zero point has {} elements, expected {}", op, zp->numel(), slots);
    if (zp->dtype() == DType::kF32 || zp->dtype() == DType::kBool)
      return Status::errorf("{}: zero point must be an integer tensor, got {}", op, dtype_name(zp->dtype()));
    for (int64_t i = 0; i < slots; ++i) {
      const int64_t z = zp->at_i64(i);
      if (z < std::numeric_limits<int32_t>::min() || z > std::numeric_limits<int32_t>::max())
        return Status::errorf("{}: zero point {} does not fit int32", op, z);
      p.zero_point[static_cast<size_t>(i)] = static_cast<int32_t>(z);
    }
  }
  return p;
}

Result<Tensor> as_float(std::string_view op, const Tensor& x) {
  if (x.dtype() == DType::kF32) return x;
  if (x.dtype() != DType::kI32) return Status::errorf("{}: input must be float32 or int32, got {}", op, dtype_name(x.dtype()));
  LB_ASSIGN_OR_RETURN(Tensor f, Tensor::make_uninit(DType::kF32, x.shape()));
  const int32_t* src = x.data<int32_t>();
  float* dst = f.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) dst[i] = static_cast<float>(src[i]);
  return f;
}

Result<Tensor> quantize_to(const Tensor& x, const kernels::SlotLayout& layout, const SlotParams& p,
                           kernels::QuantRange range, kernels::Rounding mode, uint64_t seed, DType out,
                           ThreadPool& pool) {
  LB_CHECK(layout.numel() == x.numel(), "quantize_to: layout does not match the tensor");
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(out, x.shape()));
  const float* src = x.data<float>();
  // The range forms give the whole-tensor result on any split (stochastic samples are indexed
  // by the flat element), so every layout runs in parallel.
  pool.parallel_for(x.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
    const float* s = p.scale.data();
    const int32_t* z = p.zero_point.data();
    switch (out) {
      case DType::kI8: kernels::quantize_range(src, layout, s, z, range, mode, seed, b, e, y.data<int8_t>()); break;
      case DType::kU8: kernels::quantize_range(src, layout, s, z, range, mode, seed, b, e, y.data<uint8_t>()); break;
      default: kernels::quantize_range(src, layout, s, z, range, mode, seed, b, e, y.data<int32_t>()); break;
    }
  });
  return y;
}

Result<Tensor> dequantize_from(const Tensor& q, const kernels::SlotLayout& layout, const SlotParams& p, ThreadPool& pool) {
  LB_CHECK(layout.numel() == q.numel(), "dequantize_from: layout does not match the tensor");
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(DType::kF32, q.shape()));
  float* dst = y.data<float>();
  pool.parallel_for(q.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) {
    const float* s = p.scale.data();
    const int32_t* z = p.zero_point.data();
    switch (q.dtype()) {
      case DType::kI8: kernels::dequantize_range(q.data<int8_t>(), layout, s, z, b, e, dst); break;
      case DType::kU8: kernels::dequantize_range(q.data<uint8_t>(), layout, s, z, b, e, dst); break;
      default: kernels::dequantize_range(q.data<int32_t>(), layout, s, z, b, e, dst); break;
    }
  });
  return y;
}

MinMax min_max(const float* x, int64_t n) {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (!std::isfinite(v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  if (lo > hi) return {0.0f, 0.0f};
  return {lo, hi};
}

}  // namespace lowbit::ops
