// qoperator_lower.cc: QuantizedModel → QOperator graph (QLinearConv, QLinearMatMul, ConvInteger,
// MatMulInteger), rewriting the QDQ graph's patterns as qoperator_format.h lists them.
#include <optional>
#include <variant>

#include <nlohmann/json.hpp>

#include "quant/qdq_format.h"
#include "quant/qoperator_format.h"

namespace lowbit::quant {
namespace {

bool is_default(const ir::Node& n, std::string_view op) { return n.domain.empty() && n.op_type == op; }

// A quantized operand as the QDQ graph holds it: the integer value and its scale / zero point.
struct QOperand {
  int q = ir::kNoValue, scale = ir::kNoValue, zero_point = ir::kNoValue;
  int dq_node = -1;  // the DequantizeLinear that made the FP32 value
};

// Where a static Conv / MatMul output goes: straight into a QuantizeLinear (q_out is that
// node's output) or through one Relu / Clip whose output is quantized (via_activation).
struct OutputQuant {
  int scale = ir::kNoValue, zero_point = ir::kNoValue;
  int q_node = -1;
  int q_out = ir::kNoValue;
  bool via_activation = false;
};

class QOperatorLowerer {
 public:
  explicit QOperatorLowerer(ir::Graph g) : g_(std::move(g)) {}

  Result<ir::Graph> run() {
    consumers_ = g_.consumers();
    dead_.assign(g_.nodes.size(), false);
    const size_t n = g_.nodes.size();
    placed_.assign(n, {});
    for (size_t i = 0; i < n; ++i) {
      const ir::Node& node = g_.nodes[i];
      at_ = i;
      if (is_default(node, "Conv")) LB_TRY(lower_conv(static_cast<int>(i)));
      else if (is_default(node, "Gemm") || is_default(node, "MatMul")) LB_TRY(lower_matmul(static_cast<int>(i)));
    }
    // New nodes take the place of the node they replace, so the FP32 nodes keep their order.
    std::vector<ir::Node> nodes;
    for (size_t i = 0; i < n; ++i) {
      for (ir::Node& p : placed_[i]) nodes.push_back(std::move(p));
      if (!dead_[i]) nodes.push_back(std::move(g_.nodes[i]));
    }
    g_.nodes = std::move(nodes);
    g_.rebuild_producers();
    g_.remove_dead();
    LB_TRY(g_.topo_sort());
    if (!gemm_attrs_.empty()) {
      auto meta = nlohmann::json::parse(g_.metadata[std::string(kQuantMetadataKey)], nullptr, false);
      if (meta.is_object()) {
        meta["qoperator_gemm"] = gemm_attrs_;
        g_.metadata[std::string(kQuantMetadataKey)] = meta.dump();
      }
    }
    return std::move(g_);
  }

 private:
  const ir::Node* producer(int v) const {
    if (v == ir::kNoValue || g_.value(v).producer < 0) return nullptr;
    return &g_.nodes[static_cast<size_t>(g_.value(v).producer)];
  }
  int producer_index(int v) const { return v == ir::kNoValue ? -1 : g_.value(v).producer; }
  const std::vector<int>& readers(int v) const { return consumers_[static_cast<size_t>(v)]; }
  bool is_graph_output(int v) const { return std::find(g_.outputs.begin(), g_.outputs.end(), v) != g_.outputs.end(); }
  int64_t numel(int v) const { return g_.is_constant(v) ? g_.value(v).constant->numel() : -1; }

  // The DequantizeLinear behind FP32 value v, when v is one (constant_int: of a constant).
  std::optional<QOperand> dequantized(int v, bool constant_int) const {
    const ir::Node* d = producer(v);
    if (!d || !is_default(*d, "DequantizeLinear") || !d->has_input(2)) return std::nullopt;
    if (g_.is_constant(d->input(0)) != constant_int) return std::nullopt;
    return QOperand{d->input(0), d->input(1), d->input(2), producer_index(v)};
  }

  // The node making x's integers: a static QuantizeLinear (scalar scale) or a DynamicQuantizeLinear.
  bool from_static_q(const QOperand& x) const {
    const ir::Node* p = producer(x.q);
    return p && is_default(*p, "QuantizeLinear") && numel(x.scale) == 1;
  }
  bool from_dynamic_q(const QOperand& x) const {
    const ir::Node* p = producer(x.q);
    return p && is_default(*p, "DynamicQuantizeLinear") && p->outputs.size() == 3 && p->outputs[1] == x.scale &&
           p->outputs[2] == x.zero_point;
  }

