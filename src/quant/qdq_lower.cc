// qdq_lower.cc: QuantizedModel → IR graph with QuantizeLinear / DequantizeLinear (and com.lowbit)
// nodes; the patterns are listed in qdq_format.h.
#include <algorithm>

#include "ops/op.h"
#include "quant/qdq_format.h"
#include "quant/qoperator_format.h"
#include "quant/scheme_json.h"

namespace lowbit::quant {
namespace {

constexpr std::string_view kLowbit = ops::kLowbitDomain;

bool per_axis(const QScheme& s) { return s.granularity == Granularity::kPerChannel; }

// Standard ONNX can dequantize this weight (values of any width ≤ 8 fit int8 / uint8).
bool standard_weight(const QScheme& s, int64_t opset) {
  if (s.bits > 8 || opset < 10) return false;
  if (s.granularity == Granularity::kPerTensor) return true;
  return per_axis(s) && opset >= 13;
}

// Standard ONNX QuantizeLinear saturates to the full 8-bit range with ties to even.
bool standard_activation(const QScheme& s, int64_t opset) {
  if (s.bits != 8 || s.narrow || s.rounding != Rounding::kHalfEven || opset < 10) return false;
  if (s.granularity == Granularity::kPerTensor) return true;
  return per_axis(s) && opset >= 13;
}

class Lowerer {
 public:
  Lowerer(const QuantizedModel& m, std::map<std::string, std::string>* dequantized)
      : m_(m), g_(m.graph), dequantized_(dequantized) {}

  Result<ir::Graph> run() {
    consumers_ = g_.consumers();
    for (const auto& [name, w] : m_.weights) LB_TRY(lower_weight(name, w));
    for (const auto& [name, b] : m_.biases) LB_TRY(lower_bias(name, b));
    for (const auto& [name, a] : m_.activations) LB_TRY(lower_activation(name, a));
    if (used_lowbit_) g_.opsets[std::string(kLowbit)] = 1;
    g_.metadata[std::string(kQuantMetadataKey)] = metadata().dump();
    LB_TRY(g_.topo_sort());
    return std::move(g_);
  }

 private:
  nlohmann::json metadata() const {
    nlohmann::json tensors = nlohmann::json::object();
    for (const auto& [name, w] : m_.weights)
      tensors[name] = {{"kind", "weight"}, {"scheme", scheme_to_json(w.scheme)}, {"observer", w.observer}};
    for (const auto& [name, a] : m_.activations)
      tensors[name] = {{"kind", "activation"}, {"scheme", scheme_to_json(a.scheme)}, {"dynamic", a.dynamic},
                       {"observer", a.observer}};
    for (const auto& [name, b] : m_.biases) tensors[name] = {{"kind", "bias"}};
    // The FP32 nodes' order: other forms (QOperator) change the graph around them, and topological
    // sorting on import may then order independent branches differently.
    std::vector<std::string> order;
    for (const ir::Node& n : m_.graph.nodes) order.push_back(n.name);
    return {{"version", 1},
            {"recipe", m_.recipe},
            {"node_order", order},
            {"fp32_nodes", std::vector<std::string>(m_.fp32_nodes.begin(), m_.fp32_nodes.end())},
            {"tensors", tensors}};
  }

  int constant(const std::string& base, Tensor t) {
    const int v = g_.add_value(g_.unique_value_name(base));
    g_.value(v).dtype = t.dtype();
    g_.value(v).shape = t.shape();
    g_.value(v).constant = std::move(t);
    g_.value(v).is_initializer = true;
    return v;
  }

  static Tensor scale_tensor(const std::vector<float>& s, bool scalar) {
    if (scalar) return Tensor::scalar<float>(s[0]);
    return Tensor::from_vector<float>({static_cast<int64_t>(s.size())}, s);
  }

  static Tensor zero_point_tensor(const std::vector<int32_t>& z, DType dt, bool scalar) {
    const Shape shape = scalar ? Shape{} : Shape{static_cast<int64_t>(z.size())};
    Tensor t = Tensor::zeros(dt, shape);
    for (size_t i = 0; i < z.size(); ++i) {
      if (dt == DType::kI8) t.data<int8_t>()[i] = static_cast<int8_t>(z[i]);
      else if (dt == DType::kU8) t.data<uint8_t>()[i] = static_cast<uint8_t>(z[i]);
      else t.data<int32_t>()[i] = z[i];
    }
    return t;
  }

