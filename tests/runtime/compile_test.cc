// compile_test.cc: runtime::compile on a small graph that exercises every integer step the
// reference models do not (grouped conv with a fused Clip, MaxPool, AveragePool with padding,
// Concat, residual Add, Reshape, MatMul) plus an FP32 fallback in the middle (Sigmoid);
// per-node reports and their reasons; the program against the simulation; arena safety.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <thread>

#include "exec/model.h"
#include "quant/calibrate.h"
#include "quant/recipe.h"
#include "quant/simulate.h"
#include "runtime/compile.h"
#include "runtime/runtime_test_util.h"

namespace lowbit::runtime {
namespace {

using ir::Node;

using testing::random_tensor;
using testing::TensorDataset;

// x [N,4,8,8] → Conv(group 2, pad 1) → Clip(0,6) → {MaxPool 2/2, AveragePool 3/2 pad 1} → Concat
// → {Sigmoid} → Add(concat, sigmoid) → Reshape [-1,256] → MatMul [256,10] → y.
ir::Graph test_graph() {
  ir::Graph g;
  g.opset = 13;
  const int x = g.add_value("x");
  g.value(x).dtype = DType::kF32;
  g.value(x).shape = Shape{-1, 4, 8, 8};
  g.inputs = {x};
  auto value = [&](const char* name) { return g.add_value(name); };
  const int w1 = g.add_constant("w1", random_tensor({8, 2, 3, 3}, 1, 0.4f));
  const int b1 = g.add_constant("b1", random_tensor({8}, 2, 0.2f));
  const int lo = g.add_constant("clip_lo", Tensor::scalar<float>(0.0f));
  const int hi = g.add_constant("clip_hi", Tensor::scalar<float>(6.0f));
  const int shape = g.add_constant("shape", Tensor::from_vector<int64_t>({2}, {-1, 256}));
  const int wm = g.add_constant("wm", random_tensor({256, 10}, 3, 0.1f));
  const int c1 = value("c1"), r1 = value("r1"), p1 = value("p1"), p2 = value("p2"), cat = value("cat");
  const int sig = value("sig"), sum = value("sum"), flat = value("flat"), y = value("y");
  Node conv{"conv", "Conv", "", {x, w1, b1}, {c1}, {}};
  conv.attrs.set("group", int64_t{2});
  conv.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  g.add_node(conv);
  g.add_node(Node{"clip", "Clip", "", {c1, lo, hi}, {r1}, {}});
  Node mp{"maxpool", "MaxPool", "", {r1}, {p1}, {}};
  mp.attrs.set("kernel_shape", std::vector<int64_t>{2, 2});
  mp.attrs.set("strides", std::vector<int64_t>{2, 2});
  g.add_node(mp);
  Node ap{"avgpool", "AveragePool", "", {r1}, {p2}, {}};
  ap.attrs.set("kernel_shape", std::vector<int64_t>{3, 3});
  ap.attrs.set("strides", std::vector<int64_t>{2, 2});
  ap.attrs.set("pads", std::vector<int64_t>{1, 1, 0, 0});
  g.add_node(ap);
  Node cc{"concat", "Concat", "", {p1, p2}, {cat}, {}};
  cc.attrs.set("axis", int64_t{1});
  g.add_node(cc);
  g.add_node(Node{"sigmoid", "Sigmoid", "", {cat}, {sig}, {}});
  g.add_node(Node{"add", "Add", "", {cat, sig}, {sum}, {}});
  g.add_node(Node{"reshape", "Reshape", "", {sum, shape}, {flat}, {}});
  g.add_node(Node{"matmul", "MatMul", "", {flat, wm}, {y}, {}});
  g.outputs = {y};
  EXPECT_TRUE(g.topo_sort().is_ok());
  EXPECT_TRUE(exec::prepare_graph(g).is_ok());
  return g;
}

quant::QuantizedModel quantize(const std::string& recipe_json) {
  auto recipe = quant::parse_recipe(nlohmann::json::parse(recipe_json), "test recipe");
  EXPECT_TRUE(recipe.is_ok()) << recipe.status().message();
  TensorDataset calib(random_tensor({256, 4, 8, 8}, 7, 1.0f));
  auto m = quant::quantize_model(test_graph(), *recipe, &calib);
  EXPECT_TRUE(m.is_ok()) << m.status().message();
  return std::move(m).value();
}

const NodeReport* find_report(const Program& p, const std::string& node) {
  for (const NodeReport& r : p.report())
    if (r.node == node) return &r;
  return nullptr;
}

// Largest |program − simulation| in units of `lsb`, over the outputs of `inputs`.
double max_steps(const Program& p, const quant::Simulation& sim, const Tensor& inputs, float lsb) {
  auto a = p.run({inputs});
  auto b = sim.session.run({inputs});
  EXPECT_TRUE(a.is_ok()) << a.status().message();
  EXPECT_TRUE(b.is_ok()) << b.status().message();
  double worst = 0;
  for (int64_t i = 0; i < (*a)[0].numel(); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>((*a)[0].data<float>()[i]) - (*b)[0].data<float>()[i]) / lsb);
  return worst;
}

TEST(Compile, EveryIntegerStepAgreesWithTheSimulation) {
  const quant::QuantizedModel m = quantize(R"({"base": "int8"})");
  auto p = compile(m);
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  for (const char* node : {"conv", "maxpool", "avgpool", "concat", "add", "reshape", "matmul"}) {
    const NodeReport* r = find_report(*p, node);
    ASSERT_NE(r, nullptr) << node;
    EXPECT_TRUE(r->integer) << node << ": " << r->detail;
  }
  EXPECT_EQ(find_report(*p, "clip")->detail, "fused into 'conv'");
  const NodeReport* sig = find_report(*p, "sigmoid");
  ASSERT_NE(sig, nullptr);
  EXPECT_FALSE(sig->integer);
  EXPECT_EQ(sig->detail, "no integer kernel for Sigmoid");
  EXPECT_EQ(p->integer_nodes(), 8);
  EXPECT_EQ(p->fp32_nodes(), 1);

  auto sim = quant::make_simulation(m);
  ASSERT_TRUE(sim.is_ok());
  const float lsb = m.activations.at("y").params.scale[0];
  EXPECT_LE(max_steps(*p, *sim, random_tensor({64, 4, 8, 8}, 11, 1.0f), lsb), 1.01);
  EXPECT_LE(max_steps(*p, *sim, random_tensor({1, 4, 8, 8}, 12, 1.0f), lsb), 1.01);  // batch 1
}

TEST(Compile, RecipeFp32NodesAndPerBlockWeightsFallBackWithReasons) {
  const quant::QuantizedModel m = quantize(R"({"base": "w4a8-g32", "fp32": ["matmul"]})");
  auto p = compile(m);
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  const NodeReport* conv = find_report(*p, "conv");
  const NodeReport* mm = find_report(*p, "matmul");
  ASSERT_TRUE(conv && mm);
  EXPECT_FALSE(conv->integer);
  EXPECT_NE(conv->detail.find("per-block"), std::string::npos) << conv->detail;
  EXPECT_FALSE(mm->integer);
  EXPECT_EQ(mm->detail, "kept in FP32 by the recipe");
  EXPECT_TRUE(find_report(*p, "add")->integer);
  // The FP32 fallbacks compute what the simulation computes; the integer steps between them
  // stay within 1 LSB of their outputs, which the FP32 MatMul then reads: compare predictions.
  auto sim = quant::make_simulation(m);
  ASSERT_TRUE(sim.is_ok());
  const Tensor x = random_tensor({64, 4, 8, 8}, 13, 1.0f);
  auto a = p->run({x});
  auto b = sim->session.run({x});
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  double scale = 0, worst = 0;
  for (int64_t i = 0; i < (*a)[0].numel(); ++i) {
    scale = std::max(scale, std::fabs(static_cast<double>((*b)[0].data<float>()[i])));
    worst = std::max(worst, std::fabs(static_cast<double>((*a)[0].data<float>()[i]) - (*b)[0].data<float>()[i]));
  }
  EXPECT_LE(worst, 0.02 * scale);
}

TEST(Compile, OutputsOutliveTheNextRunAndConcurrentRunsAgree) {
  const quant::QuantizedModel m = quantize(R"({"base": "int8"})");
  auto p = compile(m);
  ASSERT_TRUE(p.is_ok());
  const Tensor x1 = random_tensor({8, 4, 8, 8}, 21, 1.0f), x2 = random_tensor({8, 4, 8, 8}, 22, 1.0f);
  auto y1 = p->run({x1});
  ASSERT_TRUE(y1.is_ok());
  const Tensor kept = (*y1)[0].clone();
  auto y2 = p->run({x2});
  ASSERT_TRUE(y2.is_ok());
  for (int64_t i = 0; i < kept.numel(); ++i) ASSERT_EQ(kept.data<float>()[i], (*y1)[0].data<float>()[i]);
  EXPECT_GT(p->arena_bytes(p->slice_size(8)), 0);

  // A batch that runs in slices gives, bit for bit, what each image gives alone.
  const Tensor x64 = random_tensor({64, 4, 8, 8}, 23, 1.0f);
  EXPECT_LT(p->slice_size(64), 64) << "this program should slice a batch of 64";
  auto y64 = p->run({x64});
  ASSERT_TRUE(y64.is_ok());
  const int64_t per = 4 * 8 * 8, classes = (*y64)[0].dim(1);
  for (int64_t i = 0; i < 64; ++i) {
    Tensor xi = Tensor::zeros(DType::kF32, {1, 4, 8, 8});
    std::copy_n(x64.data<float>() + i * per, per, xi.data<float>());
    auto yi = p->run({xi});
    ASSERT_TRUE(yi.is_ok());
    for (int64_t c = 0; c < classes; ++c) ASSERT_EQ((*yi)[0].data<float>()[c], (*y64)[0].data<float>()[i * classes + c]) << i;
  }

  std::vector<Tensor> got(2);
  std::thread t1([&] { got[0] = (*p->run({x1}))[0]; });
  std::thread t2([&] { got[1] = (*p->run({x2}))[0]; });
  t1.join();
  t2.join();
  for (int64_t i = 0; i < kept.numel(); ++i) {
    ASSERT_EQ(got[0].data<float>()[i], kept.data<float>()[i]);
    ASSERT_EQ(got[1].data<float>()[i], (*y2)[0].data<float>()[i]);
  }
}

TEST(Compile, RunRejectsWrongInputs) {
  auto p = compile(quantize(R"({"base": "int8"})"));
  ASSERT_TRUE(p.is_ok());
  auto bad_shape = p->run({random_tensor({2, 3, 8, 8}, 1, 1.0f)});
  ASSERT_FALSE(bad_shape.is_ok());
  EXPECT_NE(bad_shape.status().message().find("'x'"), std::string::npos) << bad_shape.status().message();
  auto none = p->run({});
  ASSERT_FALSE(none.is_ok());
  EXPECT_NE(none.status().message().find("takes 1 input"), std::string::npos) << none.status().message();
}

}  // namespace
}  // namespace lowbit::runtime
