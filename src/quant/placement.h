// placement.h: which tensors of an FP32 graph a recipe quantizes, and with which settings.
//
// Rules (the survey's standard placement, as ONNX Runtime's QDQ quantizer and PyTorch's
// prepare/convert do it):
//   - Conv, Gemm, MatMul: the constant weight (input 1), the activation inputs, and the
//     "unit output": the op's output, or — when it feeds only a Relu or Clip (ReLU6) — that
//     activation's output, so activations are quantized after the activation function
//     (Conv + ReLU fusion).
//   - Add, Concat, MaxPool, AveragePool, GlobalAveragePool: their activation inputs and unit
//     output (residual adds, concatenation and pooling run on integers).
//   - Dynamic layers quantize only the activation inputs of Conv / Gemm / MatMul, at run time;
//     their outputs stay FP32.
//   - Biases of Conv / Gemm become int32 with scale s_x·s_w when input and weight are static,
//     per-tensor or per-channel, at most 8 bits (the integer runtime's contract).
//   - Nodes a recipe keeps in FP32 quantize nothing and read FP32 inputs.
// A value wanted by several nodes takes the settings of the first in topological order (its
// producer before its consumers).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"
#include "quant/recipe.h"

namespace lowbit::quant {

struct WeightSite {
  int node;        // the Conv / Gemm / MatMul
  int value;       // the constant weight
  TensorQuant quant;  // axis resolved to the op's output-channel axis when auto
};

struct ActivationSite {
  int value;
  TensorQuant quant;
  bool dynamic = false;
};

struct BiasSite {
  int node;
  int bias;        // constant bias value
  int input;       // activation input value
  int weight;      // weight value
};

struct LayerSite {  // a quantized layer, for per-layer reports
  int node;         // the head node (Conv, Add, ...)
  int output;       // its unit output value
};

struct Placement {
  std::vector<WeightSite> weights;
  std::vector<ActivationSite> activations;
  std::vector<BiasSite> biases;
  std::vector<LayerSite> layers;
  std::set<std::string> fp32_nodes;
};

// The output-channel axis of a weight read by `node` (Conv 0; Gemm 0 with transB else 1;
// MatMul the weight's last axis), or -1 when the node has no per-channel weight axis.
int weight_channel_axis(const ir::Graph& graph, const ir::Node& node);

// The value a node's output becomes after the activations fused into it (see above).
int unit_output(const ir::Graph& graph, const std::vector<std::vector<int>>& consumers, int node);

// Plans quantization of `graph` (topologically sorted, shapes inferred) under `recipe`;
// errors come from the recipe's per-node resolution.
Result<Placement> plan_quantization(const ir::Graph& graph, const Recipe& recipe);

}  // namespace lowbit::quant
