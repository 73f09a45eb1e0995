// quantized_model.cc: QuantizedModel's summaries (deployed weight bytes, bit-widths) and the
// structural comparison round-trip tests use.
#include "quant/quantized_model.h"

#include <cstring>
#include <set>
#include <type_traits>
#include <variant>

#include <fmt/format.h>

namespace lowbit::quant {
namespace {

bool same_bytes(const Tensor& a, const Tensor& b) {
  if (a.defined() != b.defined()) return false;
  if (!a.defined()) return true;
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

bool same_attr(const ir::AttrValue& a, const ir::AttrValue& b) {
  if (a.index() != b.index()) return false;
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Tensor>) return same_bytes(x, std::get<Tensor>(b));
        else return x == std::get<T>(b);
      },
      a);
}

std::string bits_summary(const std::set<int>& bits) {
  if (bits.empty()) return "-";
  std::string s;
  for (int b : bits) s += (s.empty() ? "" : ",") + std::to_string(b);
  return s;
}

}  // namespace

bool WeightQuant::operator==(const WeightQuant& o) const {
  return scheme == o.scheme && params == o.params && same_bytes(q, o.q) && observer == o.observer;
}

bool BiasQuant::operator==(const BiasQuant& o) const { return scale == o.scale && same_bytes(q, o.q); }

int64_t QuantizedModel::weight_bytes() const {
  int64_t bytes = 0;
  for (const ir::Value& v : graph.values) {
    if (!v.constant || v.constant->dtype() != DType::kF32) continue;
    if (auto w = weights.find(v.name); w != weights.end()) {
      const WeightQuant& q = w->second;
      bytes += (q.q.numel() * q.scheme.bits + 7) / 8;
      bytes += static_cast<int64_t>(q.params.size()) * 4;
      if (!q.scheme.symmetric) bytes += static_cast<int64_t>(q.params.size()) * (q.scheme.bits > 8 ? 4 : 1);
    } else if (auto b = biases.find(v.name); b != biases.end()) {
      bytes += b->second.q.numel() * 4;
    } else {
      bytes += static_cast<int64_t>(v.constant->nbytes());
    }
  }
  return bytes;
}

std::string QuantizedModel::weight_bits() const {
  std::set<int> bits;
  for (const auto& [name, w] : weights) bits.insert(w.scheme.bits);
  return bits_summary(bits);
}

std::string QuantizedModel::activation_bits() const {
  std::set<int> bits;
  for (const auto& [name, a] : activations) bits.insert(a.scheme.bits);
  return bits_summary(bits);
}

bool same_model(const QuantizedModel& a, const QuantizedModel& b, std::string* why) {
  auto fail = [&](std::string msg) {
    if (why) *why = std::move(msg);
    return false;
  };
  const ir::Graph& ga = a.graph;
  const ir::Graph& gb = b.graph;
  if (ga.nodes.size() != gb.nodes.size()) return fail(fmt::format("{} vs {} nodes", ga.nodes.size(), gb.nodes.size()));
  auto names = [](const ir::Graph& g, const std::vector<int>& ids) {
    std::vector<std::string> r;
    for (int i : ids) r.push_back(i == ir::kNoValue ? "" : g.value(i).name);
    return r;
  };
  for (size_t i = 0; i < ga.nodes.size(); ++i) {
    const ir::Node& x = ga.nodes[i];
    const ir::Node& y = gb.nodes[i];
    if (x.name != y.name || x.op_type != y.op_type || x.domain != y.domain)
      return fail(fmt::format("node {}: '{}' ({}) vs '{}' ({})", i, x.name, x.op_type, y.name, y.op_type));
    if (names(ga, x.inputs) != names(gb, y.inputs) || names(ga, x.outputs) != names(gb, y.outputs))
      return fail(fmt::format("node '{}': inputs or outputs differ", x.name));
    const auto& ax = x.attrs.all();
    const auto& ay = y.attrs.all();
    if (ax.size() != ay.size()) return fail(fmt::format("node '{}': attributes differ", x.name));
    for (auto ix = ax.begin(), iy = ay.begin(); ix != ax.end(); ++ix, ++iy)
      if (ix->first != iy->first || !same_attr(ix->second, iy->second))
        return fail(fmt::format("node '{}': attribute '{}' differs", x.name, ix->first));
  }
  if (names(ga, ga.inputs) != names(gb, gb.inputs) || names(ga, ga.outputs) != names(gb, gb.outputs))
    return fail("graph inputs or outputs differ");
  for (const ir::Value& v : ga.values) {
    if (!v.constant) continue;
    const int j = gb.find_value(v.name);
    if (j < 0 || !gb.value(j).constant) return fail(fmt::format("constant '{}' is missing", v.name));
    if (!same_bytes(*v.constant, *gb.value(j).constant)) return fail(fmt::format("constant '{}' differs", v.name));
  }
  if (a.weights != b.weights) return fail("weight annotations differ");
  if (a.biases != b.biases) return fail("bias annotations differ");
  if (a.activations != b.activations) return fail("activation annotations differ");
  if (a.fp32_nodes != b.fp32_nodes) return fail("fp32 node sets differ");
  if (a.recipe != b.recipe) return fail("recipes differ");
  return true;
}

}  // namespace lowbit::quant
