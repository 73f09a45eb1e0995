// compile.cc: pattern matching on the simulation graph (compile.h) — finding the integer form
// of each quantized activation, checking every operand against the integer contract, and
// building the integer steps with their packed weights and dyadic multipliers; and the
// dynamic form (int8-dynamic: DynamicQuantizeLinear → Conv / Gemm with an FP32 epilogue,
// runtime/dynamic_steps.h).
#include "runtime/compile.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "kernels/int8/qpool8.h"
#include "kernels/quant/quantize.h"
#include "kernels/requant/requantize.h"
#include "ops/conv_util.h"
#include "quant/simulate.h"
#include "runtime/dynamic_steps.h"
#include "runtime/steps.h"

namespace lowbit::runtime {
namespace {

using quant::Granularity;
using quant::QuantizedModel;

// The integer form of a quantized activation: QuantizeLinear(v) → q → DequantizeLinear → dq.
struct IntValue {
  int q = -1;        // the uint8 value (QuantizeLinear's output)
  int q_node = -1;   // the QuantizeLinear node
  float scale = 1;
  int32_t zero = 0;
  int32_t qmin = 0, qmax = 255;
  kernels::Rounding rounding = kernels::Rounding::kHalfEven;
};

// A fused pattern's output: the integer value it writes and the nodes it absorbs.
struct Unit {
  const IntValue* iv = nullptr;
  IntOutput out;
  std::vector<int> absorbed;  // Relu / Clip and QuantizeLinear nodes
  int act_node = -1;          // the fused Relu / Clip, -1 if none
};

// A dynamically quantized activation in the standard form:
//   x → DynamicQuantizeLinear → (q, s, z) → DequantizeLinear → dq.
struct DynValue {
  int x = -1, q = -1, s = -1, z = -1;
  bool used = false;  // some reader runs as a dynamic integer step
  bool nhwc = false;  // q is stored channels-last (some reader is an im2col / 1×1 conv)
};

// A Conv / Gemm / MatMul prepared for a dynamic input.
struct DynMatch {
  std::unique_ptr<Step> step;
  bool nhwc = false;  // reads q channels-last
  int act = -1;       // fused Relu / Clip node, -1 if none
  int y = -1;         // the FP32 value it writes (the activation's output when fused)
};

// The memory order an integer step reads its 4-D inputs in (kSame: whichever its first has).
enum class Layout : uint8_t { kNchw, kNhwc, kSame };

bool is_quant_op(const ir::Node& n) {
  return n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear" || n.op_type == "DynamicQuantizeLinear" ||
         n.op_type == "DynamicFakeQuant";
}

// Known except dim 0 (the batch): what the arena needs.
bool static_shape(const ir::Value& v) {
  if (!v.shape || v.shape->empty()) return false;
  for (size_t i = 1; i < v.shape->size(); ++i)
    if ((*v.shape)[i] < 0) return false;
  return true;
}

class Compiler {
 public:
  Compiler(const QuantizedModel& m, kernels::Isa isa) : m_(m), isa_(isa) {}

  Result<Program> run() {
    std::map<std::string, std::string> dequantized;
    LB_ASSIGN_OR_RETURN(ir::Graph g, quant::simulation_graph(m_, &dequantized));
    ProgramBuilder builder(std::move(g));
    g_ = &builder.graph();
    consumers_ = g_->consumers();
    find_integer_values(dequantized);
    absorbed_.assign(g_->nodes.size(), false);
    LB_TRY(prepare_dynamic());
    for (size_t i = 0; i < g_->nodes.size(); ++i) {
      if (absorbed_[i]) continue;
      const ir::Node& n = g_->nodes[i];
      if (add_dynamic_step(static_cast<int>(i), builder)) continue;
      std::string why;
      Result<std::unique_ptr<Step>> step = Status::error("");
      if (!is_quant_op(n)) {
        step = match(static_cast<int>(i), &why);
        if (step.is_ok() && *step) {
          Step& s = **step;
          s.node = n.name;
          s.op_type = n.op_type;
          place_layouts(s, builder);
          builder.add_report({n.name, n.op_type, true, s.describe()});
          for (int a : unit_.absorbed) absorbed_[static_cast<size_t>(a)] = true;
          if (unit_.act_node >= 0) {
            const ir::Node& act = g_->nodes[static_cast<size_t>(unit_.act_node)];
            builder.add_report({act.name, act.op_type, true, fmt::format("fused into '{}'", n.name)});
          }
          builder.add_step(std::move(step).value());
          continue;
        }
        if (!step.is_ok()) return step.status().with_context(fmt::format("node '{}' ({})", n.name, n.op_type));
        auto dyn_why = dyn_why_.find(static_cast<int>(i));
        if (dyn_why != dyn_why_.end()) why = dyn_why->second;
        builder.add_report({n.name, n.op_type, false, why});
      }
      if (std::unique_ptr<Step> b = boundary_step(n, builder)) {
        builder.add_step(std::move(b));
        continue;
      }
      ir::Node fp32 = n;  // FP32 ops read NCHW
      for (int& in : fp32.inputs)
        if (in != ir::kNoValue) in = as_layout(in, false, builder);
      LB_ASSIGN_OR_RETURN(std::unique_ptr<Step> op, make_op_step(fp32, g_->opset));
      builder.add_step(std::move(op));
    }
    return builder.finish(std::string(kernels::isa_name(isa_)));
  }

 private:
  // ---- Layouts --------------------------------------------------------------------------

  // 4-D with more than one pixel: the only values whose NCHW and NHWC orders differ.
  bool spatial(int v) const {
    const ir::Value& val = g_->value(v);
    return val.shape && val.shape->size() == 4 && (*val.shape)[2] * (*val.shape)[3] != 1;
  }

  bool is_nhwc(int v) const { return static_cast<size_t>(v) < nhwc_.size() && nhwc_[static_cast<size_t>(v)]; }

  // `v` in the wanted order: itself, or the output of a layout step (added once per value).
  int as_layout(int v, bool nhwc, ProgramBuilder& builder) {
    if (!spatial(v) || is_nhwc(v) == nhwc) return v;
    auto& cache = nhwc ? to_nhwc_ : to_nchw_;
    auto hit = cache.find(v);
    if (hit != cache.end()) return hit->second;
    const std::string name = g_->value(v).name;
    const int nv = g_->add_value(g_->unique_value_name(name + (nhwc ? "_nhwc" : "_nchw")));
    g_->value(nv).dtype = g_->value(v).dtype;
    g_->value(nv).shape = g_->value(v).shape;
    nhwc_.resize(g_->values.size(), false);
    nhwc_[static_cast<size_t>(nv)] = nhwc;
    auto step = make_layout_step(nhwc);
    step->node = name;
    step->op_type = "Layout";
    step->inputs = {v};
    step->outputs = {nv};
    builder.add_step(std::move(step));
    cache[v] = nv;
    return nv;
  }

