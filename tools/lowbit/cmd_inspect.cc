// cmd_inspect.cc: `lowbit inspect QMODEL --data SOURCE` — per-layer SQNR of a quantized model's
// layer outputs against FP32, worst first: where accuracy is lost.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "ptq_job.h"
#include "quant/qdq_format.h"
#include "quant/simulate.h"

namespace lowbit::cli {
namespace {

struct InspectOptions {
  std::string model;
  DataOptions data{"fashion-mnist", "", "test", ""};
  int64_t samples = 256, batch = 64, top = 0;
  bool json = false;
};

// "s8 sym narrow per-channel(axis 0)" for a weight input of `node`, or "-".
std::string weight_desc(const quant::QuantizedModel& m, const ir::Node& node) {
  for (int in : node.inputs) {
    if (in == ir::kNoValue) continue;
    auto it = m.weights.find(m.graph.value(in).name);
    if (it != m.weights.end()) return quant::describe(it->second.scheme);
  }
  return "-";
}

int run_inspect(const InspectOptions& o) {
  Result<quant::QuantizedModel> m = quant::load_quantized_model(o.model);
  if (!m.is_ok()) return report_error(m.status());
  if (m->weights.empty() && m->activations.empty())
    return report_error(Status::errorf("{}: not a quantized model (no quantized tensors found)", o.model));
  Result<std::unique_ptr<data::Dataset>> ds = open_model_data(m->graph, o.data);
  if (!ds.is_ok()) return report_error(ds.status());
  Result<std::vector<quant::LayerError>> errs = quant::measure_layer_errors(*m, **ds, o.samples, o.batch);
  if (!errs.is_ok()) return report_error(errs.status().with_context(o.model));
  std::vector<quant::LayerError> sorted = *errs;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.sqnr_db() < b.sqnr_db(); });
  if (o.top > 0 && static_cast<int64_t>(sorted.size()) > o.top) sorted.resize(static_cast<size_t>(o.top));

  std::map<std::string, const ir::Node*> by_name;
  for (const ir::Node& n : m->graph.nodes) by_name[n.name] = &n;
  nlohmann::json rows = nlohmann::json::array();
  if (!o.json) {
    std::printf("%s: per-layer SQNR of the simulated output vs FP32 on %lld samples of %s, worst first\n", o.model.c_str(),
                static_cast<long long>(std::min(o.samples > 0 ? o.samples : (*ds)->size(), (*ds)->size())),
                (*ds)->description().c_str());
    std::printf("%-28s %-18s %9s  %-36s %s\n", "layer", "op", "SQNR dB", "weight", "output");
  }
  for (const quant::LayerError& e : sorted) {
    const ir::Node* n = by_name.count(e.node) ? by_name[e.node] : nullptr;
    const std::string w = n ? weight_desc(*m, *n) : "-";
    auto a = m->activations.find(e.value);
    const std::string out = a == m->activations.end() ? "fp32"
                            : a->second.dynamic      ? "dynamic " + quant::describe(a->second.scheme)
                                                     : quant::describe(a->second.scheme);
    const double db = e.sqnr_db();
    rows.push_back({{"layer", e.node}, {"op", e.op_type}, {"value", e.value},
                    {"sqnr_db", std::isfinite(db) ? nlohmann::json(db) : nlohmann::json()}, {"weight", w}, {"output", out}});
    if (!o.json)
      std::printf("%-28s %-18s %9.2f  %-36s %s\n", e.node.c_str(), e.op_type.c_str(), db, w.c_str(), out.c_str());
  }
  if (o.json) std::printf("%s\n", rows.dump(2).c_str());
  return kExitOk;
}

}  // namespace

void add_inspect_command(CLI::App& app, std::function<int()>* action) {
  auto o = std::make_shared<InspectOptions>();
  CLI::App* cmd = app.add_subcommand("inspect", "Per-layer SQNR (dB) of a quantized model against FP32, worst first");
  cmd->add_option("model", o->model, "Quantized ONNX model (from `lowbit quantize`, or a QDQ model from another tool)")->required();
  cmd->add_option("--data", o->data.source, "Data to run (as for `lowbit eval`; labels not needed)")->capture_default_str();
  cmd->add_option("--split", o->data.split, "Split of a built-in dataset")->check(CLI::IsMember({"train", "test"}))->capture_default_str();
  cmd->add_option("--preprocess", o->data.preprocess, "For image folders (see `lowbit eval --help`)");
  cmd->add_option("--samples", o->samples, "Samples to run (0 = all)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--batch", o->batch, "Batch size")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--top", o->top, "Show only the N worst layers (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--json", o->json, "Print JSON: one object per layer with layer, op, value, sqnr_db, weight, output");
  cmd->callback([o, action] { *action = [o] { return run_inspect(*o); }; });
}

}  // namespace lowbit::cli