  // Granularity attributes of a lowbit-domain node, with the axis normalized for `rank`.
  static void grid_attrs(ir::Node& n, const QScheme& s, int64_t rank) {
    n.attrs.set("bits", int64_t{s.bits});
    n.attrs.set("signed", int64_t{s.is_signed});
    n.attrs.set("narrow", int64_t{s.narrow});
    const int64_t axis = s.axis < 0 ? s.axis + rank : s.axis;
    if (s.granularity != Granularity::kPerTensor) n.attrs.set("axis", axis);
    if (s.granularity == Granularity::kPerGroup) n.attrs.set("group", s.group);
    if (s.granularity == Granularity::kPerBlock) n.attrs.set("block", s.block);
  }

  Status lower_weight(const std::string& name, const WeightQuant& w) {
    const int v = g_.find_value(name);
    if (v < 0 || !g_.is_constant(v)) return Status::errorf("quantized weight '{}' is not a constant of the graph", name);
    const int64_t rank = static_cast<int64_t>(w.q.shape().size());
    const bool standard = standard_weight(w.scheme, g_.opset);
    const bool scalar = w.scheme.granularity == Granularity::kPerTensor;
    const DType zdt = w.scheme.bits > 8 ? DType::kI32 : w.q.dtype();
    const int q = constant(name + "_quantized", w.q);
    const int s = constant(name + "_scale", scale_tensor(w.params.scale, scalar));
    const int z = constant(name + "_zero_point", zero_point_tensor(w.params.zero_point, zdt, scalar));
    ir::Node n;
    n.name = g_.unique_value_name(name + "_DequantizeLinear");
    n.op_type = "DequantizeLinear";
    if (standard) {
      if (!scalar) n.attrs.set("axis", int64_t{w.scheme.axis < 0 ? w.scheme.axis + rank : w.scheme.axis});
    } else {
      n.domain = kLowbit;
      used_lowbit_ = true;
      grid_attrs(n, w.scheme, rank);
    }
    n.inputs = {q, s, z};
    n.outputs = {v};
    g_.value(v).constant.reset();
    g_.value(v).is_initializer = false;
    g_.add_node(std::move(n));
    return Status::ok();
  }

  Status lower_bias(const std::string& name, const BiasQuant& b) {
    const int v = g_.find_value(name);
    if (v < 0 || !g_.is_constant(v)) return Status::errorf("quantized bias '{}' is not a constant of the graph", name);
    const bool scalar = b.scale.size() == 1;
    const int q = constant(name + "_quantized", b.q);
    const int s = constant(name + "_scale", scale_tensor(b.scale, scalar));
    const int z = constant(name + "_zero_point", zero_point_tensor(std::vector<int32_t>(b.scale.size(), 0), DType::kI32, scalar));
    ir::Node n;
    n.name = g_.unique_value_name(name + "_DequantizeLinear");
    n.op_type = "DequantizeLinear";
    if (!scalar) {
      if (g_.opset < 13) {
        n.domain = kLowbit;
        used_lowbit_ = true;
      }
      n.attrs.set("axis", int64_t{0});
    }
    n.inputs = {q, s, z};
    n.outputs = {v};
    g_.value(v).constant.reset();
    g_.value(v).is_initializer = false;
    g_.add_node(std::move(n));
    return Status::ok();
  }

  // Points every reader of v except the fp32 nodes (and the graph outputs) at `to`.
  void rewire(int v, int to, int skip_node) {
    for (int n : consumers_[static_cast<size_t>(v)]) {
      if (n == skip_node) continue;
      ir::Node& node = g_.nodes[static_cast<size_t>(n)];
      if (m_.fp32_nodes.count(node.name)) continue;
      for (int& in : node.inputs)
        if (in == v) in = to;
    }
    for (int& o : g_.outputs)
      if (o == v) o = to;
  }

