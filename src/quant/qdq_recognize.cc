// qdq_recognize.cc: IR graph with quantization ops → QuantizedModel, undoing the patterns of
// qdq_format.h. Schemes come from the "lowbit.quant" metadata when lowbit wrote the file, and
// are inferred from dtypes, scales and zero points for QDQ models made by other tools.
// Quantization nodes that match no pattern stay in the graph and run as ops.
#include <algorithm>
#include <map>
#include <set>

#include "exec/model.h"
#include "ops/op.h"
#include "quant/qdq_format.h"
#include "quant/qoperator_format.h"
#include "quant/scheme_json.h"

namespace lowbit::quant {
namespace {

bool is_op(const ir::Node& n, std::string_view type) {
  return n.op_type == type && (n.domain.empty() || n.domain == ops::kLowbitDomain);
}
bool is_lowbit(const ir::Node& n) { return n.domain == ops::kLowbitDomain; }

int64_t int_attr(const ir::Node& n, std::string_view name, int64_t def) {
  auto r = n.attrs.get_int(name, def);
  return r.is_ok() ? *r : def;
}

// Scales and zero points of a (De)QuantizeLinear node whose inputs 1 and 2 are constants.
Result<QParams> node_params(const ir::Graph& g, const ir::Node& n) {
  if (!g.is_constant(n.input(1))) return Status::errorf("node '{}': scale is not a constant", n.name);
  const Tensor& s = *g.value(n.input(1)).constant;
  if (s.dtype() != DType::kF32) return Status::errorf("node '{}': scale is not float32", n.name);
  QParams p;
  p.scale.assign(s.data<float>(), s.data<float>() + s.numel());
  for (float v : p.scale)
    if (!(v > 0.0f) || !std::isfinite(v)) return Status::errorf("node '{}': scale {} is not positive and finite", n.name, v);
  p.zero_point.assign(p.scale.size(), 0);
  if (n.has_input(2)) {
    if (!g.is_constant(n.input(2))) return Status::errorf("node '{}': zero point is not a constant", n.name);
    const Tensor& z = *g.value(n.input(2)).constant;
    if (z.numel() != s.numel()) return Status::errorf("node '{}': {} scales but {} zero points", n.name, s.numel(), z.numel());
    if (z.dtype() == DType::kF32 || z.dtype() == DType::kBool || z.dtype() == DType::kI64)
      return Status::errorf("node '{}': zero point has dtype {}", n.name, dtype_name(z.dtype()));
    for (int64_t i = 0; i < z.numel(); ++i) p.zero_point[static_cast<size_t>(i)] = static_cast<int32_t>(z.at_i64(i));
  }
  return p;
}

// The scheme a node's attributes and tensors imply, for models without lowbit metadata.
QScheme inferred_scheme(const ir::Node& n, DType qdtype, const QParams& p, int64_t rank) {
  QScheme s;
  s.bits = is_lowbit(n) ? static_cast<int>(int_attr(n, "bits", 8)) : (qdtype == DType::kI32 ? 16 : 8);
  s.is_signed = is_lowbit(n) ? int_attr(n, "signed", 0) != 0 : qdtype != DType::kU8;
  s.narrow = is_lowbit(n) && int_attr(n, "narrow", 0) != 0;
  s.symmetric = std::all_of(p.zero_point.begin(), p.zero_point.end(), [&](int32_t z) { return z == 0; }) && s.is_signed;
  if (p.scale.size() > 1 || int_attr(n, "block", 0) > 0) {
    s.granularity = Granularity::kPerChannel;
    int64_t axis = int_attr(n, "axis", 1);
    if (axis < 0) axis += rank;
    s.axis = static_cast<int>(axis);
    if (int_attr(n, "group", 1) > 1) {
      s.granularity = Granularity::kPerGroup;
      s.group = int_attr(n, "group", 1);
    }
    if (int_attr(n, "block", 0) > 0) {
      s.granularity = Granularity::kPerBlock;
      s.block = int_attr(n, "block", 0);
    }
  }
  return s;
}

class Recognizer {
 public:
  explicit Recognizer(ir::Graph g) : g_(std::move(g)) {}