  // Converts a matched step's inputs to the order it reads and records its output's.
  void place_layouts(Step& s, ProgramBuilder& builder) {
    const bool nhwc = want_ == Layout::kNhwc || (want_ == Layout::kSame && !s.inputs.empty() && is_nhwc(s.inputs[0]));
    for (int& in : s.inputs) in = as_layout(in, nhwc, builder);
    nhwc_.resize(g_->values.size(), false);
    for (int out : s.outputs) nhwc_[static_cast<size_t>(out)] = nhwc && spatial(out);
  }

  // ---- Boundaries -------------------------------------------------------------------------

  // The QuantizeLinear making an integer value from FP32, or a DequantizeLinear of one, as
  // the vectorized boundary steps; nullptr for any other node.
  std::unique_ptr<Step> boundary_step(const ir::Node& n, ProgramBuilder& builder) {
    if (!n.domain.empty()) return nullptr;
    if (n.op_type == "DynamicQuantizeLinear") {
      // Quantized once for every integer reader; the DequantizeLinear after it stays for any
      // FP32 reader (and is dropped with its layout step when there is none).
      auto it = dyn_by_q_.find(n.outputs[0]);
      if (it == dyn_by_q_.end() || !dyn_by_dq_.at(it->second).used) return nullptr;
      const DynValue& d = dyn_by_dq_.at(it->second);
      auto s = make_dynamic_quantize_step(d.nhwc);
      s->node = n.name;
      s->op_type = n.op_type;
      s->inputs = {as_layout(d.x, false, builder)};
      s->outputs = {d.q, d.s, d.z};
      nhwc_.resize(g_->values.size(), false);
      nhwc_[static_cast<size_t>(d.q)] = d.nhwc && spatial(d.q);
      return s;
    }
    if (n.op_type == "QuantizeLinear") {
      auto it = by_float_.find(n.input(0));
      if (it == by_float_.end() || it->second.q_node < 0 || g_->nodes[static_cast<size_t>(it->second.q_node)].name != n.name ||
          it->second.rounding != kernels::Rounding::kHalfEven || !static_shape(g_->value(it->second.q)))
        return nullptr;
      const IntValue& iv = it->second;
      auto s = make_quantize_step(iv.scale, iv.zero, iv.qmin, iv.qmax);
      s->node = n.name;
      s->op_type = n.op_type;
      s->inputs = {as_layout(n.input(0), false, builder)};
      s->outputs = {iv.q};
      return s;
    }
    if (n.op_type == "DequantizeLinear") {
      auto f = dq_to_float_.find(n.outputs[0]);
      if (f == dq_to_float_.end()) return nullptr;
      const IntValue& iv = by_float_.at(f->second);
      auto s = make_dequantize_step(iv.scale, iv.zero);
      s->node = n.name;
      s->op_type = n.op_type;
      s->inputs = {as_layout(iv.q, false, builder)};
      s->outputs = {n.outputs[0]};
      return s;
    }
    return nullptr;
  }

  // ---- Integer values -------------------------------------------------------------------

  void find_integer_values(const std::map<std::string, std::string>& dequantized) {
    for (const auto& [name, a] : m_.activations) {
      const int v = g_->find_value(name);
      auto dq_name = dequantized.find(name);
      if (v < 0 || dq_name == dequantized.end()) continue;
      const int dq = g_->find_value(dq_name->second);
      if (dq < 0) continue;
      if (a.dynamic) {
        find_dynamic_value(v, dq, a);
        continue;
      }
      const quant::QScheme& s = a.scheme;
      if (s.granularity != Granularity::kPerTensor || s.is_signed || s.bits > 8 ||
          (s.rounding != kernels::Rounding::kHalfEven && s.rounding != kernels::Rounding::kHalfAway)) {
        not_int_[dq] = fmt::format("quantized as {} (integer kernels take unsigned per-tensor ≤ 8-bit, nearest rounding)",
                                   quant::describe(s));
        continue;
      }
      const int dq_node = g_->value(dq).producer;
      if (dq_node < 0) continue;
      const int q = g_->nodes[static_cast<size_t>(dq_node)].input(0);
      const int q_node = q >= 0 ? g_->value(q).producer : -1;
      if (q_node < 0 || g_->nodes[static_cast<size_t>(q_node)].input(0) != v || g_->value(q).dtype != DType::kU8) continue;
      IntValue iv{q, q_node, a.params.scale[0], a.params.zero_point[0], s.qmin(), s.qmax(), s.rounding};
      by_float_[v] = iv;
      dq_to_float_[dq] = v;
    }
  }

  // The integer form behind an input the simulation reads dequantized, or nullptr with `why`.
  const IntValue* int_input(int v, std::string* why) const {
    auto f = dq_to_float_.find(v);
    if (f != dq_to_float_.end()) return &by_float_.at(f->second);
    auto r = not_int_.find(v);
    *why = r != not_int_.end() ? fmt::format("input '{}' is {}", g_->value(v).name, r->second)
                               : fmt::format("input '{}' is not quantized", g_->value(v).name);
    return nullptr;
  }

  bool only_reader(int v, int node) const {
    const auto& c = consumers_[static_cast<size_t>(v)];
    return c.size() == 1 && c[0] == node &&
           std::find(g_->outputs.begin(), g_->outputs.end(), v) == g_->outputs.end();
  }

  int32_t quantize_real(float x, const IntValue& iv) const {
    return kernels::quantize_value(x, iv.scale, iv.zero, {iv.qmin, iv.qmax}, iv.rounding, 0.5f);
  }

  // Narrows [lo, hi] by a Relu / Clip node whose output is quantized as `iv`: since the
  // quantizer is monotone, Q(clip(y, a, b)) = clamp(Q(y), Q(a), Q(b)).
  bool activation_bounds(const ir::Node& act, const IntValue& iv, IntOutput* out, std::string* why) const {
    out->lo = std::max(out->lo, iv.qmin);
    out->hi = std::min(out->hi, iv.qmax);
    if (act.op_type == "Relu") {
      out->lo = std::max(out->lo, quantize_real(0.0f, iv));
      return true;
    }
    float lo = -INFINITY, hi = INFINITY;
    if (g_->opset < 11) {
      Result<float> a = act.attrs.get_float("min", -INFINITY), b = act.attrs.get_float("max", INFINITY);
      if (!a.is_ok() || !b.is_ok()) {
        *why = "its Clip bounds are malformed";
        return false;
      }
      lo = *a;
      hi = *b;
    } else {
      for (size_t i = 1; i <= 2; ++i) {
        if (!act.has_input(i)) continue;
        if (!g_->is_constant(act.input(i)) || g_->value(act.input(i)).constant->numel() != 1) {
          *why = "its Clip bounds are not constant scalars";
          return false;
        }
        (i == 1 ? lo : hi) = static_cast<float>(g_->value(act.input(i)).constant->at_f64(0));
      }
    }
    if (std::isfinite(lo)) out->lo = std::max(out->lo, quantize_real(lo, iv));
    if (std::isfinite(hi)) out->hi = std::min(out->hi, quantize_real(hi, iv));
    if (out->lo > out->hi) {
      *why = "its Clip range is empty";
      return false;
    }
    return true;
  }

