// cmd_quantize.cc: `lowbit quantize MODEL --recipe NAME|FILE --calib SOURCE -o OUT.onnx` —
// post-training quantization; writes a QuantizedModel (QDQ ONNX, docs/onnx-format.md).
#include <chrono>
#include <cstdio>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "exec/model.h"
#include "ptq_job.h"
#include "quant/qdq_format.h"
#include "quant/recipe.h"

namespace lowbit::cli {
namespace {

struct QuantizeOptions {
  std::string model, recipe = "int8", out;
  DataOptions calib{"fashion-mnist", "", "train", ""};
  int64_t calib_size = 1000, batch = 64;
  bool json = false;
};

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::exists(b, ec) && std::filesystem::equivalent(a, b, ec);
}

int run_quantize(const QuantizeOptions& o) {
  if (same_file(o.model, o.out)) return report_error(Status::errorf("{}: the output would overwrite the input model", o.out));
  Result<quant::Recipe> recipe = quant::load_recipe(o.recipe);
  if (!recipe.is_ok()) return report_error(recipe.status());
  Result<ir::Graph> graph = exec::load_model(o.model);
  if (!graph.is_ok()) return report_error(graph.status());
  if (quant::has_quant_ops(*graph))
    return report_error(Status::errorf("{}: the model is already quantized (it has quantization ops)", o.model));
  Result<std::unique_ptr<data::Dataset>> calib = open_model_data(*graph, o.calib);
  if (!calib.is_ok()) return report_error(calib.status());

  const auto t0 = std::chrono::steady_clock::now();
  Result<quant::QuantizedModel> m =
      run_ptq(*graph, *recipe, calib->get(), o.calib_size, o.batch, "calibrate " + o.model);
  if (!m.is_ok()) return report_error(m.status().with_context(o.model));
  const double seconds = seconds_since(t0);
  if (Status st = quant::save_quantized_model(*m, o.out); !st.is_ok()) return report_error(st);

  int64_t dynamic = 0;
  for (const auto& [name, a] : m->activations) dynamic += a.dynamic;
  int64_t fp32_bytes = 0;  // the FP32 model as deployed: BatchNorm folded (m->graph before quantization)
  for (const ir::Value& v : m->graph.values)
    if (v.constant && v.constant->dtype() == DType::kF32) fp32_bytes += static_cast<int64_t>(v.constant->nbytes());
  const int64_t samples = std::min<int64_t>(o.calib_size > 0 ? o.calib_size : (*calib)->size(), (*calib)->size());
  if (o.json) {
    nlohmann::json j{{"model", o.model},
                     {"recipe", recipe->name},
                     {"output", o.out},
                     {"weights", m->weights.size()},
                     {"activations", m->activations.size()},
                     {"dynamic_activations", dynamic},
                     {"biases", m->biases.size()},
                     {"weight_bytes", m->weight_bytes()},
                     {"fp32_weight_bytes", fp32_bytes},
                     {"calibration_samples", samples},
                     {"seconds", seconds}};
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    std::printf("%s: %s, %zu weights, %zu activations (%lld dynamic), %zu int32 biases; weight bytes %lld (FP32 %lld); "
                "calibrated on %lld samples in %.2f s -> %s\n",
                o.model.c_str(), recipe->name.c_str(), m->weights.size(), m->activations.size(),
                static_cast<long long>(dynamic), m->biases.size(), static_cast<long long>(m->weight_bytes()),
                static_cast<long long>(fp32_bytes), static_cast<long long>(samples), seconds, o.out.c_str());
  }
  return kExitOk;
}

}  // namespace

void add_quantize_command(CLI::App& app, std::function<int()>* action) {
  auto o = std::make_shared<QuantizeOptions>();
  CLI::App* cmd = app.add_subcommand("quantize", "Post-training quantization: calibrate a model under a recipe, write QDQ ONNX");
  cmd->add_option("model", o->model, "FP32 ONNX model")->required();
  cmd->add_option("--recipe", o->recipe, "Preset (int8, int8-tensor, int8-dynamic, w4a8, w4a8-g32, w4a4, w2a8) or recipe JSON file (docs/recipes.md)")
      ->capture_default_str();
  cmd->add_option("--calib", o->calib.source,
                  "Calibration data: fashion-mnist[:train|:test], an .npy of preprocessed inputs, or an image folder")
      ->capture_default_str();
  cmd->add_option("--calib-split", o->calib.split, "Split of a built-in dataset when --calib names none")
      ->check(CLI::IsMember({"train", "test"}))
      ->capture_default_str();
  cmd->add_option("--preprocess", o->calib.preprocess, "For image folders (see `lowbit eval --help`)");
  cmd->add_option("--calib-size", o->calib_size, "Calibration samples from the start of the data (0 = all)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--batch", o->batch, "Calibration batch size")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("-o,--output", o->out, "Output quantized ONNX file")->required();
  cmd->add_flag("--json", o->json, "Print a JSON summary");
  cmd->callback([o, action] { *action = [o] { return run_quantize(*o); }; });
}

}  // namespace lowbit::cli
