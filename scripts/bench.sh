#!/usr/bin/env bash
# bench.sh BUILD_DIR: FP32 kernel benchmarks and images/s of each reference model at batch 1 and 64.
#
# OpenBLAS picks its kernels when it loads. This workplace pins OPENBLAS_CORETYPE=Haswell and
# OPENBLAS_L2_SIZE for tests and CI; the benchmark drops both in its own commands. Debian 12's
# OpenBLAS 0.3.21 does not know recent Xeons (family 6, model 207 here) and, left to itself,
# falls back to its SSE3 "Prescott" kernels (measured single-threaded on a 512³ sgemm: 44 GFLOP/s,
# against 111 for Haswell and 206 for SkylakeX), so we name the best core type the CPU supports.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
features=$("$build/lowbit" info --cpu)
coretype=""
if grep -q "AVX-512F" <<<"$features" && grep -q "AVX-512VL" <<<"$features"; then coretype=SkylakeX
elif grep -q "AVX2" <<<"$features"; then coretype=Haswell
fi
run() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE ${coretype:+OPENBLAS_CORETYPE=$coretype} "$@"; }
echo "== CPU (OpenBLAS core type for benchmarks: ${coretype:-auto})"
echo "$features"
echo "== FP32 kernels"
run "$build/bench/fp32_kernels_bench" --benchmark_min_time=0.3
echo "== int8 GEMM: peak int8 and FP32 rates, GEMM GOP/s and fraction of peak per ISA"
run "$build/bench/int8_gemm_bench" --benchmark_min_time=0.3
echo "== FP32 models (images/s)"
run "$build/bench/models_fp32_bench"
echo "== Calibration of resnet8: seconds and peak RSS at 256 and 8192 samples, per activation observer"
printf "%-16s %8s %9s %14s\n" observer samples seconds "peak RSS MiB"
for obs in minmax moving-average percentile entropy mse aciq-laplace aciq-gauss; do
  for n in 256 8192; do
    run "$build/bench/calibration_memory" models/resnet8.onnx "$obs" "$n"
  done
done
echo "== End to end: lowbit int8 / lowbit FP32 / ONNX Runtime FP32 / ONNX Runtime on lowbit's int8 QDQ file (images/s)"
scripts/ort_setup.sh "$build" >/dev/null
for t in 1 2; do
  LOWBIT_ORT_DIR="$PWD/$build/ort" node bench/models_vs_ort.js "$build/lowbit" "$build/bench-models" --threads "$t"
done
