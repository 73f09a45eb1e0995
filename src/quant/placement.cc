// placement.cc: the quantization placement rules of placement.h.
#include "quant/placement.h"

#include <algorithm>
#include <map>

namespace lowbit::quant {
namespace {

bool is_compute(const ir::Node& n) {
  return n.domain.empty() && (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul");
}

bool is_passthrough(const ir::Node& n) {
  return n.domain.empty() && (n.op_type == "Add" || n.op_type == "Concat" || n.op_type == "MaxPool" ||
                              n.op_type == "AveragePool" || n.op_type == "GlobalAveragePool");
}

// Relu, or Clip whose bounds are constants (ReLU6 and friends): foldable into saturation.
bool is_fusable_activation(const ir::Graph& g, const ir::Node& n) {
  if (!n.domain.empty()) return false;
  if (n.op_type == "Relu") return true;
  if (n.op_type != "Clip") return false;
  for (size_t i = 1; i < n.inputs.size(); ++i)
    if (n.has_input(i) && !g.is_constant(n.input(i))) return false;
  return true;
}

bool is_graph_output(const ir::Graph& g, int v) { return std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end(); }

bool is_float_value(const ir::Graph& g, int v) {
  return v != ir::kNoValue && (!g.value(v).dtype || *g.value(v).dtype == DType::kF32);
}

bool bias_quantizable(const TensorQuant& w, const TensorQuant& a) {
  const bool wg = w.scheme.granularity == Granularity::kPerTensor || w.scheme.granularity == Granularity::kPerChannel;
  return wg && a.scheme.granularity == Granularity::kPerTensor && w.scheme.bits <= 8 && a.scheme.bits <= 8;
}

}  // namespace

int weight_channel_axis(const ir::Graph& g, const ir::Node& n) {
  if (n.op_type == "Conv") return 0;
  if (n.op_type == "Gemm") {
    auto tb = n.attrs.get_int("transB", 0);
    return tb.is_ok() && *tb != 0 ? 0 : 1;
  }
  if (n.op_type == "MatMul") {
    const int w = n.input(1);
    if (w == ir::kNoValue || !g.value(w).shape) return -1;
    return static_cast<int>(g.value(w).shape->size()) - 1;
  }
  return -1;
}

int unit_output(const ir::Graph& g, const std::vector<std::vector<int>>& consumers, int node) {
  int out = g.nodes[static_cast<size_t>(node)].outputs.empty() ? ir::kNoValue : g.nodes[static_cast<size_t>(node)].outputs[0];
  while (out != ir::kNoValue && !is_graph_output(g, out)) {
    const auto& rs = consumers[static_cast<size_t>(out)];
    if (rs.size() != 1) break;
    const ir::Node& r = g.nodes[static_cast<size_t>(rs[0])];
    if (!is_fusable_activation(g, r) || r.input(0) != out || r.outputs.empty()) break;
    out = r.outputs[0];
  }
  return out;
}

Result<Placement> plan_quantization(const ir::Graph& g, const Recipe& recipe) {
  Placement p;
  const auto consumers = g.consumers();
  std::map<int, size_t> act_index;     // value → index in p.activations
  std::set<int> weight_seen;
  auto want_act = [&](int v, const LayerQuant& lq, bool dynamic) {
    if (v == ir::kNoValue || g.is_constant(v) || !is_float_value(g, v) || act_index.count(v)) return;
    act_index[v] = p.activations.size();
    p.activations.push_back({v, lq.activation, dynamic});
  };
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (!is_compute(n) && !is_passthrough(n)) continue;
    LB_ASSIGN_OR_RETURN(const LayerQuant lq, recipe.for_node(n.name));
    if (lq.fp32) {
      p.fp32_nodes.insert(n.name);
      continue;
    }
    const bool dynamic = lq.mode == ActivationMode::kDynamic;
    if (is_compute(n)) {
      const int w = n.input(1);
      const int axis = weight_channel_axis(g, n);
      if (g.is_constant(w) && g.value(w).constant->dtype() == DType::kF32 && axis >= 0 && !weight_seen.count(w)) {
        weight_seen.insert(w);
        WeightSite site{static_cast<int>(i), w, lq.weight};
        if (lq.weight.auto_axis) site.quant.scheme.axis = axis;
        p.weights.push_back(site);
        if (!dynamic && n.op_type != "MatMul" && g.is_constant(n.input(2)) && bias_quantizable(site.quant, lq.activation)) {
          bool plain = true;  // Gemm's bias is exact only as α·AB + C with α = β = 1
          if (n.op_type == "Gemm") {
            auto a = n.attrs.get_float("alpha", 1.0f);
            auto b = n.attrs.get_float("beta", 1.0f);
            plain = a.is_ok() && b.is_ok() && *a == 1.0f && *b == 1.0f;
          }
          const Tensor& bt = *g.value(n.input(2)).constant;
          const Shape& ws = g.value(w).constant->shape();
          const int64_t channels = ws[static_cast<size_t>(axis)];
          if (plain && bt.dtype() == DType::kF32 && bt.rank() == 1 && bt.numel() == channels)
            p.biases.push_back({static_cast<int>(i), n.input(2), n.input(0), w});
        }
      }
      want_act(n.input(0), lq, dynamic);
      if (n.op_type == "MatMul" && !g.is_constant(n.input(1))) want_act(n.input(1), lq, dynamic);
    } else if (!dynamic) {
      for (int in : n.inputs) want_act(in, lq, false);
    }
    if (!dynamic) {
      const int out = unit_output(g, consumers, static_cast<int>(i));
      want_act(out, lq, false);
      if (out != ir::kNoValue) p.layers.push_back({static_cast<int>(i), out});
    } else if (!n.outputs.empty() && n.outputs[0] != ir::kNoValue) {
      p.layers.push_back({static_cast<int>(i), n.outputs[0]});
    }
  }
  // A bias is only integer when its input really is statically quantized per tensor.
  std::vector<BiasSite> biases;
  for (const BiasSite& b : p.biases) {
    auto it = act_index.find(b.input);
    if (it == act_index.end()) continue;
    const ActivationSite& a = p.activations[it->second];
    if (!a.dynamic && a.quant.scheme.granularity == Granularity::kPerTensor) biases.push_back(b);
  }
  p.biases = std::move(biases);
  return p;
}

}  // namespace lowbit::quant