  Result<QuantizedModel> run() {
    LB_TRY(read_metadata());
    LB_TRY(normalize_exporter_forms());
    const bool raised = has_qoperator_ops(g_);
    if (raised) {
      LB_ASSIGN_OR_RETURN(g_, from_qoperator_graph(std::move(g_)));
    }
    consumers_ = g_.consumers();
    dead_.assign(g_.nodes.size(), false);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const ir::Node& n = g_.nodes[i];
      if (is_op(n, "DequantizeLinear") && g_.is_constant(n.input(0))) LB_TRY(constant_dq(static_cast<int>(i)));
    }
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      const ir::Node& n = g_.nodes[i];
      if (dead_[i]) continue;
      if (is_op(n, "QuantizeLinear") && !g_.is_constant(n.input(0))) LB_TRY(static_pair(static_cast<int>(i)));
      else if (n.domain.empty() && n.op_type == "DynamicQuantizeLinear") LB_TRY(dynamic_pair(static_cast<int>(i)));
      else if (is_lowbit(n) && n.op_type == "DynamicFakeQuant") LB_TRY(dynamic_fake(static_cast<int>(i)));
    }
    std::vector<ir::Node> kept;
    for (size_t i = 0; i < g_.nodes.size(); ++i)
      if (!dead_[i]) kept.push_back(std::move(g_.nodes[i]));
    g_.nodes = std::move(kept);
    g_.rebuild_producers();
    g_.remove_dead();
    if (raised) drop_requantized_before_activation();
    restore_node_order();
    g_.metadata.erase(std::string(kQuantMetadataKey));
    bool lowbit_left = false;
    for (const ir::Node& n : g_.nodes) lowbit_left |= is_lowbit(n);
    if (!lowbit_left) g_.opsets.erase(std::string(ops::kLowbitDomain));
    LB_TRY(exec::prepare_graph(g_));
    for (const auto& [name, w] : m_.weights)
      if (g_.find_value(name) < 0) return Status::errorf("quantized weight '{}' is not used by the graph", name);
    for (const auto& [name, a] : m_.activations)
      if (g_.find_value(name) < 0) return Status::errorf("quantized activation '{}' is not in the graph", name);
    m_.graph = std::move(g_);
    return std::move(m_);
  }

 private:
  Status read_metadata() {
    auto it = g_.metadata.find(std::string(kQuantMetadataKey));
    if (it == g_.metadata.end()) return Status::ok();
    meta_ = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
    if (meta_.is_discarded() || !meta_.is_object() || !meta_.contains("tensors") || !meta_["tensors"].is_object())
      return Status::errorf("metadata '{}' is not valid lowbit quantization JSON", kQuantMetadataKey);
    if (meta_.contains("recipe")) m_.recipe = meta_["recipe"];
    if (meta_.contains("fp32_nodes")) {
      if (!meta_["fp32_nodes"].is_array()) return Status::errorf("metadata '{}': fp32_nodes is not a list", kQuantMetadataKey);
      for (const auto& s : meta_["fp32_nodes"]) {
        if (!s.is_string()) return Status::errorf("metadata '{}': fp32_nodes holds a non-string", kQuantMetadataKey);
        m_.fp32_nodes.insert(s.get<std::string>());
      }
    }
    return Status::ok();
  }

  // What exporters write around the patterns, undone first (PyTorch's torch.onnx writes both):
  //   - scales and zero points computed by constant sub-graphs (ConstantOfShape → Cast) are
  //     folded into constants; only these few ops are folded, so the DequantizeLinear of a
  //     constant weight, QOperator scale products and reshaped biases stay the patterns they are;
  //   - a Cast to the dtype its input already has (QuantizeLinear → Cast(uint8) →
  //     DequantizeLinear) is dropped.
  Status normalize_exporter_forms() {
    static const std::set<std::string_view> kShapeLike = {"Cast", "ConstantOfShape", "Identity", "Shape", "Gather"};
    if (!has_quant_ops(g_) || !exec::check_supported(g_).is_ok()) return Status::ok();
    LB_TRY(exec::fold_constants(g_, [](const ir::Node& n) { return n.domain.empty() && kShapeLike.count(n.op_type); }));
    const auto consumers = g_.consumers();
    bool dropped = false;
    for (ir::Node& n : g_.nodes) {
      if (!n.domain.empty() || n.op_type != "Cast" || n.outputs.size() != 1 || !n.has_input(0)) continue;
      const int in = n.input(0), out = n.outputs[0];
      auto to = n.attrs.get_int("to");
      if (!to.is_ok() || !g_.value(in).dtype || !g_.value(out).dtype || *g_.value(in).dtype != *g_.value(out).dtype) continue;
      if (std::find(g_.outputs.begin(), g_.outputs.end(), out) != g_.outputs.end()) continue;
      for (int r : consumers[static_cast<size_t>(out)])
        for (int& x : g_.nodes[static_cast<size_t>(r)].inputs)
          if (x == out) x = in;
      n.inputs.clear();
      n.outputs.clear();
      dropped = true;
    }
    if (dropped) {
      std::vector<ir::Node> kept;
      for (ir::Node& n : g_.nodes)
        if (!n.outputs.empty()) kept.push_back(std::move(n));
      g_.nodes = std::move(kept);
      g_.remove_dead();
    }
    return Status::ok();
  }

