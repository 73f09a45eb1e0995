#!/usr/bin/python3
"""make_foreign_qdq.py: quantizes an FP32 ONNX model to QDQ the way ONNX Runtime's quantize_static does.

    make_foreign_qdq.py FP32_MODEL.onnx FASHION_MNIST_DIR OUT.onnx [--calib N]

A stand-in for "a model quantized by another tool", written independently of lowbit (numpy and
onnx only, no onnxruntime), so lowbit's QDQ importer can be tested on a file it did not write.
It follows ORT's static QDQ quantization with the options
    QuantFormat.QDQ, per_channel=True, activation_type=QInt8, weight_type=QInt8,
    extra_options={"ActivationSymmetric": True, "WeightSymmetric": True}
i.e. a different style from lowbit's own (u8 asymmetric activations, one DQ per activation):
  - BatchNormalization folded into the Conv before it (ORT's pre-processing does this);
  - activations: int8 symmetric per tensor, zero point 0, scale = max|x| / 127 with max|x| from
    min/max calibration over the first N training images (a numpy interpreter below runs the
    FP32 graph); the graph input is quantized too when a quantized op reads it;
  - weights: int8 symmetric per output channel (Conv axis 0, Gemm axis 0 with transB=1 else 1),
    scale = max|w| / 127, values in [-127, 127];
  - biases of Conv / Gemm: int32, scale s_x * s_w[c], zero point 0, through DequantizeLinear;
  - QDQ on the inputs and outputs of Conv, Gemm, MatMul, Add, Mul, GlobalAveragePool,
    AveragePool, MaxPool (output shares its input's scale), and Relu / Clip: with symmetric
    activations ORT keeps these (it drops them only for asymmetric ones, whose range already
    starts at 0) and quantizes both sides; other ops (Flatten, ...) stay FP32 between pairs;
  - one QuantizeLinear per quantized tensor and a separate DequantizeLinear for every reader
    (what ORT's session sees after EnsureUniqueDQForNodeUnit); a quantized graph output is the
    output of its own DequantizeLinear and keeps its name;
  - ORT's names (T_scale, T_zero_point, T_QuantizeLinear, W_quantized, ...), opset 13,
    producer "onnx.quantize", no metadata_props.
The model is checked (onnx.checker, strict shape inference) before it is written; the same
inputs give the same bytes (one BLAS thread, fixed order everywhere).
"""

import os

# One BLAS thread before numpy loads: calibration sums in a fixed order, so the scales (and the
# file) are the same bytes on every run.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import gzip  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

QMAX = 127  # symmetric int8: [-127, 127]
# Ops whose inputs and outputs get QDQ (ORT's QDQ registry plus the QLinear ops it quantizes).
QUANT_OPS = {"Conv", "Gemm", "MatMul", "Add", "Mul", "GlobalAveragePool", "AveragePool", "MaxPool", "Relu", "Clip"}
# Ops whose output reuses the input's quantization parameters (ORT's Direct8BitOp handling).
SAME_AS_INPUT_OPS = {"MaxPool"}


def fail(msg):
    print(f"make_foreign_qdq: {msg}", file=sys.stderr)
    sys.exit(2)


# ---------------------------------------------------------------------------------------------
# Data