  // y (a Conv / MatMul output) as a per-tensor quantized value, when the graph quantizes it
  // directly or right after one Relu / Clip.
  std::optional<OutputQuant> output_quant(int y) const {
    if (is_graph_output(y) || readers(y).size() != 1) return std::nullopt;
    int node = readers(y)[0];
    const ir::Node* r = &g_.nodes[static_cast<size_t>(node)];
    OutputQuant o;
    if (is_default(*r, "Relu") || is_default(*r, "Clip")) {
      const int a = r->outputs[0];
      if (r->input(0) != y || is_graph_output(a) || readers(a).size() != 1) return std::nullopt;
      for (size_t k = 1; k < r->inputs.size(); ++k)
        if (r->has_input(k) && !g_.is_constant(r->input(k))) return std::nullopt;
      node = readers(a)[0];
      r = &g_.nodes[static_cast<size_t>(node)];
      o.via_activation = true;
    }
    if (!is_default(*r, "QuantizeLinear") || !r->has_input(2) || numel(r->input(1)) != 1) return std::nullopt;
    o.scale = r->input(1);
    o.zero_point = r->input(2);
    o.q_node = node;
    o.q_out = r->outputs[0];
    return o;
  }

  int new_value(const std::string& base, DType dt) {
    const int v = g_.add_value(g_.unique_value_name(base));
    g_.value(v).dtype = dt;
    return v;
  }

  // Places a node where the node being lowered was.
  void emit(ir::Node n) { placed_[at_].push_back(std::move(n)); }
  void add(std::string name, std::string op, std::vector<int> in, std::vector<int> out, ir::Attributes attrs = {}) {
    emit(ir::Node{g_.unique_value_name(name), std::move(op), "", std::move(in), std::move(out), std::move(attrs)});
  }

  // Emits the QLinear node `n` writing y's integers: the QuantizeLinear's own output when y goes
  // straight into it; else a new value, dequantized back into a fresh FP32 value the Relu /
  // Clip reads.
  void emit_qlinear(ir::Node n, int y, const OutputQuant& o) {
    const std::string name = n.name;
    n.outputs = {qlinear_output(y, o)};
    emit(std::move(n));
    if (o.via_activation)
      add(name + "_DequantizeLinear", "DequantizeLinear", {n_out_, o.scale, o.zero_point}, {n_dq_});
  }

  int qlinear_output(int y, const OutputQuant& o) {
    if (!o.via_activation) {
      dead_[static_cast<size_t>(o.q_node)] = true;
      return o.q_out;
    }
    const DType qdt = g_.value(o.q_out).dtype.value_or(DType::kU8);
    const int yq = new_value(g_.value(y).name + "_quantized", qdt);
    const int yd = new_value(g_.value(y).name + "_dequantized", DType::kF32);
    g_.value(yd).shape = g_.value(y).shape;
    ir::Node& act = g_.nodes[static_cast<size_t>(readers(y)[0])];
    act.inputs[0] = yd;
    n_out_ = yq;
    n_dq_ = yd;
    return yq;
  }

  // Mul(s_x, s_w) with s_w shaped to broadcast over the integer output (`channel_dims` trailing
  // 1s after the channel: 2 for NCHW conv outputs, 0 for matmul columns).
  int scale_product(const std::string& name, int sx, int sw, int channel_dims) {
    int w = sw;
    if (numel(sw) > 1 && channel_dims > 0) {
      std::vector<int64_t> shape{numel(sw)};
      shape.insert(shape.end(), static_cast<size_t>(channel_dims), 1);
      const int s = g_.add_constant(g_.unique_value_name(name + "_scale_shape"),
                                    Tensor::from_vector<int64_t>({static_cast<int64_t>(shape.size())}, shape));
      w = new_value(g_.value(sw).name + "_reshaped", DType::kF32);
      add(name + "_scale_reshape", "Reshape", {sw, s}, {w});
    }
    const int product = new_value(name + "_scale", DType::kF32);
    add(name + "_scale", "Mul", {sx, w}, {product});
    return product;
  }

  // acc (int32) → Cast → Mul(scale product) [→ Add(bias)] → y, the FP32 node's output.
  void integer_epilogue(const std::string& name, int acc, int scale, int bias, int channel_dims, int y) {
    const int f = new_value(name + "_float", DType::kF32);
    ir::Attributes to;
    to.set("to", int64_t{1});  // FLOAT
    add(name + "_cast", "Cast", {acc}, {f}, std::move(to));
    if (bias == ir::kNoValue) {
      add(name + "_rescale", "Mul", {f, scale}, {y});
      return;
    }
    const int scaled = new_value(name + "_rescaled", DType::kF32);
    add(name + "_rescale", "Mul", {f, scale}, {scaled});
    int b = bias;
    if (channel_dims > 0 && numel(bias) > 1) {
      const int s = g_.add_constant(g_.unique_value_name(name + "_bias_shape"),
                                    Tensor::from_vector<int64_t>({3}, {numel(bias), 1, 1}));
      b = new_value(g_.value(bias).name + "_reshaped", DType::kF32);
      add(name + "_bias_reshape", "Reshape", {bias, s}, {b});
    }
    add(name + "_bias", "Add", {scaled, b}, {y});
  }