  Status lower_activation(const std::string& name, const ActQuant& a) {
    const int v = g_.find_value(name);
    if (v < 0 || g_.is_constant(v)) return Status::errorf("quantized activation '{}' is not a run-time value of the graph", name);
    const int64_t rank = g_.value(v).shape ? static_cast<int64_t>(g_.value(v).shape->size()) : -1;
    if (a.scheme.granularity != Granularity::kPerTensor && rank < 0)
      return Status::errorf("activation '{}' is quantized per channel but its rank is unknown", name);
    const int dq = g_.add_value(g_.unique_value_name(name + "_dequantized"));
    g_.value(dq).dtype = DType::kF32;
    g_.value(dq).shape = g_.value(v).shape;
    const int first_new = static_cast<int>(g_.nodes.size());
    if (a.dynamic) {
      const bool standard = !a.scheme.is_signed && !a.scheme.symmetric && !a.scheme.narrow && a.scheme.bits == 8 &&
                            a.scheme.granularity == Granularity::kPerTensor && g_.opset >= 11;
      if (standard) {
        const int q = g_.add_value(g_.unique_value_name(name + "_quantized"));
        const int s = g_.add_value(g_.unique_value_name(name + "_scale"));
        const int z = g_.add_value(g_.unique_value_name(name + "_zero_point"));
        ir::Node dql{g_.unique_value_name(name + "_DynamicQuantizeLinear"), "DynamicQuantizeLinear", "", {v}, {q, s, z}, {}};
        ir::Node deq{g_.unique_value_name(name + "_DequantizeLinear"), "DequantizeLinear", "", {q, s, z}, {dq}, {}};
        g_.add_node(std::move(dql));
        g_.add_node(std::move(deq));
      } else {
        ir::Node n{g_.unique_value_name(name + "_DynamicFakeQuant"), "DynamicFakeQuant", std::string(kLowbit), {v}, {dq}, {}};
        n.attrs.set("bits", int64_t{a.scheme.bits});
        n.attrs.set("signed", int64_t{a.scheme.is_signed});
        n.attrs.set("narrow", int64_t{a.scheme.narrow});
        n.attrs.set("symmetric", int64_t{a.scheme.symmetric});
        const int64_t axis = a.scheme.axis < 0 ? a.scheme.axis + rank : a.scheme.axis;
        n.attrs.set("axis", a.scheme.granularity == Granularity::kPerTensor ? int64_t{-1} : axis);
        used_lowbit_ = true;
        g_.add_node(std::move(n));
      }
    } else {
      const bool standard = standard_activation(a.scheme, g_.opset);
      const bool scalar = a.scheme.granularity == Granularity::kPerTensor;
      const DType qdt = storage_dtype(a.scheme);
      const DType zdt = standard ? qdt : (a.scheme.bits > 8 ? DType::kI32 : qdt);
      const int s = constant(name + "_scale", scale_tensor(a.params.scale, scalar));
      const int z = constant(name + "_zero_point", zero_point_tensor(a.params.zero_point, zdt, scalar));
      const int q = g_.add_value(g_.unique_value_name(name + "_quantized"));
      g_.value(q).dtype = qdt;
      g_.value(q).shape = g_.value(v).shape;
      ir::Node qn{g_.unique_value_name(name + "_QuantizeLinear"), "QuantizeLinear", "", {v, s, z}, {q}, {}};
      ir::Node dn{g_.unique_value_name(name + "_DequantizeLinear"), "DequantizeLinear", "", {q, s, z}, {dq}, {}};
      if (standard) {
        if (!scalar) {
          const int64_t axis = a.scheme.axis < 0 ? a.scheme.axis + rank : a.scheme.axis;
          qn.attrs.set("axis", axis);
          dn.attrs.set("axis", axis);
        }
      } else {
        qn.domain = dn.domain = kLowbit;
        used_lowbit_ = true;
        grid_attrs(qn, a.scheme, rank);
        grid_attrs(dn, a.scheme, rank);
        if (a.scheme.rounding != Rounding::kHalfEven) qn.attrs.set("rounding", std::string(rounding_name(a.scheme.rounding)));
        if (a.scheme.rounding == Rounding::kStochastic) qn.attrs.set("seed", static_cast<int64_t>(a.scheme.seed));
      }
      g_.add_node(std::move(qn));
      g_.add_node(std::move(dn));
    }
    rewire(v, dq, first_new);
    if (dequantized_) (*dequantized_)[name] = g_.value(dq).name;
    consumers_.resize(g_.values.size());
    return Status::ok();
  }

  const QuantizedModel& m_;
  ir::Graph g_;
  std::vector<std::vector<int>> consumers_;
  std::map<std::string, std::string>* dequantized_;
  bool used_lowbit_ = false;
};

}  // namespace

Result<ir::Graph> to_qdq_graph(const QuantizedModel& model, std::map<std::string, std::string>* dequantized) {
  return Lowerer(model, dequantized).run();
}

bool has_quant_ops(const ir::Graph& graph) {
  if (has_qoperator_ops(graph)) return true;
  for (const ir::Node& n : graph.nodes) {
    if (n.domain == kLowbit) return true;
    if (n.domain.empty() && (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear" ||
                             n.op_type == "DynamicQuantizeLinear"))
      return true;
  }
  return false;
}

}  // namespace lowbit::quant
