// fold_batch_norm.cc: BatchNormalization → preceding Conv / Gemm; the math is in the header.
#include "ir/fold_batch_norm.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

namespace lowbit::ir {
namespace {

// Per-channel f and shift = β − f·μ, or nullopt when the BN's parameters are not usable
// constants of `channels` elements.
struct BnFactors {
  std::vector<double> f;
  std::vector<double> mean;
  std::vector<double> beta;
};

std::optional<BnFactors> bn_factors(const Graph& g, const Node& bn, int64_t channels) {
  if (bn.inputs.size() < 5 || bn.outputs.empty()) return std::nullopt;
  for (size_t i = 1; i < 5; ++i) {
    const int v = bn.input(i);
    if (!g.is_constant(v)) return std::nullopt;
    const Tensor& t = *g.value(v).constant;
    if (t.dtype() != DType::kF32 || t.numel() != channels) return std::nullopt;
  }
  for (size_t o = 1; o < bn.outputs.size(); ++o)
    if (bn.outputs[o] != kNoValue) return std::nullopt;  // training-mode outputs requested
  auto eps = bn.attrs.get_float("epsilon", 1e-5f);
  if (!eps.is_ok()) return std::nullopt;
  if (bn.attrs.has("training_mode")) {
    auto tm = bn.attrs.get_int("training_mode", 0);
    if (!tm.is_ok() || *tm != 0) return std::nullopt;
  }
  const float* gamma = g.value(bn.input(1)).constant->data<float>();
  const float* beta = g.value(bn.input(2)).constant->data<float>();
  const float* mean = g.value(bn.input(3)).constant->data<float>();
  const float* var = g.value(bn.input(4)).constant->data<float>();
  BnFactors r;
  for (int64_t c = 0; c < channels; ++c) {
    const double denom = std::sqrt(static_cast<double>(var[c]) + static_cast<double>(*eps));
    if (!(denom > 0.0) || !std::isfinite(denom)) return std::nullopt;
    r.f.push_back(static_cast<double>(gamma[c]) / denom);
    r.mean.push_back(mean[c]);
    r.beta.push_back(beta[c]);
  }
  return r;
}

// A constant value `v` that may be changed: itself when only `reader` reads it, else a copy.
int own_constant(Graph& g, int v, int reader, const std::vector<std::vector<int>>& consumers) {
  const auto& readers = consumers[static_cast<size_t>(v)];
  const bool shared = readers.size() != 1 || readers[0] != reader ||
                      std::find(g.outputs.begin(), g.outputs.end(), v) != g.outputs.end();
  if (!shared) {
    g.value(v).constant = g.value(v).constant->clone();
    return v;
  }
  const int copy = g.add_value(g.unique_value_name(g.value(v).name + "_folded"));
  g.value(copy).constant = g.value(v).constant->clone();
  g.value(copy).dtype = g.value(v).dtype;
  g.value(copy).shape = g.value(copy).constant->shape();
  g.value(copy).is_initializer = true;
  return copy;
}

// Folds bn into producer node p (Conv or Gemm); false when the pattern does not apply.
bool fold_one(Graph& g, int p, int bn_index, const std::vector<std::vector<int>>& consumers) {
  Node& prod = g.nodes[static_cast<size_t>(p)];
  const int w = prod.input(1);
  if (!g.is_constant(w) || g.value(w).constant->dtype() != DType::kF32) return false;
  const Shape wshape = g.value(w).constant->shape();
  const bool is_conv = prod.op_type == "Conv";
  bool trans_b = false;
  float alpha = 1.0f, beta_g = 1.0f;
  int64_t channels = 0;
  if (is_conv) {
    if (wshape.size() < 3) return false;
    channels = wshape[0];
  } else {
    auto tb = prod.attrs.get_int("transB", 0);
    auto a = prod.attrs.get_float("alpha", 1.0f);
    auto b = prod.attrs.get_float("beta", 1.0f);
    auto ta = prod.attrs.get_int("transA", 0);
    if (!tb.is_ok() || !a.is_ok() || !b.is_ok() || !ta.is_ok() || wshape.size() != 2) return false;
    trans_b = *tb != 0;
    alpha = *a;
    beta_g = *b;
    channels = trans_b ? wshape[0] : wshape[1];
  }
  const int bias = prod.input(2);
  if (bias != kNoValue) {
    if (!g.is_constant(bias) || g.value(bias).constant->dtype() != DType::kF32) return false;
    if (g.value(bias).constant->numel() != channels) return false;  // broadcast Gemm C: leave it
  }
  const Node& bn = g.nodes[static_cast<size_t>(bn_index)];
  const std::optional<BnFactors> fac = bn_factors(g, bn, channels);
  if (!fac) return false;
  (void)alpha;

  const int nw = own_constant(g, w, p, consumers);
  float* wd = g.value(nw).constant->data<float>();
  const int64_t n = g.value(nw).constant->numel();
  if (is_conv || trans_b) {  // channel is the leading axis
    const int64_t per = n / channels;
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t i = 0; i < per; ++i) wd[c * per + i] = static_cast<float>(wd[c * per + i] * fac->f[static_cast<size_t>(c)]);
  } else {  // Gemm B [K, N]: channel is the column
    for (int64_t i = 0; i < n; ++i) wd[i] = static_cast<float>(wd[i] * fac->f[static_cast<size_t>(i % channels)]);
  }
  std::vector<float> nb(static_cast<size_t>(channels));
  const float* ob = bias != kNoValue ? g.value(bias).constant->data<float>() : nullptr;
  for (int64_t c = 0; c < channels; ++c) {
    const size_t k = static_cast<size_t>(c);
    const double b0 = ob ? static_cast<double>(ob[c]) * (is_conv ? 1.0 : beta_g) : 0.0;
    nb[k] = static_cast<float>(fac->f[k] * (b0 - fac->mean[k]) + fac->beta[k]);
  }
  const std::string bias_name = g.unique_value_name(prod.name.empty() ? "bias_folded" : prod.name + ".bias_folded");
  const int nbv = g.add_value(bias_name);
  g.value(nbv).constant = Tensor::from_vector<float>({channels}, nb);
  g.value(nbv).dtype = DType::kF32;
  g.value(nbv).shape = Shape{channels};
  g.value(nbv).is_initializer = true;