def read_idx_images(path, count):
    """The first `count` images of an IDX3 file (gzip or not) as uint8 [count, 1, rows, cols]."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        head = f.read(16)
        if len(head) != 16:
            fail(f"{path}: truncated IDX header")
        magic, n, rows, cols = struct.unpack(">IIII", head)
        if magic != 2051:
            fail(f"{path}: not an IDX3 image file (magic {magic})")
        count = min(count, n)
        data = f.read(count * rows * cols)
        if len(data) != count * rows * cols:
            fail(f"{path}: truncated image data")
    return np.frombuffer(data, dtype=np.uint8).reshape(count, 1, rows, cols)


def find_train_images(root):
    for name in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"):
        p = os.path.join(root, name)
        if os.path.exists(p):
            return p
    fail(f"{root}: no train-images-idx3-ubyte[.gz] (install the Debian package dataset-fashion-mnist)")


def normalize(pixels, scale, mean, std):
    """(pixel / scale - mean) / std in float32, in that order (what torchvision computes)."""
    x = pixels.astype(np.float32) / np.float32(scale)
    return ((x - np.float32(mean)) / np.float32(std)).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# A small numpy interpreter for the ops of the reference models (plus Q / DQ for the self-check)


def attrs_of(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def conv(x, w, b, at):
    if at.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        fail("Conv with auto_pad is not supported")
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    g = at.get("group", 1)
    sh, sw = at.get("strides", [1, 1])
    dh, dw = at.get("dilations", [1, 1])
    pt, pl, pb, pr = at.get("pads", [0, 0, 0, 0])
    if c != cg * g or m % g:
        fail(f"Conv: {c} input channels, weight {list(w.shape)}, group {g} do not fit")
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    oh = (h + pt + pb - (dh * (kh - 1) + 1)) // sh + 1
    ow = (wd + pl + pr - (dw * (kw - 1) + 1)) // sw + 1
    # im2col: cols[n, c, i, j, oy, ox] = xp[n, c, oy*sh + i*dh, ox*sw + j*dw]
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=np.float32)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh, j * dw:j * dw + sw * (ow - 1) + 1:sw]
    cols = cols.reshape(n, g, cg * kh * kw, oh * ow)
    wm = w.reshape(g, m // g, cg * kh * kw)
    if cg * kh * kw <= 16 and m // g == 1:  # depthwise: a broadcast multiply beats many tiny GEMMs
        y = np.einsum("gk,ngkp->ngp", wm[:, 0, :], cols)
    else:
        y = np.matmul(wm[None], cols)
    y = y.reshape(n, m, oh, ow)
    if b is not None:
        y = y + b.reshape(1, m, 1, 1)
    return y.astype(np.float32)


def max_pool(x, at):
    if at.get("ceil_mode", 0) != 0 or any(d != 1 for d in at.get("dilations", [1, 1])):
        fail("MaxPool with ceil_mode or dilations is not supported")
    kh, kw = at["kernel_shape"]
    sh, sw = at.get("strides", [1, 1])
    pt, pl, pb, pr = at.get("pads", [0, 0, 0, 0])
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)), constant_values=-np.inf)
    oh = (h + pt + pb - kh) // sh + 1
    ow = (w + pl + pr - kw) // sw + 1
    y = np.full((n, c, oh, ow), -np.inf, dtype=np.float32)
    for i in range(kh):
        for j in range(kw):
            y = np.maximum(y, xp[:, :, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw])
    return y


def gemm(a, b, c, at):
    if at.get("transA", 0):
        a = a.T
    if at.get("transB", 0):
        b = b.T
    y = np.float32(at.get("alpha", 1.0)) * (a @ b)
    if c is not None:
        y = y + np.float32(at.get("beta", 1.0)) * c
    return y.astype(np.float32)


def quantize_linear(x, s, z, axis):
    if s.ndim == 1 and s.size > 1:
        shape = [1] * x.ndim
        shape[axis] = s.size
        s, z = s.reshape(shape), z.reshape(shape)
    info = np.iinfo(z.dtype)
    q = np.round(x / s) + z.astype(np.float32)
    return np.clip(q, info.min, info.max).astype(z.dtype)


def dequantize_linear(q, s, z, axis):
    if s.ndim == 1 and s.size > 1:
        shape = [1] * q.ndim
        shape[axis] = s.size
        s, z = s.reshape(shape), z.reshape(shape)
    return ((q.astype(np.int64) - z.astype(np.int64)).astype(np.float32) * s).astype(np.float32)


def run_node(node, ins):
    at = attrs_of(node)
    op = node.op_type
    x = ins[0] if ins else None
    if op == "Conv":
        return conv(x, ins[1], ins[2] if len(ins) > 2 else None, at)
    if op == "Relu":
        return np.maximum(x, np.float32(0))
    if op == "Clip":
        lo = ins[1] if len(ins) > 1 and ins[1] is not None else np.float32(-np.inf)
        hi = ins[2] if len(ins) > 2 and ins[2] is not None else np.float32(np.inf)
        return np.clip(x, lo, hi).astype(np.float32)
    if op == "Add":
        return (ins[0] + ins[1]).astype(np.float32)
    if op == "Mul":
        return (ins[0] * ins[1]).astype(np.float32)
    if op == "MaxPool":
        return max_pool(x, at)
    if op == "GlobalAveragePool":
        return x.mean(axis=tuple(range(2, x.ndim)), keepdims=True, dtype=np.float32)
    if op == "Flatten":
        axis = at.get("axis", 1)
        return x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)
    if op == "Gemm":
        return gemm(ins[0], ins[1], ins[2] if len(ins) > 2 else None, at)
    if op == "MatMul":
        return (ins[0] @ ins[1]).astype(np.float32)
    if op == "BatchNormalization":
        scale, bias, mean, var = ins[1:5]
        shape = (1, -1) + (1,) * (x.ndim - 2)
        inv = (scale / np.sqrt(var + np.float32(at.get("epsilon", 1e-5)))).reshape(shape)
        return ((x - mean.reshape(shape)) * inv + bias.reshape(shape)).astype(np.float32)
    if op == "Constant":
        return numpy_helper.to_array(at["value"])
    if op == "Identity":
        return x
    if op == "Reshape":
        return x.reshape([d if d != 0 else x.shape[k] for k, d in enumerate(ins[1].tolist())])
    if op == "QuantizeLinear":
        return quantize_linear(x, ins[1], ins[2], at.get("axis", 1))
    if op == "DequantizeLinear":
        return dequantize_linear(x, ins[1], ins[2], at.get("axis", 1))
    fail(f"op {op} (node '{node.name}') is not supported by this script's interpreter")


def run_graph(graph, feeds, observe=None):
    """Runs `graph` on `feeds` (name -> array); calls observe(name, value) for every float tensor made."""
    env = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    env.update(feeds)
    if observe:
        for name, v in feeds.items():
            observe(name, v)
    for node in graph.node:
        ins = [env[i] if i else None for i in node.input]
        y = run_node(node, ins)
        env[node.output[0]] = y
        if observe and y.dtype == np.float32 and node.op_type != "Constant":
            observe(node.output[0], y)
    return [env[o.name] for o in graph.output]


# ---------------------------------------------------------------------------------------------
# Graph preparation: BatchNormalization folded into Conv


def fold_batch_norms(graph):
    """Returns (nodes, initializers) with every Conv -> BatchNormalization pair made one Conv."""
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    readers = {}
    for node in graph.node:
        for i in node.input:
            readers[i] = readers.get(i, 0) + 1
    graph_outputs = {o.name for o in graph.output}
    producer = {node.output[0]: node for node in graph.node}
    folded_into = {}  # conv output -> BN node
    folded_bn_outputs = set()
    for node in graph.node:
        if node.op_type != "BatchNormalization" or not all(i in inits for i in node.input[1:5]):
            continue
        src = producer.get(node.input[0])
        if (src is None or src.op_type != "Conv" or readers.get(src.output[0], 0) != 1 or src.output[0] in graph_outputs
                or src.input[1] not in inits or readers.get(src.input[1], 0) != 1):
            continue
        folded_into[src.output[0]] = node
        folded_bn_outputs.add(node.output[0])
    nodes = []
    for node in graph.node:
        if node.op_type == "BatchNormalization" and node.output[0] in folded_bn_outputs:
            continue
        bn = folded_into.get(node.output[0]) if node.op_type == "Conv" else None
        if bn is None:
            nodes.append(node)
            continue
        gamma, beta, mean, var = (inits[i].astype(np.float64) for i in bn.input[1:5])
        eps = attrs_of(bn).get("epsilon", 1e-5)
        k = gamma / np.sqrt(var + eps)
        w = inits[node.input[1]].astype(np.float64)
        b = inits[node.input[2]].astype(np.float64) if len(node.input) > 2 and node.input[2] else np.zeros(w.shape[0])
        inits[node.input[1]] = (w * k.reshape(-1, 1, 1, 1)).astype(np.float32)
        bias_name = bn.input[2]  # BN's beta initializer becomes the Conv bias (it has no other reader)
        inits[bias_name] = ((b - mean) * k + beta).astype(np.float32)
        fused = helper.make_node("Conv", [node.input[0], node.input[1], bias_name], [bn.output[0]], name=node.name)
        fused.attribute.extend(node.attribute)
        nodes.append(fused)
    used = {i for n in nodes for i in n.input}
    return nodes, {name: v for name, v in inits.items() if name in used}


# ---------------------------------------------------------------------------------------------
# Calibration and quantization parameters


class MinMax:
    def __init__(self):
        self.lo, self.hi = {}, {}

    def __call__(self, name, v):
        lo, hi = float(v.min()), float(v.max())
        self.lo[name] = min(lo, self.lo.get(name, lo))
        self.hi[name] = max(hi, self.hi.get(name, hi))

    def scale(self, name):
        """ORT's symmetric scale: the range widened to include 0, then max|x| / 127 (1 for an all-zero tensor)."""
        absmax = max(abs(min(self.lo[name], 0.0)), abs(max(self.hi[name], 0.0)))
        return np.float32(absmax / QMAX) if absmax > 0 else np.float32(1.0)


