// lowbit_quant_ops.cc: the com.lowbit domain's quantization ops — what a lowbit
// QuantizedModel needs that ONNX's QuantizeLinear / DequantizeLinear (opset ≤ 18) cannot say:
// bit-widths other than 8, narrow ranges, channel groups and blocks, other rounding modes,
// and dynamic quantization with any scheme. docs/onnx-format.md documents them.
//
//   QuantizeLinear(x, scale, zero_point) -> q      attrs: bits (8), signed (0), narrow (0),
//       axis (1), group (1), block (0), rounding ("half-even"|"half-away"|"floor"|"stochastic"), seed (0)
//       q is int8 / uint8 up to 8 bits, int32 above. One scale and no block: per-tensor;
//       otherwise scale and zero_point have one entry per slot (kernels/quant/quantize.h).
//   DequantizeLinear(q, scale, zero_point) -> x    attrs: axis, group, block as above.
//   DynamicFakeQuant(x) -> y                        attrs: bits, signed, symmetric (0), narrow,
//       axis (-1: per-tensor; k: one range per index along axis k, e.g. 0 = per row / image)
//       y = fake-quant of x with ranges taken from x itself (dynamic quantization, simulated).
#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <string>

#include "kernels/quant/choose_qparams.h"
#include "kernels/quant/quantize.h"
#include "ops/op.h"
#include "ops/quant_op_util.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

struct GridAttrs {
  int64_t bits;
  bool is_signed;
  bool narrow;
};

Result<GridAttrs> read_grid(const ir::Attributes& a, std::string_view op) {
  LB_ASSIGN_OR_RETURN(const int64_t bits, a.get_int("bits", 8));
  LB_ASSIGN_OR_RETURN(const int64_t sgn, a.get_int("signed", 0));
  LB_ASSIGN_OR_RETURN(const int64_t narrow, a.get_int("narrow", 0));
  if (bits < 2 || bits > 16) return Status::errorf("{}: bits must be in [2, 16], got {}", op, bits);
  return GridAttrs{bits, sgn != 0, narrow != 0};
}

DType storage_for(const GridAttrs& g) {
  if (g.bits > 8) return DType::kI32;
  return g.is_signed ? DType::kI8 : DType::kU8;
}

Result<kernels::Rounding> read_rounding(const ir::Attributes& a, std::string_view op) {
  LB_ASSIGN_OR_RETURN(const std::string r, a.get_string("rounding", std::string("half-even")));
  if (std::optional<kernels::Rounding> mode = kernels::parse_rounding(r)) return *mode;
  return Status::errorf("{}: rounding '{}' is not one of half-even, half-away, floor, stochastic", op, r);
}

// Slots from the scale count and the axis / group / block attributes.
Result<kernels::SlotLayout> lowbit_layout(const ir::Attributes& a, std::string_view op, const Shape& x, int64_t nscale) {
  LB_ASSIGN_OR_RETURN(const int64_t axis, a.get_int("axis", 1));
  LB_ASSIGN_OR_RETURN(const int64_t group, a.get_int("group", 1));
  LB_ASSIGN_OR_RETURN(const int64_t block, a.get_int("block", 0));
  if (nscale == 1 && block == 0) return per_axis_layout(op, x, -1, 1);
  return per_axis_layout(op, x, axis, nscale, group, block);
}

Status lq_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 3));
  LB_ASSIGN_OR_RETURN(const GridAttrs g, read_grid(c.attrs(), "lowbit QuantizeLinear"));
  set_output(c, 0, storage_for(g), c.inputs[0].shape);
  return Status::ok();
}

Status lq_forward(RunCtx& c) {
  constexpr std::string_view kOp = "lowbit QuantizeLinear";
  LB_TRY(require_inputs(c, 3));
  LB_ASSIGN_OR_RETURN(const GridAttrs g, read_grid(c.attrs(), kOp));
  LB_ASSIGN_OR_RETURN(const kernels::Rounding mode, read_rounding(c.attrs(), kOp));
  LB_ASSIGN_OR_RETURN(const int64_t seed, c.attrs().get_int("seed", 0));
  const Tensor& x = c.in(0);
  LB_TRY(check_dtype(kOp, "input", x.dtype(), kFloatDTypes));
  LB_ASSIGN_OR_RETURN(const kernels::SlotLayout layout, lowbit_layout(c.attrs(), kOp, x.shape(), c.in(1).numel()));
  LB_ASSIGN_OR_RETURN(const SlotParams p, read_slot_params(kOp, c.in(1), &c.in(2), layout.num_slots()));
  const kernels::QuantRange range = kernels::range_for_bits(static_cast<int>(g.bits), g.is_signed, g.narrow);
  for (int32_t z : p.zero_point)
    if (z < range.qmin || z > range.qmax)
      return Status::errorf("{}: zero point {} is outside [{}, {}]", kOp, z, range.qmin, range.qmax);
  LB_ASSIGN_OR_RETURN(Tensor q, quantize_to(x, layout, p, range, mode, static_cast<uint64_t>(seed), storage_for(g), c.pool));
  c.outputs[0] = std::move(q);
  return Status::ok();
}

