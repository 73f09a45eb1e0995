// cmd_run.cc: `lowbit run MODEL --input x.npy [-o y.npy]` — one forward pass on given inputs.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "data/npy.h"
#include "exec/session.h"
#include "runtime/engine.h"
#include "onnx/tensor_pb.h"

namespace lowbit::cli {
namespace {

struct RunOptions {
  std::string model, output;
  std::vector<std::string> inputs;
  bool json = false;
  std::string engine;  // "" = int for quantized models, fp32 otherwise
};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Inputs and outputs are .npy, or ONNX TensorProto .pb (the format of ONNX's test data).
Result<Tensor> read_tensor_file(const std::string& path) {
  return ends_with(path, ".pb") ? onnx::read_tensor_pb(path) : data::read_npy(path);
}

Status write_tensor_file(const Tensor& t, const std::string& name, const std::string& path) {
  return ends_with(path, ".pb") ? onnx::write_tensor_pb(t, name, path) : data::write_npy(t, path);
}

int run_run(const RunOptions& o) {
  Result<runtime::Engine> engine = runtime::open_engine(o.model, o.engine);
  if (!engine.is_ok()) return report_error(engine.status());
  const ir::Graph& g = engine->graph();
  if (o.inputs.size() != g.inputs.size())
    return report_error(Status::errorf("{}: the model takes {} input(s), {} --input given", o.model, g.inputs.size(),
                                       o.inputs.size()));
  std::vector<Tensor> xs;
  for (size_t i = 0; i < o.inputs.size(); ++i) {
    Result<Tensor> x = read_tensor_file(o.inputs[i]);
    if (!x.is_ok()) return report_error(x.status());
    const Status fits = exec::check_input(g, g.inputs[i], *x);
    if (!fits.is_ok()) return report_error(fits.with_context(o.model).with_context(o.inputs[i]));
    xs.push_back(std::move(x).value());
  }
  Result<std::vector<Tensor>> ys = engine->run(xs);
  if (!ys.is_ok()) return report_error(ys.status().with_context(o.model));
  if (!o.output.empty()) {
    const Status w = write_tensor_file((*ys)[0], g.value(g.outputs[0]).name, o.output);
    if (!w.is_ok()) return report_error(w);
  }

  nlohmann::json outs = nlohmann::json::array();
  for (size_t k = 0; k < ys->size(); ++k) {
    const Tensor& y = (*ys)[k];
    nlohmann::json j{{"name", g.value(g.outputs[k]).name}, {"dtype", dtype_name(y.dtype())}, {"shape", y.shape()}};
    if (y.dtype() == DType::kF32 && y.rank() == 2) {
      std::vector<int64_t> am;
      for (int64_t r = 0; r < y.dim(0); ++r) {
        const float* p = y.data<float>() + r * y.dim(1);
        int64_t best = 0;
        for (int64_t c = 1; c < y.dim(1); ++c)
          if (p[c] > p[best]) best = c;
        am.push_back(best);
      }
      j["argmax"] = am;
    }
    outs.push_back(j);
  }
  if (o.json) {
    std::printf("%s\n", nlohmann::json{{"model", o.model}, {"engine", engine->kind}, {"outputs", outs}}.dump(2).c_str());
    return kExitOk;
  }
  for (const auto& j : outs) {
    std::printf("%s: %s %s", j["name"].get<std::string>().c_str(), j["dtype"].get<std::string>().c_str(),
                shape_str(j["shape"].get<Shape>()).c_str());
    if (j.contains("argmax")) {
      std::printf("  argmax per row:");
      size_t shown = 0;
      for (const auto& a : j["argmax"]) {
        if (++shown > 32) {
          std::printf(" ...");
          break;
        }
        std::printf(" %lld", static_cast<long long>(a.get<int64_t>()));
      }
    }
    std::printf("\n");
  }
  if (!o.output.empty()) std::printf("wrote %s\n", o.output.c_str());
  return kExitOk;
}

}  // namespace

void add_run_command(CLI::App& app, std::function<int()>* action) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Run a model once on inputs from .npy files");
  cmd->add_option("model", o->model, "ONNX model file")->required();
  cmd->add_option("--input,-i", o->inputs, "Input .npy (or ONNX TensorProto .pb), one per model input in order")->required();
  cmd->add_option("--output,-o", o->output, "Write the first output to this .npy (or .pb)");
  cmd->add_option("--engine", o->engine,
                  "int (integer kernels; default for quantized models), sim (quantized model simulated in FP32) "
                  "or fp32 (default for FP32 models)")
      ->check(CLI::IsMember({"int", "sim", "fp32"}));
  cmd->add_flag("--json", o->json, "Machine-readable output");
  cmd->callback([o, action] { *action = [o] { return run_run(*o); }; });
}

}  // namespace lowbit::cli