  // The quantized output of `node`, directly or after one fused Relu / Clip (sets unit_).
  bool find_unit(int node, std::string* why) {
    unit_ = Unit{};
    const ir::Node& n = g_->nodes[static_cast<size_t>(node)];
    for (size_t o = 1; o < n.outputs.size(); ++o)
      if (n.outputs[o] != ir::kNoValue && !consumers_[static_cast<size_t>(n.outputs[o])].empty()) {
        *why = "a second output is used";
        return false;
      }
    int y = n.outputs[0];
    auto direct = by_float_.find(y);
    if (direct == by_float_.end()) {
      const auto& c = consumers_[static_cast<size_t>(y)];
      const int act = c.size() == 1 ? c[0] : -1;
      const ir::Node* a = act >= 0 ? &g_->nodes[static_cast<size_t>(act)] : nullptr;
      if (!a || !a->domain.empty() || (a->op_type != "Relu" && a->op_type != "Clip") || !only_reader(y, act) ||
          !by_float_.count(a->outputs[0]) || m_.fp32_nodes.count(a->name)) {
        *why = fmt::format("its output '{}' is not quantized to u8 per-tensor (alone or after one Relu / Clip)",
                           g_->value(y).name);
        return false;
      }
      unit_.act_node = act;
      unit_.absorbed.push_back(act);
      y = a->outputs[0];
    }
    const IntValue& iv = by_float_.at(y);
    if (!only_reader(y, iv.q_node)) {
      *why = fmt::format("its output '{}' is also read in FP32", g_->value(y).name);
      return false;
    }
    unit_.iv = &iv;
    unit_.absorbed.push_back(iv.q_node);
    unit_.out = {iv.zero, iv.qmin, iv.qmax};
    if (unit_.act_node >= 0 && !activation_bounds(g_->nodes[static_cast<size_t>(unit_.act_node)], iv, &unit_.out, why))
      return false;
    if (!static_shape(g_->value(iv.q))) {
      *why = fmt::format("the shape of '{}' is not known", g_->value(y).name);
      return false;
    }
    return true;
  }

  static Result<DyadicMultiplier> multiplier(double m, std::string* why) {
    Result<DyadicMultiplier> d = kernels::dyadic_multiplier(m);
    if (!d.is_ok()) *why = fmt::format("its rescale factor has no dyadic form ({})", d.status().message());
    return d;
  }

  // ---- Matching -------------------------------------------------------------------------

  // A step for node `i`, nullptr with `why` when it has no integer form; an error only for a
  // malformed model.
  Result<std::unique_ptr<Step>> match(int i, std::string* why) {
    const ir::Node& n = g_->nodes[static_cast<size_t>(i)];
    if (!n.domain.empty()) {
      *why = fmt::format("no integer kernel for {}:{}", n.domain, n.op_type);
      return std::unique_ptr<Step>();
    }
    if (m_.fp32_nodes.count(n.name)) {
      *why = "kept in FP32 by the recipe";
      return std::unique_ptr<Step>();
    }
    std::unique_ptr<Step> s;
    const std::string& op = n.op_type;
    want_ = op == "Conv" || op == "MaxPool" || op == "GlobalAveragePool" ? Layout::kNhwc
            : op == "Add" || op == "Relu" || op == "Clip"               ? Layout::kSame
                                                                         : Layout::kNchw;
    if (op == "Conv") {
      LB_ASSIGN_OR_RETURN(s, match_conv(i, why));
    } else if (op == "Gemm" || op == "MatMul") {
      LB_ASSIGN_OR_RETURN(s, match_gemm(i, why));
    } else if (op == "Add") {
      s = match_add(i, why);
    } else if (op == "Concat") {
      LB_ASSIGN_OR_RETURN(s, match_concat(i, why));
    } else if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool") {
      LB_ASSIGN_OR_RETURN(s, match_pool(i, why));
    } else if (op == "Relu" || op == "Clip" || op == "Flatten" || op == "Reshape" || op == "Squeeze" ||
               op == "Unsqueeze" || op == "Identity") {
      s = match_unary(i, why);
    } else {
      *why = fmt::format("no integer kernel for {}", op);
    }
    if (s) {
      for (int in : n.inputs) {
        auto f = dq_to_float_.find(in);
        if (f != dq_to_float_.end() && std::find(s->inputs.begin(), s->inputs.end(), by_float_.at(f->second).q) == s->inputs.end())
          s->inputs.push_back(by_float_.at(f->second).q);
      }
      s->outputs = {unit_.iv->q};
    }
    return s;
  }

  // The quantized weight feeding `node` as input 1, checked against the integer contract.
  const quant::WeightQuant* int_weight(const ir::Node& n, int64_t want_axis, int64_t rank, std::string* why) const {
    const ir::Value& wv = g_->value(n.input(1));
    auto it = m_.weights.find(wv.name);
    if (it == m_.weights.end() || !g_->is_constant(n.input(1))) {
      *why = fmt::format("weight '{}' is not quantized", wv.name);
      return nullptr;
    }
    const quant::WeightQuant& w = it->second;
    const quant::QScheme& s = w.scheme;
    const int64_t axis = s.axis < 0 ? s.axis + rank : s.axis;
    const bool zero = std::all_of(w.params.zero_point.begin(), w.params.zero_point.end(), [](int32_t z) { return z == 0; });
    const bool grid = s.granularity == Granularity::kPerTensor || (s.granularity == Granularity::kPerChannel && axis == want_axis);
    if (!s.is_signed || s.bits > 8 || !zero || !grid || w.q.dtype() != DType::kI8 ||
        static_cast<int64_t>(w.q.shape().size()) != rank) {
      *why = fmt::format("weight '{}' is {} (integer kernels take signed ≤ 8-bit, zero point 0, per-tensor or per output channel)",
                         wv.name, quant::describe(s));
      return nullptr;
    }
    return &w;
  }

