// export_test.cc: onnx::export_model — round trips through import, ONNX checker validity, atomic file writes.
#include "onnx/export.h"

#include <cmath>
#include <cstring>
#include <filesystem>

#include <gtest/gtest.h>
#include <onnx/checker.h>

#include "onnx/import.h"
#include "onnx_test_util.h"

namespace lowbit::onnx {
namespace {

using namespace lowbit::onnx::testing;

bool same_tensor(const Tensor& a, const Tensor& b) {
  return a.defined() == b.defined() && a.dtype() == b.dtype() && a.shape() == b.shape() &&
         (a.nbytes() == 0 || std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0);
}

bool same_attr(const ir::AttrValue& a, const ir::AttrValue& b) {
  if (a.index() != b.index()) return false;
  if (const Tensor* ta = std::get_if<Tensor>(&a)) return same_tensor(*ta, std::get<Tensor>(b));
  if (const float* fa = std::get_if<float>(&a)) return std::memcmp(fa, &std::get<float>(b), 4) == 0;  // bitwise
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Tensor>) return false;  // handled above
        else return x == std::get<T>(b);
      },
      a);
}

std::vector<std::string> names_of(const ir::Graph& g, const std::vector<int>& ids) {
  std::vector<std::string> out;
  for (int v : ids) out.push_back(v == ir::kNoValue ? "<none>" : g.value(v).name);
  return out;
}

// Everything import reads must survive export -> import. `initializer_flag`: also compare
// is_initializer (a Constant node's value comes back as an initializer, by design).
void expect_same_graph(const ir::Graph& a, const ir::Graph& b, bool initializer_flag) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.opset, b.opset);
  EXPECT_EQ(a.opsets, b.opsets);
  EXPECT_EQ(a.metadata, b.metadata);
  EXPECT_EQ(a.producer_name, b.producer_name);
  EXPECT_EQ(names_of(a, a.inputs), names_of(b, b.inputs));
  EXPECT_EQ(names_of(a, a.outputs), names_of(b, b.outputs));
  ASSERT_EQ(a.nodes.size(), b.nodes.size());
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const ir::Node& na = a.nodes[i];
    const ir::Node& nb = b.nodes[i];
    SCOPED_TRACE("node " + na.name);
    EXPECT_EQ(na.name, nb.name);
    EXPECT_EQ(na.op_type, nb.op_type);
    EXPECT_EQ(na.domain, nb.domain);
    EXPECT_EQ(names_of(a, na.inputs), names_of(b, nb.inputs));
    EXPECT_EQ(names_of(a, na.outputs), names_of(b, nb.outputs));
    ASSERT_EQ(na.attrs.all().size(), nb.attrs.all().size());
    for (const auto& [name, value] : na.attrs.all()) {
      ASSERT_TRUE(nb.attrs.has(name)) << name;
      EXPECT_TRUE(same_attr(value, nb.attrs.all().find(name)->second)) << name;
    }
  }
  for (const ir::Value& va : a.values) {
    SCOPED_TRACE("value " + va.name);
    const int ib = b.find_value(va.name);
    ASSERT_GE(ib, 0);
    const ir::Value& vb = b.value(ib);
    EXPECT_EQ(va.dtype, vb.dtype);
    EXPECT_EQ(va.shape, vb.shape);
    EXPECT_EQ(va.dim_params, vb.dim_params);
    ASSERT_EQ(va.constant.has_value(), vb.constant.has_value());
    if (va.constant) {
      EXPECT_TRUE(same_tensor(*va.constant, *vb.constant));
    }
    if (initializer_flag) {
      EXPECT_EQ(va.is_initializer, vb.is_initializer);
    }
  }
  EXPECT_EQ(a.values.size(), b.values.size());
}

