// cmd_eval.cc: `lowbit eval MODEL --data SOURCE` — top-1 accuracy and throughput on a dataset.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "core/thread_pool.h"
#include "data/dataset.h"
#include "data/open_dataset.h"
#include "exec/evaluate.h"
#include "exec/model.h"
#include "exec/session.h"
#include "runtime/engine.h"

namespace lowbit::cli {
namespace {

struct EvalOptions {
  std::vector<std::string> models;
  std::string data = "fashion-mnist", labels, split = "test", preprocess;
  int64_t limit = 0, batch = 64;
  bool json = false;
  std::string engine;  // "" = int for quantized models, fp32 otherwise
};

struct EvalResult {
  std::string model, data;
  int64_t n = 0, correct = 0;
  double top1 = 0, images_per_s = 0;
  std::string engine;  // "fp32"; "int" or "sim" for a quantized model
};

Result<EvalResult> eval_model(const EvalOptions& o, const std::string& model) {
  LB_ASSIGN_OR_RETURN(runtime::Engine engine, runtime::open_engine(model, o.engine));
  Result<data::Normalize> norm = data::normalize_from_metadata(engine.graph().metadata);
  if (!norm.is_ok()) return norm.status().with_context(model);
  if (engine.graph().inputs.size() != 1)
    return Status::errorf("{}: eval needs a model with one input, this one has {}", model,
                          engine.graph().inputs.size());

  data::DataSpec spec;
  spec.source = o.data;
  spec.labels = o.labels;
  spec.split = o.split;
  spec.preprocess = o.preprocess;
  spec.norm = *norm;
  Result<std::unique_ptr<data::Dataset>> opened = data::open_dataset(spec);
  if (!opened.is_ok()) return opened.status();
  const data::Dataset& ds = **opened;
  if (!ds.has_labels()) return Status::errorf("{}: eval needs labels (give --labels LABELS.npy)", o.data);
  const int64_t total = o.limit > 0 ? std::min(o.limit, ds.size()) : ds.size();

  Progress progress("eval " + model, total);
  Result<exec::Top1> top = exec::evaluate_top1(engine.run, ds, total, o.batch, [&](int64_t done, int64_t, int64_t correct) {
    progress.update(done, fmt::format("top-1 {:.2f}%", 100.0 * static_cast<double>(correct) / static_cast<double>(done)));
  });
  progress.finish();
  if (!top.is_ok()) return top.status().with_context(model);
  const int64_t seen = top->n, correct = top->correct;
  const double infer_seconds = top->infer_seconds;
  if (seen == 0) return Status::errorf("{}: no samples to evaluate", o.data);
  EvalResult r;
  r.model = model;
  r.engine = engine.kind;
  r.data = ds.description();
  r.n = seen;
  r.correct = correct;
  r.top1 = static_cast<double>(correct) / static_cast<double>(seen);
  r.images_per_s = infer_seconds > 0 ? static_cast<double>(seen) / infer_seconds : 0.0;
  return r;
}

int run_eval(const EvalOptions& o) {
  nlohmann::json all = nlohmann::json::array();
  const bool table = o.models.size() > 1;
  if (table && !o.json)
    std::printf("%-32s %-6s %9s %13s %12s\n", "model", "engine", "top-1", "correct", "images/s");
  for (const std::string& model : o.models) {
    Result<EvalResult> r = eval_model(o, model);
    if (!r.is_ok()) return report_error(r.status());
    all.push_back({{"model", r->model}, {"data", r->data},         {"n", r->n},          {"correct", r->correct},
                   {"top1", r->top1},   {"images_per_s", r->images_per_s}, {"batch", o.batch}, {"threads", default_threads()},
                   {"engine", r->engine}});
    if (o.json) continue;
    if (table)
      std::printf("%-32s %-6s %8.2f%% %6lld/%-6lld %12.0f\n", r->model.c_str(), r->engine.c_str(), 100.0 * r->top1,
                  static_cast<long long>(r->correct), static_cast<long long>(r->n), r->images_per_s);
    else
      std::printf("%s on %s: top-1 %.2f%% (%lld/%lld), %.0f images/s (engine %s, batch %lld, %d threads)\n",
                  r->model.c_str(), r->data.c_str(), 100.0 * r->top1, static_cast<long long>(r->correct), static_cast<long long>(r->n),
                  r->images_per_s, r->engine.c_str(), static_cast<long long>(o.batch), default_threads());
  }
  if (o.json) std::printf("%s\n", (table ? all : all[0]).dump(2).c_str());
  return kExitOk;
}

}  // namespace

void add_eval_command(CLI::App& app, std::function<int()>* action) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Top-1 accuracy and images/s of a model on a labelled dataset");
  cmd->add_option("models", o->models, "ONNX model file(s); several print a table")->required();
  cmd->add_option("--data", o->data,
                  "fashion-mnist[:train|:test], an .npy of preprocessed inputs, or a folder of class sub-folders "
                  "of images")
      ->capture_default_str();
  cmd->add_option("--labels", o->labels, "Labels .npy (integers, one per sample) for --data X.npy");
  cmd->add_option("--split", o->split, "Split of a built-in dataset: train or test")
      ->check(CLI::IsMember({"train", "test"}))
      ->capture_default_str();
  cmd->add_option("--preprocess", o->preprocess,
                  "For image folders: e.g. resize=28x28,gray,scale=255,mean=0.286,std=0.353,layout=nchw "
                  "(default: the model's metadata)");
  cmd->add_option("--engine", o->engine,
                  "int (integer kernels; default for quantized models), sim (quantized model simulated in FP32) "
                  "or fp32 (default for FP32 models)")
      ->check(CLI::IsMember({"int", "sim", "fp32"}));
  cmd->add_option("--limit", o->limit, "Evaluate only the first N samples (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--batch", o->batch, "Batch size")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON: one object per model (an array for several) with top1 (fraction), n, correct, images_per_s");
  cmd->callback([o, action] { *action = [o] { return run_eval(*o); }; });
}

}  // namespace lowbit::cli
