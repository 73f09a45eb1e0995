#!/usr/bin/env bash
# demo.sh BUILD_DIR: the main job on the embedded data and models — FP32 accuracy of every
# reference model, then the quantization method table (`lowbit compare`) over the presets on
# every model, and the observer study for 4-bit recipes on resnet8. Full Fashion-MNIST test
# set; calibration on the first 1000 training images. docs/quantization.md explains the tables.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
models=(models/lenet.onnx models/resnet8.onnx models/mobilenet.onnx models/mlp.onnx)
printf '\nlowbit FP32 on Fashion-MNIST (test split, 10000 images, batch 64)\n\n'
"$build/lowbit" eval "${models[@]}" --data fashion-mnist --batch 64
printf '\nPost-training quantization, every preset (simulated; W/A bits, top-1, change from FP32, deployed weight bytes, worst per-layer SQNR)\n\n'
"$build/lowbit" compare "${models[@]}" --recipes int8,int8-tensor,int8-dynamic,w4a8,w4a8-g32,w4a4,w2a8 --calib-size 1000
observers=minmax,moving-average,percentile,entropy,mse,aciq-laplace,aciq-gauss
printf '\nObservers for 4-bit recipes on resnet8: each weight observer (w:), then each activation observer (a:)\n\n'
"$build/lowbit" compare models/resnet8.onnx --recipes w4a8,w4a4 --weight-observers "$observers" \
  --act-observers "$observers" --calib-size 1000 --sqnr-samples 0
echo
