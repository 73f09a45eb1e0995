// fp32_kernels_bench.cc: GFLOP/s of the FP32 kernels — sgemm on cubes, and the conv layers of
// lenet / resnet8 / mobilenet-like nets on 28×28 inputs at batch 1 and 64 (the full
// kernels::conv_f32 path: im2col / depthwise / 1×1 dispatch and threading included).
//
// Run with `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` so OpenBLAS picks its kernels for
// this CPU (scripts/bench.sh does). Threads: the global pool (LOWBIT_THREADS, default all).
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/fp32/conv.h"
#include "kernels/fp32/sgemm.h"

namespace {

using lowbit::ThreadPool;
namespace kernels = lowbit::kernels;

std::vector<float> random_buffer(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

void BM_Sgemm(benchmark::State& state) {
  const int64_t n = state.range(0);
  const auto a = random_buffer(static_cast<size_t>(n * n), 1), b = random_buffer(static_cast<size_t>(n * n), 2);
  std::vector<float> c(static_cast<size_t>(n * n));
  ThreadPool& pool = ThreadPool::global();
  for (auto _ : state) {
    kernels::sgemm(false, false, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n, &pool);
    benchmark::DoNotOptimize(c.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(n) * n * n, benchmark::Counter::kIsIterationInvariantRate,
                         benchmark::Counter::kIs1000);
  state.counters["threads"] = pool.num_threads();
}
BENCHMARK(BM_Sgemm)->Arg(256)->Arg(512)->Arg(1024)->UseRealTime()->Unit(benchmark::kMillisecond);

struct ConvShape {
  const char* name;
  int64_t c, m, hw, k, stride, pad, groups;
};

// Layers of the reference models (NCHW, 28×28 input images).
const ConvShape kShapes[] = {
    {"lenet_conv1_1x6_5x5_28", 1, 6, 28, 5, 1, 2, 1},
    {"lenet_conv2_6x16_5x5_14", 6, 16, 14, 5, 1, 0, 1},
    {"resnet8_stem_1x16_3x3_28", 1, 16, 28, 3, 1, 1, 1},
    {"resnet8_16x16_3x3_28", 16, 16, 28, 3, 1, 1, 1},
    {"resnet8_16x32_3x3_s2_28", 16, 32, 28, 3, 2, 1, 1},
    {"resnet8_32x32_3x3_14", 32, 32, 14, 3, 1, 1, 1},
    {"resnet8_32x64_3x3_s2_14", 32, 64, 14, 3, 2, 1, 1},
    {"resnet8_64x64_3x3_7", 64, 64, 7, 3, 1, 1, 1},
    {"resnet8_shortcut_16x32_1x1_s2_28", 16, 32, 28, 1, 2, 0, 1},
    {"mobilenet_dw_32_3x3_28", 32, 32, 28, 3, 1, 1, 32},
    {"mobilenet_pw_32x64_1x1_28", 32, 64, 28, 1, 1, 0, 1},
    {"mobilenet_dw_64_3x3_s2_28", 64, 64, 28, 3, 2, 1, 64},
    {"mobilenet_pw_64x128_1x1_14", 64, 128, 14, 1, 1, 0, 1},
    {"mobilenet_dw_128_3x3_14", 128, 128, 14, 3, 1, 1, 128},
};

void BM_Conv(benchmark::State& state, ConvShape s) {
  kernels::ConvGeom g;
  g.batch = state.range(0);
  g.in_channels = s.c;
  g.out_channels = s.m;
  g.groups = s.groups;
  const int64_t out = (s.hw + 2 * s.pad - s.k) / s.stride + 1;
  g.in = {1, s.hw, s.hw};
  g.out = {1, out, out};
  g.kernel = {1, s.k, s.k};
  g.stride = {1, s.stride, s.stride};
  g.pad = {0, s.pad, s.pad};
  const auto x = random_buffer(static_cast<size_t>(g.batch * s.c * s.hw * s.hw), 3);
  const auto w = random_buffer(static_cast<size_t>(s.m * (s.c / s.groups) * s.k * s.k), 4);
  const auto bias = random_buffer(static_cast<size_t>(s.m), 5);
  std::vector<float> y(static_cast<size_t>(g.batch * s.m * out * out));
  ThreadPool& pool = ThreadPool::global();
  for (auto _ : state) {
    kernels::conv_f32(g, x.data(), w.data(), bias.data(), y.data(), &pool);
    benchmark::DoNotOptimize(y.data());
  }
  const double flops = 2.0 * static_cast<double>(g.batch) * s.m * out * out * (s.c / s.groups) * s.k * s.k;
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
}

const int kRegistered = [] {
  for (const ConvShape& s : kShapes)
    benchmark::RegisterBenchmark((std::string("BM_Conv/") + s.name).c_str(), BM_Conv, s)
        ->Arg(1)
        ->Arg(64)
        ->ArgName("batch")
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
