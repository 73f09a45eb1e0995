// qdq_format.h: a QuantizedModel as an ONNX-ready IR graph and back — QuantizeLinear /
// DequantizeLinear wherever ONNX (opset ≤ 18) can say it, com.lowbit ops where it cannot
// (docs/onnx-format.md), plus the schemes in metadata "lowbit.quant" so nothing is lost.
//
// Lowering (to_qdq_graph), for each annotation:
//   weight w     : initializers w_quantized (ints), w_scale, w_zero_point → DequantizeLinear → w
//                  (standard for per-tensor / per-channel of ≤ 8 bits: values of any bit-width
//                  fit int8 / uint8, so ONNX tools compute exactly what lowbit does; com.lowbit
//                  for groups, blocks and > 8 bits)
//   bias b       : int32 initializer → DequantizeLinear (scale s_x·s_w, zero point 0) → b
//   activation v : v → QuantizeLinear → DequantizeLinear → v_dequantized, read by every
//                  consumer except the fp32 nodes (standard for 8-bit, full range, half-even,
//                  per-tensor / per-channel; else the com.lowbit pair)
//   dynamic v    : DynamicQuantizeLinear → DequantizeLinear (u8 asymmetric per-tensor), else
//                  com.lowbit DynamicFakeQuant
// Recognition (from_qdq_graph) undoes exactly these patterns, and reads QDQ models made by
// other tools the same way (schemes then inferred from dtypes and zero points).
#pragma once

#include <map>
#include <string>

#include "core/status.h"
#include "ir/graph.h"
#include "quant/quantized_model.h"

namespace lowbit::quant {

inline constexpr std::string_view kQuantMetadataKey = "lowbit.quant";

// The graph that simulates `model` (and is what gets saved): FP32 ops with fake-quant pairs.
// `dequantized`, when given, receives for each quantized activation the name of the value its
// readers see (the DequantizeLinear / DynamicFakeQuant output).
Result<ir::Graph> to_qdq_graph(const QuantizedModel& model, std::map<std::string, std::string>* dequantized = nullptr);

// Whether a graph holds quantization ops (a QuantizedModel saved by lowbit or another tool).
bool has_quant_ops(const ir::Graph& graph);

// Recognizes the patterns above in an imported (not yet folded) graph and returns the
// QuantizedModel; the remaining FP32 graph is prepared (folded, shapes inferred). Errors name
// the node whose pattern is malformed.
Result<QuantizedModel> from_qdq_graph(ir::Graph graph);

// Save / load as an ONNX file (atomic write); load errors start with the path.
Status save_quantized_model(const QuantizedModel& model, const std::string& path);
Result<QuantizedModel> load_quantized_model(const std::string& path);

}  // namespace lowbit::quant
