// steps.h: the kinds of Program step and what each needs, fixed at compile time. The factories
// return steps without their slots; the compiler fills node, op_type, inputs and outputs.
//
// Every integer step follows DESIGN.md's contract: uint8 activations with a zero point, int8
// weights with zero point 0, int32 accumulation with the int32 bias, dyadic requantization
// (gemmlowp's SRDHM + RDBP) to the output's scale and zero point, fused ReLU / ReLU6 / Clip as
// the saturation bounds [lo, hi]. No float and no integer division runs inside them.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ir/graph.h"
#include "kernels/fp32/pool.h"
#include "kernels/int8/depthwise8.h"
#include "kernels/int8/gemm.h"
#include "kernels/int8/qelementwise8.h"
#include "kernels/requant/fixed_point.h"
#include "runtime/program.h"

namespace lowbit::runtime {

using kernels::DyadicMultiplier;

// Output quantization of an integer step: zero point and saturation bounds (the type's range
// narrowed by a fused activation).
struct IntOutput {
  int32_t zero = 0;
  int32_t lo = 0, hi = 255;
};

// Layouts. 4-D integer values live channels-last (NHWC) wherever the steps around them allow
// (kernels/int8/nhwc8.h says why); the compiler inserts a layout step where a reader wants the
// other order. A value with H·W = 1 is the same in both.

// 2-D convolution on NHWC uint8: per group, im2col → int8 GEMM → requantize; or, for
// depthwise convolutions (groups = channels, one filter each), the NHWC depthwise kernel.
struct ConvSpec {
  kernels::Conv2dGeom geom;    // n ignored (the batch comes at run time); c, h, w per image
  int64_t out_channels = 0;
  int64_t groups = 1;
  bool depthwise = false;
  std::vector<kernels::PackedWeights> packed;  // per group, [OC/groups][kh][kw][C/groups] (gemm path)
  std::vector<int8_t> dw_weights;              // [kh][kw][C] (depthwise path)
  std::vector<int32_t> bias;                   // [OC], zeros when the model has none
  std::vector<DyadicMultiplier> mult;          // s_x·s_w[oc]/s_y: [OC], or [1] for per-tensor weights
  int headroom = 0;                            // requantize.h: bits the accumulators can spare
  int32_t x_zero = 0;
  IntOutput out;
};
std::unique_ptr<Step> make_conv_step(ConvSpec spec);

// Scratch budget of a conv step per chunk of images (im2col patches and accumulators).
inline constexpr int64_t kConvChunkBytes = 384 * 1024;

// A 1×1, stride-1, unpadded, ungrouped conv reads its NHWC input in place as the GEMM's A.
inline bool conv_reads_input_directly(const kernels::Conv2dGeom& g, int64_t groups, bool depthwise) {
  return !depthwise && groups == 1 && g.kh == 1 && g.kw == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_t == 0 &&
         g.pad_l == 0 && g.pad_b == 0 && g.pad_r == 0;
}

// Gemm / MatMul with a constant weight: x [M, K] (any leading dims flattened into M) times
// Wᵀ, W [N][K] packed, plus bias, requantized per output channel.
struct GemmSpec {
  kernels::PackedWeights packed;
  std::vector<int32_t> bias;           // [N], zeros when none
  std::vector<DyadicMultiplier> mult;  // [N] or [1]
  int headroom = 0;
  int32_t x_zero = 0;
  IntOutput out;
};
std::unique_ptr<Step> make_gemm_step(GemmSpec spec);

// y = requantize(x − x_zero, m) into [lo, hi]: a value moved to another scale, a standalone
// Relu / Clip on integers, or a Flatten / Reshape whose output is quantized differently.
std::unique_ptr<Step> make_rescale_step(int32_t x_zero, DyadicMultiplier m, IntOutput out);

// The output shares the input's bytes as `shape` (dim 0 < 0: the input's batch): Flatten,
// Reshape, Squeeze, Unsqueeze, Identity where input and output quantization agree.
// `per_sample`: the view keeps the batch as dim 0 (the compiler checks the shapes).
std::unique_ptr<Step> make_view_step(Shape shape, bool per_sample);

// Residual add of two same-shape uint8 tensors (kernels/int8/qelementwise8.h).
std::unique_ptr<Step> make_add_step(kernels::AddParams params);

// Concat along `axis` (≥ 0) of uint8 inputs, each moved to the output's scale: a copy where
// it already has it (identity multiplier, equal zero point), else a rescale.
struct ConcatInput {
  bool copy = true;
  int32_t zero = 0;
  DyadicMultiplier m;
};
std::unique_ptr<Step> make_concat_step(int64_t axis, std::vector<ConcatInput> inputs, IntOutput out);

// NCHW ↔ NHWC copy of a 4-D uint8 value.
std::unique_ptr<Step> make_layout_step(bool to_nhwc);

// MaxPool on NHWC integers (max commutes with the monotone quantizer), then a rescale when the
// output's quantization differs from the input's (`rescale` false: identical).
struct MaxPoolSpec {
  kernels::Conv2dGeom geom;  // c, h, w per image; kernel, strides, pads, dilations
  bool rescale = false;
  int32_t x_zero = 0;
  DyadicMultiplier m;
  IntOutput out;
};
std::unique_ptr<Step> make_max_pool_step(MaxPoolSpec spec);

// AveragePool (NCHW) / GlobalAveragePool (NHWC): Σ (x − x_zero) over the window times the
// dyadic s_x / (s_y · count) for that window's divisor.
struct AvgPoolSpec {
  bool global = false;
  kernels::PoolGeom geom;                       // planes per image (AveragePool)
  int64_t channels = 0, plane_size = 0;          // C and H·W (GlobalAveragePool)
  bool count_include_pad = false;
  std::vector<DyadicMultiplier> mult_by_count;  // AveragePool: index = divisor
  DyadicMultiplier mult;                         // GlobalAveragePool
  int32_t x_zero = 0;
  IntOutput out;
};
std::unique_ptr<Step> make_avg_pool_step(AvgPoolSpec spec);

// The program's boundaries for uint8 per-tensor values with ties-to-even rounding: the FP32
// input quantized (QuantizeLinear), an integer value dequantized for an FP32 reader or the
// output (DequantizeLinear) — the ONNX ops' results bit for bit (kernels/int8/quantize8.h).
std::unique_ptr<Step> make_quantize_step(float scale, int32_t zero, int32_t qmin, int32_t qmax);
std::unique_ptr<Step> make_dequantize_step(float scale, int32_t zero);

// Any op of the simulation graph run through the op registry (FP32 ops, QuantizeLinear,
// DequantizeLinear, DynamicQuantizeLinear, the com.lowbit ops): the FP32 fallback and the
// boundary conversions.
Result<std::unique_ptr<Step>> make_op_step(const ir::Node& node, int64_t opset);

}  // namespace lowbit::runtime
