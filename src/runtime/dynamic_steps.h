// dynamic_steps.h: Program steps for dynamically quantized activations (recipe int8-dynamic) —
// what ONNX Runtime's DynamicQuantizeLinear → ConvInteger / MatMulInteger → Cast → Mul → Add
// computes:
//
//   x (FP32) → DynamicQuantizeStep → (x_q u8, s_x f32, z_x u8)   (range over the WHOLE tensor)
//            → DynamicConvStep / DynamicGemmStep:
//                acc = Σ (x_q − z_x) · w_q              int32, exact (z_x applied per run)
//                y   = float(acc) · (s_x · s_w[c]) + b[c]   FP32 (NCHW), then a fused Relu / Clip
//
// The simulation computes the same sum in float on dequantized values, so the two differ only
// by float rounding. Scale and zero point travel in the DynamicQuantizeLinear node's own output
// slots (an f32 and a u8 scalar in the arena), so one quantized tensor feeds any number of
// convolutions (a residual block's conv1 and its shortcut) and is quantized once.
//
// None of these steps is per-sample: the scale comes from the whole batch, so a program holding
// one never runs a batch in slices.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/int8/depthwise8.h"
#include "kernels/int8/gemm.h"
#include "kernels/quant/choose_qparams.h"
#include "runtime/program.h"

namespace lowbit::runtime {

// ONNX DynamicQuantizeLinear's scale and zero point for x[0, n), bit for bit what lowbit's op
// (ops/quantize_linear.cc) chooses: rmin = min(0, min of the finite x), rmax = max(0, max of
// the finite x), s = (rmax − rmin) / 255 (1 for an all-zero tensor), z = saturate(round_half_even(−rmin / s)).
// Min and max are exact in any order, so splitting over `pool` (may be nullptr) changes nothing.
kernels::ScaleZero dynamic_qparams(const float* x, int64_t n, ThreadPool* pool);

// Reads x (FP32, NCHW for 4-D) and writes {x_q (uint8, NHWC when `nhwc` and x is 4-D), s_x
// (f32 scalar), z_x (u8 scalar)}: the DynamicQuantizeLinear node's three outputs.
std::unique_ptr<Step> make_dynamic_quantize_step(bool nhwc);

// What the FP32 epilogue adds after the int32 sums.
struct DynamicEpilogue {
  std::vector<float> w_scale;  // s_w: [OC], or [1] for a per-tensor weight
  std::vector<float> bias;     // [OC], empty when the node has none
  bool clamp = false;          // a fused Relu / Clip: y = min(max(y, lo), hi) as ops/clip.cc computes it
  float lo = 0, hi = 0;
};

// 2-D convolution reading {x_q, s_x, z_x}: x_q NHWC through im2col (none for 1×1 stride-1) and
// the int8 GEMM per group; or, for depthwise convolutions, x_q NCHW through the int32
// depthwise kernel. Output FP32 NCHW [N, OC, OH, OW], allocated by the step.
struct DynamicConvSpec {
  kernels::Conv2dGeom geom;  // n ignored; c, h, w per image
  int64_t out_channels = 0;
  int64_t groups = 1;
  bool depthwise = false;
  std::vector<kernels::PackedWeights> packed;  // per group, [OC/groups][kh][kw][C/groups] (gemm path)
  std::vector<int8_t> dw_weights;              // [C][kh][kw] (depthwise path)
  DynamicEpilogue epilogue;
};
std::unique_ptr<Step> make_dynamic_conv_step(DynamicConvSpec spec);

// Gemm / MatMul reading {x_q [M, K] (leading dims flattened into M), s_x, z_x}: the int8 GEMM
// with W [N][K] packed, output FP32 [M, N] (x's leading dims, then N), allocated by the step.
struct DynamicGemmSpec {
  kernels::PackedWeights packed;
  DynamicEpilogue epilogue;
};
std::unique_ptr<Step> make_dynamic_gemm_step(DynamicGemmSpec spec);

}  // namespace lowbit::runtime
