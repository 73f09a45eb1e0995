// onnx_test_util.h: build small ONNX models with the protobuf API and write them to a temp folder.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "temp_dir.h"

namespace lowbit::onnx::testing {

using lowbit::testing::TempDir;

using ::onnx::AttributeProto;
using ::onnx::GraphProto;
using ::onnx::ModelProto;
using ::onnx::NodeProto;
using ::onnx::TensorProto;


inline void write_bytes(const std::string& path, std::string_view bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(f.good()) << "cannot write " << path;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

inline std::string serialize(const ModelProto& m) {
  std::string s;
  EXPECT_TRUE(m.SerializeToString(&s));
  return s;
}

inline void save(const ModelProto& m, const std::string& path) { write_bytes(path, serialize(m)); }

inline ModelProto new_model(int64_t opset = 13) {
  ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("lowbit-test");
  ::onnx::OperatorSetIdProto* o = m.add_opset_import();
  o->set_domain("");
  o->set_version(opset);
  m.mutable_graph()->set_name("g");
  return m;
}

// A graph input / output of `elem_type`; dims < 0 are unknown, named by `params[i]` when given.
inline void add_value_info(::onnx::ValueInfoProto* vi, const std::string& name, int32_t elem_type,
                           const std::vector<int64_t>& dims, const std::vector<std::string>& params = {}) {
  vi->set_name(name);
  ::onnx::TypeProto::Tensor* tt = vi->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem_type);
  ::onnx::TensorShapeProto* sp = tt->mutable_shape();
  for (size_t i = 0; i < dims.size(); ++i) {
    ::onnx::TensorShapeProto::Dimension* d = sp->add_dim();
    if (dims[i] >= 0) d->set_dim_value(dims[i]);
    else if (i < params.size() && !params[i].empty()) d->set_dim_param(params[i]);
  }
}
inline void add_input(GraphProto* g, const std::string& name, int32_t elem_type, const std::vector<int64_t>& dims,
                      const std::vector<std::string>& params = {}) {
  add_value_info(g->add_input(), name, elem_type, dims, params);
}
inline void add_output(GraphProto* g, const std::string& name, int32_t elem_type = TensorProto::FLOAT,
                       const std::vector<int64_t>& dims = {}) {
  ::onnx::ValueInfoProto* vi = g->add_output();
  vi->set_name(name);
  vi->mutable_type()->mutable_tensor_type()->set_elem_type(elem_type);
  if (!dims.empty()) add_value_info(vi, name, elem_type, dims);
}

inline NodeProto* add_node(GraphProto* g, const std::string& op_type, const std::vector<std::string>& inputs,
                           const std::vector<std::string>& outputs, const std::string& name = "") {
  NodeProto* n = g->add_node();
  n->set_op_type(op_type);
  if (!name.empty()) n->set_name(name);
  for (const std::string& i : inputs) n->add_input(i);
  for (const std::string& o : outputs) n->add_output(o);
  return n;
}

inline TensorProto float_tensor(const std::string& name, const std::vector<int64_t>& dims,
                                const std::vector<float>& values) {
  TensorProto t;
  t.set_name(name);
  t.set_data_type(TensorProto::FLOAT);
  for (int64_t d : dims) t.add_dims(d);
  for (float v : values) t.add_float_data(v);
  return t;
}

inline AttributeProto* add_attr(NodeProto* n, const std::string& name, AttributeProto::AttributeType type) {
  AttributeProto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(type);
  return a;
}

// x[N,4] (N = dim_param "batch") -> MatMul w[4,3] -> Add b[3] -> Relu -> y[N,3].
inline ModelProto small_mlp() {
  ModelProto m = new_model(13);
  GraphProto* g = m.mutable_graph();
  add_input(g, "x", TensorProto::FLOAT, {-1, 4}, {"batch"});
  std::vector<float> w(12);
  for (size_t i = 0; i < w.size(); ++i) w[i] = 0.25f * static_cast<float>(i) - 1.0f;
  *g->add_initializer() = float_tensor("w", {4, 3}, w);
  *g->add_initializer() = float_tensor("b", {3}, {0.5f, -0.5f, 1.5f});
  add_node(g, "MatMul", {"x", "w"}, {"xw"}, "mm");
  add_node(g, "Add", {"xw", "b"}, {"z"}, "add");
  add_node(g, "Relu", {"z"}, {"y"}, "relu");
  add_output(g, "y", TensorProto::FLOAT, {-1, 3});
  return m;
}

}  // namespace lowbit::onnx::testing