  // int32 bias [n] of input `idx`, zeros when absent; false with `why` when it is FP32.
  bool int_bias(const ir::Node& n, size_t idx, int64_t count, std::vector<int32_t>* bias, std::string* why) const {
    bias->assign(static_cast<size_t>(count), 0);
    if (!n.has_input(idx)) return true;
    auto it = m_.biases.find(g_->value(n.input(idx)).name);
    if (it == m_.biases.end() || it->second.q.numel() != count) {
      *why = fmt::format("bias '{}' is not an int32 bias of {} channels", g_->value(n.input(idx)).name, count);
      return false;
    }
    std::copy_n(it->second.q.data<int32_t>(), count, bias->begin());
    return true;
  }

  // s_x · s_w[c] / s_y per output channel (one entry for a per-tensor weight).
  bool requant_multipliers(const IntValue& x, const quant::WeightQuant& w, std::vector<DyadicMultiplier>* mult,
                           std::string* why) const {
    mult->clear();
    for (float sw : w.params.scale) {
      Result<DyadicMultiplier> d = multiplier(static_cast<double>(x.scale) * sw / unit_.iv->scale, why);
      if (!d.is_ok()) return false;
      mult->push_back(*d);
    }
    return true;
  }

  // Bits of requantization headroom (requantize.h): |acc| · 2^h < 2^31 for every accumulator
  // the layer can produce (k taps of |x − z| ≤ 255 times |w| ≤ 128, plus the bias), and
  // h − shift ≤ 31 for each multiplier.
  static int requant_headroom(int64_t k, const std::vector<int32_t>& bias, const std::vector<DyadicMultiplier>& mult) {
    int64_t bound = k * 255 * 128;
    int64_t b = 0;
    for (int32_t v : bias) b = std::max<int64_t>(b, std::llabs(v));
    bound += b;
    int bits = 0;
    while (bits < 62 && (int64_t{1} << bits) <= bound) ++bits;
    int h = 31 - bits;
    for (const DyadicMultiplier& m : mult)
      if (m.shift <= 0) h = std::min(h, 31 + m.shift);
    return std::max(h, 0);
  }

  // Whether Σ over k taps of (x − z)·w plus the bias stays inside int32 (|x − z| ≤ 255, |w| ≤ 128).
  static bool accumulator_fits(int64_t k, const std::vector<int32_t>& bias, std::string* why) {
    int64_t b = 0;
    for (int32_t v : bias) b = std::max<int64_t>(b, std::llabs(v));
    if (b < (int64_t{1} << 30) && k * 255 * 128 < (int64_t{1} << 30)) return true;
    *why = fmt::format("a {}-term dot product with its bias could overflow the int32 accumulator", k);
    return false;
  }

  // A Conv node's geometry on input x [N, C, H, W] and weight [OC, C/groups, kh, kw].
  static Status conv_geometry(const ir::Node& n, const Shape& xs, const Shape& ws, kernels::Conv2dGeom* g,
                              int64_t* groups) {
    LB_ASSIGN_OR_RETURN(*groups, n.attrs.get_int("group", 1));
    const int64_t c = xs[1], oc = ws[0];
    if (*groups < 1 || c % *groups != 0 || oc % *groups != 0 || ws[1] != c / *groups)
      return Status::errorf("weight shape {} does not fit input {} with {} groups", shape_str(ws), shape_str(xs), *groups);
    LB_ASSIGN_OR_RETURN(ops::WindowAttrs wa, ops::read_window_attrs(n.attrs, 2, std::vector<int64_t>{ws[2], ws[3]}, true, false));
    LB_ASSIGN_OR_RETURN(ops::WindowPlan p, ops::plan_window(wa, {xs[2], xs[3]}));
    g->c = c, g->h = xs[2], g->w = xs[3], g->kh = ws[2], g->kw = ws[3];
    g->stride_h = p.stride[0], g->stride_w = p.stride[1], g->dil_h = p.dilation[0], g->dil_w = p.dilation[1];
    g->pad_t = p.pad_begin[0], g->pad_l = p.pad_begin[1], g->pad_b = p.pad_end[0], g->pad_r = p.pad_end[1];
    return Status::ok();
  }

  Result<std::unique_ptr<Step>> match_conv(int i, std::string* why) {
    const ir::Node& n = g_->nodes[static_cast<size_t>(i)];
    const IntValue* x = int_input(n.input(0), why);
    if (!x) return std::unique_ptr<Step>();
    const ir::Value& xv = g_->value(n.input(0));
    if (!xv.shape || xv.shape->size() != 4 || !static_shape(xv)) {
      *why = "only 2-D convolutions with known input sizes run on integers";
      return std::unique_ptr<Step>();
    }
    const quant::WeightQuant* w = int_weight(n, 0, 4, why);
    if (!w || !find_unit(i, why)) return std::unique_ptr<Step>();
    const Shape& ws = w->q.shape();
    ConvSpec spec;
    int64_t groups = 1;
    LB_TRY(conv_geometry(n, *xv.shape, ws, &spec.geom, &groups));
    const kernels::Conv2dGeom& g = spec.geom;
    const int64_t c = g.c, oc = ws[0];
    spec.out_channels = oc;
    spec.groups = groups;
    spec.depthwise = groups == c && oc == c;
    spec.x_zero = x->zero;
    spec.out = unit_.out;
    const int64_t k = (c / groups) * g.kh * g.kw;
    if (!int_bias(n, 2, oc, &spec.bias, why) || !accumulator_fits(k, spec.bias, why) ||
        !requant_multipliers(*x, *w, &spec.mult, why))
      return std::unique_ptr<Step>();
    spec.headroom = requant_headroom(k, spec.bias, spec.mult);
    // Reorder for NHWC: depthwise [C][1][kh][kw] → [kh][kw][C]; GEMM [OC][Cg][kh][kw] → [OC][kh][kw][Cg].
    const int8_t* wq = w->q.data<int8_t>();
    const int64_t taps = g.kh * g.kw, cg = c / groups;
    if (spec.depthwise) {
      spec.dw_weights.resize(static_cast<size_t>(w->q.numel()));
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t t = 0; t < taps; ++t) spec.dw_weights[static_cast<size_t>(t * c + ch)] = wq[ch * taps + t];
    } else {
      std::vector<int8_t> wt(static_cast<size_t>(w->q.numel()));
      for (int64_t o = 0; o < oc; ++o)
        for (int64_t ic = 0; ic < cg; ++ic)
          for (int64_t t = 0; t < taps; ++t) wt[static_cast<size_t>((o * taps + t) * cg + ic)] = wq[(o * cg + ic) * taps + t];
      const int64_t ocg = oc / groups;
      for (int64_t grp = 0; grp < groups; ++grp)
        spec.packed.push_back(kernels::pack_weights(wt.data() + grp * ocg * k, ocg, k, isa_));
    }
    return make_conv_step(std::move(spec));
  }

