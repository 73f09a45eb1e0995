// qoperator_raise.cc: QOperator nodes → the QDQ patterns the recognizer reads (qoperator_format.h).
//
// Pass 1 turns QLinearConv / QLinearMatMul into DQ → Conv / MatMul → Q; pass 2 matches the
// integer chains ConvInteger | MatMulInteger [→ Add(int32 bias)] → Cast → Mul(Mul(s_x, s_w))
// [→ Add(bias) named <node>_bias] once every integer input's producer (a QuantizeLinear or a
// DynamicQuantizeLinear) is in place. New nodes go where the node they replace was, so the FP32
// nodes keep the order they had before export.
#include <map>
#include <optional>
#include <tuple>

#include <nlohmann/json.hpp>

#include "quant/qdq_format.h"
#include "quant/qoperator_format.h"

namespace lowbit::quant {
namespace {

constexpr std::string_view kQuantizedSuffix = "_quantized";

bool is_default(const ir::Node& n, std::string_view op) { return n.domain.empty() && n.op_type == op; }

class QOperatorRaiser {
 public:
  explicit QOperatorRaiser(ir::Graph g) : g_(std::move(g)) {
    auto it = g_.metadata.find(std::string(kQuantMetadataKey));
    if (it != g_.metadata.end()) {
      auto meta = nlohmann::json::parse(it->second, nullptr, false);
      if (meta.is_object() && meta.contains("qoperator_gemm") && meta["qoperator_gemm"].is_object())
        gemm_attrs_ = meta["qoperator_gemm"];
    }
  }

  Result<ir::Graph> run() {
    LB_TRY(pass(&QOperatorRaiser::raise_qlinear));
    LB_TRY(pass(&QOperatorRaiser::raise_integer_chain));
    g_.remove_dead();
    LB_TRY(g_.topo_sort());
    return std::move(g_);
  }

 private:
  using Rule = Status (QOperatorRaiser::*)(int);

  Status pass(Rule rule) {
    consumers_ = g_.consumers();
    const size_t n = g_.nodes.size();
    dead_.assign(n, false);
    placed_.assign(n, {});
    dq_memo_.clear();
    for (size_t i = 0; i < n; ++i) {
      at_ = i;
      if (!dead_[i]) LB_TRY((this->*rule)(static_cast<int>(i)));
    }
    std::vector<ir::Node> nodes;
    for (size_t i = 0; i < n; ++i) {
      for (ir::Node& p : placed_[i]) nodes.push_back(std::move(p));
      if (!dead_[i]) nodes.push_back(std::move(g_.nodes[i]));
    }
    g_.nodes = std::move(nodes);
    g_.rebuild_producers();
    return Status::ok();
  }

  const ir::Node* producer(int v) const {
    if (v == ir::kNoValue || g_.value(v).producer < 0) return nullptr;
    return &g_.nodes[static_cast<size_t>(g_.value(v).producer)];
  }
  // The only reader of v (not a graph output), or -1.
  int sole_reader(int v) const {
    if (std::find(g_.outputs.begin(), g_.outputs.end(), v) != g_.outputs.end()) return -1;
    const auto& rs = consumers_[static_cast<size_t>(v)];
    return rs.size() == 1 ? rs[0] : -1;
  }
  const Tensor* constant(int v) const { return g_.is_constant(v) ? &*g_.value(v).constant : nullptr; }

  // The constant behind v, looking through one Reshape / Transpose of a constant (ONNX Runtime
  // folds those; lowbit's lowering writes them). `transposed` reports a Transpose(perm 1,0).
  int constant_source(int v, bool* transposed = nullptr) const {
    if (transposed) *transposed = false;
    if (g_.is_constant(v)) return v;
    const ir::Node* p = producer(v);
    if (!p || !g_.is_constant(p->input(0))) return ir::kNoValue;
    if (is_default(*p, "Reshape")) return p->input(0);
    if (is_default(*p, "Transpose") && transposed) {
      auto perm = p->attrs.get_ints("perm", std::vector<int64_t>{1, 0});
      if (!perm.is_ok() || *perm != std::vector<int64_t>{1, 0}) return ir::kNoValue;
      *transposed = true;
      return p->input(0);
    }
    return ir::kNoValue;
  }