  // A QOperator Conv / MatMul followed by Relu or Clip is written quantized with the params of
  // the Relu / Clip output (qoperator_format.h); quantizing both with the same params is the
  // same as quantizing the output alone (clamping commutes with monotone rounding), so the
  // first annotation goes and the model is the one that was exported.
  void drop_requantized_before_activation() {
    const auto consumers = g_.consumers();
    std::vector<std::string> drop;
    for (const auto& [name, a] : m_.activations) {
      const int v = g_.find_value(name);
      if (v < 0 || a.dynamic || consumers[static_cast<size_t>(v)].size() != 1) continue;
      if (std::find(g_.outputs.begin(), g_.outputs.end(), v) != g_.outputs.end()) continue;
      const ir::Node& r = g_.nodes[static_cast<size_t>(consumers[static_cast<size_t>(v)][0])];
      if (!r.domain.empty() || (r.op_type != "Relu" && r.op_type != "Clip") || r.input(0) != v) continue;
      auto next = m_.activations.find(g_.value(r.outputs[0]).name);
      if (next != m_.activations.end() && !next->second.dynamic && next->second.params == a.params &&
          storage_dtype(next->second.scheme) == storage_dtype(a.scheme))
        drop.push_back(name);
    }
    for (const std::string& name : drop) m_.activations.erase(name);
  }

  // Puts the nodes back in the order lowbit saved ("node_order") when it names each node once
  // and is topological; otherwise keeps the imported order.
  void restore_node_order() {
    if (meta_.is_null() || !meta_.contains("node_order") || !meta_["node_order"].is_array()) return;
    const auto& order = meta_["node_order"];
    if (order.size() != g_.nodes.size()) return;
    std::map<std::string, size_t> at;
    for (size_t i = 0; i < g_.nodes.size(); ++i) at[g_.nodes[i].name] = i;
    std::vector<ir::Node> nodes;
    std::vector<bool> taken(g_.nodes.size(), false);
    for (const auto& name : order) {
      if (!name.is_string()) return;
      auto it = at.find(name.get<std::string>());
      if (it == at.end() || taken[it->second]) return;
      taken[it->second] = true;
      nodes.push_back(g_.nodes[it->second]);
    }
    std::vector<bool> ready(g_.values.size(), false);
    for (size_t v = 0; v < g_.values.size(); ++v) ready[v] = g_.values[v].constant.has_value();
    for (int v : g_.inputs) ready[static_cast<size_t>(v)] = true;
    for (const ir::Node& n : nodes) {
      for (int in : n.inputs)
        if (in != ir::kNoValue && !ready[static_cast<size_t>(in)]) return;
      for (int out : n.outputs)
        if (out != ir::kNoValue) ready[static_cast<size_t>(out)] = true;
    }
    g_.nodes = std::move(nodes);
    g_.rebuild_producers();
  }

  // The metadata entry for `name` when lowbit wrote the file, else null.
  const nlohmann::json* meta_entry(const std::string& name) const {
    if (meta_.is_null()) return nullptr;
    auto it = meta_["tensors"].find(name);
    return it == meta_["tensors"].end() ? nullptr : &*it;
  }

  Result<QScheme> scheme_for(const std::string& name, const ir::Node& n, DType qdtype, const QParams& p, int64_t rank,
                             std::string* observer) {
    if (const nlohmann::json* e = meta_entry(name)) {
      if (!e->is_object() || !e->contains("scheme")) return Status::errorf("metadata for '{}' has no scheme", name);
      if (observer && e->contains("observer") && (*e)["observer"].is_string()) *observer = (*e)["observer"].get<std::string>();
      return scheme_from_json((*e)["scheme"], "metadata for '" + name + "'");
    }
    return inferred_scheme(n, qdtype, p, rank);
  }

