// simulate.cc: building the simulation session and measuring per-layer SQNR against FP32.
#include "quant/simulate.h"

#include <cmath>
#include <limits>

#include "exec/model.h"
#include "quant/placement.h"
#include "quant/qdq_format.h"

namespace lowbit::quant {

Result<ir::Graph> simulation_graph(const QuantizedModel& model, std::map<std::string, std::string>* dequantized) {
  LB_ASSIGN_OR_RETURN(ir::Graph g, to_qdq_graph(model, dequantized));
  LB_TRY(exec::prepare_graph(g));
  return g;
}

Result<Simulation> make_simulation(const QuantizedModel& model) {
  std::map<std::string, std::string> dq;
  LB_ASSIGN_OR_RETURN(ir::Graph g, simulation_graph(model, &dq));
  LB_ASSIGN_OR_RETURN(exec::Session s, exec::Session::create(std::move(g)));
  return Simulation{std::move(s), std::move(dq)};
}

double LayerError::sqnr_db() const {
  if (noise <= 0) return std::numeric_limits<double>::infinity();
  if (signal <= 0) return -std::numeric_limits<double>::infinity();
  return 10.0 * std::log10(signal / noise);
}

namespace {

bool reportable(const ir::Node& n) {
  static const char* const kTypes[] = {"Conv", "Gemm", "MatMul", "Add", "Concat", "MaxPool", "AveragePool", "GlobalAveragePool"};
  if (!n.domain.empty()) return false;
  for (const char* t : kTypes)
    if (n.op_type == t) return true;
  return false;
}

}  // namespace

Result<std::vector<LayerError>> measure_layer_errors(const QuantizedModel& model, const data::Dataset& data,
                                                     int64_t samples, int64_t batch) {
  const ir::Graph& g = model.graph;
  LB_ASSIGN_OR_RETURN(exec::Session fp32, exec::Session::create(g));
  LB_ASSIGN_OR_RETURN(Simulation sim, make_simulation(model));
  const ir::Graph& sg = sim.session.graph();
  const auto consumers = g.consumers();

  // Layers: every reportable node not kept in FP32 that touches a quantized tensor.
  std::vector<LayerError> layers;
  std::map<int, size_t> fp32_slot, sim_slot;  // value index in each graph → layer
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const ir::Node& n = g.nodes[i];
    if (!reportable(n) || model.fp32_nodes.count(n.name)) continue;
    bool touched = false;
    for (int in : n.inputs)
      if (in != ir::kNoValue && (model.weights.count(g.value(in).name) || model.activations.count(g.value(in).name)))
        touched = true;
    const int out = unit_output(g, consumers, static_cast<int>(i));
    if (out == ir::kNoValue) continue;
    const std::string& name = g.value(out).name;
    if (model.activations.count(name)) touched = true;
    if (!touched) continue;
    auto dq = sim.dequantized.find(name);
    const std::string sim_name = dq != sim.dequantized.end() ? dq->second : name;
    const int sv = sg.find_value(sim_name);
    if (sv < 0) continue;
    fp32_slot[out] = layers.size();
    sim_slot[sv] = layers.size();
    layers.push_back({n.name, n.op_type, name, 0, 0});
  }
  if (g.inputs.size() != 1) return Status::errorf("per-layer errors need a model with one input, it has {}", g.inputs.size());

  std::vector<Tensor> ref(layers.size());
  Status st = data::for_each_batch(data, samples, batch, [&](const data::Batch& b, int64_t, int64_t) -> Status {
    LB_TRY(fp32.run({b.x}, [&](int v, const Tensor& t) {
                 auto it = fp32_slot.find(v);
                 if (it != fp32_slot.end()) ref[it->second] = t;
               }).status());
    std::vector<Tensor> got(layers.size());
    LB_TRY(sim.session.run({b.x}, [&](int v, const Tensor& t) {
                 auto it = sim_slot.find(v);
                 if (it != sim_slot.end()) got[it->second] = t;
               }).status());
    for (size_t k = 0; k < layers.size(); ++k) {
      if (!ref[k].defined() || !got[k].defined() || ref[k].numel() != got[k].numel()) continue;
      const float* x = ref[k].data<float>();
      const float* y = got[k].data<float>();
      double s = 0, e = 0;
      for (int64_t i = 0; i < ref[k].numel(); ++i) {
        s += static_cast<double>(x[i]) * x[i];
        const double d = static_cast<double>(x[i]) - y[i];
        e += d * d;
      }
      layers[k].signal += s;
      layers[k].noise += e;
      ref[k] = Tensor();
    }
    return Status::ok();
  });
  LB_TRY(st);
  return layers;
}

}  // namespace lowbit::quant