  // Whether Gemm / MatMul node n on input xv has an integer kernel: Gemm without transA and
  // with α = β = 1 on a 2-D input, MatMul on an input of rank ≥ 2, static shapes. Sets *trans_b
  // (Gemm's transB) or *why.
  Result<bool> gemm_fits(const ir::Node& n, const ir::Value& xv, int64_t* trans_b, std::string* why) const {
    const bool gemm = n.op_type == "Gemm";
    if (gemm) {
      LB_ASSIGN_OR_RETURN(int64_t trans_a, n.attrs.get_int("transA", 0));
      LB_ASSIGN_OR_RETURN(*trans_b, n.attrs.get_int("transB", 0));
      LB_ASSIGN_OR_RETURN(float alpha, n.attrs.get_float("alpha", 1.0f));
      LB_ASSIGN_OR_RETURN(float beta, n.attrs.get_float("beta", 1.0f));
      if (trans_a != 0 || alpha != 1.0f || (n.has_input(2) && beta != 1.0f)) {
        *why = "Gemm with transA, alpha ≠ 1 or beta ≠ 1 has no integer kernel";
        return false;
      }
    }
    if (!xv.shape || xv.shape->size() < 2 || (gemm && xv.shape->size() != 2) || !static_shape(xv)) {
      *why = "the input's shape is not known";
      return false;
    }
    return true;
  }

  Result<std::unique_ptr<Step>> match_gemm(int i, std::string* why) {
    const ir::Node& n = g_->nodes[static_cast<size_t>(i)];
    const bool gemm = n.op_type == "Gemm";
    const IntValue* x = int_input(n.input(0), why);
    if (!x) return std::unique_ptr<Step>();
    const ir::Value& xv = g_->value(n.input(0));
    int64_t trans_b = 0;
    LB_ASSIGN_OR_RETURN(const bool fits, gemm_fits(n, xv, &trans_b, why));
    if (!fits) return std::unique_ptr<Step>();
    const quant::WeightQuant* w = int_weight(n, trans_b ? 0 : 1, 2, why);
    if (!w || !find_unit(i, why)) return std::unique_ptr<Step>();
    const Shape& ws = w->q.shape();
    const int64_t nn = trans_b ? ws[0] : ws[1], k = trans_b ? ws[1] : ws[0];
    if (xv.shape->back() != k) return Status::errorf("input {} and weight {} do not multiply", shape_str(*xv.shape), shape_str(ws));
    GemmSpec spec;
    spec.x_zero = x->zero;
    spec.out = unit_.out;
    if (!gemm) spec.bias.assign(static_cast<size_t>(nn), 0);  // MatMul has no bias input
    if ((gemm && !int_bias(n, 2, nn, &spec.bias, why)) || !accumulator_fits(k, spec.bias, why) ||
        !requant_multipliers(*x, *w, &spec.mult, why))
      return std::unique_ptr<Step>();
    spec.headroom = requant_headroom(k, spec.bias, spec.mult);
    std::vector<int8_t> wt(static_cast<size_t>(nn * k));  // W as [N][K]
    const int8_t* wq = w->q.data<int8_t>();
    for (int64_t r = 0; r < nn; ++r)
      for (int64_t c = 0; c < k; ++c) wt[static_cast<size_t>(r * k + c)] = trans_b ? wq[r * k + c] : wq[c * nn + r];
    spec.packed = kernels::pack_weights(wt.data(), nn, k, isa_);
    return make_gemm_step(std::move(spec));
  }

  std::unique_ptr<Step> match_add(int i, std::string* why) {
    const ir::Node& n = g_->nodes[static_cast<size_t>(i)];
    const IntValue* a = int_input(n.input(0), why);
    const IntValue* b = a ? int_input(n.input(1), why) : nullptr;
    if (!b) return nullptr;
    const ir::Value& av = g_->value(n.input(0));
    const ir::Value& bv = g_->value(n.input(1));
    if (!static_shape(av) || av.shape != bv.shape) {
      *why = "only same-shape adds run on integers (no broadcasting)";
      return nullptr;
    }
    if (!find_unit(i, why)) return nullptr;
    Result<kernels::AddParams> p = kernels::prepare_add(a->scale, a->zero, b->scale, b->zero, unit_.iv->scale,
                                                        unit_.out.zero, unit_.out.lo, unit_.out.hi);
    if (!p.is_ok()) {
      *why = p.status().message();
      return nullptr;
    }
    auto s = make_add_step(*p);
    s->inputs = {a->q, b->q};
    return s;
  }

  Result<std::unique_ptr<Step>> match_concat(int i, std::string* why) {
    const ir::Node& n = g_->nodes[static_cast<size_t>(i)];
    std::vector<const IntValue*> xs;
    for (int in : n.inputs) {
      const IntValue* x = int_input(in, why);
      if (!x || !static_shape(g_->value(in))) {
        if (x) *why = "an input's shape is not known";
        return std::unique_ptr<Step>();
      }
      xs.push_back(x);
    }
    if (!find_unit(i, why)) return std::unique_ptr<Step>();
    const int64_t rank = static_cast<int64_t>(g_->value(unit_.iv->q).shape->size());
    LB_ASSIGN_OR_RETURN(int64_t axis, n.attrs.get_int("axis"));
    if (axis < 0) axis += rank;
    if (axis < 0 || axis >= rank) return Status::errorf("axis out of range for rank {}", rank);
    std::vector<ConcatInput> ins;
    std::vector<int> slots;
    for (const IntValue* x : xs) {
      ConcatInput ci;
      ci.copy = x->scale == unit_.iv->scale && x->zero == unit_.out.zero && unit_.out.lo <= x->qmin && unit_.out.hi >= x->qmax;
      ci.zero = x->zero;
      if (!ci.copy) {
        Result<DyadicMultiplier> m = multiplier(static_cast<double>(x->scale) / unit_.iv->scale, why);
        if (!m.is_ok()) return std::unique_ptr<Step>();
        ci.m = *m;
      }
      ins.push_back(ci);
      slots.push_back(x->q);
    }
    auto s = make_concat_step(axis, std::move(ins), unit_.out);
    s->inputs = std::move(slots);  // in order, duplicates included
    return s;
  }

