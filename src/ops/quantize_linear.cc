// quantize_linear.cc: ONNX QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear
// (opsets 10–18): per-tensor, and per-axis from opset 13.
//   QuantizeLinear:   y = saturate(round_half_even(x / s) + z), y's type is z's (u8 when z is omitted)
//   DequantizeLinear: x' = (q − z) · s  (q may be int32 with z = 0: quantized biases)
//   DynamicQuantizeLinear: u8 with s = (max(0, max x) − min(0, min x)) / 255, z = round(−min/s).
#include <algorithm>
#include <cmath>

#include "kernels/quant/choose_qparams.h"
#include "kernels/quant/quantize.h"
#include "ops/op.h"
#include "ops/quant_op_util.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

// Scale (and zero point) layout: a scalar or one-element tensor is per-tensor; a 1-D tensor
// is per-axis along `axis` (opset ≥ 13).
Result<kernels::SlotLayout> onnx_layout(std::string_view op, const RunCtx& c, const Shape& x, int64_t nscale,
                                        int scale_rank) {
  if (scale_rank == 0 || (scale_rank == 1 && nscale == 1)) return per_axis_layout(op, x, -1, 1);
  if (c.opset < 13) return Status::errorf("{}: scale must be a scalar before opset 13, got {} elements", op, nscale);
  if (scale_rank != 1) return Status::errorf("{}: scale must be a scalar or 1-D, got rank {}", op, scale_rank);
  LB_ASSIGN_OR_RETURN(const int64_t axis, c.attrs().get_int("axis", 1));
  return per_axis_layout(op, x, axis, nscale);
}

Status quantize_linear_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 2));
  DType out = DType::kU8;
  if (c.has_input(2) && c.inputs[2].dtype) out = *c.inputs[2].dtype;
  if (out != DType::kU8 && out != DType::kI8)
    return Status::errorf("QuantizeLinear: zero point must be uint8 or int8, got {}", dtype_name(out));
  set_output(c, 0, out, c.inputs[0].shape);
  return Status::ok();
}

Status quantize_linear_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 2));
  const Tensor& x = c.in(0);
  LB_TRY(check_dtype("QuantizeLinear", "input", x.dtype(), kFloatDTypes | dtype_bit(DType::kI32)));
  const Tensor& s = c.in(1);
  LB_ASSIGN_OR_RETURN(const kernels::SlotLayout layout, onnx_layout("QuantizeLinear", c, x.shape(), s.numel(), s.rank()));
  const Tensor* zp = c.has_input(2) ? &c.in(2) : nullptr;
  const DType out = zp ? zp->dtype() : DType::kU8;
  if (out != DType::kU8 && out != DType::kI8)
    return Status::errorf("QuantizeLinear: zero point must be uint8 or int8, got {}", dtype_name(out));
  LB_ASSIGN_OR_RETURN(const SlotParams p, read_slot_params("QuantizeLinear", s, zp, layout.num_slots()));
  LB_ASSIGN_OR_RETURN(Tensor xf, as_float("QuantizeLinear", x));
  const kernels::QuantRange range = out == DType::kU8 ? kernels::QuantRange{0, 255} : kernels::QuantRange{-128, 127};
  LB_ASSIGN_OR_RETURN(Tensor y, quantize_to(xf, layout, p, range, kernels::Rounding::kHalfEven, 0, out, c.pool));
  c.outputs[0] = std::move(y);
  return Status::ok();
}

Status dequantize_linear_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 2));
  if (c.inputs[0].dtype) LB_TRY(check_dtype("DequantizeLinear", "input", *c.inputs[0].dtype, kQuantizedDTypes));
  set_output(c, 0, DType::kF32, c.inputs[0].shape);
  return Status::ok();
}

Status dequantize_linear_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 2));
  const Tensor& q = c.in(0);
  LB_TRY(check_dtype("DequantizeLinear", "input", q.dtype(), kQuantizedDTypes));
  const Tensor& s = c.in(1);
  LB_ASSIGN_OR_RETURN(const kernels::SlotLayout layout,
                      onnx_layout("DequantizeLinear", c, q.shape(), s.numel(), s.rank()));
  const Tensor* zp = c.has_input(2) ? &c.in(2) : nullptr;
  if (zp && zp->dtype() != q.dtype())
    return Status::errorf("DequantizeLinear: zero point is {}, the input is {}", dtype_name(zp->dtype()),
                          dtype_name(q.dtype()));
  LB_ASSIGN_OR_RETURN(const SlotParams p, read_slot_params("DequantizeLinear", s, zp, layout.num_slots()));
  if (q.dtype() == DType::kI32)
    for (int32_t z : p.zero_point)
      if (z != 0) return Status::errorf("DequantizeLinear: an int32 input needs zero point 0, got {}", z);
  LB_ASSIGN_OR_RETURN(Tensor y, dequantize_from(q, layout, p, c.pool));
  c.outputs[0] = std::move(y);
  return Status::ok();
}

Status dynamic_quantize_linear_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 1));
  set_output(c, 0, DType::kU8, c.inputs[0].shape);
  set_output(c, 1, DType::kF32, Shape{});
  set_output(c, 2, DType::kU8, Shape{});
  return Status::ok();
}

Status dynamic_quantize_linear_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const Tensor& x = c.in(0);
  LB_TRY(check_dtype("DynamicQuantizeLinear", "input", x.dtype(), kFloatDTypes));
  const kernels::QuantRange range{0, 255};
  const MinMax mm = min_max(x.data<float>(), x.numel());
  const kernels::ScaleZero sz = kernels::choose_qparams(mm.lo, mm.hi, range, /*symmetric=*/false);
  SlotParams p{{sz.scale}, {sz.zero_point}};
  kernels::SlotLayout layout;
  layout.outer = x.numel();
  LB_ASSIGN_OR_RETURN(Tensor y, quantize_to(x, layout, p, range, kernels::Rounding::kHalfEven, 0, DType::kU8, c.pool));
  c.outputs[0] = std::move(y);
  if (c.outputs.size() > 1) c.outputs[1] = Tensor::scalar<float>(sz.scale);
  if (c.outputs.size() > 2) c.outputs[2] = Tensor::scalar<uint8_t>(static_cast<uint8_t>(sz.zero_point));
  return Status::ok();
}

}  // namespace

extern const OpDef kQuantizeLinear{"QuantizeLinear", 2, 3, quantize_linear_infer, quantize_linear_forward};
extern const OpDef kDequantizeLinear{"DequantizeLinear", 2, 3, dequantize_linear_infer, dequantize_linear_forward};
extern const OpDef kDynamicQuantizeLinear{"DynamicQuantizeLinear", 1, 1, dynamic_quantize_linear_infer,
                                          dynamic_quantize_linear_forward};

}  // namespace lowbit::ops
