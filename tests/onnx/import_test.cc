// import_test.cc: onnx::import_model on well-formed models — storage forms, shapes, constants, names, attributes.
#include "onnx/import.h"

#include <bit>
#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>

#include "onnx_test_util.h"

namespace lowbit::onnx {
namespace {

using namespace lowbit::onnx::testing;

// Little-endian bytes of a vector (the host is little-endian; tensor_proto.cc static_asserts it).
template <typename T>
std::string le_bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// A model whose only content is initializer `t`, passed through Identity to the output.
ModelProto model_with_initializer(const TensorProto& t) {
  ModelProto m = new_model();
  GraphProto* g = m.mutable_graph();
  *g->add_initializer() = t;
  add_node(g, "Identity", {t.name()}, {"y"});
  add_output(g, "y", t.data_type());
  return m;
}

Result<ir::Graph> import_proto(const ModelProto& m, const std::string& base_dir = "") {
  return import_model_from_bytes(serialize(m), "test.onnx", base_dir);
}

template <typename T>
std::vector<T> values_of(const ir::Graph& g, const std::string& name) {
  const int v = g.find_value(name);
  EXPECT_GE(v, 0) << name;
  if (v < 0 || !g.value(v).constant) return {};
  const Tensor& t = *g.value(v).constant;
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

TEST(OnnxImport, SmallMlpFromFile) {
  TempDir tmp;
  const std::string path = tmp.path("mlp.onnx");
  save(small_mlp(), path);
  Result<ir::Graph> r = import_model(path);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const ir::Graph& g = *r;
  EXPECT_EQ(g.name, "g");
  EXPECT_EQ(g.opset, 13);
  EXPECT_EQ(g.producer_name, "lowbit-test");
  ASSERT_EQ(g.nodes.size(), 3u);
  EXPECT_EQ(g.nodes[0].op_type, "MatMul");
  EXPECT_EQ(g.nodes[1].op_type, "Add");
  EXPECT_EQ(g.nodes[2].op_type, "Relu");
  EXPECT_EQ(g.nodes[0].name, "mm");
  ASSERT_EQ(g.inputs.size(), 1u);  // w and b are initializers, not inputs
  EXPECT_EQ(g.value(g.inputs[0]).name, "x");
  ASSERT_EQ(g.outputs.size(), 1u);
  EXPECT_EQ(g.value(g.outputs[0]).name, "y");
  EXPECT_EQ(g.value(g.outputs[0]).producer, 2);

  const int w = g.find_value("w");
  ASSERT_GE(w, 0);
  EXPECT_TRUE(g.value(w).is_initializer);
  EXPECT_EQ(g.value(w).shape, (Shape{4, 3}));
  std::vector<float> want(12);
  for (size_t i = 0; i < want.size(); ++i) want[i] = 0.25f * static_cast<float>(i) - 1.0f;
  EXPECT_EQ(values_of<float>(g, "w"), want);
  EXPECT_EQ(values_of<float>(g, "b"), (std::vector<float>{0.5f, -0.5f, 1.5f}));
}

TEST(OnnxImport, DynamicBatchDimParam) {
  Result<ir::Graph> r = import_proto(small_mlp());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const ir::Value& x = r->value(r->inputs[0]);
  EXPECT_EQ(x.dtype, DType::kF32);
  EXPECT_EQ(x.shape, (Shape{-1, 4}));
  EXPECT_EQ(x.dim_params, (std::vector<std::string>{"batch", ""}));
  const ir::Value& y = r->value(r->outputs[0]);
  EXPECT_EQ(y.shape, (Shape{-1, 3}));
  EXPECT_TRUE(y.dim_params.empty());  // an unnamed unknown dim has no dim_param
}

TEST(OnnxImport, FloatDataTyped) {
  const std::vector<float> v = {1.5f, -2.25f, 0.0f, 3.0e-8f, -1.0e30f, 7.0f};
  Result<ir::Graph> r = import_proto(model_with_initializer(float_tensor("w", {2, 3}, v)));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(values_of<float>(*r, "w"), v);
}

TEST(OnnxImport, FloatRawData) {
  const std::vector<float> v = {1.5f, -2.25f, 0.0f, 3.0e-8f};
  TensorProto t;
  t.set_name("w");
  t.set_data_type(TensorProto::FLOAT);
  t.add_dims(4);
  t.set_raw_data(le_bytes(v));
  Result<ir::Graph> r = import_proto(model_with_initializer(t));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(values_of<float>(*r, "w"), v);
}

TEST(OnnxImport, Int64DataTyped) {
  TensorProto t;
  t.set_name("shape");
  t.set_data_type(TensorProto::INT64);
  t.add_dims(3);
  for (int64_t x : {int64_t{-1}, int64_t{1} << 40, int64_t{7}}) t.add_int64_data(x);
  Result<ir::Graph> r = import_proto(model_with_initializer(t));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(values_of<int64_t>(*r, "shape"), (std::vector<int64_t>{-1, int64_t{1} << 40, 7}));
}

TEST(OnnxImport, Int32DataForInt8Uint8Int32Bool) {
  ModelProto m = new_model();
  GraphProto* g = m.mutable_graph();
  auto add = [&](const std::string& name, int32_t type, const std::vector<int32_t>& vals) {
    TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    t->add_dims(static_cast<int64_t>(vals.size()));
    for (int32_t x : vals) t->add_int32_data(x);
    add_node(g, "Identity", {name}, {name + "_out"});
    add_output(g, name + "_out", type);
  };
  add("i8", TensorProto::INT8, {-128, -1, 0, 127});
  add("u8", TensorProto::UINT8, {0, 1, 200, 255});
  add("i32", TensorProto::INT32, {INT32_MIN, -5, 0, INT32_MAX});
  add("b", TensorProto::BOOL, {0, 1, 1, 0});
  Result<ir::Graph> r = import_proto(m);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(values_of<int8_t>(*r, "i8"), (std::vector<int8_t>{-128, -1, 0, 127}));
  EXPECT_EQ(values_of<uint8_t>(*r, "u8"), (std::vector<uint8_t>{0, 1, 200, 255}));
  EXPECT_EQ(values_of<int32_t>(*r, "i32"), (std::vector<int32_t>{INT32_MIN, -5, 0, INT32_MAX}));
  const Tensor& b = *r->value(r->find_value("b")).constant;
  EXPECT_EQ(b.dtype(), DType::kBool);
  const uint8_t* bp = static_cast<const uint8_t*>(b.raw());
  EXPECT_EQ(std::vector<uint8_t>(bp, bp + 4), (std::vector<uint8_t>{0, 1, 1, 0}));
}

TEST(OnnxImport, RawDataForIntegerTypes) {
  ModelProto m = new_model();
  GraphProto* g = m.mutable_graph();
  auto add = [&](const std::string& name, int32_t type, const std::string& raw, int64_t n) {
    TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    t->add_dims(n);
    t->set_raw_data(raw);
    add_node(g, "Identity", {name}, {name + "_out"});
    add_output(g, name + "_out", type);
  };
  add("i8", TensorProto::INT8, le_bytes<int8_t>({-7, 100, -128}), 3);
  add("u8", TensorProto::UINT8, le_bytes<uint8_t>({255, 0, 9}), 3);
  add("i64", TensorProto::INT64, le_bytes<int64_t>({INT64_MIN, 3}), 2);
  add("b", TensorProto::BOOL, std::string("\x00\x05\x01", 3), 3);  // any non-zero byte is true
  Result<ir::Graph> r = import_proto(m);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(values_of<int8_t>(*r, "i8"), (std::vector<int8_t>{-7, 100, -128}));
  EXPECT_EQ(values_of<uint8_t>(*r, "u8"), (std::vector<uint8_t>{255, 0, 9}));
  EXPECT_EQ(values_of<int64_t>(*r, "i64"), (std::vector<int64_t>{INT64_MIN, 3}));
  const Tensor& b = *r->value(r->find_value("b")).constant;
  const uint8_t* bp = static_cast<const uint8_t*>(b.raw());
  EXPECT_EQ(std::vector<uint8_t>(bp, bp + 3), (std::vector<uint8_t>{0, 1, 1}));
}

TEST(OnnxImport, DoubleAndFloat16ConvertToF32) {
  ModelProto m = new_model();
  GraphProto* g = m.mutable_graph();
  TensorProto* d = g->add_initializer();  // typed double_data
  d->set_name("d");
  d->set_data_type(TensorProto::DOUBLE);
  d->add_dims(3);
  for (double x : {0.1, -2.5, 1e300}) d->add_double_data(x);
  TensorProto* h = g->add_initializer();  // FLOAT16 bit patterns in int32_data
  h->set_name("h");
  h->set_data_type(TensorProto::FLOAT16);
  h->add_dims(5);
  // 1.0, -2.0, 65504 (largest half), 2^-24 (smallest subnormal), +inf
  for (int32_t x : {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x7C00}) h->add_int32_data(x);
  TensorProto* hr = g->add_initializer();  // FLOAT16 in raw_data: 0.5, -0.0
  hr->set_name("hr");
  hr->set_data_type(TensorProto::FLOAT16);
  hr->add_dims(2);
  hr->set_raw_data(le_bytes<uint16_t>({0x3800, 0x8000}));
  for (const char* name : {"d", "h", "hr"}) {
    add_node(g, "Identity", {name}, {std::string(name) + "_out"});
    add_output(g, std::string(name) + "_out");
  }
  Result<ir::Graph> r = import_proto(m);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->value(r->find_value("d")).dtype, DType::kF32);
  const std::vector<float> dv = values_of<float>(*r, "d");
  ASSERT_EQ(dv.size(), 3u);
  EXPECT_EQ(dv[0], static_cast<float>(0.1));
  EXPECT_EQ(dv[1], -2.5f);
  EXPECT_TRUE(std::isinf(dv[2]) && dv[2] > 0);
  const std::vector<float> hv = values_of<float>(*r, "h");
  ASSERT_EQ(hv.size(), 5u);
  EXPECT_EQ(hv[0], 1.0f);
  EXPECT_EQ(hv[1], -2.0f);
  EXPECT_EQ(hv[2], 65504.0f);
  EXPECT_EQ(hv[3], std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(hv[4]) && hv[4] > 0);
  const std::vector<float> hrv = values_of<float>(*r, "hr");
  ASSERT_EQ(hrv.size(), 2u);
  EXPECT_EQ(hrv[0], 0.5f);
  EXPECT_EQ(std::bit_cast<uint32_t>(hrv[1]), 0x80000000u);  // -0.0 keeps its sign
}

TEST(OnnxImport, ExternalDataWithOffsetAndLength) {
  TempDir tmp;
  // weights.bin: 8 junk bytes, then w (2x2 floats), then b (3 int64).
  const std::vector<float> w = {1.0f, -2.0f, 3.5f, 1e-3f};
  const std::vector<int64_t> b = {5, -6, 1LL << 50};
  write_bytes(tmp.path("weights.bin"), std::string(8, 'x') + le_bytes(w) + le_bytes(b));
  ModelProto m = new_model();
  GraphProto* g = m.mutable_graph();
  auto external = [&](const std::string& name, int32_t type, std::vector<int64_t> dims, int64_t offset, int64_t length) {
    TensorProto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(type);
    for (int64_t d : dims) t->add_dims(d);
    t->set_data_location(TensorProto::EXTERNAL);
    auto add = [&](const std::string& k, const std::string& v) {
      ::onnx::StringStringEntryProto* e = t->add_external_data();
      e->set_key(k);
      e->set_value(v);
    };
    add("location", "weights.bin");
    add("offset", std::to_string(offset));
    add("length", std::to_string(length));
    add_node(g, "Identity", {name}, {name + "_out"});
    add_output(g, name + "_out", type);
  };
  external("w", TensorProto::FLOAT, {2, 2}, 8, 16);
  external("b", TensorProto::INT64, {3}, 24, 24);
  const std::string path = tmp.path("model.onnx");
  save(m, path);
  Result<ir::Graph> r = import_model(path);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(values_of<float>(*r, "w"), w);
  EXPECT_EQ(values_of<int64_t>(*r, "b"), b);
  EXPECT_EQ(r->value(r->find_value("w")).shape, (Shape{2, 2}));
}

TEST(OnnxImport, ExternalDataInSubfolderWithoutLength) {
  TempDir tmp;
  std::filesystem::create_directories(tmp.path("data/sub"));
  const std::vector<float> w = {4.0f, 5.0f, 6.0f};
  write_bytes(tmp.path("data/sub/w.bin"), le_bytes(w));
  TensorProto t;
  t.set_name("w");
  t.set_data_type(TensorProto::FLOAT);
  t.add_dims(3);
  t.set_data_location(TensorProto::EXTERNAL);
  ::onnx::StringStringEntryProto* e = t.add_external_data();
  e->set_key("location");
  e->set_value("data/./sub/w.bin");  // no offset, no length: the whole file
  Result<ir::Graph> r = import_proto(model_with_initializer(t), tmp.dir());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(values_of<float>(*r, "w"), w);
}

TEST(OnnxImport, ConstantNodesBecomeConstants) {
  ModelProto m = new_model();
  GraphProto* g = m.mutable_graph();
  add_input(g, "x", TensorProto::FLOAT, {2});
  NodeProto* c1 = add_node(g, "Constant", {}, {"c_tensor"}, "c1");
  *add_attr(c1, "value", AttributeProto::TENSOR)->mutable_t() = float_tensor("", {2}, {3.0f, 4.0f});
  add_attr(add_node(g, "Constant", {}, {"c_float"}), "value_float", AttributeProto::FLOAT)->set_f(2.5f);
  AttributeProto* fs = add_attr(add_node(g, "Constant", {}, {"c_floats"}), "value_floats", AttributeProto::FLOATS);
  fs->add_floats(1.0f);
  fs->add_floats(-1.0f);
  add_attr(add_node(g, "Constant", {}, {"c_int"}), "value_int", AttributeProto::INT)->set_i(-9);
  AttributeProto* is = add_attr(add_node(g, "Constant", {}, {"c_ints"}), "value_ints", AttributeProto::INTS);
  is->add_ints(2);
  is->add_ints(1);
  NodeProto* c6 = add_node(g, "Constant", {}, {"c_domain"});  // "ai.onnx" is the default domain too
  c6->set_domain("ai.onnx");
  add_attr(c6, "value_int", AttributeProto::INT)->set_i(1);
  add_node(g, "Add", {"x", "c_tensor"}, {"y"}, "add");
  add_output(g, "y");
  Result<ir::Graph> r = import_proto(m);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->nodes.size(), 1u);  // only Add is left
  EXPECT_EQ(r->nodes[0].op_type, "Add");
  EXPECT_EQ(values_of<float>(*r, "c_tensor"), (std::vector<float>{3.0f, 4.0f}));
  EXPECT_EQ(r->value(r->find_value("c_tensor")).shape, (Shape{2}));
  EXPECT_FALSE(r->value(r->find_value("c_tensor")).is_initializer);
  EXPECT_EQ(values_of<float>(*r, "c_float"), (std::vector<float>{2.5f}));
  EXPECT_EQ(r->value(r->find_value("c_float")).shape, (Shape{}));  // a scalar
  EXPECT_EQ(values_of<float>(*r, "c_floats"), (std::vector<float>{1.0f, -1.0f}));
  EXPECT_EQ(values_of<int64_t>(*r, "c_int"), (std::vector<int64_t>{-9}));
  EXPECT_EQ(r->value(r->find_value("c_int")).dtype, DType::kI64);
  EXPECT_EQ(values_of<int64_t>(*r, "c_ints"), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(values_of<int64_t>(*r, "c_domain"), (std::vector<int64_t>{1}));
}

TEST(OnnxImport, GeneratedNodeNamesAreUnique) {
  ModelProto m = new_model();
  GraphProto* g = m.mutable_graph();
  add_input(g, "x", TensorProto::FLOAT, {2});
  add_node(g, "Relu", {"x"}, {"a"});             // no name -> Relu_0
  add_node(g, "Relu", {"a"}, {"b"}, "dup");      // keeps "dup"
  add_node(g, "Relu", {"b"}, {"c"}, "dup");      // duplicate -> Relu_2
  add_node(g, "Sigmoid", {"c"}, {"d"}, "Relu_4");  // explicit name that a generated one would take
  add_node(g, "Relu", {"d"}, {"e"});             // Relu_4 is taken -> Relu_4_1
  add_output(g, "e");
  Result<ir::Graph> r = import_proto(m);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  std::vector<std::string> names;
  for (const ir::Node& n : r->nodes) names.push_back(n.name);
  EXPECT_EQ(names, (std::vector<std::string>{"Relu_0", "dup", "Relu_2", "Relu_4", "Relu_4_1"}));
}

TEST(OnnxImport, AttributeKinds) {
  ModelProto m = new_model();
  GraphProto* g = m.mutable_graph();
  add_input(g, "x", TensorProto::FLOAT, {1});
  NodeProto* n = add_node(g, "Custom", {"x", "", "x"}, {"y", ""}, "n");
  n->set_domain("my.domain");
  add_attr(n, "i", AttributeProto::INT)->set_i(-3);
  add_attr(n, "f", AttributeProto::FLOAT)->set_f(0.75f);
  add_attr(n, "s", AttributeProto::STRING)->set_s("NOTSET");
  *add_attr(n, "t", AttributeProto::TENSOR)->mutable_t() = float_tensor("", {1, 2}, {8.0f, 9.0f});
  AttributeProto* ints = add_attr(n, "ints", AttributeProto::INTS);
  for (int64_t v : {1, 2, 3}) ints->add_ints(v);
  AttributeProto* floats = add_attr(n, "floats", AttributeProto::FLOATS);
  for (float v : {0.5f, -0.5f}) floats->add_floats(v);
  AttributeProto* strings = add_attr(n, "strings", AttributeProto::STRINGS);
  strings->add_strings("a");
  strings->add_strings("bc");
  AttributeProto* untyped = n->add_attribute();  // type left UNDEFINED (old exporters): inferred from the field
  untyped->set_name("old");
  untyped->set_i(42);
  AttributeProto* sub = add_attr(n, "body", AttributeProto::GRAPH);  // dropped, noted
  sub->mutable_g()->set_name("subgraph");
  ::onnx::OperatorSetIdProto* o = m.add_opset_import();
  o->set_domain("my.domain");
  o->set_version(2);
  add_output(g, "y");

  ImportNotes notes;
  Result<ir::Graph> r = import_model_from_bytes(serialize(m), "attrs.onnx", "", &notes);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->nodes.size(), 1u);
  const ir::Node& node = r->nodes[0];
  EXPECT_EQ(node.domain, "my.domain");
  EXPECT_EQ(node.inputs.size(), 3u);
  EXPECT_EQ(node.inputs[1], ir::kNoValue);
  EXPECT_EQ(node.outputs.size(), 2u);
  EXPECT_EQ(node.outputs[1], ir::kNoValue);
  const ir::Attributes& a = node.attrs;
  EXPECT_EQ(*a.get_int("i"), -3);
  EXPECT_EQ(*a.get_float("f"), 0.75f);
  EXPECT_EQ(*a.get_string("s"), "NOTSET");
  const Tensor t = *a.get_tensor("t");
  EXPECT_EQ(t.shape(), (Shape{1, 2}));
  EXPECT_EQ(t.data<float>()[1], 9.0f);
  EXPECT_EQ(*a.get_ints("ints"), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(*a.get_floats("floats"), (std::vector<float>{0.5f, -0.5f}));
  EXPECT_EQ(*a.get_strings("strings"), (std::vector<std::string>{"a", "bc"}));
  EXPECT_EQ(*a.get_int("old"), 42);
  EXPECT_FALSE(a.has("body"));
  ASSERT_EQ(notes.dropped_attributes.size(), 1u);
  EXPECT_EQ(notes.dropped_attributes[0], "node 'n' attribute 'body' (GRAPH)");
  EXPECT_EQ(r->opsets.at(""), 13);
  EXPECT_EQ(r->opsets.at("my.domain"), 2);
}

TEST(OnnxImport, MetadataOpsetsAndValueInfo) {
  ModelProto m = small_mlp();
  m.mutable_opset_import(0)->set_domain("ai.onnx");  // same as ""
  m.mutable_opset_import(0)->set_version(18);
  ::onnx::StringStringEntryProto* p = m.add_metadata_props();
  p->set_key("author");
  p->set_value("tests");
  add_value_info(m.mutable_graph()->add_value_info(), "xw", TensorProto::FLOAT, {-1, 3}, {"batch"});
  Result<ir::Graph> r = import_proto(m);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->opset, 18);
  EXPECT_EQ(r->opsets, (std::map<std::string, int64_t>{{"", 18}}));
  EXPECT_EQ(r->metadata, (std::map<std::string, std::string>{{"author", "tests"}}));
  const ir::Value& xw = r->value(r->find_value("xw"));
  EXPECT_EQ(xw.dtype, DType::kF32);
  EXPECT_EQ(xw.shape, (Shape{-1, 3}));
  EXPECT_EQ(xw.dim_params, (std::vector<std::string>{"batch", ""}));
}

TEST(OnnxImport, UnsortedNodesAreSorted) {
  ModelProto m = new_model();
  GraphProto* g = m.mutable_graph();
  add_input(g, "x", TensorProto::FLOAT, {2});
  add_node(g, "Relu", {"a"}, {"y"}, "second");
  add_node(g, "Neg", {"x"}, {"a"}, "first");
  add_output(g, "y");
  Result<ir::Graph> r = import_proto(m);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->nodes.size(), 2u);
  EXPECT_EQ(r->nodes[0].name, "first");
  EXPECT_EQ(r->nodes[1].name, "second");
}