  Result<std::unique_ptr<Step>> match_pool(int i, std::string* why) {
    const ir::Node& n = g_->nodes[static_cast<size_t>(i)];
    const IntValue* x = int_input(n.input(0), why);
    if (!x) return std::unique_ptr<Step>();
    const ir::Value& xv = g_->value(n.input(0));
    if (!xv.shape || xv.shape->size() != 4 || !static_shape(xv)) {
      *why = "only 2-D pooling with known input sizes runs on integers";
      return std::unique_ptr<Step>();
    }
    if (!find_unit(i, why)) return std::unique_ptr<Step>();
    const Shape& xs = *xv.shape;
    const double ratio = static_cast<double>(x->scale) / unit_.iv->scale;
    if (n.op_type == "GlobalAveragePool") {
      AvgPoolSpec spec;
      spec.global = true;
      spec.channels = xs[1];
      spec.plane_size = xs[2] * xs[3];
      if (spec.plane_size > kernels::kMaxPoolWindow) {
        *why = "the pooled plane is too large for an int32 sum";
        return std::unique_ptr<Step>();
      }
      Result<DyadicMultiplier> m = kernels::global_avg_pool_multiplier(x->scale, unit_.iv->scale, spec.plane_size);
      if (!m.is_ok()) {
        *why = m.status().message();
        return std::unique_ptr<Step>();
      }
      spec.mult = *m;
      spec.x_zero = x->zero;
      spec.out = unit_.out;
      return make_avg_pool_step(std::move(spec));
    }
    const bool max = n.op_type == "MaxPool";
    LB_ASSIGN_OR_RETURN(ops::WindowAttrs wa, ops::read_window_attrs(n.attrs, 2, std::nullopt, max, true));
    LB_ASSIGN_OR_RETURN(ops::WindowPlan p, ops::plan_window(wa, {xs[2], xs[3]}));
    kernels::PoolGeom geom;
    geom.planes = xs[1];
    for (size_t d = 0; d < 2; ++d) {
      geom.in[d + 1] = xs[2 + d];
      geom.out[d + 1] = p.out[d];
      geom.kernel[d + 1] = p.kernel[d];
      geom.stride[d + 1] = p.stride[d];
      geom.dilation[d + 1] = p.dilation[d];
      geom.pad_begin[d + 1] = p.pad_begin[d];
      geom.pad_end[d + 1] = p.pad_end[d];
    }
    if (max) {
      MaxPoolSpec spec;
      kernels::Conv2dGeom& cg = spec.geom;
      cg.c = xs[1], cg.h = xs[2], cg.w = xs[3], cg.kh = p.kernel[0], cg.kw = p.kernel[1];
      cg.stride_h = p.stride[0], cg.stride_w = p.stride[1], cg.dil_h = p.dilation[0], cg.dil_w = p.dilation[1];
      cg.pad_t = p.pad_begin[0], cg.pad_l = p.pad_begin[1], cg.pad_b = p.pad_end[0], cg.pad_r = p.pad_end[1];
      if (cg.oh() != p.out[0] || cg.ow() != p.out[1]) {  // ceil_mode windows past the padding
        *why = "ceil_mode windows past the padding have no integer kernel";
        return std::unique_ptr<Step>();
      }
      spec.x_zero = x->zero;
      spec.out = unit_.out;
      spec.rescale = !(x->scale == unit_.iv->scale && x->zero == unit_.out.zero && unit_.out.lo <= x->qmin &&
                       unit_.out.hi >= x->qmax);
      if (spec.rescale) {
        Result<DyadicMultiplier> m = multiplier(ratio, why);
        if (!m.is_ok()) return std::unique_ptr<Step>();
        spec.m = *m;
      }
      return make_max_pool_step(std::move(spec));
    }
    AvgPoolSpec spec;
    spec.geom = geom;
    LB_ASSIGN_OR_RETURN(int64_t include_pad, n.attrs.get_int("count_include_pad", 0));
    spec.count_include_pad = include_pad != 0;
    const int64_t window = geom.kernel[1] * geom.kernel[2];
    if (window > kernels::kMaxPoolWindow) {
      *why = "the pooling window is too large for an int32 sum";
      return std::unique_ptr<Step>();
    }
    Result<std::vector<DyadicMultiplier>> m = kernels::avg_pool_multipliers(x->scale, unit_.iv->scale, window);
    if (!m.is_ok()) {
      *why = m.status().message();
      return std::unique_ptr<Step>();
    }
    spec.mult_by_count = std::move(m).value();
    spec.x_zero = x->zero;
    spec.out = unit_.out;
    return make_avg_pool_step(std::move(spec));
  }

  // Relu / Clip as a rescale with bounds; shape ops as views (or rescales when the output is
  // quantized differently).
  std::unique_ptr<Step> match_unary(int i, std::string* why) {
    const ir::Node& n = g_->nodes[static_cast<size_t>(i)];
    const IntValue* x = int_input(n.input(0), why);
    if (!x) return nullptr;
    const int y = n.outputs[0];
    auto it = by_float_.find(y);
    if (it == by_float_.end()) {
      *why = fmt::format("its output '{}' is not quantized to u8 per-tensor", g_->value(y).name);
      return nullptr;
    }
    unit_ = Unit{};
    const IntValue& iv = it->second;
    if (!only_reader(y, iv.q_node)) {
      *why = fmt::format("its output '{}' is also read in FP32", g_->value(y).name);
      return nullptr;
    }
    if (!static_shape(g_->value(iv.q))) {
      *why = fmt::format("the shape of '{}' is not known", g_->value(y).name);
      return nullptr;
    }
    unit_.iv = &iv;
    unit_.absorbed.push_back(iv.q_node);
    unit_.out = {iv.zero, iv.qmin, iv.qmax};
    const bool act = n.op_type == "Relu" || n.op_type == "Clip";
    if (act && !activation_bounds(n, iv, &unit_.out, why)) return nullptr;
    const bool same = x->scale == iv.scale && x->zero == iv.zero && unit_.out.lo <= x->qmin && unit_.out.hi >= x->qmax;
    if (!act) {
      // A shape op keeps samples apart when input and output both lead with the symbolic batch
      // and hold the same elements per sample; others (reshapes across the batch) stay FP32.
      const ir::Value& in_v = g_->value(n.input(0));
      const Shape& out = *g_->value(iv.q).shape;
      const bool per_sample = in_v.shape && static_shape(in_v) && (*in_v.shape)[0] < 0 && out[0] < 0 &&
                              numel(Shape(in_v.shape->begin() + 1, in_v.shape->end())) == numel(Shape(out.begin() + 1, out.end()));
      if (!per_sample) {
        *why = "it reshapes across the batch dimension";
        return nullptr;
      }
      if (same) return make_view_step(out, true);
    }
    Result<DyadicMultiplier> m = multiplier(static_cast<double>(x->scale) / iv.scale, why);
    if (!m.is_ok()) return nullptr;
    return make_rescale_step(x->zero, *m, unit_.out);
  }

  // ---- Dynamic activations (int8-dynamic) -------------------------------------------------
  //
  //   v → DynamicQuantizeLinear → (q, s, z) → DequantizeLinear → dq → Conv | Gemm | MatMul
  // becomes a dynamic quantize step writing q, s, z (runtime/dynamic_steps.h) and one integer
  // step per reader with an FP32 epilogue; the reader's FP32 output (after one fused Relu /
  // Clip) goes on to the FP32 ops as before.

