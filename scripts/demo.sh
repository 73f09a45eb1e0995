#!/usr/bin/env bash
# demo.sh BUILD_DIR: the main job on the embedded data and models — for now, FP32 accuracy and
# speed of every reference model on the Fashion-MNIST test set.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
printf '\nlowbit FP32 on Fashion-MNIST (test split, 10000 images, batch 64)\n\n'
"$build/lowbit" eval models/lenet.onnx models/resnet8.onnx models/mobilenet.onnx models/mlp.onnx \
  --data fashion-mnist --batch 64
echo
