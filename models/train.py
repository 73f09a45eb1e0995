#!/usr/bin/python3
"""Train and export the lowbit reference ONNX models on Fashion-MNIST.

Usage:
    /usr/bin/python3 models/train.py [--models lenet,resnet8,mobilenet,mlp] [--out models/]

Produces, in --out:
    <name>.onnx          opset 13, input "input" [batch,1,28,28] float32,
                         output "logits" [batch,10]; BatchNormalization kept
                         (not folded into Conv); metadata_props lowbit.*
    torch_results.json   per-model top-1 on the 10000-image test split,
                         parameter count, MACs per image, ONNX size and a
                         SHA-256 of the int8 argmax predictions.

Preprocessing (float32, in this order): x = (pixel / 255 - MEAN) / STD.

Requirements: Debian python3-torch (1.13), python3-onnx, python3-numpy.
No torchvision; the IDX files are read with gzip + numpy.
"""

import argparse
import contextlib
import gzip
import hashlib
import json
import os
import random
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "/usr/share/datasets/fashion-mnist"
MEAN = 0.2860
STD = 0.3530
MEAN_STR = "0.2860"
STD_STR = "0.3530"
CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
OPSET = 13
SEED = 20240501

# Epochs chosen so the whole script runs in roughly 20-25 minutes on one
# CPU thread (see the timing printed per epoch).
EPOCHS = {"lenet": 10, "resnet8": 8, "mobilenet": 7, "mlp": 10}
ALL_MODELS = ["lenet", "resnet8", "mobilenet", "mlp"]


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], "big")
    dtype_code = (magic >> 8) & 0xFF
    ndim = magic & 0xFF
    if dtype_code != 0x08:
        raise ValueError("%s: unsupported IDX dtype 0x%02x" % (path, dtype_code))
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    off = 4 + 4 * ndim
    arr = np.frombuffer(data, dtype=np.uint8, offset=off)
    if arr.size != int(np.prod(dims)):
        raise ValueError("%s: size mismatch" % path)
    return arr.reshape(dims)


def load_split(split):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(DATA_DIR, prefix + "-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATA_DIR, prefix + "-labels-idx1-ubyte.gz"))
    assert images.shape[0] == labels.shape[0]
    assert images.shape[1:] == (28, 28)
    return images, labels.astype(np.int64)


def preprocess(images_u8):
    """uint8 [N,28,28] -> float32 [N,1,28,28]: (p/255 - mean)/std in float32."""
    x = images_u8.astype(np.float32)
    x = x / np.float32(255.0)
    x = x - np.float32(MEAN)
    x = x / np.float32(STD)
    return np.ascontiguousarray(x.reshape(-1, 1, 28, 28), dtype=np.float32)


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

def conv_bn(cin, cout, k, stride=1, pad=0, groups=1):
    return [nn.Conv2d(cin, cout, k, stride=stride, padding=pad, groups=groups, bias=False),
            nn.BatchNorm2d(cout)]


class LeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *conv_bn(1, 16, 5, pad=2), nn.ReLU(inplace=True), nn.MaxPool2d(2),   # 16x14x14
            *conv_bn(16, 32, 5), nn.ReLU(inplace=True), nn.MaxPool2d(2),         # 32x5x5
        )
        self.fc1 = nn.Linear(32 * 5 * 5, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet8(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(*conv_bn(1, 16, 3, pad=1), nn.ReLU(inplace=True))
        self.layer1 = BasicBlock(16, 16, 1)   # 16x28x28
        self.layer2 = BasicBlock(16, 32, 2)   # 32x14x14
        self.layer3 = BasicBlock(32, 64, 2)   # 64x7x7
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)

    def forward(self, x):
        x = self.stem(x)
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


def dw_separable(cin, cout, stride):
    return [
        *conv_bn(cin, cin, 3, stride=stride, pad=1, groups=cin), nn.ReLU6(inplace=True),
        *conv_bn(cin, cout, 1), nn.ReLU6(inplace=True),
    ]


class MobileNet(nn.Module):
    # (in, out, stride) of the depthwise-separable blocks
    CFG = [(16, 32, 1), (32, 64, 2), (64, 64, 1), (64, 128, 2), (128, 128, 1)]

    def __init__(self):
        super().__init__()
        layers = [*conv_bn(1, 16, 3, pad=1), nn.ReLU6(inplace=True)]
        for cin, cout, s in self.CFG:
            layers += dw_separable(cin, cout, s)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = self.features(x)
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 128)
        self.fc3 = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


BUILDERS = {"lenet": LeNet, "resnet8": ResNet8, "mobilenet": MobileNet, "mlp": MLP}


# --------------------------------------------------------------------------
# Accounting
# --------------------------------------------------------------------------

def count_params(model):
    return int(sum(p.numel() for p in model.parameters()))


