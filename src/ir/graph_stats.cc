// graph_stats.cc: op counts, parameter counts and MACs from a shape-inferred graph.
#include "ir/graph_stats.h"

namespace lowbit::ir {
namespace {

// Product of a fully known shape, or -1.
int64_t known_numel(const std::optional<Shape>& s) {
  if (!s) return -1;
  int64_t n = 1;
  for (int64_t d : *s) {
    if (d < 0) return -1;
    n *= d;
  }
  return n;
}

const std::optional<Shape>& shape_of(const Graph& g, int v) {
  static const std::optional<Shape> kNone;
  if (v == kNoValue) return kNone;
  const Value& value = g.value(v);
  if (value.constant) {
    static thread_local std::optional<Shape> s;
    s = value.constant->shape();
    return s;
  }
  return value.shape;
}

// MACs of one node, or -1 when its shapes are not known.
int64_t node_macs(const Graph& g, const Node& n) {
  // Quantized forms count like their FP32 op: QLinearConv's weight is its input 3.
  const bool conv = n.op_type == "Conv" || n.op_type == "ConvInteger" || n.op_type == "QLinearConv";
  if (conv || n.op_type == "ConvTranspose") {
    const std::optional<Shape> w = shape_of(g, n.input(n.op_type == "QLinearConv" ? 3 : 1));
    if (!w || w->size() < 2) return -1;
    const int64_t io = known_numel(shape_of(g, conv ? n.outputs[0] : n.input(0)));
    if (io < 0) return -1;
    int64_t per = 1;
    for (size_t d = 1; d < w->size(); ++d) per *= (*w)[d];
    return io * per;
  }
  if (n.op_type == "Gemm" || n.op_type == "MatMul" || n.op_type == "MatMulInteger" || n.op_type == "QLinearMatMul") {
    const std::optional<Shape> a = shape_of(g, n.input(0));
    const int64_t y = known_numel(shape_of(g, n.outputs[0]));
    if (!a || a->empty() || y < 0) return -1;
    int64_t k = a->back();
    if (n.op_type == "Gemm") {
      Result<int64_t> trans_a = n.attrs.get_int("transA", 0);
      if (trans_a.is_ok() && *trans_a && a->size() == 2) k = (*a)[0];
    }
    return k < 0 ? -1 : y * k;
  }
  return 0;
}

}  // namespace

GraphStats graph_stats(const Graph& graph) {
  GraphStats s;
  for (const Node& n : graph.nodes) {
    ++s.op_counts[n.domain.empty() ? n.op_type : n.domain + "." + n.op_type];
    const int64_t m = node_macs(graph, n);
    if (m < 0) s.macs_complete = false;
    else s.macs += m;
  }
  for (const Value& v : graph.values) {
    if (!v.is_initializer || !v.constant) continue;
    s.parameter_bytes += static_cast<int64_t>(v.constant->nbytes());
    if (v.constant->dtype() == DType::kF32) s.parameters += v.constant->numel();
  }
  return s;
}

}  // namespace lowbit::ir
