// cmd_bench.cc: `lowbit bench MODEL --batch 1,64` — latency percentiles and images/s per batch
// size, with the protocol of tools/ort/ort_bench.js (runtime/timing.h); `--profile` adds where
// the integer program's time goes, step by step.
#include <algorithm>
#include <cstdio>
#include <map>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli_util.h"
#include "commands.h"
#include "core/thread_pool.h"
#include "runtime/engine.h"
#include "runtime/timing.h"

namespace lowbit::cli {
namespace {

struct BenchOptions {
  std::string model, engine;
  std::vector<int64_t> batches{1, 64};
  int64_t warmup = 10;
  double seconds = 3;
  bool json = false, profile = false;
};

// The input shape at `batch`: the graph's, with dim 0 the batch; other dims must be known.
Result<Shape> input_shape(const ir::Graph& g, int64_t batch) {
  if (g.inputs.size() != 1) return Status::errorf("bench needs a model with one input, this one has {}", g.inputs.size());
  const ir::Value& v = g.value(g.inputs[0]);
  if (v.dtype != DType::kF32) return Status::errorf("input '{}' is not float32; bench feeds float32 only", v.name);
  if (!v.shape || v.shape->empty()) return Status::errorf("input '{}' has no batch dimension", v.name);
  Shape s = *v.shape;
  if (s[0] >= 0 && s[0] != batch)
    return Status::errorf("input '{}' has a fixed batch of {}; --batch {} does not fit", v.name, s[0], batch);
  s[0] = batch;
  for (size_t i = 1; i < s.size(); ++i)
    if (s[i] < 0) return Status::errorf("input '{}' has shape {} with unknown dims", v.name, shape_str(*v.shape));
  return s;
}

// One profiled run per batch after the timing: wall time per step kind, largest first.
void print_profile(const runtime::Engine& e, const std::vector<Tensor>& in, int64_t runs) {
  std::vector<double> secs;
  for (int64_t r = 0; r < runs; ++r)
    if (!e.program->run(in, &secs).is_ok()) return;
  double total = 0;
  for (double s : secs) total += s;
  std::vector<size_t> order(secs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return secs[a] > secs[b]; });
  std::printf("  profile (%lld runs, %.3f ms per run):\n", static_cast<long long>(runs), 1e3 * total / static_cast<double>(runs));
  for (size_t i : order) {
    const runtime::Step& s = *e.program->steps()[i];
    std::printf("    %6.1f%% %9.3f ms  %-32s %s\n", total > 0 ? 100.0 * secs[i] / total : 0.0,
                1e3 * secs[i] / static_cast<double>(runs), s.node.c_str(), s.describe().c_str());
  }
}

int run_bench(const BenchOptions& o) {
  Result<runtime::Engine> engine = runtime::open_engine(o.model, o.engine);
  if (!engine.is_ok()) return report_error(engine.status());
  if (o.profile && !engine->program)
    return report_error(Status::errorf("{}: --profile needs the int engine (a quantized model)", o.model));
  if (!o.json)
    std::printf("%s (engine %s, %d threads, warm-up %lld runs, %.1f s per batch size)\n%6s %10s %10s %13s %7s\n",
                o.model.c_str(), engine->kind.c_str(), default_threads(), static_cast<long long>(o.warmup), o.seconds,
                "batch", "p50_ms", "p90_ms", "images_per_s", "runs");
  for (int64_t batch : o.batches) {
    Result<Shape> shape = input_shape(engine->graph(), batch);
    if (!shape.is_ok()) return report_error(shape.status().with_context(o.model));
    const std::vector<Tensor> in{runtime::random_input(*shape, 12345u + static_cast<uint32_t>(batch))};
    Result<runtime::Latency> l = runtime::time_runs(engine->run, in, o.warmup, o.seconds);
    if (!l.is_ok()) return report_error(l.status().with_context(o.model));
    if (o.json) {
      const nlohmann::json j{{"model", o.model},    {"engine", engine->kind},   {"threads", default_threads()},
                             {"batch", l->batch},   {"p50_ms", l->p50_ms},      {"p90_ms", l->p90_ms},
                             {"images_per_s", l->images_per_s}, {"runs", l->runs}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("%6lld %10.3f %10.3f %13.1f %7lld\n", static_cast<long long>(l->batch), l->p50_ms, l->p90_ms,
                  l->images_per_s, static_cast<long long>(l->runs));
    }
    if (o.profile && !o.json) print_profile(*engine, in, std::max<int64_t>(10, l->runs / 4));
  }
  return kExitOk;
}

}  // namespace

void add_bench_command(CLI::App& app, std::function<int()>* action) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Latency (p50, p90) and images/s of a model per batch size");
  cmd->add_option("model", o->model, "ONNX model file (FP32 or quantized)")->required();
  cmd->add_option("--batch", o->batches, "Batch sizes, comma separated")
      ->delimiter(',')
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 20))
      ->capture_default_str();
  cmd->add_option("--engine", o->engine,
                  "int (default for quantized models), sim (quantized model simulated in FP32) or fp32 (default for "
                  "FP32 models)")
      ->check(CLI::IsMember({"int", "sim", "fp32"}));
  cmd->add_option("--warmup", o->warmup, "Untimed runs before timing each batch size")
      ->check(CLI::Range(int64_t{0}, int64_t{1000000}))
      ->capture_default_str();
  cmd->add_option("--seconds", o->seconds, "Timed seconds per batch size (at least 3 runs)")
      ->check(CLI::Range(0.001, 3600.0))
      ->capture_default_str();
  cmd->add_flag("--json", o->json,
                "One JSON object per line and batch size: model, engine, threads, batch, p50_ms, p90_ms, images_per_s, runs");
  cmd->add_flag("--profile", o->profile, "Also print the time of each step of the integer program");
  cmd->callback([o, action] { *action = [o] { return run_bench(*o); }; });
}

}  // namespace lowbit::cli