def weight_scales(w, axis):
    """Per-channel symmetric scales max|w| / 127 along `axis` (1 where a channel is all zero)."""
    absmax = np.abs(np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)).max(axis=1)
    s = (absmax / np.float32(QMAX)).astype(np.float32)
    s[absmax == 0] = 1.0
    return s


def quantize_weight(w, s, axis):
    shape = [1] * w.ndim
    shape[axis] = s.size
    return np.clip(np.round(w / s.reshape(shape)), -QMAX, QMAX).astype(np.int8)


def plan_activations(nodes, inits):
    """The tensors to quantize in ORT's visiting order: name -> the tensor whose parameters it uses."""
    plan = {}

    def want(name, like=None):
        if name and name not in inits and name not in plan:
            plan[name] = like if like is not None else name

    for node in nodes:
        op = node.op_type
        if op in ("Conv", "Gemm"):
            want(node.input[0])
        elif op == "MatMul":
            want(node.input[0])
            want(node.input[1])
        elif op in ("Add", "Mul"):
            for i in node.input:
                want(i)
        elif op in ("GlobalAveragePool", "AveragePool", "MaxPool"):
            want(node.input[0])
        elif op in ("Relu", "Clip"):
            if node.input[0] not in plan:  # ORT keeps an activation whose input is not quantized as it is
                continue
            want(node.input[0])
        if op in QUANT_OPS:
            want(node.output[0], plan.get(node.input[0]) if op in SAME_AS_INPUT_OPS else None)
    return plan