  void emit(ir::Node n) { placed_[at_].push_back(std::move(n)); }

  int new_value(const std::string& base, DType dt) {
    const int v = g_.add_value(g_.unique_value_name(base));
    g_.value(v).dtype = dt;
    return v;
  }

  // The name a lowered value had: "conv1.weight_quantized" → "conv1.weight" when free.
  std::string float_name(const std::string& q, const std::string& fallback_suffix) const {
    if (q.size() > kQuantizedSuffix.size() && q.ends_with(kQuantizedSuffix)) {
      const std::string base = q.substr(0, q.size() - kQuantizedSuffix.size());
      if (g_.find_value(base) < 0) return base;
    }
    return g_.unique_value_name(q + fallback_suffix);
  }

  // DequantizeLinear of a run-time integer value, one per (value, scale, zero point).
  int dequantize_activation(int q, int scale, int zero_point) {
    const auto key = std::make_tuple(q, scale, zero_point);
    if (auto it = dq_memo_.find(key); it != dq_memo_.end()) return it->second;
    for (int r : consumers_[static_cast<size_t>(q)]) {  // one the file already has
      const ir::Node& d = g_.nodes[static_cast<size_t>(r)];
      const std::vector<int> want = zero_point == ir::kNoValue ? std::vector<int>{q, scale} : std::vector<int>{q, scale, zero_point};
      if (is_default(d, "DequantizeLinear") && d.inputs == want && !d.attrs.has("axis") && d.outputs.size() == 1)
        return dq_memo_[key] = d.outputs[0];
    }
    const int out = new_value(g_.value(q).name + "_dequantized", DType::kF32);
    std::vector<int> in{q, scale};
    if (zero_point != ir::kNoValue) in.push_back(zero_point);
    emit(ir::Node{g_.unique_value_name(g_.value(out).name + "_DequantizeLinear"), "DequantizeLinear", "", std::move(in),
                  {out}, {}});
    dq_memo_[key] = out;
    return out;
  }

  // A constant integer weight dequantized: scales flattened to 1-D, zero points (absent or
  // scalar) broadcast to one per scale, `axis` set when there is more than one.
  Result<int> dequantize_weight(const std::string& node, int q, int scale, int zero_point, int64_t axis) {
    const Tensor* s = constant(scale);
    if (!s || s->dtype() != DType::kF32) return Status::errorf("node '{}': weight scale is not a float constant", node);
    const Tensor* z = zero_point == ir::kNoValue ? nullptr : constant(zero_point);
    if (zero_point != ir::kNoValue && !z) return Status::errorf("node '{}': weight zero point is not a constant", node);
    const DType qdt = g_.value(q).constant->dtype();
    if (qdt != DType::kI8 && qdt != DType::kU8) return Status::errorf("node '{}': weight has dtype {}, not int8 or uint8", node, dtype_name(qdt));
    if (z && z->dtype() != qdt) return Status::errorf("node '{}': weight zero point dtype differs from the weight's", node);
    const int64_t k = s->numel();
    if (z && z->numel() != k && z->numel() != 1)
      return Status::errorf("node '{}': {} weight scales but {} zero points", node, k, z->numel());
    int sv = scale;
    if (s->rank() > 1 || (k == 1 && s->rank() == 1)) sv = g_.add_constant(g_.unique_value_name(g_.value(scale).name + "_flat"), s->reshaped(k == 1 ? Shape{} : Shape{k}));
    Tensor zt = Tensor::zeros(qdt, k == 1 ? Shape{} : Shape{k});
    for (int64_t i = 0; i < k && z; ++i) {
      const int64_t zi = z->at_i64(z->numel() == 1 ? 0 : i);
      if (qdt == DType::kI8) zt.data<int8_t>()[i] = static_cast<int8_t>(zi);
      else zt.data<uint8_t>()[i] = static_cast<uint8_t>(zi);
    }
    const int zv = g_.add_constant(g_.unique_value_name(g_.value(q).name + "_zero_point"), std::move(zt));
    const int out = new_value(float_name(g_.value(q).name, "_dequantized"), DType::kF32);
    ir::Attributes attrs;
    if (k > 1) attrs.set("axis", axis);
    emit(ir::Node{g_.unique_value_name(g_.value(out).name + "_DequantizeLinear"), "DequantizeLinear", "", {q, sv, zv},
                  {out}, std::move(attrs)});
    return out;
  }