  // Scalar zero of the weight's zero-point dtype when every zero point is 0 (ONNX Runtime's
  // ConvInteger / MatMulInteger want a scalar there), else the zero points themselves.
  int weight_zero_point(int wz) {
    const Tensor& z = *g_.value(wz).constant;
    for (int64_t i = 0; i < z.numel(); ++i)
      if (z.at_i64(i) != 0) return wz;
    if (z.numel() == 1) return wz;
    return g_.add_constant(g_.unique_value_name(g_.value(wz).name + "_scalar"), Tensor::zeros(z.dtype(), {}));
  }

  // ONNX Runtime's ConvInteger takes only uint8 weights: int8 weights w with zero points z are
  // written as w + 128 with zero points z + 128 (the same differences w − z), named
  // "<integers>_u8" so import can undo it.
  std::pair<int, int> unsigned_weight(const QOperand& w) {
    const Tensor& q = *g_.value(w.q).constant;
    if (q.dtype() != DType::kI8) return {w.q, weight_zero_point(w.zero_point)};
    Tensor u = Tensor::zeros(DType::kU8, q.shape());
    for (int64_t i = 0; i < q.numel(); ++i) u.data<uint8_t>()[i] = static_cast<uint8_t>(q.data<int8_t>()[i] + 128);
    const Tensor& z = *g_.value(w.zero_point).constant;
    bool all_same = true;
    for (int64_t i = 1; i < z.numel(); ++i) all_same &= z.at_i64(i) == z.at_i64(0);
    Tensor zu = Tensor::zeros(DType::kU8, all_same ? Shape{} : z.shape());
    for (int64_t i = 0; i < zu.numel(); ++i) zu.data<uint8_t>()[i] = static_cast<uint8_t>(z.at_i64(i) + 128);
    const int qv = g_.add_constant(g_.unique_value_name(g_.value(w.q).name + "_u8"), std::move(u));
    const int zv = g_.add_constant(g_.unique_value_name(g_.value(w.zero_point).name + "_u8"), std::move(zu));
    return {qv, zv};
  }

  Status lower_conv(int ci) {
    const ir::Node conv = g_.nodes[static_cast<size_t>(ci)];
    const auto x = dequantized(conv.input(0), false);
    const auto w = dequantized(conv.input(1), true);
    if (!x || !w) return Status::ok();
    const int y = conv.outputs[0];
    if (from_static_q(*x)) {
      int bias = ir::kNoValue;
      if (conv.has_input(2)) {
        const auto b = dequantized(conv.input(2), true);
        if (!b) return Status::ok();  // an FP32 bias: QLinearConv takes only int32
        bias = b->q;
      }
      const auto o = output_quant(y);
      if (!o) return Status::ok();
      dead_[static_cast<size_t>(ci)] = true;
      std::vector<int> in{x->q, x->scale, x->zero_point, w->q, w->scale, w->zero_point, o->scale, o->zero_point};
      if (bias != ir::kNoValue) in.push_back(bias);
      emit_qlinear(ir::Node{conv.name, "QLinearConv", "", std::move(in), {}, conv.attrs}, y, *o);
      return Status::ok();
    }
    if (!from_dynamic_q(*x)) return Status::ok();
    int bias = ir::kNoValue;
    if (conv.has_input(2)) {
      if (!g_.is_constant(conv.input(2))) return Status::ok();
      bias = conv.input(2);
    }
    dead_[static_cast<size_t>(ci)] = true;
    const int acc = new_value(conv.name + "_accumulator", DType::kI32);
    const auto [wq, wz] = unsigned_weight(*w);
    emit(ir::Node{conv.name, "ConvInteger", "", {x->q, wq, x->zero_point, wz}, {acc}, conv.attrs});
    integer_epilogue(conv.name, acc, scale_product(conv.name, x->scale, w->scale, 2), bias, 2, y);
    return Status::ok();
  }