  // Reader nodes of v are all Conv/Gemm taking it as the bias.
  bool read_as_bias(int v) const {
    const auto& rs = consumers_[static_cast<size_t>(v)];
    if (rs.empty()) return false;
    for (int r : rs) {
      const ir::Node& n = g_.nodes[static_cast<size_t>(r)];
      if ((n.op_type != "Conv" && n.op_type != "Gemm") || n.input(2) != v) return false;
    }
    return true;
  }

  Status constant_dq(int i) {
    const ir::Node& n = g_.nodes[static_cast<size_t>(i)];
    const Tensor& q = *g_.value(n.input(0)).constant;
    const int out = n.outputs.empty() ? ir::kNoValue : n.outputs[0];
    if (out == ir::kNoValue) return Status::ok();
    const std::string& name = g_.value(out).name;
    LB_ASSIGN_OR_RETURN(QParams p, node_params(g_, n));
    const nlohmann::json* e = meta_entry(name);
    const bool bias = e ? (e->is_object() && e->value("kind", "") == "bias")
                        : (q.dtype() == DType::kI32 && read_as_bias(out) &&
                           std::all_of(p.zero_point.begin(), p.zero_point.end(), [](int32_t z) { return z == 0; }));
    Tensor f;
    if (bias) {
      if (q.dtype() != DType::kI32) return Status::errorf("node '{}': a quantized bias must be int32", n.name);
      if (p.scale.size() != 1 && static_cast<int64_t>(p.scale.size()) != q.numel())
        return Status::errorf("node '{}': bias has {} elements but {} scales", n.name, q.numel(), p.scale.size());
      LB_ASSIGN_OR_RETURN(f, Tensor::make(DType::kF32, q.shape()));
      for (int64_t k = 0; k < q.numel(); ++k)
        f.data<float>()[k] = p.scale[p.scale.size() == 1 ? 0 : static_cast<size_t>(k)] * static_cast<float>(q.data<int32_t>()[k]);
      m_.biases[name] = BiasQuant{p.scale, q};
    } else {
      WeightQuant w;
      LB_ASSIGN_OR_RETURN(w.scheme, scheme_for(name, n, q.dtype(), p, q.rank(), &w.observer));
      if (storage_dtype(w.scheme) != q.dtype())
        return Status::errorf("node '{}': weight '{}' is stored as {} but its scheme needs {}", n.name, name,
                              dtype_name(q.dtype()), dtype_name(storage_dtype(w.scheme)));
      w.params = std::move(p);
      LB_ASSIGN_OR_RETURN(f, dequantize(q, w.scheme, w.params));
      w.q = q;
      m_.weights[name] = std::move(w);
    }
    ir::Value& val = g_.value(out);
    val.dtype = DType::kF32;
    val.shape = f.shape();
    val.constant = std::move(f);
    val.is_initializer = true;
    dead_[static_cast<size_t>(i)] = true;
    return Status::ok();
  }

  // Replaces every read of `from` (nodes and graph outputs) by `to`.
  void replace_reads(int from, int to) {
    for (int r : consumers_[static_cast<size_t>(from)])
      for (int& in : g_.nodes[static_cast<size_t>(r)].inputs)
        if (in == from) in = to;
    for (int& o : g_.outputs)
      if (o == from) o = to;
    auto& dst = consumers_[static_cast<size_t>(to)];
    for (int r : consumers_[static_cast<size_t>(from)]) dst.push_back(r);
    consumers_[static_cast<size_t>(from)].clear();
  }

