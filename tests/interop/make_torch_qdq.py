#!/usr/bin/python3
"""Regenerate tests/interop/fixtures/lenet_torch_qdq.onnx: the reference LeNet quantized by
PyTorch's own eager-mode post-training quantization and exported by torch.onnx (opset 13).

Usage:
    /usr/bin/python3 tests/interop/make_torch_qdq.py OUT.onnx [--json OUT.json]
        [--model models/lenet.onnx] [--calib 512] [--qconfig fbgemm]

Steps (deterministic: fixed images, min/max-style observers, one thread):
  1. the LeNet of models/train.py, its FP32 weights read from the initializers of
     models/lenet.onnx (they carry the torch state_dict names; BatchNorm is kept unfolded there);
     the FP32 torch model must reproduce models/torch_results.json exactly (same number of
     correct test images and same SHA-256 of the argmax predictions);
  2. torch.ao.quantization eager PTQ: QuantStub/DeQuantStub around the model, conv+bn+relu
     (features.0/1/2, features.4/5/6) fused (fc1+relu cannot be: see below), qconfig 'fbgemm' (per-channel int8
     weights, uint8 activations), calibrated on the first --calib training images, converted;
  3. torch.onnx.export(opset 13, input "input", output "logits", dynamic batch axis).
Prints the quantized torch model's top-1 on the 10000 test images; --json writes it with the
torch version (the fixture's companion file read by tests/interop/torch_qdq_test.cc).

Requirements: Debian python3-torch (1.13), python3-onnx, python3-numpy. Not run by the tests.
"""

import argparse
import hashlib
import json
import os
import sys

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "models"))
import train  # noqa: E402  (models/train.py: LeNet, IDX reading, preprocessing)


class QuantLeNet(nn.Module):
    """train.LeNet's modules behind Quant/DeQuant stubs, with the functional relu after fc1 made a
    module so eager-mode fusion can fold it into fc1."""

    def __init__(self, lenet):
        super().__init__()
        self.quant = torch.ao.quantization.QuantStub()
        self.features = lenet.features
        self.fc1 = lenet.fc1
        self.relu = nn.ReLU()
        self.fc2 = lenet.fc2
        self.dequant = torch.ao.quantization.DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.features(x)
        x = torch.flatten(x, 1)
        x = self.relu(self.fc1(x))
        x = self.fc2(x)
        return self.dequant(x)


def load_lenet(onnx_path):
    """train.LeNet with every parameter and BatchNorm buffer taken from the ONNX initializers."""
    model = train.LeNet()
    state = model.state_dict()
    m = onnx.load(onnx_path)
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    if "BatchNormalization" not in {n.op_type for n in m.graph.node}:
        raise SystemExit("%s: BatchNormalization was folded; expected it kept" % onnx_path)
    loaded = {}
    for name, t in state.items():
        if name.endswith("num_batches_tracked"):
            loaded[name] = t  # not exported; unused in eval mode
            continue
        if name not in inits:
            raise SystemExit("%s: no initializer named %s" % (onnx_path, name))
        a = inits[name]
        if tuple(a.shape) != tuple(t.shape):
            raise SystemExit("%s: %s has shape %s, torch expects %s" % (onnx_path, name, a.shape, tuple(t.shape)))
        loaded[name] = torch.from_numpy(np.array(a, dtype=np.float32))
    unused = set(inits) - set(loaded)
    if unused:
        raise SystemExit("%s: initializers not in the torch model: %s" % (onnx_path, sorted(unused)))
    model.load_state_dict(loaded)
    model.eval()
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--json", default=None)
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "lenet.onnx"))
    ap.add_argument("--results", default=os.path.join(ROOT, "models", "torch_results.json"))
    ap.add_argument("--calib", type=int, default=512)
    ap.add_argument("--qconfig", default="fbgemm", choices=["fbgemm", "qnnpack"])
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)
    x_train_u8, _ = train.load_split("train")
    x_test_u8, y_test = train.load_split("test")
    x_test = train.preprocess(x_test_u8)

    # 1. FP32: the torch model must give exactly the predictions recorded when lenet.onnx was made.
    fp32 = load_lenet(args.model)
    pred, correct = train.evaluate(fp32, x_test, y_test)
    with open(args.results) as f:
        ref = json.load(f)["lenet"]
    sha = hashlib.sha256(pred.tobytes()).hexdigest()[:16]
    print("fp32 torch top-1 %.2f%% (%d); torch_results.json: %d, sha %s vs %s"
          % (100.0 * correct / len(y_test), correct, ref["correct"], sha, ref["pred_sha256"]))
    if correct != ref["correct"] or sha != ref["pred_sha256"]:
        raise SystemExit("the FP32 torch model does not reproduce models/torch_results.json")

    # 2. Eager-mode post-training quantization.
    q = QuantLeNet(fp32).eval()
    # fc1 + relu is not fused: torch 1.13's exporter has no symbolic for quantized::linear_relu,
    # so the relu stays a quantized ReLU on fc1's output (exported as DequantizeLinear → Relu →
    # QuantizeLinear).
    torch.ao.quantization.fuse_modules(
        q, [["features.0", "features.1", "features.2"], ["features.4", "features.5", "features.6"]], inplace=True)
    # The qconfig picks observers (fbgemm: per-channel weights, reduce_range activations); the
    # engine only runs the converted model. Debian's torch is built without FBGEMM, so its x86
    # quantized kernels are oneDNN's, which take the same per-channel weights.
    engines = torch.backends.quantized.supported_engines
    engine = args.qconfig if args.qconfig in engines else "onednn"
    if engine not in engines:
        raise SystemExit("no quantized engine for %s: torch supports %s" % (args.qconfig, engines))
    torch.backends.quantized.engine = engine
    q.qconfig = torch.ao.quantization.get_default_qconfig(args.qconfig)
    torch.ao.quantization.prepare(q, inplace=True)
    calib = torch.from_numpy(train.preprocess(x_train_u8[:args.calib]))
    with torch.no_grad():
        for i in range(0, calib.shape[0], 128):
            q(calib[i:i + 128])
    torch.ao.quantization.convert(q, inplace=True)
    _, qcorrect = train.evaluate(q, x_test, y_test)
    top1 = qcorrect / float(len(y_test))
    print("quantized torch (qconfig %s, engine %s) top-1 %.2f%% (%d/%d)"
          % (args.qconfig, engine, 100.0 * top1, qcorrect, len(y_test)))

    # 3. ONNX export (QuantizeLinear / DequantizeLinear form at opset 13).
    dummy = torch.from_numpy(x_test[:2])
    torch.onnx.export(q, dummy, args.out, opset_version=13, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    m = onnx.load(args.out)
    onnx.checker.check_model(m)
    ops = {}
    for n in m.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    print("wrote %s (%d bytes): %s" % (args.out, os.path.getsize(args.out),
                                       ", ".join("%s %d" % kv for kv in sorted(ops.items()))))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"torch_top1": top1, "torch_correct": qcorrect, "n": int(len(y_test)),
                       "qconfig": args.qconfig, "engine": engine, "calib_images": args.calib,
                       "made_by": "tests/interop/make_torch_qdq.py", "torch": torch.__version__}, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
