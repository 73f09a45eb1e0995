// compile.h: runtime::compile — a QuantizedModel turned into an integer Program.
//
// The compiler starts from the simulation graph (quant/simulate.h: FP32 ops between
// QuantizeLinear / DequantizeLinear pairs) and replaces each pattern
//     DequantizeLinear(x_q) → Op [→ Relu | Clip] → QuantizeLinear → y_q
// whose tensors meet the integer contract by one integer step reading x_q and writing y_q:
//   - activations: static, per-tensor, unsigned, ≤ 8 bits (uint8 storage), rounding half-even
//     or half-away (the dyadic requantizer rounds within 1 LSB of either);
//   - weights: signed, ≤ 8 bits, zero point 0, per-tensor or per output channel;
//   - biases: the int32 ones of the QuantizedModel (scale s_x·s_w);
//   - ops: Conv (2-D; grouped; depthwise), Gemm (α = β = 1, no transA), MatMul with a constant
//     2-D weight, Add of same-shape inputs, Concat, MaxPool, AveragePool, GlobalAveragePool,
//     Relu / Clip, and Flatten / Reshape / Squeeze / Unsqueeze / Identity (views).
// Dynamic activations (uint8 asymmetric per-tensor, the int8-dynamic recipe) compile too:
//     DynamicQuantizeLinear(x) → DequantizeLinear → Conv | Gemm | MatMul [→ Relu | Clip]
// becomes a dynamic-quantize step (range over the whole batch, as ONNX defines it) and an
// integer conv / gemm step writing FP32 y = float(acc)·(s_x·s_w) + b (runtime/dynamic_steps.h).
// Everything else stays a step of the simulation graph run in FP32, fed by its
// DequantizeLinear and feeding its QuantizeLinear — so the program computes what the
// simulation computes, and the report says for each node which way it runs and why.
#pragma once

#include <optional>

#include "core/status.h"
#include "kernels/isa.h"
#include "quant/quantized_model.h"
#include "runtime/program.h"

namespace lowbit::runtime {

struct CompileOptions {
  std::optional<kernels::Isa> isa;  // the GEMM kernels' instruction set; default selected_isa()
};

// Errors: a model whose simulation graph cannot be built (the message names the node), an
// unsupported op, an invalid LOWBIT_ISA. A node without an integer kernel is not an error.
Result<Program> compile(const quant::QuantizedModel& model, const CompileOptions& options = {});

}  // namespace lowbit::runtime