  Status static_pair(int i) {
    const ir::Node& qn = g_.nodes[static_cast<size_t>(i)];
    if (qn.outputs.empty() || qn.outputs[0] == ir::kNoValue) return Status::ok();
    const int qv = qn.outputs[0];
    const auto readers = consumers_[static_cast<size_t>(qv)];
    if (readers.empty()) return Status::ok();
    LB_ASSIGN_OR_RETURN(QParams p, node_params(g_, qn));
    for (int r : readers) {  // every reader must be a DequantizeLinear with the same numbers
      const ir::Node& d = g_.nodes[static_cast<size_t>(r)];
      if (!is_op(d, "DequantizeLinear") || d.input(0) != qv) return Status::ok();
      auto dp = node_params(g_, d);
      if (!dp.is_ok() || !(*dp == p)) return Status::ok();
    }
    const int v = qn.input(0);
    const std::string name = g_.value(v).name;
    const DType qdt = is_lowbit(qn) ? (int_attr(qn, "bits", 8) > 8 ? DType::kI32
                                       : int_attr(qn, "signed", 0) ? DType::kI8 : DType::kU8)
                      : (qn.has_input(2) && g_.value(qn.input(2)).constant ? g_.value(qn.input(2)).constant->dtype() : DType::kU8);
    const int64_t rank = g_.value(v).shape ? static_cast<int64_t>(g_.value(v).shape->size()) : 0;
    ActQuant a;
    LB_ASSIGN_OR_RETURN(a.scheme, scheme_for(name, qn, qdt, p, rank, &a.observer));
    a.params = std::move(p);
    for (int r : readers) {
      dead_[static_cast<size_t>(r)] = true;
      replace_reads(g_.nodes[static_cast<size_t>(r)].outputs[0], v);
    }
    dead_[static_cast<size_t>(i)] = true;
    m_.activations[name] = std::move(a);
    return Status::ok();
  }

  // Dynamic activations: the scheme from metadata when lowbit wrote the file.
  Status dynamic_scheme(const std::string& name, ActQuant& a) {
    const nlohmann::json* e = meta_entry(name);
    if (!e) return Status::ok();
    if (!e->is_object() || !e->contains("scheme")) return Status::errorf("metadata for '{}' has no scheme", name);
    LB_ASSIGN_OR_RETURN(a.scheme, scheme_from_json((*e)["scheme"], "metadata for '" + name + "'"));
    return Status::ok();
  }

  Status dynamic_pair(int i) {
    const ir::Node& dn = g_.nodes[static_cast<size_t>(i)];
    if (dn.outputs.size() != 3) return Status::ok();
    int reader = -1;
    for (int o : dn.outputs) {
      if (o == ir::kNoValue) return Status::ok();
      const auto& rs = consumers_[static_cast<size_t>(o)];
      if (rs.size() != 1 || (reader >= 0 && rs[0] != reader)) return Status::ok();
      reader = rs[0];
    }
    const ir::Node& d = g_.nodes[static_cast<size_t>(reader)];
    if (!(d.domain.empty() && d.op_type == "DequantizeLinear") || d.inputs.size() != 3) return Status::ok();
    if (d.inputs[0] != dn.outputs[0] || d.inputs[1] != dn.outputs[1] || d.inputs[2] != dn.outputs[2]) return Status::ok();
    const int v = dn.input(0);
    ActQuant a;
    a.dynamic = true;
    a.scheme.bits = 8;
    a.scheme.is_signed = false;
    LB_TRY(dynamic_scheme(g_.value(v).name, a));
    dead_[static_cast<size_t>(i)] = dead_[static_cast<size_t>(reader)] = true;
    replace_reads(d.outputs[0], v);
    m_.activations[g_.value(v).name] = a;
    return Status::ok();
  }

  Status dynamic_fake(int i) {
    const ir::Node& n = g_.nodes[static_cast<size_t>(i)];
    if (n.outputs.empty() || n.outputs[0] == ir::kNoValue) return Status::ok();
    const int v = n.input(0);
    ActQuant a;
    a.dynamic = true;
    a.scheme.bits = static_cast<int>(int_attr(n, "bits", 8));
    a.scheme.is_signed = int_attr(n, "signed", 0) != 0;
    a.scheme.narrow = int_attr(n, "narrow", 0) != 0;
    a.scheme.symmetric = int_attr(n, "symmetric", 0) != 0;
    const int64_t axis = int_attr(n, "axis", -1);
    if (axis >= 0) {
      a.scheme.granularity = Granularity::kPerChannel;
      a.scheme.axis = static_cast<int>(axis);
    }
    if (Status st = validate(a.scheme); !st.is_ok()) return Status::errorf("node '{}': {}", n.name, st.message());
    LB_TRY(dynamic_scheme(g_.value(v).name, a));
    dead_[static_cast<size_t>(i)] = true;
    replace_reads(n.outputs[0], v);
    m_.activations[g_.value(v).name] = a;
    return Status::ok();
  }

  ir::Graph g_;
  QuantizedModel m_;
  nlohmann::json meta_;
  std::vector<std::vector<int>> consumers_;
  std::vector<bool> dead_;
};

}  // namespace

Result<QuantizedModel> from_qdq_graph(ir::Graph graph) { return Recognizer(std::move(graph)).run(); }

}  // namespace lowbit::quant
