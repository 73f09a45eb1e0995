// cmd_info.cc: `lowbit info MODEL` and `lowbit info --cpu`.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "core/cpu_features.h"
#include "kernels/isa.h"
#include "core/thread_pool.h"
#include "exec/model.h"
#include "quant/qdq_format.h"
#include "runtime/engine.h"
#include "ir/graph_stats.h"
#include "onnx/import.h"
#include "ops/op.h"

namespace lowbit::cli {
namespace {

struct InfoOptions {
  std::string model;
  bool cpu = false;
  bool json = false;
};

Result<nlohmann::json> cpu_json() {
  const CpuFeatures& f = cpu_features();
  LB_ASSIGN_OR_RETURN(const kernels::Isa isa, kernels::selected_isa());
  nlohmann::json supported = nlohmann::json::array();
  for (kernels::Isa i : kernels::kAllIsas)
    if (kernels::isa_supported(i)) supported.push_back(kernels::isa_name(i));
  return nlohmann::json{{"vendor", f.vendor},
                        {"brand", f.brand},
                        {"features", f.summary()},
                        {"threads", default_threads()},
                        {"int8_isa", kernels::isa_name(isa)},
                        {"int8_isas_supported", supported}};
}

nlohmann::json value_json(const ir::Value& v) {
  nlohmann::json j{{"name", v.name}, {"dtype", v.dtype ? std::string(dtype_name(*v.dtype)) : "?"}};
  if (v.shape) {
    nlohmann::json dims = nlohmann::json::array();
    for (size_t d = 0; d < v.shape->size(); ++d) {
      const int64_t n = (*v.shape)[d];
      if (n >= 0) dims.push_back(n);
      else if (d < v.dim_params.size() && !v.dim_params[d].empty()) dims.push_back(v.dim_params[d]);
      else dims.push_back("?");
    }
    j["shape"] = dims;
  }
  return j;
}

std::string dims_text(const nlohmann::json& v) {
  if (!v.contains("shape")) return "(rank unknown)";
  std::string s = "[";
  for (size_t i = 0; i < v["shape"].size(); ++i) {
    if (i) s += ",";
    const auto& d = v["shape"][i];
    s += d.is_number() ? std::to_string(d.get<int64_t>()) : d.get<std::string>();
  }
  return s + "]";
}

// MACs per sample: a copy of the graph with every unknown input dim set to 1.
ir::GraphStats per_sample_stats(const ir::Graph& graph) {
  ir::Graph g = graph;
  for (int i : g.inputs)
    if (g.value(i).shape)
      for (int64_t& d : *g.value(i).shape)
        if (d < 0) d = 1;
  for (ir::Value& v : g.values)
    if (!v.constant && v.producer >= 0) v.shape.reset();
  if (!exec::infer_shapes(g).is_ok()) return ir::graph_stats(graph);
  return ir::graph_stats(g);
}

int run_info(const InfoOptions& o) {
  if (o.cpu) {
    const Result<nlohmann::json> cj = cpu_json();
    if (!cj.is_ok()) return report_error(cj.status());
    const nlohmann::json& j = *cj;
    if (o.json) {
      std::printf("%s\n", j.dump(2).c_str());
    } else {
      std::string supported;
      for (const auto& s : j["int8_isas_supported"]) supported += (supported.empty() ? "" : ", ") + s.get<std::string>();
      std::printf("cpu:      %s (%s)\nfeatures: %s\nthreads:  %d\nint8:     %s (supported: %s; LOWBIT_ISA picks one)\n",
                  j["brand"].get<std::string>().c_str(), j["vendor"].get<std::string>().c_str(),
                  j["features"].get<std::string>().c_str(), j["threads"].get<int>(),
                  j["int8_isa"].get<std::string>().c_str(), supported.c_str());
    }
    if (o.model.empty()) return kExitOk;
  }
  if (o.model.empty()) return report_error(Status::error("info: give a MODEL or --cpu"));

  Result<ir::Graph> imported = onnx::import_model(o.model);
  if (!imported.is_ok()) return report_error(imported.status());
  ir::Graph graph = std::move(imported).value();
  const bool quantized = quant::has_quant_ops(graph);
  const Status supported = exec::check_supported(graph);
  if (supported.is_ok()) {
    const Status prepared = exec::prepare_graph(graph);
    if (!prepared.is_ok()) return report_error(prepared.with_context(o.model));
  }
  const ir::GraphStats stats = supported.is_ok() ? per_sample_stats(graph) : ir::graph_stats(graph);

  nlohmann::json j;
  j["model"] = o.model;
  j["opset"] = graph.opset;
  j["producer"] = graph.producer_name;
  j["inputs"] = nlohmann::json::array();
  for (int i : graph.inputs) j["inputs"].push_back(value_json(graph.value(i)));
  j["outputs"] = nlohmann::json::array();
  for (int i : graph.outputs) j["outputs"].push_back(value_json(graph.value(i)));
  j["nodes"] = graph.nodes.size();
  j["op_counts"] = stats.op_counts;
  j["parameters"] = stats.parameters;
  j["parameter_bytes"] = stats.parameter_bytes;
  if (supported.is_ok() && stats.macs_complete) j["macs_per_sample"] = stats.macs;
  j["metadata"] = graph.metadata;
  nlohmann::json unsupported = nlohmann::json::array();
  for (const ir::Node& n : graph.nodes)
    if (!ops::find_op(n.domain, n.op_type)) unsupported.push_back({{"op", n.op_type}, {"node", n.name}});
  j["unsupported"] = unsupported;
  // A quantized model: how the integer runtime runs each node.
  std::shared_ptr<const runtime::Program> program;
  if (quantized && supported.is_ok()) {
    Result<runtime::Engine> engine = runtime::open_engine(o.model, "int");
    if (!engine.is_ok()) return report_error(engine.status());
    program = engine->program;
    nlohmann::json nodes = nlohmann::json::array();
    for (const runtime::NodeReport& r : program->report())
      nodes.push_back({{"node", r.node}, {"op", r.op_type}, {"engine", r.integer ? "int" : "fp32"}, {"detail", r.detail}});
    j["runtime"] = {{"isa", program->isa},
                    {"integer_nodes", program->integer_nodes()},
                    {"fp32_nodes", program->fp32_nodes()},
                    {"nodes", nodes}};
  }

  if (o.json) {
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::printf("model:      %s (opset %lld, producer '%s')\n", o.model.c_str(), static_cast<long long>(graph.opset),
              graph.producer_name.c_str());
  for (const auto& v : j["inputs"])
    std::printf("input:      %s %s %s\n", v["name"].get<std::string>().c_str(), v["dtype"].get<std::string>().c_str(),
                dims_text(v).c_str());
  for (const auto& v : j["outputs"])
    std::printf("output:     %s %s %s\n", v["name"].get<std::string>().c_str(), v["dtype"].get<std::string>().c_str(),
                dims_text(v).c_str());
  std::printf("parameters: %lld (%.1f KiB of initializers)\n", static_cast<long long>(stats.parameters),
              static_cast<double>(stats.parameter_bytes) / 1024.0);
  if (j.contains("macs_per_sample"))
    std::printf("MACs:       %lld per sample (%.2f M)\n", static_cast<long long>(stats.macs),
                static_cast<double>(stats.macs) / 1e6);
  else
    std::printf("MACs:       unknown (shapes not fully known)\n");
  std::printf("nodes:      %zu\n", graph.nodes.size());
  for (const auto& [op, count] : stats.op_counts) std::printf("  %-22s %d\n", op.c_str(), count);
  if (!unsupported.empty()) std::printf("unsupported: %s\n", supported.message().c_str());
  if (program) {
    std::printf("runtime:    %lld nodes integer-only, %lld in FP32 (int8 kernels: %s)\n",
                static_cast<long long>(program->integer_nodes()), static_cast<long long>(program->fp32_nodes()),
                program->isa.c_str());
    size_t width = 4;
    for (const runtime::NodeReport& r : program->report()) width = std::max(width, r.node.size());
    for (const runtime::NodeReport& r : program->report())
      std::printf("  %-*s %-18s %-4s %s\n", static_cast<int>(width), r.node.c_str(), r.op_type.c_str(),
                  r.integer ? "int" : "fp32", r.detail.c_str());
  }
  return kExitOk;
}

}  // namespace

void add_info_command(CLI::App& app, std::function<int()>* action) {
  auto o = std::make_shared<InfoOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Describe a model (inputs, outputs, ops, parameters, MACs) or the CPU");
  cmd->add_option("model", o->model, "ONNX model file");
  cmd->add_flag("--cpu", o->cpu, "Show the CPU's features and the kernels lowbit can use");
  cmd->add_flag("--json", o->json, "Machine-readable output");
  cmd->callback([o, action] { *action = [o] { return run_info(*o); }; });
}

}  // namespace lowbit::cli