  // An int32 bias dequantized with scale s_x·s_w (per output channel): what QLinearConv and
  // the integer chains add to the accumulator.
  Result<int> dequantize_bias(const std::string& node, int bias_q, int x_scale, int w_scale) {
    const Tensor* b = constant(bias_q);
    const Tensor* sx = constant(x_scale);
    const Tensor* sw = constant(w_scale);
    if (!b || b->dtype() != DType::kI32 || b->rank() != 1) return Status::errorf("node '{}': bias is not a 1-D int32 constant", node);
    if (!sx || sx->dtype() != DType::kF32 || sx->numel() != 1) return Status::errorf("node '{}': input scale is not a float scalar constant", node);
    if (!sw || sw->dtype() != DType::kF32) return Status::errorf("node '{}': weight scale is not a float constant", node);
    const int64_t k = sw->numel();
    if (k != 1 && k != b->numel()) return Status::errorf("node '{}': {} weight scales for a bias of {}", node, k, b->numel());
    std::vector<float> scale(static_cast<size_t>(k));
    for (int64_t i = 0; i < k; ++i) scale[static_cast<size_t>(i)] = sx->data<float>()[0] * sw->data<float>()[i];
    const int sv = g_.add_constant(g_.unique_value_name(g_.value(bias_q).name + "_scale"),
                                   k == 1 ? Tensor::scalar<float>(scale[0]) : Tensor::from_vector<float>({k}, scale));
    const int zv = g_.add_constant(g_.unique_value_name(g_.value(bias_q).name + "_zero_point"),
                                   Tensor::zeros(DType::kI32, k == 1 ? Shape{} : Shape{k}));
    const int out = new_value(float_name(g_.value(bias_q).name, "_dequantized"), DType::kF32);
    ir::Attributes attrs;
    if (k > 1) attrs.set("axis", int64_t{0});
    emit(ir::Node{g_.unique_value_name(g_.value(out).name + "_DequantizeLinear"), "DequantizeLinear", "", {bias_q, sv, zv},
                  {out}, std::move(attrs)});
    return out;
  }

  // QLinearConv(x, sx, zx, w, sw, zw, sy, zy[, B]) → DQ(x) → Conv(DQ(w), DQ(B)) → Q(sy, zy);
  // QLinearMatMul(a, sa, za, b, sb, zb, sy, zy) likewise with MatMul.
  Status raise_qlinear(int i) {
    const ir::Node n = g_.nodes[static_cast<size_t>(i)];
    const bool conv = is_default(n, "QLinearConv");
    if (!conv && !is_default(n, "QLinearMatMul")) return Status::ok();
    if (n.inputs.size() < 8 || n.outputs.size() != 1 || n.outputs[0] == ir::kNoValue)
      return Status::errorf("node '{}': {} needs 8 inputs and 1 output", n.name, n.op_type);
    for (size_t k = 0; k < 8; ++k)
      if (!n.has_input(k)) return Status::errorf("node '{}': input {} of {} is missing", n.name, k, n.op_type);
    const int x = dequantize_activation(n.input(0), n.input(1), n.input(2));
    int w;
    if (g_.is_constant(n.input(3))) {
      LB_ASSIGN_OR_RETURN(w, dequantize_weight(n.name, n.input(3), n.input(4), n.input(5), conv ? 0 : 1));
    } else {
      w = dequantize_activation(n.input(3), n.input(4), n.input(5));
    }
    std::vector<int> in{x, w};
    if (conv && n.has_input(8)) {
      LB_ASSIGN_OR_RETURN(int b, dequantize_bias(n.name, n.input(8), n.input(1), n.input(4)));
      in.push_back(b);
    }
    const int yq = n.outputs[0];
    const int y = new_value(float_name(g_.value(yq).name, "_float"), DType::kF32);
    emit(ir::Node{n.name, conv ? "Conv" : "MatMul", "", std::move(in), {y}, conv ? n.attrs : ir::Attributes{}});
    emit(ir::Node{g_.unique_value_name(g_.value(yq).name + "_QuantizeLinear"), "QuantizeLinear", "",
                  {y, n.input(6), n.input(7)}, {yq}, {}});
    dead_[static_cast<size_t>(i)] = true;
    return Status::ok();
  }

