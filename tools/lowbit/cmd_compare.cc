// cmd_compare.cc: `lowbit compare MODEL... --recipes a,b,c` — the survey-style method table:
// each recipe's bits, granularity and observers, top-1 and its change from FP32, deployed
// weight bytes, and the worst per-layer SQNR (simulated quantization).
#include <cmath>
#include <cstdio>
#include <limits>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "exec/evaluate.h"
#include "exec/model.h"
#include "ir/fold_batch_norm.h"
#include "ptq_job.h"
#include "quant/qdq_format.h"
#include "quant/recipe.h"
#include "quant/simulate.h"

namespace lowbit::cli {
namespace {

struct CompareOptions {
  std::vector<std::string> models;
  std::vector<std::string> recipes{"int8", "int8-tensor", "int8-dynamic", "w4a8", "w4a8-g32", "w4a4", "w2a8"};
  std::vector<std::string> weight_observers, act_observers;
  DataOptions calib{"fashion-mnist", "", "train", ""};
  DataOptions data{"fashion-mnist", "", "test", ""};
  int64_t calib_size = 1000, limit = 0, sqnr_samples = 256, batch = 64;
  bool json = false;
};

struct Variant {
  std::string label;
  quant::Recipe recipe;
};

// The recipes to run: each named recipe, then the same with each weight observer, then with
// each activation observer.
Result<std::vector<Variant>> variants(const CompareOptions& o) {
  std::vector<Variant> v;
  for (const std::string& name : o.recipes) {
    LB_ASSIGN_OR_RETURN(quant::Recipe r, quant::load_recipe(name));
    v.push_back({r.name, r});
    for (const auto* list : {&o.weight_observers, &o.act_observers}) {
      const bool weight = list == &o.weight_observers;
      for (const std::string& obs : *list) {
        LB_TRY(quant::parse_observer_kind(obs).status());
        nlohmann::json j = r.json;
        j[weight ? "weight" : "activation"]["observer"] = obs;
        const std::string label = r.name + (weight ? " w:" : " a:") + obs;
        LB_ASSIGN_OR_RETURN(quant::Recipe variant, quant::parse_recipe(j, label));
        v.push_back({label, std::move(variant)});
      }
    }
  }
  return v;
}

std::string observers_of(const quant::Recipe& r) {
  const auto& d = r.defaults;
  const std::string a = d.mode == quant::ActivationMode::kDynamic ? "dynamic" : std::string(quant::observer_name(d.activation.observer.kind));
  return std::string(quant::observer_name(d.weight.observer.kind)) + "/" + a;
}

struct Row {
  std::string recipe, w_bits, a_bits, granularity, observers, worst_layer;
  double top1 = 0, delta = 0, worst_sqnr = std::numeric_limits<double>::quiet_NaN(), seconds = 0;
  int64_t weight_bytes = 0;
};

int run_compare(const CompareOptions& o) {
  Result<std::vector<Variant>> vars = variants(o);
  if (!vars.is_ok()) return report_error(vars.status());
  nlohmann::json all = nlohmann::json::array();
  for (const std::string& model : o.models) {
    Result<ir::Graph> graph = exec::load_model(model);
    if (!graph.is_ok()) return report_error(graph.status());
    if (quant::has_quant_ops(*graph))
      return report_error(Status::errorf("{}: compare needs an FP32 model; this one is quantized", model));
    Result<std::unique_ptr<data::Dataset>> calib = open_model_data(*graph, o.calib);
    if (!calib.is_ok()) return report_error(calib.status());
    Result<std::unique_ptr<data::Dataset>> test = open_model_data(*graph, o.data);
    if (!test.is_ok()) return report_error(test.status());
    if (!(*test)->has_labels()) return report_error(Status::errorf("{}: compare needs labels (give --labels)", o.data.source));

    std::vector<Row> rows;
    Result<exec::Session> fp32 = exec::Session::create(*graph);
    if (!fp32.is_ok()) return report_error(fp32.status().with_context(model));
    Progress fp("eval " + model + " fp32", (*test)->size());
    Result<exec::Top1> base = exec::evaluate_top1(*fp32, **test, o.limit, o.batch, [&](int64_t d, int64_t, int64_t) { fp.update(d); });
    fp.finish();
    if (!base.is_ok()) return report_error(base.status().with_context(model));
    Row r0;
    r0.recipe = "fp32";
    r0.w_bits = r0.a_bits = "32";
    r0.granularity = r0.observers = "-";
    r0.top1 = base->top1();
    {  // FP32 as deployed: BatchNorm folded, as in every quantized row
      ir::Graph folded = *graph;
      if (Result<int> f = ir::fold_batch_norm(folded); !f.is_ok()) return report_error(f.status().with_context(model));
      for (const ir::Value& v : folded.values)
        if (v.constant && v.constant->dtype() == DType::kF32) r0.weight_bytes += static_cast<int64_t>(v.constant->nbytes());
    }
    rows.push_back(r0);

    for (const Variant& var : *vars) {
      const auto t0 = std::chrono::steady_clock::now();
      Result<quant::QuantizedModel> m = run_ptq(*graph, var.recipe, calib->get(), o.calib_size, o.batch,
                                                "calibrate " + model + " " + var.label);
      if (!m.is_ok()) return report_error(m.status().with_context(model + " " + var.label));
      Result<quant::Simulation> sim = quant::make_simulation(*m);
      if (!sim.is_ok()) return report_error(sim.status().with_context(model + " " + var.label));
      Progress pe("eval " + model + " " + var.label, (*test)->size());
      Result<exec::Top1> top = exec::evaluate_top1(sim->session, **test, o.limit, o.batch, [&](int64_t d, int64_t, int64_t) { pe.update(d); });
      pe.finish();
      if (!top.is_ok()) return report_error(top.status().with_context(model + " " + var.label));
      Row r;
      r.recipe = var.label;
      r.w_bits = m->weight_bits();
      r.a_bits = m->activation_bits();
      r.granularity = quant::granularity_name(var.recipe.defaults.weight.scheme);
      r.observers = observers_of(var.recipe);
      r.top1 = top->top1();
      r.delta = r.top1 - r0.top1;
      r.weight_bytes = m->weight_bytes();
      if (o.sqnr_samples > 0) {
        Result<std::vector<quant::LayerError>> errs = quant::measure_layer_errors(*m, **test, o.sqnr_samples, o.batch);
        if (!errs.is_ok()) return report_error(errs.status().with_context(model + " " + var.label));
        for (const quant::LayerError& e : *errs)
          if (std::isnan(r.worst_sqnr) || e.sqnr_db() < r.worst_sqnr) {
            r.worst_sqnr = e.sqnr_db();
            r.worst_layer = e.node;
          }
      }
      r.seconds = seconds_since(t0);
      rows.push_back(r);
    }

    if (!o.json) {
      std::printf("%s (top-1 on %lld samples of %s; calibration: %lld samples)\n", model.c_str(),
                  static_cast<long long>(base->n), (*test)->description().c_str(),
                  static_cast<long long>(std::min<int64_t>(o.calib_size > 0 ? o.calib_size : (*calib)->size(), (*calib)->size())));
      std::printf("%-24s %4s %4s %-15s %-26s %8s %7s %12s %9s  %s\n", "recipe", "W", "A", "W granularity", "observers W/A",
                  "top-1", "delta", "weight bytes", "worst dB", "worst layer");
    }
    for (const Row& r : rows) {
      all.push_back({{"model", model}, {"recipe", r.recipe}, {"w_bits", r.w_bits}, {"a_bits", r.a_bits},
                     {"w_granularity", r.granularity}, {"observers", r.observers}, {"top1", r.top1}, {"delta", r.delta},
                     {"weight_bytes", r.weight_bytes},
                     {"worst_sqnr_db", std::isfinite(r.worst_sqnr) ? nlohmann::json(r.worst_sqnr) : nlohmann::json()},
                     {"worst_layer", r.worst_layer}, {"seconds", r.seconds}});
      if (o.json) continue;
      const std::string db = std::isfinite(r.worst_sqnr) ? fmt::format("{:.1f}", r.worst_sqnr) : "-";
      std::printf("%-24s %4s %4s %-15s %-26s %7.2f%% %+7.2f %12lld %9s  %s\n", r.recipe.c_str(), r.w_bits.c_str(),
                  r.a_bits.c_str(), r.granularity.c_str(), r.observers.c_str(), 100.0 * r.top1, 100.0 * r.delta,
                  static_cast<long long>(r.weight_bytes), db.c_str(), r.worst_layer.c_str());
    }
    if (!o.json) std::printf("\n");
    std::fflush(stdout);
  }
  if (o.json) std::printf("%s\n", all.dump(2).c_str());
  return kExitOk;
}

}  // namespace

void add_compare_command(CLI::App& app, std::function<int()>* action) {
  auto o = std::make_shared<CompareOptions>();
  CLI::App* cmd = app.add_subcommand("compare", "Quantize a model under several recipes and tabulate accuracy, size and SQNR");
  cmd->add_option("models", o->models, "FP32 ONNX model(s); one table each")->required();
  cmd->add_option("--recipes", o->recipes, "Comma-separated presets or recipe files")->delimiter(',')->capture_default_str();
  cmd->add_option("--weight-observers", o->weight_observers,
                  "Also run each recipe with each of these weight observers (minmax, moving-average, percentile, "
                  "entropy, mse, aciq-laplace, aciq-gauss)")
      ->delimiter(',');
  cmd->add_option("--act-observers", o->act_observers, "Also run each recipe with each of these activation observers")
      ->delimiter(',');
  cmd->add_option("--calib", o->calib.source, "Calibration data (as for `lowbit quantize`)")->capture_default_str();
  cmd->add_option("--calib-size", o->calib_size, "Calibration samples (0 = all)")->check(CLI::NonNegativeNumber)->capture_default_str();
  cmd->add_option("--data", o->data.source, "Evaluation data (as for `lowbit eval`)")->capture_default_str();
  cmd->add_option("--labels", o->data.labels, "Labels .npy for --data X.npy");
  cmd->add_option("--preprocess", o->data.preprocess, "For image folders (see `lowbit eval --help`); applies to --calib too");
  cmd->add_option("--limit", o->limit, "Evaluate only the first N samples (0 = all)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--sqnr-samples", o->sqnr_samples, "Samples for the per-layer SQNR (0 = skip)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--batch", o->batch, "Batch size")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_flag("--json", o->json, "Print JSON: one object per (model, recipe) row");
  cmd->callback([o, action] {
    o->calib.preprocess = o->data.preprocess;
    *action = [o] { return run_compare(*o); };
  });
}

}  // namespace lowbit::cli
