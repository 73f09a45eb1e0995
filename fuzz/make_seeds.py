#!/usr/bin/python3
"""make_seeds.py: write the small seed models in fuzz/seeds/ (each < 10 KB) for onnx_import_fuzz.

Run once by hand (/usr/bin/python3 fuzz/make_seeds.py); the outputs are committed, so neither
the build nor scripts/fuzz.sh needs Python. Each seed exercises a different part of the importer:
storage forms, dtypes, Constant nodes, attribute kinds, subgraph attributes, shapes.
"""
import os

import numpy as np
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")


def save(name, graph, opset=13, extra_opsets=(), metadata=None):
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in extra_opsets],
        producer_name="lowbit-seeds")
    if metadata:
        helper.set_model_props(model, metadata)
    data = model.SerializeToString()
    assert len(data) < 10_000, (name, len(data))
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def mlp():
    w = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3) / 8 - 0.5, "w")
    b = helper.make_tensor("b", TensorProto.FLOAT, [3], [0.5, -0.5, 1.5])  # typed float_data
    nodes = [helper.make_node("MatMul", ["x", "w"], ["xw"], name="mm"),
             helper.make_node("Add", ["xw", "b"], ["z"]),
             helper.make_node("Relu", ["z"], ["y"])]
    g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])], [w, b],
                          value_info=[helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", 3])])
    save("mlp.onnx", g, metadata={"author": "seed"})


def dtypes():
    inits = [
        helper.make_tensor("i8", TensorProto.INT8, [4], [-128, -1, 0, 127]),
        helper.make_tensor("u8", TensorProto.UINT8, [2, 2], [0, 1, 200, 255]),
        helper.make_tensor("i32", TensorProto.INT32, [2], [-5, 7]),
        helper.make_tensor("i64", TensorProto.INT64, [3], [-1, 2**40, 7]),
        helper.make_tensor("bo", TensorProto.BOOL, [2], [True, False]),
        helper.make_tensor("d", TensorProto.DOUBLE, [2], [0.1, -2.5]),
        helper.make_tensor("h", TensorProto.FLOAT16, [2], np.array([1.0, -2.0], dtype=np.float16)),
        numpy_helper.from_array(np.array([1, 2, 3], dtype=np.int64), "i64raw"),
        numpy_helper.from_array(np.array([0.5, 1.5], dtype=np.float16), "hraw"),
        numpy_helper.from_array(np.array([3.0], dtype=np.float64), "draw"),
        numpy_helper.from_array(np.zeros((0, 3), dtype=np.float32), "empty"),
    ]
    nodes = [helper.make_node("Identity", [t.name], [t.name + "_out"]) for t in inits]
    outs = [helper.make_tensor_value_info(t.name + "_out", t.data_type, None) for t in inits]
    save("dtypes.onnx", helper.make_graph(nodes, "dtypes", [], outs, inits))


def constants():
    nodes = [
        helper.make_node("Constant", [], ["c_t"], value=helper.make_tensor("t", TensorProto.FLOAT, [2], [3.0, 4.0])),
        helper.make_node("Constant", [], ["c_f"], value_float=2.5),
        helper.make_node("Constant", [], ["c_fs"], value_floats=[1.0, -1.0]),
        helper.make_node("Constant", [], ["c_i"], value_int=-9),
        helper.make_node("Constant", [], ["c_is"], value_ints=[2, 1]),
        helper.make_node("Reshape", ["c_t", "c_is"], ["r"], name="reshape"),
        helper.make_node("Mul", ["r", "c_f"], ["y"]),
    ]
    save("constants.onnx", helper.make_graph(nodes, "constants", [],
                                             [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 1])]))


def attributes():
    n = helper.make_node("Conv", ["x", "w", ""], ["y", ""], name="conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         strides=[1, 1], group=1, auto_pad="NOTSET", alpha=0.25, scales=[0.5, 2.0],
                         modes=["a", "b"], t=helper.make_tensor("t", TensorProto.INT64, [1], [7]))
    w = numpy_helper.from_array(np.ones((2, 1, 3, 3), dtype=np.float32), "w")
    g = helper.make_graph([n], "attrs", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, "h", "w"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    save("attributes.onnx", g, opset=11)


def subgraph():
    then_g = helper.make_graph([helper.make_node("Neg", ["x"], ["t_out"])], "then", [],
                               [helper.make_tensor_value_info("t_out", TensorProto.FLOAT, [2])])
    else_g = helper.make_graph([helper.make_node("Relu", ["x"], ["e_out"])], "else", [],
                               [helper.make_tensor_value_info("e_out", TensorProto.FLOAT, [2])])
    n = helper.make_node("If", ["cond"], ["y"], name="if", then_branch=then_g, else_branch=else_g)
    g = helper.make_graph([n], "control", [helper.make_tensor_value_info("cond", TensorProto.BOOL, []),
                                           helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    save("subgraph.onnx", g, opset=18, extra_opsets=[("com.example", 1)])


def custom_domain():
    n1 = helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"])
    n2 = helper.make_node("Fancy", ["q"], ["y"], domain="com.example", mode="fast")
    inits = [helper.make_tensor("s", TensorProto.FLOAT, [], [0.1]), helper.make_tensor("z", TensorProto.UINT8, [], [128])]
    g = helper.make_graph([n2, n1], "custom", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    save("custom_domain.onnx", g, opset=7, extra_opsets=[("com.example", 2)])


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for make in (mlp, dtypes, constants, attributes, subgraph, custom_domain):
        make()
