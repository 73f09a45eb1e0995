// qoperator_format_test.cc: standard-ONNX export in QDQ and QOperator form (what it writes,
// what it refuses), export → import giving back the same QuantizedModel, and QOperator graphs
// in the shape other tools write them read back into QuantizedModels.
#include "quant/qoperator_format.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>

#include "exec/model.h"
#include "exec/session.h"
#include "onnx/export.h"
#include "onnx/validate.h"
#include "quant/qdq_format.h"
#include "quant/quant_test_util.h"
#include "quant/simulate.h"

namespace lowbit::quant {
namespace {

using testing::fmnist;
using testing::quantize_reference;
using testing::same_bytes;
using testing::simulate;
using testing::temp_dir;

std::map<std::string, int> op_counts(const ir::Graph& g) {
  std::map<std::string, int> c;
  for (const ir::Node& n : g.nodes) ++c[n.op_type];
  return c;
}

Tensor first_images(int64_t n) {
  auto ds = fmnist("test");
  data::Batch batch;
  Status st = ds->read(0, n, &batch);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return batch.x;
}

// export (form) → import gives the model lowbit's own file gives: same graph, annotations,
// recipe, and bit-identical simulated outputs.
void check_export_round_trip(const std::string& model, const std::string& recipe, OnnxForm form) {
  const std::string form_name = form == OnnxForm::kQdq ? "qdq" : "qoperator";
  SCOPED_TRACE(model + " " + recipe + " " + form_name);
  const QuantizedModel m = quantize_reference(model, recipe, 128);
  const std::string dir = temp_dir("qop_" + model + "_" + recipe + "_" + form_name);
  ASSERT_TRUE(save_quantized_model(m, dir + "/lowbit.onnx").is_ok());
  auto a = load_quantized_model(dir + "/lowbit.onnx");
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  ExportOptions opts;
  opts.form = form;
  ir::Graph written;
  Status st = export_standard_onnx(m, opts, dir + "/export.onnx", &written);
  ASSERT_TRUE(st.is_ok()) << st.message();
  for (const ir::Node& n : written.nodes) EXPECT_TRUE(n.domain.empty()) << n.name << " is " << n.domain;
  auto e = load_quantized_model(dir + "/export.onnx");
  ASSERT_TRUE(e.is_ok()) << e.status().message();
  std::string why;
  EXPECT_TRUE(same_model(*a, *e, &why)) << why;
  EXPECT_TRUE(e->weights == m.weights);
  EXPECT_TRUE(e->biases == m.biases);
  EXPECT_TRUE(e->activations == m.activations);
  EXPECT_EQ(e->recipe, m.recipe);
  const Tensor x = first_images(32);
  EXPECT_TRUE(same_bytes(simulate(*a, x), simulate(*e, x)));
}

TEST(QOperatorFormat, ExportImportRoundTripIsIdentical) {
  for (const char* model : {"lenet", "resnet8", "mobilenet", "mlp"})
    for (const char* recipe : {"int8", "int8-tensor", "int8-dynamic"})
      for (OnnxForm form : {OnnxForm::kQdq, OnnxForm::kQOperator}) check_export_round_trip(model, recipe, form);
}

// Every quantized Conv / Gemm of resnet8 becomes a QLinear / Integer op; no FP32 Conv or Gemm
// is left between QDQ pairs.
TEST(QOperatorFormat, QOperatorGraphUsesIntegerOps) {
  int convs = 0, gemms = 0;
  for (const ir::Node& n : quantize_reference("resnet8", "int8", 64).graph.nodes) {
    convs += n.op_type == "Conv";
    gemms += n.op_type == "Gemm";
  }
  ASSERT_GT(convs, 0);
  {
    auto g = to_qoperator_graph(quantize_reference("resnet8", "int8", 64));
    ASSERT_TRUE(g.is_ok()) << g.status().message();
    auto c = op_counts(*g);
    EXPECT_EQ(c["QLinearConv"], convs);
    EXPECT_EQ(c["MatMulInteger"], gemms);
    EXPECT_EQ(c["Conv"], 0);
    EXPECT_EQ(c["Gemm"], 0);
    EXPECT_EQ(c["ConvInteger"], 0);
  }
  {
    auto g = to_qoperator_graph(quantize_reference("resnet8", "int8-dynamic", 64));
    ASSERT_TRUE(g.is_ok()) << g.status().message();
    auto c = op_counts(*g);
    EXPECT_EQ(c["ConvInteger"], convs);
    EXPECT_EQ(c["MatMulInteger"], gemms);
    EXPECT_EQ(c["Conv"], 0);
    EXPECT_GT(c["DynamicQuantizeLinear"], 0);
    // ONNX Runtime's ConvInteger takes uint8 weights: the int8 ones are shifted by 128.
    for (const ir::Node& n : g->nodes) {
      if (n.op_type == "ConvInteger") {
        EXPECT_EQ(g->value(n.input(1)).constant->dtype(), DType::kU8) << n.name;
      }
    }
  }
}

// The QOperator file runs as a plain graph (lowbit's QLinearConv / ConvInteger / MatMulInteger
// ops) to what the imported QuantizedModel simulates: a second, independent path through the
// same arithmetic. Static requantization rounds once in both; allow 1 LSB of the output.
TEST(QOperatorFormat, QOperatorFileRunsAsOpsLikeTheSimulation) {
  for (const char* recipe : {"int8", "int8-dynamic"}) {
    SCOPED_TRACE(recipe);
    const QuantizedModel m = quantize_reference("lenet", recipe, 128);
    auto g = to_qoperator_graph(m);
    ASSERT_TRUE(g.is_ok()) << g.status().message();
    ASSERT_TRUE(exec::prepare_graph(*g).is_ok());
    auto session = exec::Session::create(std::move(*g));
    ASSERT_TRUE(session.is_ok()) << session.status().message();
    const Tensor x = first_images(64);
    auto ops = session->run({x});
    ASSERT_TRUE(ops.is_ok()) << ops.status().message();
    const Tensor sim = simulate(m, x);
    const Tensor& got = (*ops)[0];
    ASSERT_EQ(got.shape(), sim.shape());
    float lsb = 0;
    if (std::string(recipe) == "int8") {
      const auto& out_name = m.graph.value(m.graph.outputs[0]).name;
      ASSERT_TRUE(m.activations.count(out_name));
      lsb = m.activations.at(out_name).params.scale[0];
    } else {
      float lo = 0, hi = 0;
      for (int64_t i = 0; i < sim.numel(); ++i) lo = std::min(lo, sim.data<float>()[i]), hi = std::max(hi, sim.data<float>()[i]);
      lsb = (hi - lo) / 255.f;
    }
    int64_t over = 0;
    for (int64_t i = 0; i < sim.numel(); ++i) over += std::fabs(got.data<float>()[i] - sim.data<float>()[i]) > lsb * 1.0001f;
    EXPECT_EQ(over, 0) << "of " << sim.numel() << " outputs";
  }
}

// Recipes standard ONNX cannot say are refused with the tensor, its reader and the reason.
TEST(QOperatorFormat, InexpressibleRecipesAreNamedErrors) {
  const std::string dir = temp_dir("qop_errors");
  struct Case {
    const char* recipe;
    const char* expect;
  };
  for (const Case& c : {Case{"w4a8", "4-bit weights need INT4"}, Case{"w4a4", "4-bit activations"},
                        Case{"w4a8-g32", "per-block(32) scales"}, Case{"w2a8", "2-bit weights"}}) {
    SCOPED_TRACE(c.recipe);
    const QuantizedModel m = quantize_reference("lenet", c.recipe, 64);
    for (OnnxForm form : {OnnxForm::kQdq, OnnxForm::kQOperator}) {
      ExportOptions opts;
      opts.form = form;
      const std::string out = dir + "/" + c.recipe + ".onnx";
      Status st = export_standard_onnx(m, opts, out);
      ASSERT_FALSE(st.is_ok());
      EXPECT_NE(st.message().find(c.expect), std::string::npos) << st.message();
      EXPECT_NE(st.message().find("read by node '"), std::string::npos) << st.message();
      EXPECT_EQ(st.message().find('\n'), std::string::npos);
      EXPECT_EQ(st.message().rfind(out, 0), 0u) << st.message();
      EXPECT_FALSE(std::filesystem::exists(out));
    }
  }
  // --widen-weights: 4-bit weights go in int8 and round-trip to the same 4-bit model.
  const QuantizedModel m = quantize_reference("lenet", "w4a8", 64);
  ExportOptions widen;
  widen.widen_weights = true;
  for (OnnxForm form : {OnnxForm::kQdq, OnnxForm::kQOperator}) {
    widen.form = form;
    ASSERT_TRUE(export_standard_onnx(m, widen, dir + "/w4.onnx").is_ok());
    auto e = load_quantized_model(dir + "/w4.onnx");
    ASSERT_TRUE(e.is_ok()) << e.status().message();
    EXPECT_TRUE(e->weights == m.weights);
  }
}

TEST(QOperatorFormat, ValidatorRejectsWhatOnnxRejects) {
  ir::Graph g;
  g.opset = 13;
  const int x = g.add_value("x");
  g.value(x).dtype = DType::kU8;
  g.value(x).shape = Shape{2, 3};
  g.inputs = {x};
  const int s = g.add_constant("s", Tensor::scalar<float>(0.5f));
  const int y = g.add_value("y");
  g.value(y).dtype = DType::kF32;
  g.value(y).shape = Shape{2, 3};
  g.add_node(ir::Node{"dq", "DequantizeLinear", "", {x, s}, {y}, {}});
  g.outputs = {y};
  auto ok = onnx::export_model_to_bytes(g);
  ASSERT_TRUE(ok.is_ok());
  Status valid = onnx::validate_model_bytes(*ok, "m.onnx");
  EXPECT_TRUE(valid.is_ok()) << valid.message();
  // DequantizeLinear of a float input: a type ONNX's schema does not allow.
  g.value(x).dtype = DType::kF32;
  auto bad = onnx::export_model_to_bytes(g);
  ASSERT_TRUE(bad.is_ok());
  Status st = onnx::validate_model_bytes(*bad, "m.onnx");
  ASSERT_FALSE(st.is_ok());
  EXPECT_EQ(st.message().rfind("m.onnx: ONNX", 0), 0u) << st.message();
  EXPECT_EQ(st.message().find('\n'), std::string::npos);
  // A node of another domain is not standard ONNX.
  g.value(x).dtype = DType::kU8;
  g.nodes[0].domain = "com.lowbit";
  g.opsets["com.lowbit"] = 1;
  auto custom = onnx::export_model_to_bytes(g);
  ASSERT_TRUE(custom.is_ok());
  EXPECT_FALSE(onnx::validate_model_bytes(*custom, "m.onnx").is_ok());
}

// A QOperator model the way ONNX Runtime's quantizer writes it: QLinearConv feeding QLinearConv
// directly (no QuantizeLinear between), uint8 weights with a nonzero zero point, and a dynamic
// MatMulInteger chain whose scale is Mul(x_scale, w_scale) before the Cast's Mul.
ir::Graph foreign_qoperator_graph() {
  ir::Graph g;
  g.opset = 13;
  auto input = [&](const char* name, DType dt, Shape shape) {
    const int v = g.add_value(name);
    g.value(v).dtype = dt;
    g.value(v).shape = std::move(shape);
    return v;
  };
  auto value = [&](const char* name, DType dt) {
    const int v = g.add_value(name);
    g.value(v).dtype = dt;
    return v;
  };
  const int x = input("x", DType::kF32, {1, 2, 5, 5});
  g.inputs = {x};
  const int xs = g.add_constant("xs", Tensor::scalar<float>(0.02f));
  const int xz = g.add_constant("xz", Tensor::scalar<uint8_t>(128));
  const int xq = value("xq", DType::kU8);
  g.add_node(ir::Node{"q_in", "QuantizeLinear", "", {x, xs, xz}, {xq}, {}});
  std::vector<uint8_t> w1(3 * 2 * 3 * 3), w2(4 * 3 * 1 * 1);
  for (size_t i = 0; i < w1.size(); ++i) w1[i] = static_cast<uint8_t>((i * 37 + 11) % 256);
  for (size_t i = 0; i < w2.size(); ++i) w2[i] = static_cast<uint8_t>((i * 53 + 7) % 256);
  const int w1q = g.add_constant("w1", Tensor::from_vector<uint8_t>({3, 2, 3, 3}, w1));
  const int w1s = g.add_constant("w1s", Tensor::from_vector<float>({3}, {0.004f, 0.003f, 0.005f}));
  const int w1z = g.add_constant("w1z", Tensor::from_vector<uint8_t>({3}, {120, 128, 135}));
  const int b1 = g.add_constant("b1", Tensor::from_vector<int32_t>({3}, {100, -250, 40}));
  const int y1s = g.add_constant("y1s", Tensor::scalar<float>(0.05f));
  const int y1z = g.add_constant("y1z", Tensor::scalar<uint8_t>(100));
  const int y1 = value("y1", DType::kU8);
  ir::Node c1{"conv1", "QLinearConv", "", {xq, xs, xz, w1q, w1s, w1z, y1s, y1z, b1}, {y1}, {}};
  c1.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  g.add_node(std::move(c1));
  const int w2q = g.add_constant("w2", Tensor::from_vector<uint8_t>({4, 3, 1, 1}, w2));
  const int w2s = g.add_constant("w2s", Tensor::scalar<float>(0.01f));
  const int w2z = g.add_constant("w2z", Tensor::scalar<uint8_t>(128));
  const int y2s = g.add_constant("y2s", Tensor::scalar<float>(0.1f));
  const int y2z = g.add_constant("y2z", Tensor::scalar<uint8_t>(90));
  const int y2 = value("y2", DType::kU8);
  g.add_node(ir::Node{"conv2", "QLinearConv", "", {y1, y1s, y1z, w2q, w2s, w2z, y2s, y2z}, {y2}, {}});
  const int y2f = value("y2f", DType::kF32);
  g.add_node(ir::Node{"dq2", "DequantizeLinear", "", {y2, y2s, y2z}, {y2f}, {}});
  const int flat = value("flat", DType::kF32);
  g.add_node(ir::Node{"flatten", "Flatten", "", {y2f}, {flat}, {}});
  // Dynamic MatMul 100 → 6, the chain quantize_dynamic writes.
  const int aq = value("aq", DType::kU8), as = value("as", DType::kF32), az = value("az", DType::kU8);
  g.add_node(ir::Node{"dql", "DynamicQuantizeLinear", "", {flat}, {aq, as, az}, {}});
  std::vector<int8_t> w3(100 * 6);
  for (size_t i = 0; i < w3.size(); ++i) w3[i] = static_cast<int8_t>(static_cast<int>((i * 29 + 3) % 255) - 127);
  const int w3q = g.add_constant("w3", Tensor::from_vector<int8_t>({100, 6}, w3));
  const int w3s = g.add_constant("w3s", Tensor::scalar<float>(0.002f));
  const int acc = value("acc", DType::kI32);
  g.add_node(ir::Node{"fc", "MatMulInteger", "", {aq, w3q, az}, {acc}, {}});
  const int sc = value("sc", DType::kF32);
  g.add_node(ir::Node{"fc_scale", "Mul", "", {as, w3s}, {sc}, {}});
  const int accf = value("accf", DType::kF32);
  ir::Node cast{"fc_cast", "Cast", "", {acc}, {accf}, {}};
  cast.attrs.set("to", int64_t{1});
  g.add_node(std::move(cast));
  const int out = value("out", DType::kF32);
  g.add_node(ir::Node{"fc_mul", "Mul", "", {accf, sc}, {out}, {}});
  g.outputs = {out};
  LB_CHECK(g.topo_sort().is_ok(), "foreign graph");
  return g;
}

TEST(QOperatorFormat, ReadsQOperatorModelsFromOtherTools) {
  const std::string dir = temp_dir("qop_foreign");
  const std::string path = dir + "/foreign.onnx";
  ASSERT_TRUE(onnx::export_model(foreign_qoperator_graph(), path).is_ok());
  auto m = load_quantized_model(path);
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  // Imported: two Convs and a MatMul in FP32 with their annotations.
  auto c = op_counts(m->graph);
  EXPECT_EQ(c["Conv"], 2);
  EXPECT_EQ(c["MatMul"], 1);
  EXPECT_EQ(c["QLinearConv"] + c["MatMulInteger"] + c["Cast"], 0);
  // Weights are named by the Conv / MatMul input that reads them.
  auto weight_of = [&](const char* node) -> std::string {
    for (const ir::Node& n : m->graph.nodes)
      if (n.name == node) return m->graph.value(n.input(1)).name;
    return "";
  };
  ASSERT_TRUE(m->weights.count(weight_of("conv1"))) << weight_of("conv1");
  const WeightQuant& w1 = m->weights.at(weight_of("conv1"));
  EXPECT_EQ(w1.scheme.granularity, Granularity::kPerChannel);
  EXPECT_EQ(w1.params.zero_point, (std::vector<int32_t>{120, 128, 135}));
  EXPECT_EQ(m->biases.size(), 1u);
  ASSERT_TRUE(m->weights.count(weight_of("fc")));
  int dynamic = 0;
  for (const auto& [name, a] : m->activations) dynamic += a.dynamic;
  EXPECT_EQ(dynamic, 1);
  // Its simulation computes what the QOperator graph computes as ops: random inputs.
  ir::Graph raw = foreign_qoperator_graph();
  ASSERT_TRUE(exec::prepare_graph(raw).is_ok());
  auto session = exec::Session::create(std::move(raw));
  ASSERT_TRUE(session.is_ok()) << session.status().message();
  Tensor x = Tensor::zeros(DType::kF32, {1, 2, 5, 5});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>((i * 7919) % 200) / 100.f - 1.f;
  auto ops = session->run({x});
  ASSERT_TRUE(ops.is_ok()) << ops.status().message();
  const Tensor sim = simulate(*m, x);
  ASSERT_EQ(sim.shape(), (*ops)[0].shape());
  for (int64_t i = 0; i < sim.numel(); ++i) EXPECT_NEAR(sim.data<float>()[i], (*ops)[0].data<float>()[i], 1e-4f) << i;
}

// Malformed QOperator nodes in an untrusted file: one-line errors naming the node, no crash.
TEST(QOperatorFormat, MalformedQOperatorNodesAreErrors) {
  const std::string dir = temp_dir("qop_malformed");
  struct Case {
    const char* what;
    std::function<void(ir::Graph&)> mutate;
  };
  auto conv1 = [](ir::Graph& g) -> ir::Node& {
    for (ir::Node& n : g.nodes)
      if (n.name == "conv1") return n;
    return g.nodes[0];
  };
  const Case cases[] = {
      {"has 7 inputs, expected 8 to 9", [&](ir::Graph& g) { conv1(g).inputs.resize(7); }},
      {"does not support weight w of dtype i32",
       [&](ir::Graph& g) {
         conv1(g).inputs[3] = g.add_constant("w_i32", Tensor::zeros(DType::kI32, {3, 2, 3, 3}));
       }},
      {"bias B has shape [3,1]",
       [&](ir::Graph& g) { conv1(g).inputs[8] = g.add_constant("b_2d", Tensor::zeros(DType::kI32, {3, 1})); }},
      {"3 weight scales but 2 zero points",
       [&](ir::Graph& g) { conv1(g).inputs[5] = g.add_constant("w1z_short", Tensor::zeros(DType::kU8, {2})); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    ir::Graph g = foreign_qoperator_graph();
    c.mutate(g);
    const std::string path = dir + "/bad.onnx";
    ASSERT_TRUE(onnx::export_model(g, path).is_ok());
    auto m = load_quantized_model(path);
    ASSERT_FALSE(m.is_ok());
    EXPECT_NE(m.status().message().find(c.what), std::string::npos) << m.status().message();
    EXPECT_NE(m.status().message().find("conv1"), std::string::npos) << m.status().message();
    EXPECT_EQ(m.status().message().rfind(path, 0), 0u) << m.status().message();
  }
}

}  // namespace
}  // namespace lowbit::quant
