// qoperator_format.h: a QuantizedModel as standard ONNX in QOperator form, and QOperator
// models (lowbit's or other tools') back to the QDQ patterns of qdq_format.h.
//
// Lowering (to_qoperator_graph) starts from the QDQ graph and replaces, where the tensors allow:
//   static Conv     DQ(x_q) → Conv(DQ(w_q), DQ(b_q)) → Q → y_q
//                   ⇒ QLinearConv(x_q, s_x, z_x, w_q, s_w, z_w, s_y, z_y, b_q) → y_q
//   static MatMul   the same with QLinearMatMul (constant weight, no bias)
//   static Gemm     ⇒ MatMulInteger(x_q, Transpose(w_q) | w_q, z_x, z_w) → Add(b_q) → Cast
//                     → Mul(·, Mul(s_x, s_w)) → y          (ONNX has no QLinear Gemm)
//   dynamic Conv /  DynamicQuantizeLinear(x) → (x_q, s_x, z_x)
//   Gemm / MatMul   ⇒ ConvInteger | MatMulInteger(x_q, w_q, z_x, z_w) → Cast
//                     → Mul(·, Mul(s_x, s_w)) [→ Add(b) named <node>_bias] → y
// A Conv / MatMul followed by Relu or Clip whose output is the quantized value gets that
// value's scale and zero point and keeps the Relu / Clip between a DequantizeLinear and the
// value's QuantizeLinear; this is exact (clamp commutes with monotone rounding) and keeps the
// FP32 node. Everything else keeps its QDQ pairs ("standard ops around them"). The QLinear /
// Integer node takes the FP32 node's name; per-channel weight scales of ConvInteger paths are
// shaped [M, 1, 1] under the scale initializer's own name.
//
// Raising (from_qoperator_graph, run by from_qdq_graph) undoes these patterns, in lowbit's files
// and in QOperator files from other tools, so the recognizer sees QDQ patterns: QLinearConv and
// QLinearMatMul become DQ → Conv / MatMul → Q; an integer chain ending in the scale Mul becomes
// DQ → Conv / Gemm / MatMul. Value names lose the "_quantized" suffix the lowering added.
#pragma once

#include <string>

#include "core/status.h"
#include "ir/graph.h"
#include "quant/quantized_model.h"

namespace lowbit::quant {

enum class OnnxForm { kQdq, kQOperator };

struct ExportOptions {
  OnnxForm form = OnnxForm::kQdq;
  // Store weights of fewer than 8 bits in int8 DequantizeLinear (exact values, but the file no
  // longer says how many bits they have). Off: such weights are an error (INT4 needs opset 21).
  bool widen_weights = false;
};

// OK when every annotation of `model` has a standard ONNX (opset ≤ 18) form; else one line
// naming the first tensor and node that has none and why, plus how many more there are.
Status check_standard_onnx(const QuantizedModel& model, const ExportOptions& options);

// The QOperator graph (after check_standard_onnx). Carries the "lowbit.quant" metadata.
Result<ir::Graph> to_qoperator_graph(const QuantizedModel& model);

// QLinearConv, QLinearMatMul, ConvInteger or MatMulInteger in the default domain.
bool has_qoperator_ops(const ir::Graph& graph);

// Rewrites QOperator nodes into QDQ patterns (see above). Integer nodes that match no chain
// stay and run as ops. Errors name the node whose tensors are malformed.
Result<ir::Graph> from_qoperator_graph(ir::Graph graph);

// The graph `options.form` writes, checked for standard ONNX (above).
Result<ir::Graph> to_standard_onnx_graph(const QuantizedModel& model, const ExportOptions& options);

// Writes to_standard_onnx_graph(model) after ONNX's checker and strict shape inference accept
// it (onnx/validate.h); nothing is written otherwise. Errors start with `path`. `written`, when
// given, receives the graph that was written.
Status export_standard_onnx(const QuantizedModel& model, const ExportOptions& options, const std::string& path,
                            ir::Graph* written = nullptr);

}  // namespace lowbit::quant
