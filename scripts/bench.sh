#!/usr/bin/env bash
# bench.sh BUILD_DIR: FP32 kernel benchmarks and images/s of each reference model at batch 1 and 64.
# OpenBLAS is timed without this workplace's OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE pins, which force
# its slower Haswell kernels (tests and CI keep them).
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
run() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$@"; }
echo "== CPU"
"$build/lowbit" info --cpu
echo "== FP32 kernels"
run "$build/bench/fp32_kernels_bench" --benchmark_min_time=0.3
echo "== FP32 models (images/s)"
run "$build/bench/models_fp32_bench"
