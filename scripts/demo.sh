#!/usr/bin/env bash
# demo.sh BUILD_DIR: the main job on the embedded data and models — FP32 accuracy of every
# reference model, then the quantization method table (`lowbit compare`) over the presets on
# every model, the observer study for 4-bit recipes on resnet8, and resnet8 under int8 on the
# integer runtime (how each node runs, accuracy against the simulation, speed). Full
# Fashion-MNIST test set; calibration on the first 1000 training images. docs/quantization.md
# and docs/runtime.md explain the tables.
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
printf '\nThe integer runtime: resnet8 under int8 — how each node runs, top-1 on integers and simulated, speed\n\n'
qmodel="$build/demo-resnet8-int8.onnx"
rm -f "$qmodel"
"$build/lowbit" quantize models/resnet8.onnx --recipe int8 --calib-size 1000 -o "$qmodel"
"$build/lowbit" info "$qmodel" | sed -n '/^runtime:/,$p'
"$build/lowbit" eval "$qmodel" --engine int
"$build/lowbit" eval "$qmodel" --engine sim
"$build/lowbit" bench "$qmodel" --batch 1,64 --seconds 1
printf '\nInteroperability: the same model as standard QOperator ONNX (QLinearConv, MatMulInteger), checked by ONNX'"'"'s checker, read back\n\n'
qop="$build/demo-resnet8-int8-qoperator.onnx"
rm -f "$qop"
"$build/lowbit" export "$qmodel" --format qoperator -o "$qop"
"$build/lowbit" eval "$qop"
echo