// A model using every attribute kind, a custom domain, several dtypes, Constant nodes,
// optional inputs, value_info, metadata and a NaN with a payload (compared bitwise).
ModelProto rich_model() {
  ModelProto m = small_mlp();
  GraphProto* g = m.mutable_graph();
  ::onnx::StringStringEntryProto* p = m.add_metadata_props();
  p->set_key("source");
  p->set_value("round trip");
  ::onnx::OperatorSetIdProto* o = m.add_opset_import();
  o->set_domain("com.example");
  o->set_version(3);
  float nan_payload;
  const uint32_t nan_bits = 0x7fc01234u;
  std::memcpy(&nan_payload, &nan_bits, 4);
  *g->add_initializer() = float_tensor("odd", {2}, {nan_payload, -0.0f});
  TensorProto* q = g->add_initializer();
  q->set_name("q");
  q->set_data_type(TensorProto::INT8);
  q->add_dims(3);
  for (int v : {-128, 0, 127}) q->add_int32_data(v);
  TensorProto* mask = g->add_initializer();
  mask->set_name("mask");
  mask->set_data_type(TensorProto::BOOL);
  mask->add_dims(2);
  mask->set_raw_data(std::string("\x01\x00", 2));
  TensorProto* empty = g->add_initializer();
  empty->set_name("empty");
  empty->set_data_type(TensorProto::INT64);
  empty->add_dims(0);
  NodeProto* c = add_node(g, "Constant", {}, {"k"}, "const_k");
  AttributeProto* ks = add_attr(c, "value_ints", AttributeProto::INTS);
  ks->add_ints(-1);
  ks->add_ints(3);
  NodeProto* n = add_node(g, "Fancy", {"y", "", "odd", "q", "mask", "k", "empty"}, {"out", ""});
  n->set_domain("com.example");
  add_attr(n, "i", AttributeProto::INT)->set_i(int64_t{1} << 40);
  add_attr(n, "f", AttributeProto::FLOAT)->set_f(nan_payload);
  add_attr(n, "s", AttributeProto::STRING)->set_s(std::string("bytes\0with nul", 14));
  *add_attr(n, "t", AttributeProto::TENSOR)->mutable_t() = float_tensor("", {1}, {2.0f});
  AttributeProto* ints = add_attr(n, "ints", AttributeProto::INTS);
  ints->add_ints(0);
  add_attr(n, "no_floats", AttributeProto::FLOATS);  // an empty list keeps its kind
  add_attr(n, "strings", AttributeProto::STRINGS)->add_strings("x");
  add_value_info(g->add_value_info(), "z", TensorProto::FLOAT, {-1, 3}, {"batch"});
  add_output(g, "out");
  return m;
}

TEST(OnnxExport, RoundTripKeepsTheGraph) {
  Result<ir::Graph> a = import_model_from_bytes(serialize(rich_model()), "rich.onnx", "");
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  Result<std::string> bytes = export_model_to_bytes(*a);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
  Result<ir::Graph> b = import_model_from_bytes(*bytes, "exported.onnx", "");
  ASSERT_TRUE(b.is_ok()) << b.status().message();
  expect_same_graph(*a, *b, /*initializer_flag=*/false);
  EXPECT_FALSE(a->value(a->find_value("k")).is_initializer);  // the Constant node's value...
  EXPECT_TRUE(b->value(b->find_value("k")).is_initializer);   // ...is written as an initializer
  // A second round trip changes nothing at all.
  Result<std::string> bytes2 = export_model_to_bytes(*b);
  ASSERT_TRUE(bytes2.is_ok());
  Result<ir::Graph> c = import_model_from_bytes(*bytes2, "again.onnx", "");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  expect_same_graph(*b, *c, /*initializer_flag=*/true);
  EXPECT_EQ(*bytes2, *export_model_to_bytes(*c));
}

TEST(OnnxExport, ExportedModelPassesOnnxChecker) {
  ModelProto m = small_mlp();
  NodeProto* conv_like = add_node(m.mutable_graph(), "Transpose", {"y"}, {"yt"}, "tr");
  AttributeProto* perm = add_attr(conv_like, "perm", AttributeProto::INTS);
  perm->add_ints(1);
  perm->add_ints(0);
  add_output(m.mutable_graph(), "yt", TensorProto::FLOAT, {3, -1});
  Result<ir::Graph> g = import_model_from_bytes(serialize(m), "mlp.onnx", "");
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  Result<std::string> bytes = export_model_to_bytes(*g);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
  ModelProto out;
  ASSERT_TRUE(out.ParseFromString(*bytes));
  EXPECT_EQ(out.ir_version(), 7);  // opset 13 -> IR 7
  try {
    ::onnx::checker::check_model(out);
  } catch (const std::exception& e) {
    FAIL() << "onnx checker rejected the export: " << e.what();
  }
  // The symbolic batch dim is written back by name.
  EXPECT_EQ(out.graph().input(0).type().tensor_type().shape().dim(0).dim_param(), "batch");
  // Initializers are written in name order: b [3], then w [4, 3].
  ASSERT_EQ(out.graph().initializer_size(), 2);
  EXPECT_EQ(out.graph().initializer(0).name(), "b");
  EXPECT_EQ(out.graph().initializer(1).name(), "w");
  EXPECT_EQ(out.graph().initializer(1).raw_data().size(), 12u * 4u);
}

