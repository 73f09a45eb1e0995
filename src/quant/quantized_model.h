// quantized_model.h: QuantizedModel — the FP32 graph plus the quantizer and QParams of every
// quantized tensor. The single source of truth that simulation, the integer runtime and the
// exporters read (DESIGN.md).
//
// Annotations are keyed by value name, so they survive graph rewrites that keep names.
//   weights:     constant tensors stored as integers (the float value in the graph is their
//                dequantization once a model is loaded from a file, the original before).
//   biases:      int32 biases of Conv / Gemm whose input and weight are quantized with static
//                per-tensor / per-channel 8-bit-or-less schemes: q = round(b / (s_x·s_w)), z = 0.
//   activations: run-time values, static (QParams from calibration) or dynamic (from each input).
//   fp32_nodes:  nodes that read the FP32 value of their inputs even where it is quantized
//                for other readers (the recipe's "fp32" layers).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/graph.h"
#include "quant/qscheme.h"

namespace lowbit::quant {

struct WeightQuant {
  QScheme scheme;
  QParams params;
  Tensor q;                // integers, storage_dtype(scheme), the weight's shape
  std::string observer;    // observer that chose the range (informational)
  bool operator==(const WeightQuant& o) const;
};

struct BiasQuant {
  std::vector<float> scale;  // s_x · s_w per output channel (one entry when both are per-tensor)
  Tensor q;                  // int32, the bias's shape
  bool operator==(const BiasQuant& o) const;
};

struct ActQuant {
  QScheme scheme;
  QParams params;          // empty when dynamic
  bool dynamic = false;
  std::string observer;    // informational; "" for dynamic
  bool operator==(const ActQuant& o) const = default;
};

struct QuantizedModel {
  ir::Graph graph;  // FP32, topologically sorted, BatchNorm folded
  std::map<std::string, WeightQuant> weights;
  std::map<std::string, BiasQuant> biases;
  std::map<std::string, ActQuant> activations;
  std::set<std::string> fp32_nodes;
  nlohmann::json recipe;  // the resolved recipe it was made with (null when imported from elsewhere)

  // Bytes of every parameter as deployed: quantized weights at their bit-width (packed),
  // one f32 scale per slot and a zero point per slot where not symmetric (1 byte up to 8
  // bits, 4 above), int32 biases, and every other float constant at 4 bytes.
  int64_t weight_bytes() const;
  // W and A bit summary for tables: e.g. "8" / "4" / "4,8" when they differ by layer; "-" if none.
  std::string weight_bits() const;
  std::string activation_bits() const;
};

// Structural equality used by round-trip tests: same nodes (op, name, inputs/outputs by
// name, attributes), same constants bit for bit, same annotations.
bool same_model(const QuantizedModel& a, const QuantizedModel& b, std::string* why = nullptr);

}  // namespace lowbit::quant
