// calibrate_test.cc: placement of quantizers, weight and bias quantization, static and dynamic
// calibration, FP32 overrides, and the simulation's fake-quant — checked against values
// recomputed independently in the test.
#include "quant/calibrate.h"

#include <gtest/gtest.h>

#include <cmath>

#include "quant/placement.h"
#include "quant/qdq_format.h"
#include "quant/quant_test_util.h"
#include "quant/simulate.h"

namespace lowbit::quant {
namespace {

using testing::fmnist;
using testing::quantize_reference;

const ir::Node* node_named(const ir::Graph& g, const std::string& name) {
  for (const ir::Node& n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

TEST(Calibrate, Int8PlacesQuantizersAfterFusedActivations) {
  const QuantizedModel m = quantize_reference("resnet8", "int8", 64);
  const ir::Graph& g = m.graph;
  int convs = 0, gemms = 0;
  for (const ir::Node& n : g.nodes) {
    convs += n.op_type == "Conv";
    gemms += n.op_type == "Gemm";
    EXPECT_NE(n.op_type, "BatchNormalization");  // folded
  }
  EXPECT_EQ(m.weights.size(), static_cast<size_t>(convs + gemms));
  EXPECT_EQ(m.biases.size(), static_cast<size_t>(convs + gemms));
  EXPECT_TRUE(m.activations.count(g.value(g.inputs[0]).name));  // the image
  EXPECT_TRUE(m.activations.count(g.value(g.outputs[0]).name));  // the logits
  // A Conv followed only by Relu: its output is not quantized, the Relu's is.
  for (const ir::Node& n : g.nodes) {
    if (n.op_type != "Relu") continue;
    const int in = n.input(0);
    const int p = g.value(in).producer;
    if (p < 0 || g.nodes[static_cast<size_t>(p)].op_type != "Conv") continue;
    EXPECT_FALSE(m.activations.count(g.value(in).name)) << g.value(in).name;
    EXPECT_TRUE(m.activations.count(g.value(n.outputs[0]).name)) << g.value(n.outputs[0]).name;
  }
  for (const auto& [name, a] : m.activations) {
    EXPECT_FALSE(a.dynamic);
    EXPECT_EQ(a.scheme.bits, 8);
    EXPECT_FALSE(a.scheme.is_signed);
    ASSERT_EQ(a.params.size(), 1u) << name;
  }
}

TEST(Calibrate, WeightsAreSymmetricPerChannelMinMax) {
  const QuantizedModel m = quantize_reference("lenet", "int8", 32);
  for (const auto& [name, w] : m.weights) {
    const Tensor& f = *m.graph.value(m.graph.find_value(name)).constant;
    const int64_t channels = f.dim(w.scheme.axis);
    ASSERT_EQ(static_cast<int64_t>(w.params.size()), channels) << name;
    // The output-channel axis is 0 for Conv and Gemm(transB=1) weights here.
    ASSERT_EQ(w.scheme.axis, 0) << name;
    const int64_t per = f.numel() / channels;
    for (int64_t c = 0; c < channels; ++c) {
      float amax = 0;
      for (int64_t i = 0; i < per; ++i) amax = std::max(amax, std::fabs(f.data<float>()[c * per + i]));
      EXPECT_FLOAT_EQ(w.params.scale[static_cast<size_t>(c)], amax / 127.f) << name << " channel " << c;
      EXPECT_EQ(w.params.zero_point[static_cast<size_t>(c)], 0);
      for (int64_t i = 0; i < per; ++i) {
        const float want = std::nearbyint(f.data<float>()[c * per + i] / (amax / 127.f));
        EXPECT_EQ(static_cast<float>(w.q.data<int8_t>()[c * per + i]), want);
      }
    }
  }
}

TEST(Calibrate, BiasIsInt32AtInputTimesWeightScale) {
  const QuantizedModel m = quantize_reference("lenet", "int8", 32);
  ASSERT_FALSE(m.biases.empty());
  for (const ir::Node& n : m.graph.nodes) {
    if (n.op_type != "Conv" && n.op_type != "Gemm") continue;
    const std::string bname = m.graph.value(n.input(2)).name;
    ASSERT_TRUE(m.biases.count(bname)) << n.name;
    const BiasQuant& b = m.biases.at(bname);
    const float sx = m.activations.at(m.graph.value(n.input(0)).name).params.scale[0];
    const WeightQuant& w = m.weights.at(m.graph.value(n.input(1)).name);
    const Tensor& bf = *m.graph.value(n.input(2)).constant;
    for (int64_t c = 0; c < bf.numel(); ++c) {
      const float s = sx * w.params.scale[static_cast<size_t>(c)];
      EXPECT_FLOAT_EQ(b.scale[static_cast<size_t>(c)], s);
      EXPECT_EQ(b.q.data<int32_t>()[c], static_cast<int32_t>(std::nearbyint(static_cast<double>(bf.data<float>()[c]) / s)));
    }
  }
}

TEST(Calibrate, InputRangeIsTheMinMaxOfTheCalibrationImages) {
  const QuantizedModel m = quantize_reference("lenet", "int8", 100);
  auto train = fmnist("train");
  data::Batch b;
  ASSERT_TRUE(train->read(0, 100, &b).is_ok());
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < b.x.numel(); ++i) {
    lo = std::min(lo, b.x.data<float>()[i]);
    hi = std::max(hi, b.x.data<float>()[i]);
  }
  const ActQuant& a = m.activations.at(m.graph.value(m.graph.inputs[0]).name);
  const float s = (hi - lo) / 255.f;
  EXPECT_FLOAT_EQ(a.params.scale[0], s);
  EXPECT_EQ(a.params.zero_point[0], static_cast<int32_t>(std::nearbyint(-lo / s)));
}

TEST(Calibrate, DynamicRecipeQuantizesOnlyComputeInputsAtRunTime) {
  const QuantizedModel m = quantize_reference("resnet8", "int8-dynamic", 0);
  ASSERT_FALSE(m.activations.empty());
  for (const auto& [name, a] : m.activations) {
    EXPECT_TRUE(a.dynamic) << name;
    EXPECT_TRUE(a.params.scale.empty()) << name;
    const int v = m.graph.find_value(name);
    bool read_by_compute = false;
    for (const ir::Node& n : m.graph.nodes)
      if ((n.op_type == "Conv" || n.op_type == "Gemm") && n.input(0) == v) read_by_compute = true;
    EXPECT_TRUE(read_by_compute) << name;
  }
  EXPECT_TRUE(m.biases.empty());  // the input scale is unknown until run time
}

TEST(Calibrate, StaticRecipeWithoutDataIsAnError) {
  auto g = exec::load_model(testing::model_path("lenet"));
  ASSERT_TRUE(g.is_ok());
  auto r = load_recipe("int8");
  auto m = quantize_model(*g, *r, nullptr);
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("calibration data is required"), std::string::npos);
}

TEST(Calibrate, Fp32LayersAreLeftAloneAndReadFp32Inputs) {
  auto g = exec::load_model(testing::model_path("lenet"));
  ASSERT_TRUE(g.is_ok());
  // The last Gemm kept in FP32.
  std::string last_gemm;
  for (const ir::Node& n : g->nodes)
    if (n.op_type == "Gemm") last_gemm = n.name;
  ASSERT_FALSE(last_gemm.empty());
  auto r = parse_recipe(nlohmann::json{{"base", "int8"}, {"fp32", {last_gemm}}}, "test");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  auto calib = fmnist("train");
  CalibrationOptions opts;
  opts.samples = 32;
  auto m = quantize_model(*g, *r, calib.get(), opts);
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  const ir::Node* gemm = node_named(m->graph, last_gemm);
  ASSERT_NE(gemm, nullptr);
  EXPECT_FALSE(m->weights.count(m->graph.value(gemm->input(1)).name));
  EXPECT_TRUE(m->fp32_nodes.count(last_gemm));
  // Its input is quantized for the other readers only: in the QDQ graph the Gemm reads it raw.
  auto q = to_qdq_graph(*m);
  ASSERT_TRUE(q.is_ok());
  const ir::Node* qg = node_named(*q, last_gemm);
  ASSERT_NE(qg, nullptr);
  const int in = qg->input(0);
  const int p = q->value(in).producer;
  ASSERT_GE(p, 0);
  EXPECT_NE(q->nodes[static_cast<size_t>(p)].op_type, "DequantizeLinear");
}

TEST(Simulate, QuantizedTensorsTakeOnlyGridValues) {
  // Every value a simulated Conv reads is s·(q − z) for an integer q in range.
  const QuantizedModel m = quantize_reference("lenet", "w4a4", 64);
  auto sim = make_simulation(m);
  ASSERT_TRUE(sim.is_ok()) << sim.status().message();
  auto test = fmnist("test");
  data::Batch b;
  ASSERT_TRUE(test->read(0, 8, &b).is_ok());
  std::map<int, const ActQuant*> watched;
  for (const auto& [name, dq] : sim->dequantized) watched[sim->session.graph().find_value(dq)] = &m.activations.at(name);
  int checked = 0;
  auto y = sim->session.run({b.x}, [&](int v, const Tensor& t) {
    auto it = watched.find(v);
    if (it == watched.end()) return;
    const ActQuant& a = *it->second;
    const float s = a.params.scale[0];
    const int32_t z = a.params.zero_point[0];
    for (int64_t i = 0; i < t.numel(); ++i) {
      const double q = static_cast<double>(t.data<float>()[i]) / s + z;
      ASSERT_NEAR(q, std::nearbyint(q), 1e-3);
      ASSERT_GE(std::nearbyint(q), 0);
      ASSERT_LE(std::nearbyint(q), 15);
    }
    ++checked;
  });
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_EQ(checked, static_cast<int>(m.activations.size()));
}

}  // namespace
}  // namespace lowbit::quant