TEST(OnnxExport, AddsOpsetForUnlistedDomainAndDefaults) {
  ir::Graph g;
  g.opset = 17;
  const int x = g.add_value("x");
  g.value(x).dtype = DType::kF32;
  g.value(x).shape = Shape{2};
  const int y = g.add_value("y");
  ir::Node n;
  n.name = "q";
  n.op_type = "Quantize4";
  n.domain = "lowbit";
  n.inputs = {x};
  n.outputs = {y};
  g.add_node(std::move(n));
  g.inputs = {x};
  g.outputs = {y};
  Result<std::string> bytes = export_model_to_bytes(g);
  ASSERT_TRUE(bytes.is_ok()) << bytes.status().message();
  ModelProto m;
  ASSERT_TRUE(m.ParseFromString(*bytes));
  EXPECT_EQ(m.ir_version(), 8);
  EXPECT_EQ(m.producer_name(), "lowbit");
  ASSERT_EQ(m.opset_import_size(), 2);
  EXPECT_EQ(m.opset_import(0).domain(), "");
  EXPECT_EQ(m.opset_import(0).version(), 17);
  EXPECT_EQ(m.opset_import(1).domain(), "lowbit");
  EXPECT_EQ(m.opset_import(1).version(), 1);
}

TEST(OnnxExport, MalformedGraphIsAnErrorNotACrash) {
  ir::Graph g;
  const int x = g.add_value("x");
  ir::Node n;
  n.name = "bad";
  n.op_type = "Relu";
  n.inputs = {x};
  n.outputs = {7};
  g.nodes.push_back(n);
  g.inputs = {x};
  Result<std::string> r = export_model_to_bytes(g);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(), "node 'bad' refers to value index 7, out of range (the graph has 1 values)");

  ir::Graph twins;
  twins.values.resize(2);
  twins.values[0].name = "same";
  twins.values[1].name = "same";
  Result<std::string> r2 = export_model_to_bytes(twins);
  ASSERT_FALSE(r2.is_ok());
  EXPECT_EQ(r2.status().message(), "two values are named 'same'");
}

TEST(OnnxExport, WritesFileAtomically) {
  TempDir tmp;
  Result<ir::Graph> g = import_model_from_bytes(serialize(small_mlp()), "mlp.onnx", "");
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  const std::string path = tmp.path("out.onnx");
  write_bytes(path, "old contents");
  ASSERT_TRUE(export_model(*g, path).is_ok());
  Result<ir::Graph> back = import_model(path);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  expect_same_graph(*g, *back, true);
  // Only the output is left in the folder: the temporary file was renamed into place.
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(tmp.dir())) files.push_back(e.path().filename().string());
  EXPECT_EQ(files, std::vector<std::string>{"out.onnx"});
}

TEST(OnnxExport, UnwritableDestinationLeavesNothing) {
  TempDir tmp;
  Result<ir::Graph> g = import_model_from_bytes(serialize(small_mlp()), "mlp.onnx", "");
  ASSERT_TRUE(g.is_ok());
  const std::string path = tmp.path("no_such_folder/out.onnx");
  Status s = export_model(*g, path);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.message().rfind(path + ": ", 0), 0u) << s.message();
  EXPECT_FALSE(std::filesystem::exists(path));
  // A malformed graph fails before any file is created.
  ir::Graph bad = *g;
  bad.outputs = {999};
  const std::string path2 = tmp.path("bad.onnx");
  Status s2 = export_model(bad, path2);
  ASSERT_FALSE(s2.is_ok());
  EXPECT_EQ(s2.message().rfind(path2 + ": ", 0), 0u) << s2.message();
  EXPECT_TRUE(std::filesystem::is_empty(tmp.dir()));
}

}  // namespace
}  // namespace lowbit::onnx