  Status lower_matmul(int mi) {
    const ir::Node mm = g_.nodes[static_cast<size_t>(mi)];
    const bool gemm = mm.op_type == "Gemm";
    const auto x = dequantized(mm.input(0), false);
    const auto w = dequantized(mm.input(1), true);
    if (!x || !w) return Status::ok();
    const Tensor& wq = *g_.value(w->q).constant;
    if (wq.rank() != 2) return Status::ok();
    bool trans_b = false;
    if (gemm) {
      auto attr = [&](std::string_view k, int64_t d) {
        auto r = mm.attrs.get_int(k, d);
        return r.is_ok() ? *r : int64_t{-1};
      };
      auto fattr = [&](std::string_view k) {
        auto r = mm.attrs.get_float(k, 1.f);
        return r.is_ok() ? *r : 0.f;
      };
      if (attr("transA", 0) != 0 || fattr("alpha") != 1.f || fattr("beta") != 1.f) return Status::ok();
      trans_b = attr("transB", 0) == 1;
    }
    // Per-channel weight scales must lie along the output columns.
    if (numel(w->scale) > 1) {
      const ir::Node& dq = g_.nodes[static_cast<size_t>(w->dq_node)];
      const auto a = dq.attrs.get_int("axis", 1);
      const int64_t axis = a.is_ok() ? *a : -3;
      if (axis != (trans_b ? 0 : 1) && axis != (trans_b ? -2 : -1)) return Status::ok();
    }
    const bool is_static = from_static_q(*x);
    if (!is_static && !from_dynamic_q(*x)) return Status::ok();
    int bias_q = ir::kNoValue, bias_f = ir::kNoValue;
    if (gemm && mm.has_input(2)) {
      if (!g_.is_constant(mm.input(2))) {
        const auto b = dequantized(mm.input(2), true);
        if (!b || !is_static) return Status::ok();
        bias_q = b->q;
      } else {
        bias_f = mm.input(2);
      }
      const ir::Value& bv = g_.value(mm.input(2));
      if (!bv.shape || bv.shape->size() != 1) return Status::ok();  // only a per-column bias row
    }
    const int y = mm.outputs[0];
    if (!gemm && is_static && numel(w->zero_point) == numel(w->scale)) {
      if (const auto o = output_quant(y)) {
        dead_[static_cast<size_t>(mi)] = true;
        emit_qlinear(ir::Node{mm.name, "QLinearMatMul", "",
                              {x->q, x->scale, x->zero_point, w->q, w->scale, w->zero_point, o->scale, o->zero_point},
                              {}, {}},
                     y, *o);
        return Status::ok();
      }
    }
    dead_[static_cast<size_t>(mi)] = true;
    if (gemm) {  // MatMulInteger has no attributes: the Gemm's go in the metadata for import
      nlohmann::json attrs = nlohmann::json::object();
      for (const auto& [k, v] : mm.attrs.all()) {
        if (const auto* i = std::get_if<int64_t>(&v)) attrs[k] = *i;
        else if (const auto* f = std::get_if<float>(&v)) attrs[k] = static_cast<double>(*f);
      }
      gemm_attrs_[mm.name] = attrs;
    }
    int b = w->q;
    if (trans_b) {
      b = new_value(g_.value(w->q).name + "_transposed", wq.dtype());
      ir::Attributes perm;
      perm.set("perm", std::vector<int64_t>{1, 0});
      add(mm.name + "_weight_transpose", "Transpose", {w->q}, {b}, std::move(perm));
    }
    int acc = new_value(mm.name + "_accumulator", DType::kI32);
    emit(ir::Node{mm.name, "MatMulInteger", "", {x->q, b, x->zero_point, weight_zero_point(w->zero_point)}, {acc}, {}});
    if (bias_q != ir::kNoValue) {
      const int with_bias = new_value(mm.name + "_accumulator_biased", DType::kI32);
      add(mm.name + "_bias_int", "Add", {acc, bias_q}, {with_bias});
      acc = with_bias;
    }
    integer_epilogue(mm.name, acc, scale_product(mm.name, x->scale, w->scale, 0), bias_f, 0, y);
    return Status::ok();
  }

  ir::Graph g_;
  std::vector<std::vector<int>> consumers_;
  std::vector<bool> dead_;
  std::vector<std::vector<ir::Node>> placed_;  // per original node: the nodes that go before it
  size_t at_ = 0;
  int n_out_ = ir::kNoValue, n_dq_ = ir::kNoValue;  // qlinear_output's integer and FP32 values
  nlohmann::json gemm_attrs_ = nlohmann::json::object();
};

}  // namespace

Result<ir::Graph> to_qoperator_graph(const QuantizedModel& model) {
  LB_ASSIGN_OR_RETURN(ir::Graph qdq, to_qdq_graph(model));
  return QOperatorLowerer(std::move(qdq)).run();
}

bool has_qoperator_ops(const ir::Graph& graph) {
  for (const ir::Node& n : graph.nodes)
    if (n.domain.empty() && (n.op_type == "QLinearConv" || n.op_type == "QLinearMatMul" || n.op_type == "ConvInteger" ||
                             n.op_type == "MatMulInteger"))
      return true;
  return false;
}

}  // namespace lowbit::quant
