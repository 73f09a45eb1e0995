// calibrate.cc: PTQ driver — fold BN, plan placement, quantize weights, observe activations.
#include "quant/calibrate.h"

#include <cmath>
#include <limits>
#include <map>
#include <memory>

#include "exec/model.h"
#include "exec/session.h"
#include "ir/fold_batch_norm.h"
#include "quant/observer.h"
#include "quant/placement.h"

namespace lowbit::quant {
namespace {

Result<WeightQuant> quantize_weight(const ir::Graph& g, const WeightSite& site) {
  const ir::Value& v = g.value(site.value);
  const Tensor& w = *v.constant;
  WeightQuant wq;
  wq.scheme = site.quant.scheme;
  wq.observer = std::string(observer_name(site.quant.observer.kind));
  if (Status st = validate(wq.scheme); !st.is_ok()) return Status::errorf("weight '{}': {}", v.name, st.message());
  LB_ASSIGN_OR_RETURN(std::unique_ptr<Observer> obs, make_observer(site.quant.observer, wq.scheme));
  if (Status st = obs->observe(w); !st.is_ok()) return Status::errorf("weight '{}': {}", v.name, st.message());
  LB_ASSIGN_OR_RETURN(wq.params, obs->qparams());
  LB_ASSIGN_OR_RETURN(wq.q, quantize(w, wq.scheme, wq.params));
  return wq;
}

}  // namespace

BiasQuant quantize_bias(const Tensor& bias, float input_scale, const std::vector<float>& weight_scales) {
  BiasQuant b;
  const int64_t n = bias.numel();
  b.scale.resize(weight_scales.size());
  for (size_t c = 0; c < weight_scales.size(); ++c) b.scale[c] = input_scale * weight_scales[c];
  b.q = Tensor::zeros(DType::kI32, bias.shape());
  const float* src = bias.data<float>();
  int32_t* dst = b.q.data<int32_t>();
  constexpr double lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  for (int64_t i = 0; i < n; ++i) {
    const float s = b.scale[b.scale.size() == 1 ? 0 : static_cast<size_t>(i)];
    const double r = std::nearbyint(static_cast<double>(src[i]) / static_cast<double>(s));
    dst[i] = static_cast<int32_t>(std::isfinite(r) ? std::clamp(r, lo, hi) : 0.0);
  }
  return b;
}

Result<QuantizedModel> quantize_model(ir::Graph graph, const Recipe& recipe, const data::Dataset* calib,
                                      const CalibrationOptions& options) {
  LB_TRY(ir::fold_batch_norm(graph).status());
  LB_TRY(exec::infer_shapes(graph));
  LB_ASSIGN_OR_RETURN(const Placement plan, plan_quantization(graph, recipe));

  QuantizedModel m;
  m.recipe = recipe.json;
  m.fp32_nodes = plan.fp32_nodes;
  for (const WeightSite& site : plan.weights) {
    LB_ASSIGN_OR_RETURN(WeightQuant wq, quantize_weight(graph, site));
    m.weights[graph.value(site.value).name] = std::move(wq);
  }

  // One observer per static activation, fed by the Session's hook (and directly for graph inputs).
  std::map<int, std::unique_ptr<Observer>> observers;
  for (const ActivationSite& a : plan.activations) {
    ActQuant aq;
    aq.scheme = a.quant.scheme;
    aq.dynamic = a.dynamic;
    const std::string& name = graph.value(a.value).name;
    if (Status st = validate(aq.scheme); !st.is_ok()) return Status::errorf("activation '{}': {}", name, st.message());
    if (!a.dynamic) {
      aq.observer = std::string(observer_name(a.quant.observer.kind));
      LB_ASSIGN_OR_RETURN(observers[a.value], make_observer(a.quant.observer, aq.scheme));
    }
    m.activations[name] = std::move(aq);
  }
  if (!observers.empty()) {
    if (!calib) return Status::error("the recipe quantizes activations statically: calibration data is required");
    LB_ASSIGN_OR_RETURN(exec::Session session, exec::Session::create(graph));
    if (graph.inputs.size() != 1)
      return Status::errorf("calibration feeds one input, the model has {}", graph.inputs.size());
    Status hook_error = Status::ok();
    auto observe = [&](int v, const Tensor& t) {
      auto it = observers.find(v);
      if (it == observers.end() || !hook_error.is_ok()) return;
      if (Status st = it->second->observe(t); !st.is_ok())
        hook_error = Status::errorf("calibrating '{}': {}", graph.value(v).name, st.message());
    };
    LB_TRY(data::for_each_batch(*calib, options.samples, options.batch,
                                [&](const data::Batch& b, int64_t done, int64_t total) -> Status {
                                  observe(graph.inputs[0], b.x);
                                  LB_TRY(session.run({b.x}, observe).status());
                                  LB_TRY(hook_error);
                                  if (options.progress) options.progress(done, total);
                                  return Status::ok();
                                }));
    for (auto& [v, obs] : observers) {
      const std::string& name = graph.value(v).name;
      if (obs->batches() == 0) return Status::errorf("activation '{}' was never computed during calibration", name);
      auto qp = obs->qparams();
      if (!qp.is_ok()) return Status::errorf("activation '{}': {}", name, qp.status().message());
      m.activations[name].params = std::move(*qp);
    }
  }

  for (const BiasSite& b : plan.biases) {
    const ActQuant& a = m.activations.at(graph.value(b.input).name);
    const WeightQuant& w = m.weights.at(graph.value(b.weight).name);
    m.biases[graph.value(b.bias).name] = quantize_bias(*graph.value(b.bias).constant, a.params.scale[0], w.params.scale);
  }
  m.graph = std::move(graph);
  return m;
}

}  // namespace lowbit::quant