def weight_axis(node):
    if node.op_type == "Conv":
        return 0
    if node.op_type == "Gemm":
        return 0 if attrs_of(node).get("transB", 0) else 1
    return 1  # MatMul B [K, N]: output channels on axis 1


# ---------------------------------------------------------------------------------------------
# Building the QDQ graph


def build_qdq_model(model, nodes, inits, minmax):
    graph = model.graph
    graph_inputs = [i.name for i in graph.input if i.name not in inits]
    graph_outputs = [o.name for o in graph.output]
    plan = plan_activations(nodes, inits)

    new_inits = []  # TensorProtos, in creation order
    new_nodes = []

    def add_init(name, array):
        new_inits.append(numpy_helper.from_array(array, name))
        return name

    # Readers of every tensor, as (node index, input slot), in graph order.
    readers = {}
    for k, node in enumerate(nodes):
        for slot, name in enumerate(node.input):
            if name:
                readers.setdefault(name, []).append((k, slot))
    rewired = {}  # (node index, slot) -> new input name

    # Scale / zero-point initializers per parameter source, created once.
    param_names = {}

    def params_for(src):
        if src not in param_names:
            s = minmax.scale(src)
            param_names[src] = (add_init(src + "_scale", np.array(s, dtype=np.float32)),
                                add_init(src + "_zero_point", np.array(0, dtype=np.int8)))
        return param_names[src]

    renamed_outputs = {}  # producer output renamed because the tensor is a graph output

    def emit_qdq(name):
        """Q for `name`, then one DQ per reader slot and one per graph-output occurrence."""
        src = plan[name]
        scale, zp = params_for(src)
        q_in = renamed_outputs.get(name, name)
        q_out = name + "_QuantizeLinear_Output"
        new_nodes.append(helper.make_node("QuantizeLinear", [q_in, scale, zp], [q_out], name=name + "_QuantizeLinear"))
        count = 0
        for key in readers.get(name, []):
            suffix = "" if count == 0 else f"_{count}"
            dq_out = name + "_DequantizeLinear_Output" + suffix
            new_nodes.append(helper.make_node("DequantizeLinear", [q_out, scale, zp], [dq_out],
                                              name=name + "_DequantizeLinear" + suffix))
            rewired[key] = dq_out
            count += 1
        if name in graph_outputs:
            suffix = "" if count == 0 else f"_{count}"
            new_nodes.append(helper.make_node("DequantizeLinear", [q_out, scale, zp], [name],
                                              name=name + "_DequantizeLinear" + suffix))

    for name in graph_inputs:
        if name in plan:
            emit_qdq(name)

    for k, node in enumerate(nodes):
        ins = list(node.input)
        if node.op_type in ("Conv", "Gemm", "MatMul") and len(ins) > 1 and ins[1] in inits and ins[0] in plan:
            w = inits[ins[1]]
            axis = weight_axis(node)
            ws = weight_scales(w, axis)
            wq = quantize_weight(w, ws, axis)
            dq_inputs = [add_init(ins[1] + "_quantized", wq), add_init(ins[1] + "_scale", ws),
                         add_init(ins[1] + "_zero_point", np.zeros(ws.shape, dtype=np.int8))]
            w_out = ins[1] + "_DequantizeLinear_Output"
            new_nodes.append(helper.make_node("DequantizeLinear", dq_inputs, [w_out], name=ins[1] + "_DequantizeLinear",
                                              axis=axis))
            ins[1] = w_out
            if len(ins) > 2 and ins[2] in inits:
                b = inits[ins[2]]
                # s_x * s_w[c] in float32, as ORT's quantize_bias_static computes it.
                x_scale = np.float32(minmax.scale(plan[node.input[0]]))
                bs = (x_scale * ws).astype(np.float32)
                info = np.iinfo(np.int32)
                bq = np.clip(np.round(b.astype(np.float64) / bs), info.min, info.max).astype(np.int32)
                dq_inputs = [add_init(ins[2] + "_quantized", bq), add_init(ins[2] + "_quantized_scale", bs),
                             add_init(ins[2] + "_quantized_zero_point", np.zeros(bs.shape, dtype=np.int32))]
                b_out = ins[2] + "_DequantizeLinear_Output"
                new_nodes.append(helper.make_node("DequantizeLinear", dq_inputs, [b_out],
                                                  name=ins[2] + "_DequantizeLinear", axis=0))
                ins[2] = b_out
        for slot in range(len(ins)):
            if (k, slot) in rewired:
                ins[slot] = rewired[(k, slot)]
        outs = list(node.output)
        if outs[0] in plan and outs[0] in graph_outputs:
            renamed_outputs[outs[0]] = outs[0] + "_QuantizeLinear_Input"
            outs[0] = renamed_outputs[node.output[0]]
        copy = helper.make_node(node.op_type, ins, outs, name=node.name, domain=node.domain or None)
        copy.attribute.extend(node.attribute)
        new_nodes.append(copy)
        if node.output[0] in plan:
            emit_qdq(node.output[0])

    # Initializers the graph still reads as FP32 (e.g. a Gemm weight without a quantized input).
    read = {i for n in new_nodes for i in n.input}
    kept = [numpy_helper.from_array(inits[name], name) for name in inits if name in read]
    out_graph = helper.make_graph(new_nodes, graph.name or "quantized", list(graph.input), list(graph.output),
                                  initializer=kept + new_inits)
    out = helper.make_model(out_graph, opset_imports=[helper.make_opsetid("", 13)],
                            producer_name="onnx.quantize", producer_version="0.1.0")
    out.ir_version = model.ir_version
    return out


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="FP32 ONNX model (opset 13)")
    ap.add_argument("data", help="Fashion-MNIST folder with train-images-idx3-ubyte.gz")
    ap.add_argument("out", help="QDQ ONNX model to write")
    ap.add_argument("--calib", type=int, default=256, help="calibration images: the first N of the training set")
    ap.add_argument("--batch", type=int, default=64, help="images per calibration batch")
    ap.add_argument("--input-scale", type=float, default=255.0, help="x = (pixel / input_scale - mean) / std")
    ap.add_argument("--mean", type=float, default=0.2860)
    ap.add_argument("--std", type=float, default=0.3530)
    args = ap.parse_args()
    if args.calib < 1 or args.batch < 1:
        fail("--calib and --batch must be positive")
    if os.path.abspath(args.out) == os.path.abspath(args.model):
        fail(f"{args.out}: refusing to overwrite the input model")

    try:
        model = onnx.load(args.model)
        onnx.checker.check_model(model)
    except Exception as e:  # noqa: BLE001 - any load or check failure is the user's file
        fail(f"{args.model}: cannot load: {str(e).splitlines()[0] if str(e) else type(e).__name__}")
    opset = {o.domain: o.version for o in model.opset_import}
    if opset.get("", opset.get("ai.onnx", 0)) != 13:
        fail(f"{args.model}: wants opset 13, has {opset}")
    graph = model.graph
    inputs = [i for i in graph.input if i.name not in {t.name for t in graph.initializer}]
    if len(inputs) != 1:
        fail(f"{args.model}: wants one input, has {len(inputs)}")

    nodes, inits = fold_batch_norms(graph)
    folded = helper.make_graph(nodes, "folded", list(graph.input), list(graph.output),
                               initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])

    images = normalize(read_idx_images(find_train_images(args.data), args.calib), args.input_scale, args.mean, args.std)
    minmax = MinMax()
    fp32_logits, fold_err = [], 0.0
    for b0 in range(0, len(images), args.batch):
        xb = images[b0:b0 + args.batch]
        y = run_graph(folded, {inputs[0].name: xb}, minmax)[0]
        fp32_logits.append(y)
        if b0 == 0:  # the folded graph computes what the original one does
            fold_err = float(np.abs(run_graph(graph, {inputs[0].name: xb})[0] - y).max())
    if fold_err > 1e-3:
        fail(f"internal error: BatchNormalization folding changed the logits by {fold_err}")

    out = build_qdq_model(model, nodes, inits, minmax)
    try:
        onnx.checker.check_model(out, full_check=True)
        out = onnx.shape_inference.infer_shapes(out, check_type=True, strict_mode=True)
    except Exception as e:  # noqa: BLE001
        fail(f"internal error: the QDQ model does not validate: {str(e).splitlines()[0]}")

    # Self-check: the QDQ graph, run by the interpreter above, predicts what FP32 does on most
    # calibration images (a broken scale or a wrong axis would wreck this).
    agree = 0
    for k, b0 in enumerate(range(0, len(images), args.batch)):
        y = run_graph(out.graph, {inputs[0].name: images[b0:b0 + args.batch]})[0]
        agree += int((y.argmax(axis=1) == fp32_logits[k].argmax(axis=1)).sum())
    if len(images) >= 32 and agree < 0.9 * len(images):
        fail(f"internal error: the QDQ model agrees with FP32 on only {agree}/{len(images)} calibration images")

    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(out.SerializeToString())
    os.replace(tmp, args.out)
    counts = {}
    for n in out.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    print(f"make_foreign_qdq: wrote {args.out}: {counts.get('QuantizeLinear', 0)} QuantizeLinear, "
          f"{counts.get('DequantizeLinear', 0)} DequantizeLinear; QDQ vs FP32 argmax agree on {agree}/{len(images)} "
          f"calibration images")


if __name__ == "__main__":
    main()