  // The scale and zero point of a run-time integer value: its QuantizeLinear's inputs or its
  // DynamicQuantizeLinear's outputs.
  bool operand_params(int q, int* scale, int* zero_point) const {
    const ir::Node* p = producer(q);
    if (!p) return false;
    if (is_default(*p, "QuantizeLinear") && p->outputs[0] == q && g_.is_constant(p->input(1))) {
      *scale = p->input(1);
      *zero_point = p->input(2);
      return true;
    }
    if (is_default(*p, "DynamicQuantizeLinear") && p->outputs.size() == 3 && p->outputs[0] == q) {
      *scale = p->outputs[1];
      *zero_point = p->outputs[2];
      return true;
    }
    return false;
  }

  // Undoes the lowering's uint8 form of int8 ConvInteger weights ("<integers>_u8", zero points
  // all 128): back to int8 with zero point 0, the same differences w − z.
  void signed_weight(int* q, int* zero_point) {
    const Tensor& w = *g_.value(*q).constant;
    const std::string& name = g_.value(*q).name;
    if (w.dtype() != DType::kU8 || !name.ends_with("_u8") || *zero_point == ir::kNoValue) return;
    const Tensor* z = constant(*zero_point);
    if (!z || z->dtype() != DType::kU8) return;
    for (int64_t i = 0; i < z->numel(); ++i)
      if (z->at_i64(i) != 128) return;
    Tensor s = Tensor::zeros(DType::kI8, w.shape());
    for (int64_t i = 0; i < w.numel(); ++i) s.data<int8_t>()[i] = static_cast<int8_t>(w.data<uint8_t>()[i] - 128);
    const std::string base = name.substr(0, name.size() - 3);
    *q = g_.add_constant(g_.find_value(base) < 0 ? base : g_.unique_value_name(base), std::move(s));
    *zero_point = g_.add_constant(g_.unique_value_name(base + "_zero_point"), Tensor::zeros(DType::kI8, {}));
  }

