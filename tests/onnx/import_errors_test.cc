// import_errors_test.cc: onnx::import_model on broken and hostile files — each error names the file and the problem.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "onnx/import.h"
#include "onnx_test_util.h"

namespace lowbit::onnx {
namespace {

using namespace lowbit::onnx::testing;

// The import failed with one line "<file>: ..." containing `problem`.
void expect_error(const Result<ir::Graph>& r, const std::string& file, const std::string& problem) {
  ASSERT_FALSE(r.is_ok()) << "expected an error about: " << problem;
  const std::string& msg = r.status().message();
  EXPECT_EQ(msg.rfind(file + ": ", 0), 0u) << msg;
  EXPECT_NE(msg.find(problem), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
}

Result<ir::Graph> import_proto(const ModelProto& m, const std::string& base_dir = "") {
  return import_model_from_bytes(serialize(m), "bad.onnx", base_dir);
}

ModelProto model_with_initializer(const TensorProto& t) {
  ModelProto m = new_model();
  GraphProto* g = m.mutable_graph();
  *g->add_initializer() = t;
  add_node(g, "Identity", {t.name()}, {"y"});
  add_output(g, "y");
  return m;
}

TensorProto external_tensor(const std::string& location, int64_t n, const std::string& offset = "",
                            const std::string& length = "") {
  TensorProto t;
  t.set_name("w");
  t.set_data_type(TensorProto::FLOAT);
  t.add_dims(n);
  t.set_data_location(TensorProto::EXTERNAL);
  auto add = [&](const std::string& k, const std::string& v) {
    ::onnx::StringStringEntryProto* e = t.add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add("location", location);
  if (!offset.empty()) add("offset", offset);
  if (!length.empty()) add("length", length);
  return t;
}

TEST(OnnxImportErrors, NonexistentFile) {
  TempDir tmp;
  const std::string path = tmp.path("missing.onnx");
  expect_error(import_model(path), path, "no such file");
}

TEST(OnnxImportErrors, DirectoryInsteadOfFile) {
  TempDir tmp;
  expect_error(import_model(tmp.dir()), tmp.dir(), "is a directory");
}

TEST(OnnxImportErrors, FifoIsRejectedWithoutHanging) {
  TempDir tmp;
  const std::string path = tmp.path("pipe.onnx");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  expect_error(import_model(path), path, "is not a regular file");
  const std::string ext = tmp.path("pipe.bin");
  ASSERT_EQ(::mkfifo(ext.c_str(), 0600), 0);
  expect_error(import_proto(model_with_initializer(external_tensor("pipe.bin", 4)), tmp.dir()), "bad.onnx",
               "has external data path 'pipe.bin', which is not a regular file");
}

TEST(OnnxImportErrors, EmptyFile) {
  TempDir tmp;
  const std::string path = tmp.path("empty.onnx");
  write_bytes(path, "");
  expect_error(import_model(path), path, "is empty (0 bytes)");
}

TEST(OnnxImportErrors, TextFileIsNotAModel) {
  TempDir tmp;
  const std::string path = tmp.path("notes.onnx");
  write_bytes(path, "This is a text file, not a model.\nIt has two lines.\n");
  expect_error(import_model(path), path, "not");  // either not a valid protobuf, or a message with no graph
  const Result<ir::Graph> r = import_model(path);
  const std::string& msg = r.status().message();
  EXPECT_TRUE(msg.find("protobuf parse failed") != std::string::npos || msg.find("has no graph") != std::string::npos)
      << msg;
}

TEST(OnnxImportErrors, RandomBytesNeverCrash) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 200; ++trial) {
    std::string bytes(1 + rng() % 300, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    Result<ir::Graph> r = import_model_from_bytes(bytes, "random.onnx", "");
    ASSERT_FALSE(r.is_ok()) << "trial " << trial;  // random bytes cannot form a graph with an output
    EXPECT_EQ(r.status().message().rfind("random.onnx: ", 0), 0u) << r.status().message();
  }
}

TEST(OnnxImportErrors, ProtobufParseFailure) {
  // Field 1 (ir_version) as a varint that never ends.
  expect_error(import_model_from_bytes(std::string("\x08\xff\xff\xff", 4), "cut.onnx", ""), "cut.onnx",
               "is not a valid ONNX model (protobuf parse failed)");
}

TEST(OnnxImportErrors, ModelWithoutGraph) {
  ModelProto m = new_model();
  m.clear_graph();
  expect_error(import_proto(m), "bad.onnx", "has no graph");
}

TEST(OnnxImportErrors, TruncatedAtEveryFewBytes) {
  ModelProto m = small_mlp();
  ::onnx::StringStringEntryProto* p = m.add_metadata_props();
  p->set_key("k");
  p->set_value("v");
  const std::string bytes = serialize(m);
  ASSERT_TRUE(import_model_from_bytes(bytes, "full.onnx", "").is_ok());
  int errors = 0;
  for (size_t cut = 0; cut < bytes.size(); ++cut) {  // every prefix: an error or a graph, never a crash
    Result<ir::Graph> r = import_model_from_bytes(std::string_view(bytes).substr(0, cut), "cut.onnx", "");
    if (!r.is_ok()) {
      ++errors;
      EXPECT_EQ(r.status().message().rfind("cut.onnx: ", 0), 0u) << r.status().message();
    }
  }
  EXPECT_GT(errors, 0);
}

TEST(OnnxImportErrors, MissingInitializer) {
  ModelProto m = small_mlp();
  m.mutable_graph()->mutable_initializer()->RemoveLast();  // drop b
  expect_error(import_proto(m), "bad.onnx",
               "node 'add' reads 'b', which is not a graph input, an initializer or any node's output");
}

TEST(OnnxImportErrors, DimsOverflowInt64) {
  TensorProto t = float_tensor("w", {}, {});
  t.add_dims(int64_t{1} << 40);
  t.add_dims(int64_t{1} << 40);
  expect_error(import_proto(model_with_initializer(t)), "bad.onnx",
               "initializer 'w' has dims [1099511627776,1099511627776] which overflow");
}

TEST(OnnxImportErrors, DimsExceedMemoryLimitBeforeAllocating) {
  TensorProto t = float_tensor("w", {1 << 20, 1 << 20, 1 << 20}, {});  // 2^60 floats, no data
  expect_error(import_proto(model_with_initializer(t)), "bad.onnx",
               "initializer 'w' has dims [1048576,1048576,1048576] (1152921504606846976 elements of 4 bytes), over the");
}

TEST(OnnxImportErrors, NegativeDim) {
  TensorProto t = float_tensor("w", {2, -3}, {});
  expect_error(import_proto(model_with_initializer(t)), "bad.onnx", "initializer 'w' has a negative dim in dims [2,-3]");
}

TEST(OnnxImportErrors, DataShorterOrLongerThanDims) {
  expect_error(import_proto(model_with_initializer(float_tensor("w", {2, 3}, {1, 2, 3, 4, 5}))), "bad.onnx",
               "initializer 'w' has 5 values in float_data, too few for dims [2,3] (6 elements)");
  expect_error(import_proto(model_with_initializer(float_tensor("w", {2}, {1, 2, 3}))), "bad.onnx",
               "initializer 'w' has 3 values in float_data, too many for dims [2] (2 elements)");
  TensorProto raw = float_tensor("w", {4}, {});
  raw.set_raw_data(std::string(15, '\0'));
  expect_error(import_proto(model_with_initializer(raw)), "bad.onnx",
               "initializer 'w' has 15 bytes of raw_data, too short for dims [4] of FLOAT (16 bytes)");
  raw.set_raw_data(std::string(17, '\0'));
  expect_error(import_proto(model_with_initializer(raw)), "bad.onnx", "too long for dims [4] of FLOAT (16 bytes)");
}

TEST(OnnxImportErrors, DataInTheWrongField) {
  TensorProto t = float_tensor("w", {2}, {});
  t.add_int64_data(1);
  t.add_int64_data(2);
  expect_error(import_proto(model_with_initializer(t)), "bad.onnx",
               "initializer 'w' stores values in int64_data, which a FLOAT tensor does not use");
}

TEST(OnnxImportErrors, Int8ValueOutOfRange) {
  TensorProto t;
  t.set_name("q");
  t.set_data_type(TensorProto::INT8);
  t.add_dims(2);
  t.add_int32_data(5);
  t.add_int32_data(300);
  expect_error(import_proto(model_with_initializer(t)), "bad.onnx",
               "initializer 'q' has int32_data value 300 at index 1, out of range for INT8");
}

TEST(OnnxImportErrors, UnsupportedTensorDtype) {
  TensorProto t;
  t.set_name("s");
  t.set_data_type(TensorProto::STRING);
  t.add_dims(1);
  t.add_string_data("hello");
  expect_error(import_proto(model_with_initializer(t)), "bad.onnx",
               "initializer 's' has data type STRING, which lowbit does not support");
  t.set_data_type(12345);
  expect_error(import_proto(model_with_initializer(t)), "bad.onnx", "has data type 12345 (not an ONNX type)");
}

TEST(OnnxImportErrors, ExternalPathWithDotDot) {
  TempDir tmp;
  std::filesystem::create_directories(tmp.path("model"));
  write_bytes(tmp.path("secret.bin"), std::string(16, 'x'));
  expect_error(import_proto(model_with_initializer(external_tensor("../secret.bin", 4)), tmp.path("model")),
               "bad.onnx", "initializer 'w' has an external data path '../secret.bin' with a '..' component");
  expect_error(import_proto(model_with_initializer(external_tensor("a/../../secret.bin", 4)), tmp.path("model")),
               "bad.onnx", "with a '..' component");
}

TEST(OnnxImportErrors, ExternalAbsolutePath) {
  TempDir tmp;
  write_bytes(tmp.path("w.bin"), std::string(16, 'x'));
  expect_error(import_proto(model_with_initializer(external_tensor(tmp.path("w.bin"), 4)), tmp.dir()), "bad.onnx",
               "initializer 'w' has an absolute external data path '" + tmp.path("w.bin") + "'");
}

TEST(OnnxImportErrors, ExternalSymlinkEscape) {
  TempDir tmp;
  std::filesystem::create_directories(tmp.path("model"));
  write_bytes(tmp.path("outside.bin"), std::string(16, 'x'));
  std::filesystem::create_symlink(tmp.path("outside.bin"), tmp.path("model/link.bin"));
  expect_error(import_proto(model_with_initializer(external_tensor("link.bin", 4)), tmp.path("model")), "bad.onnx",
               "initializer 'w' has an external data path 'link.bin' that resolves to");
}

TEST(OnnxImportErrors, ExternalFileTooShort) {
  TempDir tmp;
  write_bytes(tmp.path("w.bin"), std::string(20, 'x'));
  expect_error(import_proto(model_with_initializer(external_tensor("w.bin", 4, "8", "16")), tmp.dir()), "bad.onnx",
               "initializer 'w' has external data offset 8 and length 16, past the end of 'w.bin' (20 bytes)");
  expect_error(import_proto(model_with_initializer(external_tensor("w.bin", 4, "21")), tmp.dir()), "bad.onnx",
               "has external data offset 21, past the end of 'w.bin' (20 bytes)");
  // No length: the rest of the file (12 bytes) is not what dims [4] of FLOAT need.
  expect_error(import_proto(model_with_initializer(external_tensor("w.bin", 4, "8")), tmp.dir()), "bad.onnx",
               "has 12 bytes of external data in 'w.bin', but its dims and type need 16 bytes");
}

TEST(OnnxImportErrors, ExternalMissingFileBadNumbersAndNoBaseDir) {
  TempDir tmp;
  expect_error(import_proto(model_with_initializer(external_tensor("nope.bin", 4)), tmp.dir()), "bad.onnx",
               "initializer 'w' reads external data file 'nope.bin', which does not exist");
  write_bytes(tmp.path("w.bin"), std::string(16, 'x'));
  expect_error(import_proto(model_with_initializer(external_tensor("w.bin", 4, "-1")), tmp.dir()), "bad.onnx",
               "has an invalid external data offset '-1'");
  expect_error(import_proto(model_with_initializer(external_tensor("w.bin", 4, "0", "99999999999999999999999")),
                            tmp.dir()),
               "bad.onnx", "has an invalid external data length '99999999999999999999999'");
  expect_error(import_proto(model_with_initializer(external_tensor("w.bin", 4)), ""), "bad.onnx",
               "uses external data ('w.bin'), which is not allowed here");
}

TEST(OnnxImportErrors, Cycle) {
  ModelProto m = new_model();
  GraphProto* g = m.mutable_graph();
  add_input(g, "x", TensorProto::FLOAT, {2});
  add_node(g, "Add", {"x", "b"}, {"a"}, "n1");
  add_node(g, "Relu", {"a"}, {"b"}, "n2");
  add_node(g, "Relu", {"a"}, {"y"}, "n3");
  add_output(g, "y");
  expect_error(import_proto(m), "bad.onnx", "the graph has a cycle through node 'n");
}

TEST(OnnxImportErrors, ValueProducedTwice) {
  ModelProto m = new_model();
  GraphProto* g = m.mutable_graph();
  add_input(g, "x", TensorProto::FLOAT, {2});
  add_node(g, "Relu", {"x"}, {"y"}, "first");
  add_node(g, "Neg", {"x"}, {"y"}, "second");
  add_output(g, "y");
  expect_error(import_proto(m), "bad.onnx", "value 'y' is produced by two nodes (node 'first' and node 'second')");
}

TEST(OnnxImportErrors, NodeWritesInputOrInitializer) {
  ModelProto m = small_mlp();
  add_node(m.mutable_graph(), "Relu", {"y"}, {"x"}, "back");
  expect_error(import_proto(m), "bad.onnx", "node 'back' writes 'x', which is a graph input");
  ModelProto m2 = small_mlp();
  add_node(m2.mutable_graph(), "Relu", {"y"}, {"w"}, "back");
  expect_error(import_proto(m2), "bad.onnx", "node 'back' writes 'w', which is an initializer");
}

TEST(OnnxImportErrors, OpsetRange) {
  ModelProto old = small_mlp();
  old.mutable_opset_import(0)->set_version(6);
  expect_error(import_proto(old), "bad.onnx", "uses ONNX opset 6, older than the oldest lowbit supports (7)");
  ModelProto young = small_mlp();
  young.mutable_opset_import(0)->set_version(19);
  expect_error(import_proto(young), "bad.onnx", "uses ONNX opset 19, newer than the newest lowbit supports (18)");
  ModelProto none = small_mlp();
  none.clear_opset_import();
  expect_error(import_proto(none), "bad.onnx", "does not import the default ONNX opset");
}

TEST(OnnxImportErrors, BadConstantNodes) {
  auto with_constant = [](auto setup) {
    ModelProto m = new_model();
    GraphProto* g = m.mutable_graph();
    NodeProto* c = add_node(g, "Constant", {}, {"y"}, "c");
    setup(c);
    add_output(g, "y");
    return m;
  };
  expect_error(import_proto(with_constant([](NodeProto*) {})), "bad.onnx",
               "Constant node 'c' has 0 attributes; it needs exactly one of");
  expect_error(import_proto(with_constant([](NodeProto* c) { add_attr(c, "value_string", AttributeProto::STRING); })),
               "bad.onnx", "Constant node 'c' holds value_string, which lowbit does not support");
  expect_error(import_proto(with_constant([](NodeProto* c) { add_attr(c, "value_float", AttributeProto::INTS); })),
               "bad.onnx", "Constant node 'c' attribute 'value_float' is INTS, expected FLOAT");
}

TEST(OnnxImportErrors, GraphInputTypes) {
  ModelProto m = small_mlp();
  m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(TensorProto::STRING);
  expect_error(import_proto(m), "bad.onnx", "graph input 'x' has element type STRING, which lowbit does not support");
  ModelProto seq = small_mlp();
  seq.mutable_graph()->mutable_input(0)->mutable_type()->mutable_sequence_type();
  expect_error(import_proto(seq), "bad.onnx", "graph input 'x' is a sequence, not a tensor");
}

TEST(OnnxImportErrors, OutputNotProducedAndNoOutputs) {
  ModelProto m = small_mlp();
  add_output(m.mutable_graph(), "ghost");
  expect_error(import_proto(m), "bad.onnx", "graph output 'ghost' is not produced by any node");
  ModelProto none = small_mlp();
  none.mutable_graph()->clear_output();
  expect_error(import_proto(none), "bad.onnx", "the graph has no outputs");
}

TEST(OnnxImportErrors, ControlCharactersInNamesStayOnOneLine) {
  ModelProto m = small_mlp();
  m.mutable_graph()->mutable_initializer(0)->set_name("w\nline2");
  m.mutable_graph()->mutable_initializer(0)->add_dims(-1);
  expect_error(import_proto(m), "bad.onnx", "initializer 'w\\x0aline2' has a negative dim");
  // Found by the fuzzer: ir::Graph::topo_sort quotes the raw value name; import escapes it.
  ModelProto m2 = small_mlp();
  m2.mutable_graph()->mutable_node(1)->set_input(1, "b\nc");
  expect_error(import_proto(m2), "bad.onnx", "node 'add' reads 'b\\x0ac', which is not a graph input");
}

}  // namespace
}  // namespace lowbit::onnx