Status ldq_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 3));
  if (c.inputs[0].dtype) LB_TRY(check_dtype("lowbit DequantizeLinear", "input", *c.inputs[0].dtype, kQuantizedDTypes));
  set_output(c, 0, DType::kF32, c.inputs[0].shape);
  return Status::ok();
}

Status ldq_forward(RunCtx& c) {
  constexpr std::string_view kOp = "lowbit DequantizeLinear";
  LB_TRY(require_inputs(c, 3));
  const Tensor& q = c.in(0);
  LB_TRY(check_dtype(kOp, "input", q.dtype(), kQuantizedDTypes));
  LB_ASSIGN_OR_RETURN(const kernels::SlotLayout layout, lowbit_layout(c.attrs(), kOp, q.shape(), c.in(1).numel()));
  LB_ASSIGN_OR_RETURN(const SlotParams p, read_slot_params(kOp, c.in(1), &c.in(2), layout.num_slots()));
  LB_ASSIGN_OR_RETURN(Tensor y, dequantize_from(q, layout, p, c.pool));
  c.outputs[0] = std::move(y);
  return Status::ok();
}

Status dfq_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 1));
  LB_TRY(read_grid(c.attrs(), "lowbit DynamicFakeQuant").status());
  set_output(c, 0, DType::kF32, c.inputs[0].shape);
  return Status::ok();
}

Status dfq_forward(RunCtx& c) {
  constexpr std::string_view kOp = "lowbit DynamicFakeQuant";
  LB_TRY(require_inputs(c, 1));
  LB_ASSIGN_OR_RETURN(const GridAttrs g, read_grid(c.attrs(), kOp));
  LB_ASSIGN_OR_RETURN(const int64_t sym, c.attrs().get_int("symmetric", 0));
  LB_ASSIGN_OR_RETURN(const int64_t axis, c.attrs().get_int("axis", -1));
  const Tensor& x = c.in(0);
  LB_TRY(check_dtype(kOp, "input", x.dtype(), kFloatDTypes));
  kernels::SlotLayout layout;
  if (axis == -1) {
    layout.outer = x.numel();
  } else {
    if (axis < 0 || axis >= x.rank()) return Status::errorf("{}: axis {} is out of range for rank {}", kOp, axis, x.rank());
    LB_ASSIGN_OR_RETURN(layout, per_axis_layout(kOp, x.shape(), axis, x.dim(static_cast<int>(axis))));
  }
  // Per-slot ranges: each slot's elements are the channel-c slices of every outer row.
  const int64_t slots = layout.num_slots();
  std::vector<float> lo(static_cast<size_t>(slots), std::numeric_limits<float>::infinity());
  std::vector<float> hi(static_cast<size_t>(slots), -std::numeric_limits<float>::infinity());
  const float* src = x.data<float>();
  for (int64_t o = 0; o < layout.outer; ++o)
    for (int64_t ch = 0; ch < layout.channels; ++ch) {
      const MinMax mm = min_max(src + (o * layout.channels + ch) * layout.inner, layout.inner);
      lo[static_cast<size_t>(ch)] = std::min(lo[static_cast<size_t>(ch)], mm.lo);
      hi[static_cast<size_t>(ch)] = std::max(hi[static_cast<size_t>(ch)], mm.hi);
    }
  const kernels::QuantRange range = kernels::range_for_bits(static_cast<int>(g.bits), g.is_signed, g.narrow);
  SlotParams p;
  for (int64_t k = 0; k < slots; ++k) {
    const kernels::ScaleZero sz = kernels::choose_qparams(lo[static_cast<size_t>(k)], hi[static_cast<size_t>(k)], range, sym != 0);
    p.scale.push_back(sz.scale);
    p.zero_point.push_back(sz.zero_point);
  }
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(DType::kF32, x.shape()));
  kernels::fake_quantize(src, layout, p.scale.data(), p.zero_point.data(), range, kernels::Rounding::kHalfEven, 0,
                         y.data<float>());
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kLowbitQuantizeLinear{"QuantizeLinear", 3, 3, lq_infer, lq_forward};
extern const OpDef kLowbitDequantizeLinear{"DequantizeLinear", 3, 3, ldq_infer, ldq_forward};
extern const OpDef kLowbitDynamicFakeQuant{"DynamicFakeQuant", 1, 1, dfq_infer, dfq_forward};

}  // namespace lowbit::ops