TEST(OnnxImport, InitializerAlsoListedAsInputStaysConstant) {
  ModelProto m = small_mlp();
  add_input(m.mutable_graph(), "w", TensorProto::FLOAT, {4, 3});  // IR 3 style
  Result<ir::Graph> r = import_proto(m);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_EQ(r->inputs.size(), 1u);
  EXPECT_EQ(r->value(r->inputs[0]).name, "x");
}

// fuzz/seeds/ holds models written by onnx's own Python helper (fuzz/make_seeds.py): an
// independent writer. Values checked here are the literals in that script.
TEST(OnnxImport, PythonWrittenSeeds) {
  const std::string dir = std::string(LOWBIT_SOURCE_DIR) + "/fuzz/seeds/";
  int count = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    ImportNotes notes;
    Result<ir::Graph> r = import_model(e.path().string(), &notes);
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    ++count;
  }
  EXPECT_GE(count, 6);

  Result<ir::Graph> d = import_model(dir + "dtypes.onnx");
  ASSERT_TRUE(d.is_ok()) << d.status().message();
  EXPECT_EQ(values_of<int8_t>(*d, "i8"), (std::vector<int8_t>{-128, -1, 0, 127}));
  EXPECT_EQ(values_of<uint8_t>(*d, "u8"), (std::vector<uint8_t>{0, 1, 200, 255}));
  EXPECT_EQ(values_of<int64_t>(*d, "i64"), (std::vector<int64_t>{-1, int64_t{1} << 40, 7}));
  EXPECT_EQ(values_of<int64_t>(*d, "i64raw"), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(values_of<float>(*d, "d"), (std::vector<float>{static_cast<float>(0.1), -2.5f}));
  EXPECT_EQ(values_of<float>(*d, "h"), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(values_of<float>(*d, "hraw"), (std::vector<float>{0.5f, 1.5f}));
  EXPECT_EQ(values_of<float>(*d, "draw"), (std::vector<float>{3.0f}));
  EXPECT_EQ(d->value(d->find_value("empty")).shape, (Shape{0, 3}));

  ImportNotes notes;
  Result<ir::Graph> s = import_model(dir + "subgraph.onnx", &notes);
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_EQ(s->nodes[0].op_type, "If");
  EXPECT_EQ(notes.dropped_attributes,
            (std::vector<std::string>{"node 'if' attribute 'else_branch' (GRAPH)", "node 'if' attribute 'then_branch' (GRAPH)"}));
}

TEST(OnnxImport, ReferenceLenet) {
  const std::string path = std::string(LOWBIT_SOURCE_DIR) + "/models/lenet.onnx";
  Result<ir::Graph> r = import_model(path);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_FALSE(r->nodes.empty());
  EXPECT_EQ(r->inputs.size(), 1u);
  EXPECT_EQ(r->outputs.size(), 1u);
  bool has_conv = false;
  for (const ir::Node& n : r->nodes) has_conv |= n.op_type == "Conv";
  EXPECT_TRUE(has_conv);
}

}  // namespace
}  // namespace lowbit::onnx