  Node& prod2 = g.nodes[static_cast<size_t>(p)];  // add_value does not move nodes, but be explicit
  prod2.inputs[1] = nw;
  if (prod2.inputs.size() < 3) prod2.inputs.resize(3, kNoValue);
  prod2.inputs[2] = nbv;
  if (!is_conv) prod2.attrs.set("beta", 1.0f);
  // The producer takes over the BN's output; the BN now "produces" the dead old output.
  Node& bn2 = g.nodes[static_cast<size_t>(bn_index)];
  const int old_out = prod2.outputs[0];
  prod2.outputs[0] = bn2.outputs[0];
  bn2.outputs[0] = old_out;
  bn2.inputs.assign(1, kNoValue);
  return true;
}

}  // namespace

Result<int> fold_batch_norm(Graph& graph) {
  int folded = 0;
  const std::vector<std::vector<int>> consumers = graph.consumers();
  for (size_t b = 0; b < graph.nodes.size(); ++b) {
    const Node& bn = graph.nodes[b];
    if (bn.op_type != "BatchNormalization" || !bn.domain.empty()) continue;
    const int x = bn.input(0);
    if (x == kNoValue) continue;
    const int p = graph.value(x).producer;
    if (p < 0) continue;
    const Node& prod = graph.nodes[static_cast<size_t>(p)];
    if ((prod.op_type != "Conv" && prod.op_type != "Gemm") || !prod.domain.empty()) continue;
    if (consumers[static_cast<size_t>(x)].size() != 1) continue;
    if (std::find(graph.outputs.begin(), graph.outputs.end(), x) != graph.outputs.end()) continue;
    if (fold_one(graph, p, static_cast<int>(b), consumers)) ++folded;
  }
  if (folded == 0) return 0;
  graph.rebuild_producers();
  graph.remove_dead();
  return folded;
}

}  // namespace lowbit::ir
