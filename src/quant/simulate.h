// simulate.h: simulated execution of a QuantizedModel — its QDQ graph run in FP32, so every
// quantized tensor is fake-quantized exactly as the quantization ops define (accuracy
// studies, and the reference the integer runtime must agree with).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "data/dataset.h"
#include "exec/session.h"
#include "quant/quantized_model.h"

namespace lowbit::quant {

struct Simulation {
  exec::Session session;  // runs the QDQ graph (weight dequantization folded to constants)
  std::map<std::string, std::string> dequantized;  // activation → the value its readers see
};

Result<Simulation> make_simulation(const QuantizedModel& model);

// The graph the simulation runs: to_qdq_graph prepared (weight dequantization folded into FP32
// constants, shapes inferred). The integer runtime compiles this same graph, so its FP32
// fallback computes exactly what the simulation computes.
Result<ir::Graph> simulation_graph(const QuantizedModel& model, std::map<std::string, std::string>* dequantized);

// One quantized layer's output error against FP32.
struct LayerError {
  std::string node;     // head node (Conv, Gemm, Add, ...)
  std::string op_type;
  std::string value;    // its unit output (after a fused Relu / Clip)
  double signal = 0;    // Σ x²  over the samples, FP32 output
  double noise = 0;     // Σ (x − x̂)², x̂ the simulated output as the next layer sees it
  double sqnr_db() const;  // 10·log10(signal / noise); +inf when noise is 0
};

// Runs the FP32 graph and the simulation side by side on the first `samples` inputs of
// `data` and returns the error of every quantized layer, in graph order.
Result<std::vector<LayerError>> measure_layer_errors(const QuantizedModel& model, const data::Dataset& data,
                                                     int64_t samples, int64_t batch = 64);

}  // namespace lowbit::quant