def count_macs(model):
    """MACs per image over Conv2d / Linear, via forward hooks on a 1-image input."""
    total = [0]

    def conv_hook(m, inp, out):
        kh, kw = m.kernel_size
        total[0] += out[0].numel() * (m.in_channels // m.groups) * kh * kw

    def linear_hook(m, inp, out):
        total[0] += m.in_features * m.out_features

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, 28, 28))
    model.train(was_training)
    for h in handles:
        h.remove()
    return int(total[0])


# --------------------------------------------------------------------------
# Train / eval
# --------------------------------------------------------------------------

def seed_all(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def evaluate(model, x_test, y_test, batch=1000):
    model.eval()
    preds = []
    with torch.no_grad():
        for i in range(0, x_test.shape[0], batch):
            logits = model(torch.from_numpy(x_test[i:i + batch]))
            preds.append(logits.argmax(dim=1).numpy())
    pred = np.concatenate(preds).astype(np.int8)
    correct = int((pred.astype(np.int64) == y_test).sum())
    return pred, correct


def train_model(name, epochs, x_train, y_train, x_test, y_test, batch=128):
    seed = SEED + ALL_MODELS.index(name)
    seed_all(seed)
    model = BUILDERS[name]()
    rng = np.random.RandomState(seed)
    n = x_train.shape[0]
    steps_per_epoch = (n + batch - 1) // batch
    total_steps = epochs * steps_per_epoch
    base_lr = 1e-3 if name == "mlp" else 2e-3
    opt = torch.optim.Adam(model.parameters(), lr=base_lr)
    warmup = steps_per_epoch // 4

    def lr_at(step):
        if step < warmup:
            return base_lr * (step + 1) / warmup
        t = (step - warmup) / max(1, total_steps - warmup)
        return base_lr * 0.5 * (1.0 + np.cos(np.pi * t))

    augment = name != "mlp"
    # channels_last is ~30% faster on CPU for these conv nets; the model is
    # converted back to the default NCHW-contiguous format after training.
    conv_net = name != "mlp"
    fmt = torch.channels_last if conv_net else torch.contiguous_format
    model = model.to(memory_format=fmt)
    step = 0
    t_start = time.time()
    for ep in range(epochs):
        model.train()
        t_ep = time.time()
        perm = rng.permutation(n)
        flip = rng.rand(n) < 0.5
        loss_sum = 0.0
        correct = 0
        for i in range(0, n, batch):
            idx = perm[i:i + batch]
            xb = x_train[idx]
            if augment:
                fb = flip[idx]
                xb[fb] = xb[fb][..., ::-1]   # random horizontal flip
            xb = torch.from_numpy(np.ascontiguousarray(xb)).to(memory_format=fmt)
            yb = torch.from_numpy(y_train[idx])
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            loss_sum += float(loss) * idx.shape[0]
            correct += int((logits.argmax(1) == yb).sum())
        _, test_correct = evaluate(model, x_test, y_test)
        print("[%s] epoch %d/%d  loss %.4f  train_acc %.4f  test_acc %.4f  %.1fs"
              % (name, ep + 1, epochs, loss_sum / n, correct / n, test_correct / 10000.0,
                 time.time() - t_ep), flush=True)
    train_s = time.time() - t_start
    model = model.to(memory_format=torch.contiguous_format)
    model.eval()
    return model, train_s


# --------------------------------------------------------------------------
# ONNX export
# --------------------------------------------------------------------------

@contextlib.contextmanager
def keep_batchnorm():
    """Export-time patches of two torch 1.13 ONNX passes (torch.onnx.utils
    calls them as _C.<pass>, i.e. attributes of torch._C):

    * _jit_pass_onnx_eval_peephole folds BatchNorm into Conv in eval-mode
      export. Replaced with a no-op so BatchNormalization nodes are kept.
    * _jit_pass_onnx_deduplicate_initializers merges bit-identical
      initializers and rewires the duplicates through Identity nodes. In the
      ResNet the biases of the two BNs feeding each residual Add get identical
      gradients from identical (zero) init, so they stay bit-identical; keep
      them as separate initializers instead of Identity nodes.
    """
    import torch.onnx.utils as onnx_utils
    c_mod = onnx_utils._C
    orig_peephole = c_mod._jit_pass_onnx_eval_peephole
    orig_dedup = c_mod._jit_pass_onnx_deduplicate_initializers

    def no_fold(graph, params_dict):
        return params_dict

    def no_dedup(graph, params_dict, is_train):
        return params_dict

    c_mod._jit_pass_onnx_eval_peephole = no_fold
    c_mod._jit_pass_onnx_deduplicate_initializers = no_dedup
    try:
        yield
    finally:
        c_mod._jit_pass_onnx_eval_peephole = orig_peephole
        c_mod._jit_pass_onnx_deduplicate_initializers = orig_dedup


def export_onnx(model, name, path):
    import onnx
    model.eval()
    dummy = torch.zeros(2, 1, 28, 28)
    with keep_batchnorm():
        torch.onnx.export(
            model, dummy, path,
            export_params=True,
            opset_version=OPSET,
            do_constant_folding=True,
            training=torch.onnx.TrainingMode.EVAL,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        )
    m = onnx.load(path)
    meta = {
        "lowbit.mean": MEAN_STR,
        "lowbit.std": STD_STR,
        "lowbit.layout": "NCHW",
        "lowbit.dataset": "fashion-mnist",
        "lowbit.input_scale": "255",
        "lowbit.classes": ",".join(CLASSES),
        "lowbit.model": name,
    }
    del m.metadata_props[:]
    for k, v in meta.items():
        p = m.metadata_props.add()
        p.key = k
        p.value = v
    onnx.save(m, path)
    return verify_onnx(name, path)


def verify_onnx(name, path):
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    opsets = {o.domain: o.version for o in m.opset_import}
    assert opsets.get("", opsets.get("ai.onnx")) == OPSET, opsets
    assert len(m.graph.input) == 1 and m.graph.input[0].name == "input"
    assert len(m.graph.output) == 1 and m.graph.output[0].name == "logits"

    def dims(vi):
        return [d.dim_param if d.dim_param else d.dim_value
                for d in vi.type.tensor_type.shape.dim]

    assert m.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert dims(m.graph.input[0]) == ["batch", 1, 28, 28], dims(m.graph.input[0])
    assert dims(m.graph.output[0]) == ["batch", 10], dims(m.graph.output[0])
    ops = sorted({n.op_type for n in m.graph.node})
    n_conv = sum(1 for n in m.graph.node if n.op_type == "Conv")
    bns = [n for n in m.graph.node if n.op_type == "BatchNormalization"]
    if n_conv:
        assert len(bns) == n_conv, "BatchNormalization nodes were folded (%d conv, %d bn)" % (
            n_conv, len(bns))
    for bn in bns:
        assert len(bn.output) == 1, "BatchNormalization in training form"
        for a in bn.attribute:
            assert not (a.name == "training_mode" and a.i == 1)
    assert "Identity" not in ops, "unexpected Identity nodes"
    relu6 = [n for n in m.graph.node if n.op_type == "Clip"]
    if name == "mobilenet":
        assert relu6, "ReLU6 should export as Clip"
    shape_ops = sorted({n.op_type for n in m.graph.node
                        if n.op_type in ("Shape", "Gather", "Unsqueeze", "Concat", "Reshape",
                                         "Constant", "ConstantOfShape")})
    return {"ops": ops, "n_nodes": len(m.graph.node), "n_conv": n_conv, "n_bn": len(bns),
            "shape_or_constant_ops": shape_ops,
            "meta": {p.key: p.value for p in m.metadata_props}}


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(ALL_MODELS))
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--epochs", type=int, default=None,
                    help="override the per-model epoch count (for quick tests)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False

    names = [s.strip() for s in args.models.split(",") if s.strip()]
    for nm in names:
        if nm not in BUILDERS:
            sys.exit("unknown model %r (choose from %s)" % (nm, ",".join(ALL_MODELS)))
    os.makedirs(args.out, exist_ok=True)

    t0 = time.time()
    xtr_u8, y_train = load_split("train")
    xte_u8, y_test = load_split("test")
    x_train = preprocess(xtr_u8)
    x_test = preprocess(xte_u8)
    print("data: train %s test %s (%.1fs)" % (x_train.shape, x_test.shape, time.time() - t0),
          flush=True)

    results_path = os.path.join(args.out, "torch_results.json")
    results = {}
    if os.path.exists(results_path):
        with open(results_path) as f:
            results = json.load(f)

    for name in names:
        epochs = args.epochs if args.epochs is not None else EPOCHS[name]
        model, train_s = train_model(name, epochs, x_train, y_train, x_test, y_test)
        pred, correct = evaluate(model, x_test, y_test)
        path = os.path.join(args.out, name + ".onnx")
        info = export_onnx(model, name, path)
        res = {
            "top1": correct / float(y_test.shape[0]),
            "correct": correct,
            "n": int(y_test.shape[0]),
            "params": count_params(model),
            "macs": count_macs(model),
            "onnx_bytes": os.path.getsize(path),
            "pred_sha256": hashlib.sha256(pred.tobytes()).hexdigest()[:16],
            "pred_sha256_of": "int8 argmax over the 10000 t10k images, in file order",
            "epochs": epochs,
            "train_seconds": round(train_s, 1),
        }
        results[name] = res
        print("[%s] done: %s" % (name, json.dumps(res)), flush=True)
        print("[%s] onnx: ops=%s bn=%d conv=%d shape/const ops=%s"
              % (name, info["ops"], info["n_bn"], info["n_conv"], info["shape_or_constant_ops"]),
              flush=True)
        with open(results_path, "w") as f:
            json.dump(results, f, indent=2, sort_keys=True)
            f.write("\n")
    print("total %.1fs" % (time.time() - t0), flush=True)


if __name__ == "__main__":
    main()