  // ConvInteger | MatMulInteger → [Add(int32 const)] → Cast(float) → Mul(·, Mul(s_x, s_w))
  // [→ Add(const) named <node>_bias]  ⇒  DQ(x) → Conv | Gemm | MatMul(DQ(w), bias).
  Status raise_integer_chain(int i) {
    const ir::Node n = g_.nodes[static_cast<size_t>(i)];
    const bool conv = is_default(n, "ConvInteger");
    if (!conv && !is_default(n, "MatMulInteger")) return Status::ok();
    if (n.outputs.size() != 1 || !n.has_input(0) || !n.has_input(1)) return Status::ok();
    int sx = ir::kNoValue, zx = ir::kNoValue;
    if (!operand_params(n.input(0), &sx, &zx) || n.input(2) != zx) return Status::ok();
    bool transposed = false;
    int wq = constant_source(n.input(1), conv ? nullptr : &transposed);
    if (wq == ir::kNoValue) return Status::ok();
    if (n.has_input(3) && !g_.is_constant(n.input(3))) return Status::ok();
    std::vector<int> chain;
    int cur = n.outputs[0], bias_q = ir::kNoValue, bias_f = ir::kNoValue;
    int r = sole_reader(cur);
    if (r >= 0 && is_default(g_.nodes[static_cast<size_t>(r)], "Add")) {
      const ir::Node& add = g_.nodes[static_cast<size_t>(r)];
      const int other = add.input(0) == cur ? add.input(1) : add.input(0);
      const Tensor* b = constant(other);
      if (!b || b->dtype() != DType::kI32) return Status::ok();
      bias_q = other;
      chain.push_back(r);
      cur = add.outputs[0];
      r = sole_reader(cur);
    }
    if (r < 0 || !is_default(g_.nodes[static_cast<size_t>(r)], "Cast")) return Status::ok();
    {
      auto to = g_.nodes[static_cast<size_t>(r)].attrs.get_int("to");
      if (!to.is_ok() || *to != 1) return Status::ok();
    }
    chain.push_back(r);
    cur = g_.nodes[static_cast<size_t>(r)].outputs[0];
    r = sole_reader(cur);
    if (r < 0 || !is_default(g_.nodes[static_cast<size_t>(r)], "Mul")) return Status::ok();
    const ir::Node& mul = g_.nodes[static_cast<size_t>(r)];
    const int product = mul.input(0) == cur ? mul.input(1) : mul.input(0);
    const ir::Node* pm = producer(product);
    if (!pm || !is_default(*pm, "Mul")) return Status::ok();
    int sw = ir::kNoValue;
    if (pm->input(0) == sx) sw = constant_source(pm->input(1));
    else if (pm->input(1) == sx) sw = constant_source(pm->input(0));
    if (sw == ir::kNoValue) return Status::ok();
    chain.push_back(r);
    cur = mul.outputs[0];
    r = sole_reader(cur);
    if (r >= 0 && is_default(g_.nodes[static_cast<size_t>(r)], "Add") && g_.nodes[static_cast<size_t>(r)].name == n.name + "_bias") {
      const ir::Node& add = g_.nodes[static_cast<size_t>(r)];
      const int other = constant_source(add.input(0) == cur ? add.input(1) : add.input(0));
      if (other == ir::kNoValue) return Status::ok();
      bias_f = other;
      chain.push_back(r);
      cur = add.outputs[0];
    }
    int wzp = n.input(3);
    if (conv) signed_weight(&wq, &wzp);
    const int x = dequantize_activation(n.input(0), sx, zx);
    LB_ASSIGN_OR_RETURN(int w, dequantize_weight(n.name, wq, sw, wzp, conv || transposed ? 0 : 1));
    std::vector<int> in{x, w};
    if (bias_q != ir::kNoValue) {
      LB_ASSIGN_OR_RETURN(int b, dequantize_bias(n.name, bias_q, sx, sw));
      in.push_back(b);
    } else if (bias_f != ir::kNoValue) {
      const Tensor& b = *g_.value(bias_f).constant;
      if (b.rank() != 1)  // a bias already shaped [M, 1, 1] for the Add: the op wants [M]
        bias_f = g_.add_constant(g_.unique_value_name(g_.value(bias_f).name + "_flat"), b.reshaped({b.numel()}));
      in.push_back(bias_f);
    }
    ir::Attributes attrs = n.attrs;
    std::string op = conv ? "Conv" : "MatMul";
    if (!conv && (transposed || in.size() == 3)) {
      op = "Gemm";
      attrs = {};
      if (gemm_attrs_.contains(n.name) && gemm_attrs_[n.name].is_object()) {
        for (const auto& [k, v] : gemm_attrs_[n.name].items()) {
          if (v.is_number_integer()) attrs.set(k, v.get<int64_t>());
          else if (v.is_number_float()) attrs.set(k, v.get<float>());
        }
      } else if (transposed) {
        attrs.set("transB", int64_t{1});
      }
    }
    emit(ir::Node{n.name, op, "", std::move(in), {cur}, std::move(attrs)});
    dead_[static_cast<size_t>(i)] = true;
    for (int c : chain) dead_[static_cast<size_t>(c)] = true;
    return Status::ok();
  }

  ir::Graph g_;
  nlohmann::json gemm_attrs_ = nlohmann::json::object();
  std::vector<std::vector<int>> consumers_;
  std::vector<bool> dead_;
  std::vector<std::vector<ir::Node>> placed_;
  size_t at_ = 0;
  std::map<std::tuple<int, int, int>, int> dq_memo_;
};

}  // namespace

Result<ir::Graph> from_qoperator_graph(ir::Graph graph) { return QOperatorRaiser(std::move(graph)).run(); }

}  // namespace lowbit::quant