  // Records v's DynamicQuantizeLinear → DequantizeLinear pair when the graph holds it in the
  // standard form with known types and shapes; otherwise only why it has no integer form.
  void find_dynamic_value(int v, int dq, const quant::ActQuant& a) {
    not_int_[dq] = "quantized dynamically (scale from each batch at run time)";
    const quant::QScheme& sc = a.scheme;
    if (sc.is_signed || sc.symmetric || sc.narrow || sc.bits != 8 || sc.granularity != Granularity::kPerTensor) {
      not_int_[dq] = fmt::format("quantized dynamically as {} (dynamic integer kernels take u8 asymmetric per-tensor)",
                                 quant::describe(sc));
      return;
    }
    const int dq_node = g_->value(dq).producer;
    if (dq_node < 0) return;
    const ir::Node& dn = g_->nodes[static_cast<size_t>(dq_node)];
    if (dn.op_type != "DequantizeLinear" || !dn.domain.empty() || dn.inputs.size() != 3 || dn.attrs.has("axis")) return;
    const int q = dn.input(0);
    const int q_node = q >= 0 ? g_->value(q).producer : -1;
    if (q_node < 0) return;
    const ir::Node& qn = g_->nodes[static_cast<size_t>(q_node)];
    if (qn.op_type != "DynamicQuantizeLinear" || !qn.domain.empty() || qn.input(0) != v || qn.outputs.size() != 3 ||
        qn.outputs[0] != q || qn.outputs[1] != dn.input(1) || qn.outputs[2] != dn.input(2))
      return;
    const ir::Value& xv = g_->value(v);
    if (!static_shape(xv) || xv.dtype != DType::kF32) return;
    for (int o : qn.outputs) {  // typed, and not graph outputs (x_q may be stored NHWC)
      const ir::Value& ov = g_->value(o);
      if (!ov.dtype || !ov.shape || std::find(g_->outputs.begin(), g_->outputs.end(), o) != g_->outputs.end()) return;
    }
    if (g_->value(q).dtype != DType::kU8 || g_->value(qn.outputs[1]).dtype != DType::kF32 ||
        g_->value(qn.outputs[2]).dtype != DType::kU8 || numel(*g_->value(qn.outputs[1]).shape) != 1 ||
        numel(*g_->value(qn.outputs[2]).shape) != 1 || *g_->value(q).shape != *xv.shape)
      return;
    DynValue d;
    d.x = v;
    d.q = q;
    d.s = qn.outputs[1];
    d.z = qn.outputs[2];
    dyn_by_dq_[dq] = d;
    dyn_by_q_[q] = dq;
  }

