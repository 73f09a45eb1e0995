#!/usr/bin/env bash
# fuzz.sh [SECONDS] [TARGET]: build a libFuzzer target (clang, libFuzzer + ASan + UBSan) in
# build-fuzz/ and run it for SECONDS (default 120) on one core. TARGET is onnx_import_fuzz (the
# loader, default) or model_run_fuzz (folding, shape inference and execution of every op).
#
# Corpus: fuzz/corpus/ (gitignored, kept between runs), seeded from fuzz/seeds/*.onnx (written by
# fuzz/make_seeds.py) and models/*.onnx. Crashing inputs are saved under build-fuzz/artifacts/;
# replay one with: build-fuzz/fuzz/onnx_import_fuzz build-fuzz/artifacts/crash-<hash>
set -euo pipefail

RUN_SECONDS="${1:-120}"
TARGET="${2:-onnx_import_fuzz}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-fuzz"
CORPUS="$ROOT/fuzz/corpus/${2:-onnx_import_fuzz}"
ARTIFACTS="$BUILD/artifacts"

for tool in clang clang++ cmake; do
  command -v "$tool" >/dev/null || { echo "fuzz.sh: $tool not found (apt-get install clang libclang-rt-14-dev cmake)" >&2; exit 2; }
done

CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DLOWBIT_BUILD_FUZZ=ON -DLOWBIT_BUILD_TESTS=OFF -DLOWBIT_BUILD_BENCH=OFF >/dev/null
cmake --build "$BUILD" --target "$TARGET" -j"${JOBS:-2}"

mkdir -p "$CORPUS" "$ARTIFACTS"
shopt -s nullglob
for seed in "$ROOT"/fuzz/seeds/*.onnx "$ROOT"/models/*.onnx; do
  cp -n "$seed" "$CORPUS/seed_$(basename "$seed")"
done
# ONNX's operator tests (libonnx-testdata) make good seeds: one small model per op variant.
for seed in /usr/share/libonnx-testdata/data/node/*/model.onnx; do
  case=$(basename "$(dirname "$seed")")
  cp -n "$seed" "$CORPUS/seed_$case.onnx"
done

# -max_len: large enough for real small models; -rss_limit_mb: the importer must stay bounded;
# -timeout: any single input taking this long is a hang.
exec "$BUILD/fuzz/$TARGET" "$CORPUS" \
  -dict="$ROOT/fuzz/onnx.dict" \
  -max_total_time="$RUN_SECONDS" -max_len=200000 -rss_limit_mb=2048 -timeout=10 \
  -artifact_prefix="$ARTIFACTS/" -print_final_stats=1
