// models_fp32_bench.cc: FP32 images/s of each reference model at batch 1 and 64 (Session path).
#include <benchmark/benchmark.h>

#include <random>
#include <string>

#include "core/thread_pool.h"
#include "exec/model.h"
#include "exec/session.h"

namespace lowbit {
namespace {

void BM_ModelFp32(benchmark::State& state, const std::string& name) {
  const int64_t batch = state.range(0);
  Result<ir::Graph> graph = exec::load_model(std::string(LOWBIT_SOURCE_DIR) + "/models/" + name + ".onnx");
  if (!graph.is_ok()) {
    state.SkipWithError(graph.status().message().c_str());
    return;
  }
  Result<exec::Session> session = exec::Session::create(std::move(graph).value());
  if (!session.is_ok()) {
    state.SkipWithError(session.status().message().c_str());
    return;
  }
  Tensor x = Tensor::zeros(DType::kF32, {batch, 1, 28, 28});
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = normal(rng);
  for (int i = 0; i < 3; ++i) (void)session->run({x});  // warm-up
  for (auto _ : state) {
    Result<std::vector<Tensor>> y = session->run({x});
    benchmark::DoNotOptimize(y);
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["images/s"] = benchmark::Counter(static_cast<double>(state.iterations() * batch),
                                                  benchmark::Counter::kIsRate);
  state.counters["threads"] = default_threads();
}

}  // namespace
}  // namespace lowbit

int main(int argc, char** argv) {
  for (const char* m : {"lenet", "resnet8", "mobilenet", "mlp"})
    benchmark::RegisterBenchmark((std::string("fp32/") + m).c_str(), lowbit::BM_ModelFp32, std::string(m))
        ->Arg(1)
        ->Arg(64)
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->MinTime(1.0);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