  // Matches every Conv / Gemm / MatMul reading a dynamic value, before the main pass: the
  // dynamic quantize step comes first and must know whether its readers want NHWC.
  Status prepare_dynamic() {
    for (size_t i = 0; i < g_->nodes.size(); ++i) {
      const ir::Node& n = g_->nodes[i];
      if (!n.domain.empty() || n.inputs.empty() || m_.fp32_nodes.count(n.name) ||
          (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul"))
        continue;
      auto d = dyn_by_dq_.find(n.input(0));
      if (d == dyn_by_dq_.end()) continue;
      std::string why;
      DynMatch dm;
      Result<std::unique_ptr<Step>> s = match_dynamic(static_cast<int>(i), &dm, &why);
      if (!s.is_ok()) return s.status().with_context(fmt::format("node '{}' ({})", n.name, n.op_type));
      if (!*s) {
        dyn_why_[static_cast<int>(i)] = why;
        continue;
      }
      d->second.used = true;
      if (dm.nhwc && spatial(d->second.q)) d->second.nhwc = true;
      if (dm.act >= 0) absorbed_[static_cast<size_t>(dm.act)] = true;
      (*s)->inputs = {d->second.q, d->second.s, d->second.z};
      (*s)->outputs = {dm.y};
      dm.step = std::move(s).value();
      dyn_steps_[static_cast<int>(i)] = std::move(dm);
    }
    return Status::ok();
  }

  // Emits node i's prepared dynamic step (false when it has none).
  bool add_dynamic_step(int i, ProgramBuilder& builder) {
    auto it = dyn_steps_.find(i);
    if (it == dyn_steps_.end()) return false;
    const ir::Node& n = g_->nodes[static_cast<size_t>(i)];
    DynMatch& dm = it->second;
    Step& s = *dm.step;
    s.node = n.name;
    s.op_type = n.op_type;
    s.inputs[0] = as_layout(s.inputs[0], dm.nhwc, builder);
    builder.add_report({n.name, n.op_type, true, s.describe()});
    if (dm.act >= 0) {
      const ir::Node& act = g_->nodes[static_cast<size_t>(dm.act)];
      builder.add_report({act.name, act.op_type, true, fmt::format("fused into '{}'", n.name)});
    }
    builder.add_step(std::move(dm.step));
    return true;
  }

  // A constant FP32 bias of `count` values in input `idx` (empty when absent).
  bool float_bias(const ir::Node& n, size_t idx, int64_t count, std::vector<float>* bias, std::string* why) const {
    bias->clear();
    if (!n.has_input(idx)) return true;
    const ir::Value& bv = g_->value(n.input(idx));
    if (!g_->is_constant(n.input(idx)) || bv.constant->dtype() != DType::kF32 || bv.constant->numel() != count) {
      *why = fmt::format("bias '{}' is not a constant FP32 vector of {} values", bv.name, count);
      return false;
    }
    bias->assign(bv.constant->data<float>(), bv.constant->data<float>() + count);
    return true;
  }

  // Fuses the Relu / Clip (constant bounds) that alone reads `y` into the epilogue: its output
  // replaces y, computed exactly as ops/unary.cc and ops/clip.cc compute it.
  void fuse_dynamic_act(int y, DynamicEpilogue* e, DynMatch* dm) const {
    dm->y = y;
    const auto& c = consumers_[static_cast<size_t>(y)];
    if (c.size() != 1 || !only_reader(y, c[0])) return;
    const ir::Node& a = g_->nodes[static_cast<size_t>(c[0])];
    if (!a.domain.empty() || (a.op_type != "Relu" && a.op_type != "Clip") || a.outputs.size() != 1) return;
    float lo = std::numeric_limits<float>::lowest(), hi = std::numeric_limits<float>::max();
    if (a.op_type == "Relu") {
      lo = 0.0f;
      hi = INFINITY;  // min(v, +inf) = v, NaN included
    } else if (g_->opset < 11) {
      Result<float> l = a.attrs.get_float("min", lo), h = a.attrs.get_float("max", hi);
      if (!l.is_ok() || !h.is_ok()) return;
      lo = *l;
      hi = *h;
    } else {
      for (size_t i = 1; i <= 2; ++i) {
        if (!a.has_input(i)) continue;
        const int b = a.input(i);
        if (!g_->is_constant(b) || g_->value(b).constant->dtype() != DType::kF32 || g_->value(b).constant->numel() != 1)
          return;
        (i == 1 ? lo : hi) = g_->value(b).constant->data<float>()[0];
      }
    }
    e->clamp = true;
    e->lo = lo;
    e->hi = hi;
    dm->act = c[0];
    dm->y = a.outputs[0];
  }

  // The dynamic step for Conv / Gemm / MatMul node i (inputs and outputs filled by the
  // caller), nullptr with `why` when it has no integer form; an error only for a malformed model.
  Result<std::unique_ptr<Step>> match_dynamic(int i, DynMatch* dm, std::string* why) {
    const ir::Node& n = g_->nodes[static_cast<size_t>(i)];
    const ir::Value& xv = g_->value(n.input(0));
    DynamicEpilogue ep;
    if (n.op_type == "Conv") {
      if (!xv.shape || xv.shape->size() != 4 || !static_shape(xv)) {
        *why = "only 2-D convolutions with known input sizes run on integers";
        return std::unique_ptr<Step>();
      }
      const quant::WeightQuant* w = int_weight(n, 0, 4, why);
      if (!w) return std::unique_ptr<Step>();
      const Shape& ws = w->q.shape();
      DynamicConvSpec spec;
      LB_TRY(conv_geometry(n, *xv.shape, ws, &spec.geom, &spec.groups));
      const int64_t c = spec.geom.c, oc = ws[0], k = (c / spec.groups) * spec.geom.kh * spec.geom.kw;
      spec.out_channels = oc;
      spec.depthwise = spec.groups == c && oc == c;
      if (!float_bias(n, 2, oc, &ep.bias, why) || !accumulator_fits(k, {}, why)) return std::unique_ptr<Step>();
      if (w->params.scale.size() != 1 && static_cast<int64_t>(w->params.scale.size()) != oc)
        return Status::errorf("weight has {} scales for {} channels", w->params.scale.size(), oc);
      ep.w_scale = w->params.scale;
      fuse_dynamic_act(n.outputs[0], &ep, dm);
      spec.epilogue = std::move(ep);
      const int8_t* wq = w->q.data<int8_t>();
      const int64_t taps = spec.geom.kh * spec.geom.kw, cg = c / spec.groups;
      if (spec.depthwise) {
        spec.dw_weights.assign(wq, wq + w->q.numel());  // [C][kh][kw], the NCHW kernel's order
      } else {
        std::vector<int8_t> wt(static_cast<size_t>(w->q.numel()));  // [OC][kh][kw][Cg] for NHWC patches
        for (int64_t o = 0; o < oc; ++o)
          for (int64_t ic = 0; ic < cg; ++ic)
            for (int64_t t = 0; t < taps; ++t) wt[static_cast<size_t>((o * taps + t) * cg + ic)] = wq[(o * cg + ic) * taps + t];
        const int64_t ocg = oc / spec.groups;
        for (int64_t grp = 0; grp < spec.groups; ++grp)
          spec.packed.push_back(kernels::pack_weights(wt.data() + grp * ocg * k, ocg, k, isa_));
      }
      dm->nhwc = !spec.depthwise;
      return make_dynamic_conv_step(std::move(spec));
    }
    const bool gemm = n.op_type == "Gemm";
    int64_t trans_b = 0;
    LB_ASSIGN_OR_RETURN(const bool fits, gemm_fits(n, xv, &trans_b, why));
    if (!fits) return std::unique_ptr<Step>();
    const quant::WeightQuant* w = int_weight(n, trans_b ? 0 : 1, 2, why);
    if (!w) return std::unique_ptr<Step>();
    const Shape& ws = w->q.shape();
    const int64_t nn = trans_b ? ws[0] : ws[1], k = trans_b ? ws[1] : ws[0];
    if (xv.shape->back() != k) return Status::errorf("input {} and weight {} do not multiply", shape_str(*xv.shape), shape_str(ws));
    if ((gemm && !float_bias(n, 2, nn, &ep.bias, why)) || !accumulator_fits(k, {}, why)) return std::unique_ptr<Step>();
    if (w->params.scale.size() != 1 && static_cast<int64_t>(w->params.scale.size()) != nn)
      return Status::errorf("weight has {} scales for {} columns", w->params.scale.size(), nn);
    ep.w_scale = w->params.scale;
    fuse_dynamic_act(n.outputs[0], &ep, dm);
    DynamicGemmSpec spec;
    spec.epilogue = std::move(ep);
    std::vector<int8_t> wt(static_cast<size_t>(nn * k));  // W as [N][K]
    const int8_t* wq = w->q.data<int8_t>();
    for (int64_t r = 0; r < nn; ++r)
      for (int64_t c = 0; c < k; ++c) wt[static_cast<size_t>(r * k + c)] = trans_b ? wq[r * k + c] : wq[c * nn + r];
    spec.packed = kernels::pack_weights(wt.data(), nn, k, isa_);
    dm->nhwc = false;
    return make_dynamic_gemm_step(std::move(spec));
  }

  const QuantizedModel& m_;
  kernels::Isa isa_;
  ir::Graph* g_ = nullptr;
  std::vector<std::vector<int>> consumers_;
  std::map<int, IntValue> by_float_;      // quantized activation value → its integer form
  std::map<int, int> dq_to_float_;        // dequantized value → the activation it dequantizes
  std::map<int, std::string> not_int_;    // dequantized value → why it has no integer form
  std::vector<bool> absorbed_;
  Unit unit_;                             // the last find_unit / match_unary result
  Layout want_ = Layout::kNchw;           // the order the last matched step reads and writes
  std::vector<bool> nhwc_;                // per value: stored channels-last
  std::map<int, int> to_nhwc_, to_nchw_;  // value → its copy in the other order
  std::map<int, DynValue> dyn_by_dq_;     // dequantized dynamic value → its standard form
  std::map<int, int> dyn_by_q_;           // DynamicQuantizeLinear's u8 output → the dequantized value
  std::map<int, DynMatch> dyn_steps_;     // node → its prepared dynamic step
  std::map<int, std::string> dyn_why_;    // node reading a dynamic value → why it stays FP32
};

}  // namespace

Result<Program> compile(const QuantizedModel& model, const CompileOptions& options) {
  kernels::Isa isa = kernels::Isa::kScalar;
  if (options.isa) {
    isa = *options.isa;
  } else {
    LB_ASSIGN_OR_RETURN(isa, kernels::selected_isa());
  }
  if (!kernels::isa_supported(isa))
    return Status::errorf("this CPU cannot run the {} kernels", kernels::isa_name(isa));
  return Compiler(model, isa).run();
}

}  // namespace lowbit::runtime
