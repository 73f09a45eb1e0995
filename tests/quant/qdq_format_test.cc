// qdq_format_test.cc: saving and loading QuantizedModels (lossless round trip for every
// preset), the simulation they define, and QDQ graphs written by other tools.
#include "quant/qdq_format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "onnx/import.h"
#include "quant/simulate.h"
#include "quant/quant_test_util.h"

namespace lowbit::quant {
namespace {

using testing::fmnist;
using testing::quantize_reference;
using testing::same_bytes;
using testing::simulate;
using testing::temp_dir;

std::string read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// save → load keeps every annotation and the simulated outputs bit for bit; a second
// save → load gives the same model and the same file bytes.
void check_round_trip(const std::string& model, const std::string& recipe) {
  SCOPED_TRACE(model + " " + recipe);
  const QuantizedModel m = quantize_reference(model, recipe, 128);
  const std::string dir = temp_dir("qdq_" + model + "_" + recipe);
  ASSERT_TRUE(save_quantized_model(m, dir + "/a.onnx").is_ok());
  auto a = load_quantized_model(dir + "/a.onnx");
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  EXPECT_TRUE(a->weights == m.weights);
  EXPECT_TRUE(a->biases == m.biases);
  EXPECT_TRUE(a->activations == m.activations);
  EXPECT_EQ(a->fp32_nodes, m.fp32_nodes);
  EXPECT_EQ(a->recipe, m.recipe);
  ASSERT_TRUE(save_quantized_model(*a, dir + "/b.onnx").is_ok());
  auto b = load_quantized_model(dir + "/b.onnx");
  ASSERT_TRUE(b.is_ok()) << b.status().message();
  std::string why;
  EXPECT_TRUE(same_model(*a, *b, &why)) << why;
  const std::string ab = read_bytes(dir + "/a.onnx"), bb = read_bytes(dir + "/b.onnx");
  EXPECT_TRUE(ab == bb) << "a.onnx and b.onnx differ: " << ab.size() << " vs " << bb.size() << " bytes, first at "
                        << std::distance(ab.begin(), std::mismatch(ab.begin(), ab.end(), bb.begin(), bb.end()).first);

  auto test = fmnist("test");
  data::Batch batch;
  ASSERT_TRUE(test->read(0, 16, &batch).is_ok());
  EXPECT_TRUE(same_bytes(simulate(m, batch.x), simulate(*a, batch.x)));
}

TEST(QdqFormat, RoundTripIsLosslessForEveryPreset) {
  for (std::string_view preset : preset_names()) check_round_trip("resnet8", std::string(preset));
}

TEST(QdqFormat, RoundTripDepthwiseAndGemmModels) {
  check_round_trip("mobilenet", "int8");
  check_round_trip("mobilenet", "w4a8-g32");
  check_round_trip("mlp", "int8-dynamic");
  check_round_trip("mlp", "w4a4");
}

TEST(QdqFormat, Int8UsesOnlyStandardOnnxOps) {
  const QuantizedModel m = quantize_reference("resnet8", "int8", 64);
  auto g = to_qdq_graph(m);
  ASSERT_TRUE(g.is_ok()) << g.status().message();
  int q = 0, dq = 0;
  for (const ir::Node& n : g->nodes) {
    EXPECT_TRUE(n.domain.empty()) << n.name << " is in domain " << n.domain;
    q += n.op_type == "QuantizeLinear";
    dq += n.op_type == "DequantizeLinear";
  }
  // One QuantizeLinear per activation; one DequantizeLinear per activation, weight and bias.
  EXPECT_EQ(q, static_cast<int>(m.activations.size()));
  EXPECT_EQ(dq, static_cast<int>(m.activations.size() + m.weights.size() + m.biases.size()));
  EXPECT_FALSE(g->opsets.count("com.lowbit"));
}

TEST(QdqFormat, FourBitActivationsNeedTheLowbitDomain) {
  const QuantizedModel m = quantize_reference("mlp", "w4a4", 64);
  auto g = to_qdq_graph(m);
  ASSERT_TRUE(g.is_ok());
  int lowbit_q = 0;
  for (const ir::Node& n : g->nodes) lowbit_q += n.domain == "com.lowbit" && n.op_type == "QuantizeLinear";
  EXPECT_EQ(lowbit_q, static_cast<int>(m.activations.size()));
  EXPECT_EQ(g->opsets.at("com.lowbit"), 1);
}

// What ONNX Runtime's QDQ quantizer writes for Conv + Relu, without lowbit metadata:
// x → Q/DQ → Conv(DQ(w int8 per-channel), DQ(b int32)) → Relu → Q/DQ → y.
ir::Graph foreign_qdq_graph() {
  ir::Graph g;
  g.opset = 13;
  const int x = g.add_value("x");
  g.value(x).dtype = DType::kF32;
  g.value(x).shape = Shape{1, 1, 3, 3};
  g.inputs = {x};
  const int xs = g.add_constant("x_scale", Tensor::scalar<float>(0.02f));
  const int xz = g.add_constant("x_zp", Tensor::scalar<uint8_t>(128));
  const int wq = g.add_constant("w_q", Tensor::from_vector<int8_t>({2, 1, 1, 1}, {50, -100}));
  const int ws = g.add_constant("w_scale", Tensor::from_vector<float>({2}, {0.01f, 0.005f}));
  const int wz = g.add_constant("w_zp", Tensor::from_vector<int8_t>({2}, {0, 0}));
  const int bq = g.add_constant("b_q", Tensor::from_vector<int32_t>({2}, {1000, -2000}));
  const int bs = g.add_constant("b_scale", Tensor::from_vector<float>({2}, {0.0002f, 0.0001f}));
  const int bz = g.add_constant("b_zp", Tensor::from_vector<int32_t>({2}, {0, 0}));
  const int ys = g.add_constant("y_scale", Tensor::scalar<float>(0.01f));
  const int yz = g.add_constant("y_zp", Tensor::scalar<uint8_t>(0));
  auto v = [&](const char* n) { return g.add_value(n); };
  const int xq = v("x_q"), xd = v("x_dq"), w = v("w"), b = v("b"), c = v("c"), r = v("r"), rq = v("r_q"), y = v("y");
  ir::Attributes axis0;
  axis0.set("axis", int64_t{0});
  g.add_node(ir::Node{"xq", "QuantizeLinear", "", {x, xs, xz}, {xq}, {}});
  g.add_node(ir::Node{"xdq", "DequantizeLinear", "", {xq, xs, xz}, {xd}, {}});
  g.add_node(ir::Node{"wdq", "DequantizeLinear", "", {wq, ws, wz}, {w}, axis0});
  g.add_node(ir::Node{"bdq", "DequantizeLinear", "", {bq, bs, bz}, {b}, axis0});
  g.add_node(ir::Node{"conv", "Conv", "", {xd, w, b}, {c}, {}});
  g.add_node(ir::Node{"relu", "Relu", "", {c}, {r}, {}});
  g.add_node(ir::Node{"rq", "QuantizeLinear", "", {r, ys, yz}, {rq}, {}});
  g.add_node(ir::Node{"rdq", "DequantizeLinear", "", {rq, ys, yz}, {y}, {}});
  g.outputs = {y};
  EXPECT_TRUE(g.topo_sort().is_ok());
  return g;
}

TEST(QdqFormat, ReadsQdqModelsFromOtherTools) {
  auto m = from_qdq_graph(foreign_qdq_graph());
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  ASSERT_EQ(m->graph.nodes.size(), 2u);  // Conv, Relu
  EXPECT_EQ(m->graph.nodes[0].op_type, "Conv");
  ASSERT_TRUE(m->weights.count("w"));
  const WeightQuant& w = m->weights.at("w");
  EXPECT_EQ(w.scheme.bits, 8);
  EXPECT_TRUE(w.scheme.is_signed);
  EXPECT_TRUE(w.scheme.symmetric);
  EXPECT_EQ(w.scheme.granularity, Granularity::kPerChannel);
  EXPECT_EQ(w.scheme.axis, 0);
  // The FP32 weight is the dequantized one: 50 · 0.01, −100 · 0.005.
  const Tensor& wf = *m->graph.value(m->graph.find_value("w")).constant;
  EXPECT_FLOAT_EQ(wf.data<float>()[0], 0.5f);
  EXPECT_FLOAT_EQ(wf.data<float>()[1], -0.5f);
  ASSERT_TRUE(m->biases.count("b"));
  EXPECT_EQ(m->biases.at("b").scale, (std::vector<float>{0.0002f, 0.0001f}));
  ASSERT_TRUE(m->activations.count("x"));
  ASSERT_TRUE(m->activations.count("r"));
  const ActQuant& x = m->activations.at("x");
  EXPECT_FALSE(x.scheme.is_signed);
  EXPECT_FALSE(x.scheme.symmetric);
  EXPECT_EQ(x.params.zero_point, (std::vector<int32_t>{128}));
  EXPECT_EQ(m->graph.value(m->graph.outputs[0]).name, "r");
}

// PyTorch's exporter writes the same patterns with a Cast(uint8) between QuantizeLinear and
// DequantizeLinear and the bias zero point computed as Cast(ConstantOfShape(shape)).
TEST(QdqFormat, ReadsPytorchExporterForms) {
  ir::Graph g = foreign_qdq_graph();
  auto node = [&](const char* name) -> ir::Node& {
    for (ir::Node& n : g.nodes)
      if (n.name == name) return n;
    LB_CHECK(false, "no node");
    return g.nodes[0];
  };
  // x_q → Cast(to uint8) → x_cast → DequantizeLinear.
  const int cast = g.add_value("x_cast");
  ir::Attributes to_u8;
  to_u8.set("to", int64_t{2});
  g.add_node(ir::Node{"x_cast_node", "Cast", "", {g.find_value("x_q")}, {cast}, to_u8});
  node("xdq").inputs[0] = cast;
  // Bias zero point: Cast(ConstantOfShape([2]), int32).
  const int shape = g.add_constant("bz_shape", Tensor::from_vector<int64_t>({1}, {2}));
  const int zeros = g.add_value("bz_zeros"), bz = g.add_value("bz_cast");
  g.add_node(ir::Node{"bz_zeros_node", "ConstantOfShape", "", {shape}, {zeros}, {}});
  ir::Attributes to_i32;
  to_i32.set("to", int64_t{6});
  g.add_node(ir::Node{"bz_cast_node", "Cast", "", {zeros}, {bz}, to_i32});
  node("bdq").inputs[2] = bz;
  ASSERT_TRUE(g.topo_sort().is_ok());
  auto m = from_qdq_graph(std::move(g));
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  ASSERT_EQ(m->graph.nodes.size(), 2u);  // Conv, Relu: the Casts and ConstantOfShape are gone
  EXPECT_TRUE(m->activations.count("x"));
  EXPECT_TRUE(m->weights.count("w"));
  ASSERT_TRUE(m->biases.count("b"));
  EXPECT_EQ(m->biases.at("b").scale, (std::vector<float>{0.0002f, 0.0001f}));
}

TEST(QdqFormat, BrokenMetadataIsAnError) {
  ir::Graph g = foreign_qdq_graph();
  g.metadata["lowbit.quant"] = "{not json";
  auto m = from_qdq_graph(std::move(g));
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("lowbit.quant"), std::string::npos) << m.status().message();
}

TEST(QdqFormat, WeightStoredInTheWrongTypeIsAnError) {
  ir::Graph g = foreign_qdq_graph();
  g.metadata["lowbit.quant"] = R"({"version":1,"tensors":{"w":{"kind":"weight","scheme":{"bits":8,"signed":false,
    "symmetric":false,"narrow":false,"granularity":"per-channel","axis":0,"group":0,"block":0,"rounding":"half-even","seed":0}}}})";
  auto m = from_qdq_graph(std::move(g));
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("stored as i8"), std::string::npos) << m.status().message();
}

TEST(QdqFormat, TruncatedFileIsAnErrorNamingIt) {
  const QuantizedModel m = quantize_reference("lenet", "int8", 64);
  const std::string dir = temp_dir("qdq_truncated");
  ASSERT_TRUE(save_quantized_model(m, dir + "/q.onnx").is_ok());
  const std::string bytes = read_bytes(dir + "/q.onnx");
  std::ofstream(dir + "/t.onnx", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  auto t = load_quantized_model(dir + "/t.onnx");
  ASSERT_FALSE(t.is_ok());
  EXPECT_NE(t.status().message().find("t.onnx"), std::string::npos) << t.status().message();
}

}  // namespace
}  // namespace lowbit::quant
