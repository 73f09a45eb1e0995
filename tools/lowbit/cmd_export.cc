// cmd_export.cc: `lowbit export QMODEL --format qdq|qoperator -o OUT.onnx` — a quantized model
// (lowbit's, or a QDQ / QOperator file from another tool) written as standard ONNX that other
// runtimes run: checked by ONNX's checker and shape inference before anything is written.
#include <cstdio>
#include <filesystem>
#include <map>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "quant/qdq_format.h"
#include "quant/qoperator_format.h"

namespace lowbit::cli {
namespace {

struct ExportCmdOptions {
  std::string model, format = "qdq", out;
  bool widen = false, json = false;
};

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::exists(b, ec) && std::filesystem::equivalent(a, b, ec);
}

int run_export(const ExportCmdOptions& o) {
  if (same_file(o.model, o.out)) return report_error(Status::errorf("{}: the output would overwrite the input model", o.out));
  Result<quant::QuantizedModel> m = quant::load_quantized_model(o.model);
  if (!m.is_ok()) return report_error(m.status());
  if (m->weights.empty() && m->activations.empty())
    return report_error(Status::errorf("{}: is not a quantized model (make one with lowbit quantize)", o.model));
  quant::ExportOptions options;
  options.form = o.format == "qoperator" ? quant::OnnxForm::kQOperator : quant::OnnxForm::kQdq;
  options.widen_weights = o.widen;
  ir::Graph written;
  if (Status st = quant::export_standard_onnx(*m, options, o.out, &written); !st.is_ok()) return report_error(st);

  std::map<std::string, int> ops;  // the quantization and integer ops in the file
  for (const ir::Node& n : written.nodes)
    if (n.op_type.ends_with("uantizeLinear") || n.op_type.starts_with("QLinear") || n.op_type.ends_with("Integer"))
      ++ops[n.op_type];
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(o.out, ec);
  if (o.json) {
    nlohmann::json j{{"model", o.model}, {"format", o.format}, {"output", o.out}, {"opset", written.opset},
                     {"nodes", written.nodes.size()}, {"ops", ops}, {"bytes", ec ? 0 : bytes}};
    std::printf("%s\n", j.dump(2).c_str());
    return kExitOk;
  }
  std::string summary;
  for (const auto& [op, count] : ops) summary += fmt::format("{}{} {}", summary.empty() ? "" : ", ", count, op);
  std::printf("%s -> %s: %s, opset %lld, %zu nodes (%s), %llu bytes; checked by ONNX's checker and shape inference\n",
              o.model.c_str(), o.out.c_str(), o.format.c_str(), static_cast<long long>(written.opset), written.nodes.size(),
              summary.c_str(), static_cast<unsigned long long>(ec ? 0 : bytes));
  return kExitOk;
}

}  // namespace

void add_export_command(CLI::App& app, std::function<int()>* action) {
  auto o = std::make_shared<ExportCmdOptions>();
  CLI::App* cmd = app.add_subcommand(
      "export", "Write a quantized model as standard ONNX (QDQ or QOperator form) that other runtimes run");
  cmd->add_option("model", o->model, "Quantized ONNX model (from lowbit quantize, or QDQ / QOperator from another tool)")
      ->required();
  cmd->add_option("--format", o->format,
                  "qdq: QuantizeLinear / DequantizeLinear around FP32 ops; qoperator: QLinearConv, QLinearMatMul, "
                  "ConvInteger / MatMulInteger (docs/interop.md)")
      ->check(CLI::IsMember({"qdq", "qoperator"}))
      ->capture_default_str();
  cmd->add_option("-o,--output", o->out, "Output ONNX file (written only if ONNX's checker accepts it)")->required();
  cmd->add_flag("--widen-weights", o->widen,
                "Store weights of fewer than 8 bits in int8 (same values; ONNX before opset 21 has no INT4)");
  cmd->add_flag("--json", o->json, "Print a JSON summary");
  cmd->callback([o, action] { *action = [o] { return run_export(*o); }; });
}

}  // namespace lowbit::cli
