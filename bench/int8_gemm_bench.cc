// int8_gemm_bench.cc: int8 GEMM throughput per ISA against this CPU's measured peaks.
//
// Peaks (one thread, registers only, no memory traffic):
//   int8 VNNI   independent vpdpbusd (zmm for AVX-512 VNNI, ymm {vex} for AVX-VNNI): 4 MACs per lane
//   int8 AVX2   vpmaddubsw → vpmaddwd(·, 1) → vpaddd chains, 32 MACs per ymm chain
//   FP32 FMA    independent vfmadd231ps (zmm with AVX-512, else ymm)
// 1 MAC = 2 ops. The GEMM runs C[M×N] = (A − z)·Wᵀ + bias at M = N = K ∈ {256, 512, 1024}
// on 1 and 2 threads for every supported ISA (LOWBIT_ISA narrows it to one), reporting
// GOP/s and `peak_frac` = GOP/s / (threads × that ISA's one-thread peak) — the two-thread
// fraction assumes two physical cores. Peaks and one-thread GEMMs are timed in thread CPU
// time, two-thread GEMMs in wall time, which on a shared machine also counts other
// processes: compare the Time and CPU columns and rerun if they differ much.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <ctime>
#include <cstdlib>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "kernels/int8/gemm.h"

namespace {

using lowbit::ThreadPool;
namespace kernels = lowbit::kernels;
using kernels::Isa;

constexpr int64_t kPeakIters = 1 << 16;  // loop trips per peak call

// 16 independent accumulators × 64 u8·s8 MACs per trip.
__attribute__((target("avx512f,avx512vnni"))) void peak_vnni512(int64_t iters) {
  __asm__ volatile(
      "vpternlogd $0xff, %%zmm30, %%zmm30, %%zmm30\n\t"
      "vpternlogd $0xff, %%zmm31, %%zmm31, %%zmm31\n\t"
      "1:\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm0\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm1\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm2\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm3\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm4\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm5\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm6\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm7\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm8\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm9\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm10\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm11\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm12\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm13\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm14\n\t"
      "vpdpbusd %%zmm31, %%zmm30, %%zmm15\n\t"
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper"
      : "+r"(iters)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15", "xmm30", "xmm31");
}
constexpr double kVnni512OpsPerIter = 16 * 64 * 2;

// 12 independent accumulators × 32 MACs per trip (VEX encoding).
__attribute__((target("avx2,avxvnni"))) void peak_vnni256(int64_t iters) {
  __asm__ volatile(
      "vpcmpeqd %%ymm14, %%ymm14, %%ymm14\n\t"
      "vpcmpeqd %%ymm15, %%ymm15, %%ymm15\n\t"
      "1:\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm0\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm1\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm2\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm3\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm4\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm5\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm6\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm7\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm8\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm9\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm10\n\t"
      "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm11\n\t"
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper"
      : "+r"(iters)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm14", "xmm15");
}
constexpr double kVnni256OpsPerIter = 12 * 32 * 2;

// 6 independent vpmaddubsw → vpmaddwd(ones) → vpaddd chains, 32 MACs each per trip.
__attribute__((target("avx2"))) void peak_avx2(int64_t iters) {
  __asm__ volatile(
      "vpcmpeqd %%ymm13, %%ymm13, %%ymm13\n\t"
      "vpabsb %%ymm13, %%ymm14\n\t"   // a = 1 (u8)
      "vpabsb %%ymm13, %%ymm15\n\t"   // w = 1 (s8)
      "vpsrlw $15, %%ymm13, %%ymm13\n\t"  // int16 ones for vpmaddwd
      "1:\n\t"
      "vpmaddubsw %%ymm15, %%ymm14, %%ymm6\n\t"
      "vpmaddubsw %%ymm15, %%ymm14, %%ymm7\n\t"
      "vpmaddubsw %%ymm15, %%ymm14, %%ymm8\n\t"
      "vpmaddubsw %%ymm15, %%ymm14, %%ymm9\n\t"
      "vpmaddubsw %%ymm15, %%ymm14, %%ymm10\n\t"
      "vpmaddubsw %%ymm15, %%ymm14, %%ymm11\n\t"
      "vpmaddwd %%ymm13, %%ymm6, %%ymm6\n\t"
      "vpmaddwd %%ymm13, %%ymm7, %%ymm7\n\t"
      "vpmaddwd %%ymm13, %%ymm8, %%ymm8\n\t"
      "vpmaddwd %%ymm13, %%ymm9, %%ymm9\n\t"
      "vpmaddwd %%ymm13, %%ymm10, %%ymm10\n\t"
      "vpmaddwd %%ymm13, %%ymm11, %%ymm11\n\t"
      "vpaddd %%ymm6, %%ymm0, %%ymm0\n\t"
      "vpaddd %%ymm7, %%ymm1, %%ymm1\n\t"
      "vpaddd %%ymm8, %%ymm2, %%ymm2\n\t"
      "vpaddd %%ymm9, %%ymm3, %%ymm3\n\t"
      "vpaddd %%ymm10, %%ymm4, %%ymm4\n\t"
      "vpaddd %%ymm11, %%ymm5, %%ymm5\n\t"
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper"
      : "+r"(iters)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm13", "xmm14", "xmm15");
}
constexpr double kAvx2OpsPerIter = 6 * 32 * 2;

// 16 independent FMAs per trip, zmm (16 floats) or ymm (8 floats).
__attribute__((target("avx512f"))) void peak_fma512(int64_t iters) {
  __asm__ volatile(
      "vxorps %%xmm30, %%xmm30, %%xmm30\n\t"
      "vxorps %%xmm31, %%xmm31, %%xmm31\n\t"
      "1:\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm0\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm1\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm2\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm3\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm4\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm5\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm6\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm7\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm8\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm9\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm10\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm11\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm12\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm13\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm14\n\t"
      "vfmadd231ps %%zmm31, %%zmm30, %%zmm15\n\t"
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper"
      : "+r"(iters)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15", "xmm30", "xmm31");
}
constexpr double kFma512FlopsPerIter = 16 * 16 * 2;

__attribute__((target("avx2,fma"))) void peak_fma256(int64_t iters) {
  __asm__ volatile(
      "vxorps %%xmm14, %%xmm14, %%xmm14\n\t"
      "vxorps %%xmm15, %%xmm15, %%xmm15\n\t"
      "1:\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm0\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm1\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm2\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm3\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm4\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm5\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm6\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm7\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm8\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm9\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm10\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm11\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm12\n\t"
      "vfmadd231ps %%ymm15, %%ymm14, %%ymm13\n\t"
      "dec %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper"
      : "+r"(iters)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15");
}
constexpr double kFma256FlopsPerIter = 14 * 8 * 2;

struct Peak {
  void (*fn)(int64_t);
  double ops_per_iter;
};

// The int8 peak loop for the ISA a GEMM runs on (none for scalar).
Peak int8_peak(Isa isa) {
  switch (isa) {
    case Isa::kAvx512Vnni:
      return {peak_vnni512, kVnni512OpsPerIter};
    case Isa::kAvxVnni:
      return {peak_vnni256, kVnni256OpsPerIter};
    case Isa::kAvx2:
      return {peak_avx2, kAvx2OpsPerIter};
    case Isa::kScalar:
      break;
  }
  return {nullptr, 0.0};
}

// This thread's CPU time in seconds: on a shared machine wall time also counts the time
// other processes held the core.
double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Ops per CPU-second of a peak loop: the best of a few ~20 ms runs.
double measure_peak(const Peak& p) {
  double best = 0.0;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = thread_cpu_seconds();
    p.fn(8 * kPeakIters);
    best = std::max(best, 8 * kPeakIters * p.ops_per_iter / (thread_cpu_seconds() - t0));
  }
  return best;
}

void BM_Peak(benchmark::State& state, Peak p, const char* unit) {
  for (auto _ : state) p.fn(kPeakIters);
  state.counters[unit] = benchmark::Counter(kPeakIters * p.ops_per_iter, benchmark::Counter::kIsIterationInvariantRate,
                                            benchmark::Counter::kIs1000);
}

// C[M×N] = A[M×K]·Wᵀ with random data; GOP/s and the fraction of `threads` × the peak.
void run_gemm(benchmark::State& state, Isa isa, double peak_ops, int64_t m, int64_t n, int64_t k, int threads) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> u8(0, 255), s8(-127, 127);
  // A and C 64-byte aligned like the runtime's tensors (core/tensor.h): from a 16-byte aligned
  // std::vector every zmm row of C would straddle two cache lines.
  std::vector<uint8_t, kernels::Aligned64Allocator<uint8_t>> a(static_cast<size_t>(m * k));
  std::vector<int8_t> w(static_cast<size_t>(n * k));
  std::vector<int32_t> bias(static_cast<size_t>(n));
  std::vector<int32_t, kernels::Aligned64Allocator<int32_t>> c(static_cast<size_t>(m * n));
  for (uint8_t& v : a) v = static_cast<uint8_t>(u8(rng));
  for (int8_t& v : w) v = static_cast<int8_t>(s8(rng));
  for (int32_t& v : bias) v = s8(rng);
  const kernels::PackedWeights pw = kernels::pack_weights(w.data(), n, k, isa);
  ThreadPool pool(threads);
  for (auto _ : state) {
    kernels::gemm_u8s8s32(a.data(), m, k, 128, pw, bias.data(), c.data(), n, &pool);
    benchmark::DoNotOptimize(c.data());
    benchmark::ClobberMemory();
  }
  const double ops = 2.0 * static_cast<double>(m) * n * k;
  state.counters["GOP/s"] =
      benchmark::Counter(ops, benchmark::Counter::kIsIterationInvariantRate, benchmark::Counter::kIs1000);
  if (peak_ops > 0.0)
    state.counters["peak_frac"] =
        benchmark::Counter(ops / (threads * peak_ops), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Gemm(benchmark::State& state, Isa isa, double peak_ops) {
  const int64_t n = state.range(0);
  run_gemm(state, isa, peak_ops, n, n, n, static_cast<int>(state.range(1)));
}

// The reference models' non-depthwise convolutions as the GEMMs the integer runtime runs
// (im2col rows: M = 64 images × output pixels, N = output channels, K = in channels · kh · kw).
struct ConvShape {
  const char* name;
  int64_t pixels, n, k;
};
constexpr ConvShape kModelConvs[] = {
    {"lenet.conv1", 784, 16, 25},     {"lenet.conv2", 100, 32, 400},    {"resnet8.stem", 784, 16, 9},
    {"resnet8.layer1", 784, 16, 144}, {"resnet8.layer2.conv1", 196, 32, 144}, {"resnet8.layer2.conv2", 196, 32, 288},
    {"resnet8.layer2.shortcut", 196, 32, 16}, {"resnet8.layer3.conv1", 49, 64, 288},
    {"resnet8.layer3.conv2", 49, 64, 576}, {"resnet8.layer3.shortcut", 49, 64, 32},
    {"mobilenet.pw1", 784, 32, 16},   {"mobilenet.pw2", 196, 64, 32},   {"mobilenet.pw3", 196, 64, 64},
    {"mobilenet.pw4", 49, 128, 64},   {"mobilenet.pw5", 49, 128, 128},
};
constexpr int64_t kConvBatch = 64;

void BM_ModelConv(benchmark::State& state, Isa isa, double peak_ops, ConvShape c) {
  run_gemm(state, isa, peak_ops, kConvBatch * c.pixels, c.n, c.k, static_cast<int>(state.range(0)));
}

}  // namespace

int main(int argc, char** argv) {
  const lowbit::CpuFeatures& f = lowbit::cpu_features();
  std::printf("CPU: %s [%s]\n", f.brand.c_str(), f.summary().c_str());

  if (kernels::isa_supported(Isa::kAvx512Vnni))
    benchmark::RegisterBenchmark("Peak/int8_vpdpbusd_zmm", BM_Peak, int8_peak(Isa::kAvx512Vnni), "GOP/s");
  if (kernels::isa_supported(Isa::kAvxVnni))
    benchmark::RegisterBenchmark("Peak/int8_vpdpbusd_ymm", BM_Peak, int8_peak(Isa::kAvxVnni), "GOP/s");
  if (kernels::isa_supported(Isa::kAvx2))
    benchmark::RegisterBenchmark("Peak/int8_vpmaddubsw_ymm", BM_Peak, int8_peak(Isa::kAvx2), "GOP/s");
  if (f.avx512f)
    benchmark::RegisterBenchmark("Peak/fp32_fma_zmm", BM_Peak, Peak{peak_fma512, kFma512FlopsPerIter}, "GFLOP/s");
  if (f.avx2 && f.fma)
    benchmark::RegisterBenchmark("Peak/fp32_fma_ymm", BM_Peak, Peak{peak_fma256, kFma256FlopsPerIter}, "GFLOP/s");

  std::vector<Isa> isas;
  if (std::getenv("LOWBIT_ISA")) {
    lowbit::Result<Isa> sel = kernels::selected_isa();
    if (!sel.is_ok()) {
      std::fprintf(stderr, "%s\n", sel.status().message().c_str());
      return 2;
    }
    isas.push_back(*sel);
  } else {
    for (Isa isa : kernels::kAllIsas)
      if (kernels::isa_supported(isa)) isas.push_back(isa);
  }
  for (Isa isa : isas) {
    const Peak p = int8_peak(isa);
    const double peak = p.fn ? measure_peak(p) : 0.0;
    if (p.fn) std::printf("%s int8 peak (1 thread): %.1f GOP/s\n", std::string(kernels::isa_name(isa)).c_str(), peak / 1e9);
    const std::string name = "Gemm/" + std::string(kernels::isa_name(isa));
    // One thread: rates per CPU second of the calling thread (robust on a shared machine).
    // Two threads: per wall second, since the pool's worker is not in the caller's CPU time.
    for (int64_t t : {1, 2}) {
      auto* b = benchmark::RegisterBenchmark(name.c_str(), BM_Gemm, isa, peak);
      for (int64_t n : {256, 512, 1024})
        if (isa != Isa::kScalar || n == 256) b->Args({n, t});
      b->ArgNames({"n", "threads"})->Unit(benchmark::kMillisecond);
      if (t > 1) b->UseRealTime();
    }
    if (isa == Isa::kScalar) continue;
    for (const ConvShape& c : kModelConvs)
      for (int64_t t : {1, 2}) {
        const std::string conv = "Conv/" + std::string(kernels::isa_name(isa)) + "/" + c.name;
        auto* b = benchmark::RegisterBenchmark(conv.c_str(), BM_ModelConv, isa, peak, c);
        b->Arg(t)->ArgName("threads")->Unit(benchmark::kMicrosecond);
        if (t > 1) b->UseRealTime();
      }
  }

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
