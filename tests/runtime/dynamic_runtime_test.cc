// dynamic_runtime_test.cc: dynamically quantized activations (int8-dynamic) on the integer
// runtime — the dynamic quantize step against a naive DynamicQuantizeLinear (ties, all-zero,
// all-negative, non-finite inputs, NHWC output, a range over the whole batch); grouped,
// depthwise, 1×1 and MatMul / Gemm steps on a small graph (per-channel and per-tensor weights,
// fused Relu / Clip, scalar ISA bit for bit); every reference model against the
// simulation on the whole Fashion-MNIST test set; batch 1 and 64; fallbacks with reasons.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "exec/evaluate.h"
#include "exec/model.h"
#include "quant/calibrate.h"
#include "quant/quant_test_util.h"
#include "quant/recipe.h"
#include "quant/simulate.h"
#include "runtime/compile.h"
#include "runtime/runtime_test_util.h"
#include "runtime/dynamic_steps.h"
#include "runtime/steps.h"

namespace lowbit::runtime {
namespace {

using ir::Node;
using quant::testing::fmnist;
using quant::testing::quantize_reference;

// ---- The dynamic quantize step --------------------------------------------------------------

struct NaiveDql {
  float scale = 1;
  int32_t zero = 0;
  std::vector<uint8_t> q;  // x's order
};

// ONNX DynamicQuantizeLinear written out from the operator's definition, element by element.
NaiveDql naive_dql(const std::vector<float>& x) {
  double lo = 0, hi = 0;  // the range always holds 0
  for (float v : x)
    if (std::isfinite(v)) lo = std::min<double>(lo, v), hi = std::max<double>(hi, v);
  NaiveDql r;
  if (hi > lo) r.scale = (static_cast<float>(hi) - static_cast<float>(lo)) / 255.0f;
  r.zero = static_cast<int32_t>(std::clamp(std::nearbyint(0.0f - static_cast<float>(lo) / r.scale), 0.0f, 255.0f));
  for (float v : x) {
    double q;
    if (std::isnan(v)) q = r.zero;
    else if (std::isinf(v)) q = v > 0 ? 255 : 0;
    else q = std::nearbyint(v / r.scale) + r.zero;  // the default rounding mode is to nearest even
    r.q.push_back(static_cast<uint8_t>(std::clamp(q, 0.0, 255.0)));
  }
  return r;
}

// A program of one dynamic quantize step on x [N, C, H, W].
Program dql_program(const Shape& shape, bool nhwc) {
  ir::Graph g;
  g.opset = 13;
  const int x = g.add_value("x"), q = g.add_value("q"), s = g.add_value("s"), z = g.add_value("z");
  Shape sym = shape;
  sym[0] = -1;
  g.value(x).dtype = DType::kF32;
  g.value(x).shape = sym;
  g.value(q).dtype = DType::kU8;
  g.value(q).shape = sym;
  g.value(s).dtype = DType::kF32;
  g.value(s).shape = Shape{};
  g.value(z).dtype = DType::kU8;
  g.value(z).shape = Shape{};
  g.inputs = {x};
  g.outputs = {q, s, z};
  ProgramBuilder b(std::move(g));
  auto step = make_dynamic_quantize_step(nhwc);
  step->node = "dql";
  step->op_type = "DynamicQuantizeLinear";
  step->inputs = {x};
  step->outputs = {q, s, z};
  b.add_step(std::move(step));
  auto p = b.finish("scalar");
  EXPECT_TRUE(p.is_ok()) << p.status().message();
  return std::move(p).value();
}

// Runs the step on `values` shaped `shape` and checks scale, zero point and every element
// against the naive operator (read in NHWC order when `nhwc`).
void check_dql(const Shape& shape, const std::vector<float>& values, bool nhwc, const char* what) {
  SCOPED_TRACE(what);
  const Program p = dql_program(shape, nhwc);
  Tensor x = Tensor::from_vector<float>(shape, values);
  auto out = p.run({x});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  const NaiveDql want = naive_dql(values);
  EXPECT_EQ((*out)[1].data<float>()[0], want.scale);
  EXPECT_EQ((*out)[2].data<uint8_t>()[0], want.zero);
  const int64_t n = shape[0], c = shape[1], hw = shape[2] * shape[3];
  const uint8_t* q = (*out)[0].data<uint8_t>();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p2 = 0; p2 < hw; ++p2) {
        const int64_t src = (i * c + ch) * hw + p2;
        const int64_t at = nhwc ? (i * hw + p2) * c + ch : src;
        ASSERT_EQ(q[at], want.q[static_cast<size_t>(src)]) << "element " << src << " = " << values[static_cast<size_t>(src)];
      }
  // The library's own operator agrees bit for bit (what the simulation runs).
  auto op = make_op_step(Node{"dql", "DynamicQuantizeLinear", "", {0}, {1, 2, 3}, {}}, 13);
  ASSERT_TRUE(op.is_ok());
  Frame f;
  f.slots.resize(4);
  f.slots[0] = x;
  ASSERT_TRUE((*op)->run(f).is_ok());
  EXPECT_EQ(f.slots[2].data<float>()[0], want.scale);
  EXPECT_EQ(f.slots[3].data<uint8_t>()[0], want.zero);
  for (int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(f.slots[1].data<uint8_t>()[i], want.q[static_cast<size_t>(i)]) << i;
}

TEST(DynamicQuantizeStep, MatchesTheOperatorDefinition) {
  // [0, 127.5] gives s = 0.5 exactly; x / s = k + 0.5 are ties, which go to the even integer.
  std::vector<float> ties;
  for (int k = 0; k < 32; ++k) ties.push_back(0.25f + 0.5f * static_cast<float>(k));  // x/s = 0.5, 1.5, ...
  ties.push_back(127.5f);
  while (ties.size() < 2 * 3 * 2 * 3) ties.push_back(0.0f);
  check_dql({2, 3, 2, 3}, ties, false, "ties, z = 0");
  check_dql({2, 3, 2, 3}, ties, true, "ties, z = 0, NHWC");
  // [−32, 95.5] also has s = 0.5, with z = 64: ties on both sides of the zero point.
  std::vector<float> ties2 = ties;
  for (size_t i = 0; i < ties2.size(); ++i) ties2[i] = ties2[i] - 32.0f;
  ties2[0] = -32.0f;
  ties2.back() = 95.5f;
  check_dql({2, 3, 2, 3}, ties2, true, "ties, z = 64");
  check_dql({2, 3, 2, 3}, std::vector<float>(36, 0.0f), true, "all zero: s = 1, z = 0");
  std::vector<float> neg;
  for (int i = 0; i < 36; ++i) neg.push_back(-0.37f * static_cast<float>(i + 1));
  check_dql({2, 3, 2, 3}, neg, true, "all negative: z = 255");
  std::vector<float> pos;
  for (int i = 0; i < 36; ++i) pos.push_back(0.11f * static_cast<float>(i + 1));
  check_dql({2, 3, 2, 3}, pos, false, "all positive: z = 0");
  std::vector<float> odd = pos;
  odd[3] = std::numeric_limits<float>::quiet_NaN();
  odd[7] = std::numeric_limits<float>::infinity();
  odd[9] = -std::numeric_limits<float>::infinity();
  odd[11] = -1.5f;
  check_dql({2, 3, 2, 3}, odd, true, "NaN and ±inf: left out of the range, NaN → z, inf saturates");
  std::vector<float> inf_only(36, std::numeric_limits<float>::infinity());
  check_dql({2, 3, 2, 3}, inf_only, false, "no finite value");
}

TEST(DynamicQuantizeStep, OneRangeForTheWholeBatchAndLargeTensors) {
  // Sample 0 spans [0, 1], sample 1 [−50, 200]: both are quantized with the batch's range.
  const Shape shape{2, 8, 37, 41};
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(numel(shape)));
  const size_t per = x.size() / 2;
  for (size_t i = 0; i < x.size(); ++i) x[i] = i < per ? u(rng) : -50.0f + 250.0f * u(rng);
  check_dql(shape, x, true, "two samples, wide range");
  check_dql(shape, x, false, "two samples, wide range, NCHW");
  // Large enough that the range is split over the thread pool.
  const Shape big{4, 16, 64, 64};
  std::normal_distribution<float> nd(0.3f, 2.0f);
  std::vector<float> y(static_cast<size_t>(numel(big)));
  for (float& v : y) v = nd(rng);
  check_dql(big, y, true, "large");
  EXPECT_EQ(dql_program(big, true).slice_size(64), 64) << "a dynamic quantize step must keep the batch whole";
}

// ---- Conv / Gemm steps on a small graph -----------------------------------------------------

using testing::random_tensor;
using testing::TensorDataset;

// x [N,4,9,9] → Conv(group 2, 3×3, pad 1, stride 2) → Clip(0,6) → Conv(depthwise 3×3, pad 1)
// → Relu → {Conv 1×1 → c3, Conv 3×3 pad 1 (no bias) → c4} → Add → Sigmoid
// → Reshape [-1, 200] → MatMul [200,16] → Gemm(transB, [10,16]) → y.
ir::Graph small_graph() {
  ir::Graph g;
  g.opset = 13;
  const int x = g.add_value("x");
  g.value(x).dtype = DType::kF32;
  g.value(x).shape = Shape{-1, 4, 9, 9};
  g.inputs = {x};
  auto value = [&](const char* name) { return g.add_value(name); };
  const int w1 = g.add_constant("w1", random_tensor({8, 2, 3, 3}, 1, 0.4f));
  const int b1 = g.add_constant("b1", random_tensor({8}, 2, 0.2f));
  const int wd = g.add_constant("wd", random_tensor({8, 1, 3, 3}, 3, 0.5f));
  const int bd = g.add_constant("bd", random_tensor({8}, 4, 0.2f));
  const int w3 = g.add_constant("w3", random_tensor({8, 8, 1, 1}, 5, 0.3f));
  const int b3 = g.add_constant("b3", random_tensor({8}, 6, 0.2f));
  const int w4 = g.add_constant("w4", random_tensor({8, 8, 3, 3}, 7, 0.2f));
  const int lo = g.add_constant("clip_lo", Tensor::scalar<float>(0.0f));
  const int hi = g.add_constant("clip_hi", Tensor::scalar<float>(6.0f));
  const int shape = g.add_constant("shape", Tensor::from_vector<int64_t>({2}, {-1, 200}));
  const int wm = g.add_constant("wm", random_tensor({200, 16}, 8, 0.1f));
  const int wg = g.add_constant("wg", random_tensor({10, 16}, 9, 0.3f));
  const int bg = g.add_constant("bg", random_tensor({10}, 10, 0.1f));
  const int c1 = value("c1"), r1 = value("r1"), c2 = value("c2"), r2 = value("r2"), c3 = value("c3"), c4 = value("c4");
  const int sum = value("sum"), sig = value("sig"), flat = value("flat"), mm = value("mm"), y = value("y");
  Node conv{"conv1", "Conv", "", {x, w1, b1}, {c1}, {}};
  conv.attrs.set("group", int64_t{2});
  conv.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  conv.attrs.set("strides", std::vector<int64_t>{2, 2});
  g.add_node(conv);
  g.add_node(Node{"clip", "Clip", "", {c1, lo, hi}, {r1}, {}});
  Node dw{"dw", "Conv", "", {r1, wd, bd}, {c2}, {}};
  dw.attrs.set("group", int64_t{8});
  dw.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  g.add_node(dw);
  g.add_node(Node{"relu", "Relu", "", {c2}, {r2}, {}});
  g.add_node(Node{"pw", "Conv", "", {r2, w3, b3}, {c3}, {}});
  Node c4n{"conv4", "Conv", "", {r2, w4}, {c4}, {}};
  c4n.attrs.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  g.add_node(c4n);
  g.add_node(Node{"add", "Add", "", {c3, c4}, {sum}, {}});
  g.add_node(Node{"sigmoid", "Sigmoid", "", {sum}, {sig}, {}});
  g.add_node(Node{"reshape", "Reshape", "", {sig, shape}, {flat}, {}});
  g.add_node(Node{"matmul", "MatMul", "", {flat, wm}, {mm}, {}});
  Node gm{"gemm", "Gemm", "", {mm, wg, bg}, {y}, {}};
  gm.attrs.set("transB", int64_t{1});
  g.add_node(gm);
  g.outputs = {y};
  EXPECT_TRUE(g.topo_sort().is_ok());
  EXPECT_TRUE(exec::prepare_graph(g).is_ok());
  return g;
}

quant::QuantizedModel quantize_small(const std::string& recipe_json) {
  auto recipe = quant::parse_recipe(nlohmann::json::parse(recipe_json), "test recipe");
  EXPECT_TRUE(recipe.is_ok()) << recipe.status().message();
  TensorDataset calib(random_tensor({64, 4, 9, 9}, 17, 1.0f));
  auto m = quant::quantize_model(small_graph(), *recipe, &calib);
  EXPECT_TRUE(m.is_ok()) << m.status().message();
  return std::move(m).value();
}

const NodeReport* find_report(const Program& p, const std::string& node) {
  for (const NodeReport& r : p.report())
    if (r.node == node) return &r;
  return nullptr;
}

// Largest |program − simulation| over the outputs of x, in units of the output's dynamic LSB:
// (max(0, max y) − min(0, min y)) / 255 of the simulation's output for this batch.
double max_dynamic_lsbs(const Program& p, const exec::Session& sim, const Tensor& x) {
  auto a = p.run({x});
  auto b = sim.run({x});
  EXPECT_TRUE(a.is_ok()) << a.status().message();
  EXPECT_TRUE(b.is_ok()) << b.status().message();
  if (!a.is_ok() || !b.is_ok()) return INFINITY;
  const Tensor& ta = (*a)[0];
  const Tensor& tb = (*b)[0];
  EXPECT_EQ(ta.shape(), tb.shape());
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < tb.numel(); ++i) lo = std::min(lo, tb.data<float>()[i]), hi = std::max(hi, tb.data<float>()[i]);
  const double lsb = (static_cast<double>(hi) - lo) / 255.0;
  double worst = 0;
  for (int64_t i = 0; i < ta.numel(); ++i)
    worst = std::max(worst, std::fabs(static_cast<double>(ta.data<float>()[i]) - tb.data<float>()[i]) / lsb);
  return worst;
}

TEST(DynamicCompile, EveryConvAndGemmKindRunsOnIntegers) {
  for (const char* recipe : {R"({"base": "int8-dynamic"})",
                             R"({"base": "int8-dynamic", "weight": {"granularity": "per-tensor"}})"}) {
    SCOPED_TRACE(recipe);
    const quant::QuantizedModel m = quantize_small(recipe);
    auto p = compile(m);
    ASSERT_TRUE(p.is_ok()) << p.status().message();
    for (const char* node : {"conv1", "dw", "pw", "conv4", "matmul", "gemm"}) {
      const NodeReport* r = find_report(*p, node);
      ASSERT_NE(r, nullptr) << node;
      EXPECT_TRUE(r->integer) << node << ": " << r->detail;
      EXPECT_NE(r->detail.find("dynamic u8"), std::string::npos) << node << ": " << r->detail;
    }
    EXPECT_NE(find_report(*p, "dw")->detail.find("depthwise"), std::string::npos);
    EXPECT_NE(find_report(*p, "conv1")->detail.find("g2 dynamic u8 (im2col+gemm"), std::string::npos)
        << find_report(*p, "conv1")->detail;
    EXPECT_NE(find_report(*p, "pw")->detail.find("(gemm"), std::string::npos) << find_report(*p, "pw")->detail;
    EXPECT_EQ(find_report(*p, "clip")->detail, "fused into 'conv1'");
    EXPECT_EQ(find_report(*p, "relu")->detail, "fused into 'dw'");
    EXPECT_FALSE(find_report(*p, "sigmoid")->integer);
    EXPECT_FALSE(find_report(*p, "add")->integer);  // FP32 between dynamic layers
    auto sim = quant::make_simulation(m);
    ASSERT_TRUE(sim.is_ok()) << sim.status().message();
    EXPECT_LE(max_dynamic_lsbs(*p, sim->session, random_tensor({64, 4, 9, 9}, 31, 1.0f)), 1.0);
    EXPECT_LE(max_dynamic_lsbs(*p, sim->session, random_tensor({1, 4, 9, 9}, 32, 1.0f)), 1.0);
    EXPECT_LE(max_dynamic_lsbs(*p, sim->session, random_tensor({7, 4, 9, 9}, 33, 3.0f)), 1.0);
    // Concurrent-safe and repeatable: a second run gives the same bits.
    const Tensor x = random_tensor({5, 4, 9, 9}, 34, 1.0f);
    auto y1 = p->run({x});
    auto y2 = p->run({x});
    ASSERT_TRUE(y1.is_ok() && y2.is_ok());
    for (int64_t i = 0; i < (*y1)[0].numel(); ++i) ASSERT_EQ((*y1)[0].data<float>()[i], (*y2)[0].data<float>()[i]);
  }
}

// The int32 sums are exact on every ISA and the epilogue is the same code, so the scalar GEMM
// gives the program's output bit for bit.
TEST(DynamicCompile, ScalarAndBestIsaAgreeExactly) {
  const quant::QuantizedModel m = quantize_small(R"({"base": "int8-dynamic"})");
  auto best = compile(m);
  auto scalar = compile(m, CompileOptions{kernels::Isa::kScalar});
  ASSERT_TRUE(best.is_ok() && scalar.is_ok());
  const Tensor x = random_tensor({40, 4, 9, 9}, 41, 1.0f);
  auto yb = best->run({x});
  auto ys = scalar->run({x});
  ASSERT_TRUE(yb.is_ok() && ys.is_ok());
  ASSERT_EQ((*yb)[0].numel(), (*ys)[0].numel());
  for (int64_t i = 0; i < (*yb)[0].numel(); ++i) ASSERT_EQ((*yb)[0].data<float>()[i], (*ys)[0].data<float>()[i]) << i;
}

TEST(DynamicCompile, OtherDynamicSchemesAndWeightsFallBackWithReasons) {
  {
    const quant::QuantizedModel m = quantize_small(R"({"base": "int8-dynamic", "activation": {"granularity": "per-row"}})");
    auto p = compile(m);
    ASSERT_TRUE(p.is_ok()) << p.status().message();
    const NodeReport* r = find_report(*p, "pw");
    ASSERT_NE(r, nullptr);
    EXPECT_FALSE(r->integer);
    EXPECT_NE(r->detail.find("quantized dynamically as"), std::string::npos) << r->detail;
  }
  {
    const quant::QuantizedModel m = quantize_small(R"({"base": "int8-dynamic", "weight": {"symmetric": false, "signed": false}})");
    auto p = compile(m);
    ASSERT_TRUE(p.is_ok()) << p.status().message();
    const NodeReport* r = find_report(*p, "pw");
    ASSERT_NE(r, nullptr);
    EXPECT_FALSE(r->integer);
    EXPECT_NE(r->detail.find("weight 'w3'"), std::string::npos) << r->detail;
    auto sim = quant::make_simulation(m);
    ASSERT_TRUE(sim.is_ok());
    EXPECT_LE(max_dynamic_lsbs(*p, sim->session, random_tensor({16, 4, 9, 9}, 35, 1.0f)), 1.0);
  }
  {
    const quant::QuantizedModel m = quantize_small(R"({"base": "int8-dynamic", "fp32": ["pw"]})");
    auto p = compile(m);
    ASSERT_TRUE(p.is_ok()) << p.status().message();
    EXPECT_EQ(find_report(*p, "pw")->detail, "kept in FP32 by the recipe");
    EXPECT_TRUE(find_report(*p, "conv4")->integer);  // reads the same quantized value
    auto sim = quant::make_simulation(m);
    ASSERT_TRUE(sim.is_ok());
    EXPECT_LE(max_dynamic_lsbs(*p, sim->session, random_tensor({16, 4, 9, 9}, 36, 1.0f)), 1.0);
  }
}

// ---- Reference models -----------------------------------------------------------------------

class DynamicReferenceModel : public ::testing::TestWithParam<const char*> {};

TEST_P(DynamicReferenceModel, ProgramMatchesSimulationOnTheTestSet) {
  const char* model_name = GetParam();
  const quant::QuantizedModel m = quantize_reference(model_name, "int8-dynamic");
  auto program = compile(m);
  ASSERT_TRUE(program.is_ok()) << program.status().message();
  int64_t int_layers = 0;
  for (const NodeReport& r : program->report()) {
    if (r.op_type != "Conv" && r.op_type != "Gemm" && r.op_type != "MatMul") continue;
    EXPECT_TRUE(r.integer) << r.node << ": " << r.detail;
    EXPECT_NE(r.detail.find("dynamic u8"), std::string::npos) << r.node << ": " << r.detail;
    ++int_layers;
  }
  EXPECT_GT(int_layers, 0);
  EXPECT_EQ(program->slice_size(100), 100);
  auto sim = quant::make_simulation(m);
  ASSERT_TRUE(sim.is_ok()) << sim.status().message();

  auto test = fmnist("test");
  int64_t images = 0, same = 0, int_correct = 0, sim_correct = 0, elements = 0, equal = 0, within_half = 0;
  double worst = 0;
  const Status st = data::for_each_batch(*test, 0, 100, [&](const data::Batch& b, int64_t, int64_t) -> Status {
    LB_ASSIGN_OR_RETURN(std::vector<Tensor> yi, program->run({b.x}));
    LB_ASSIGN_OR_RETURN(std::vector<Tensor> ys, sim->session.run({b.x}));
    const Tensor& ti = yi[0];
    const Tensor& ts = ys[0];
    if (ti.shape() != ts.shape()) return Status::errorf("shapes {} vs {}", shape_str(ti.shape()), shape_str(ts.shape()));
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < ts.numel(); ++i) lo = std::min(lo, ts.data<float>()[i]), hi = std::max(hi, ts.data<float>()[i]);
    const double lsb = (static_cast<double>(hi) - lo) / 255.0;
    for (int64_t i = 0; i < ti.numel(); ++i) {
      const double d = std::fabs(static_cast<double>(ti.data<float>()[i]) - ts.data<float>()[i]) / lsb;
      worst = std::max(worst, d);
      ++elements;
      equal += d == 0;
      within_half += d <= 0.5;
    }
    const int64_t n = ti.dim(0), classes = ti.dim(1);
    for (int64_t r = 0; r < n; ++r) {
      const int64_t pi = exec::argmax(ti.data<float>() + r * classes, classes);
      const int64_t ps = exec::argmax(ts.data<float>() + r * classes, classes);
      const int64_t label = b.labels[static_cast<size_t>(r)];
      same += pi == ps;
      int_correct += pi == label;
      sim_correct += ps == label;
    }
    images += n;
    return Status::ok();
  });
  ASSERT_TRUE(st.is_ok()) << st.message();
  ASSERT_EQ(images, 10000);
  std::printf("%s int8-dynamic: max |int − sim| %.4f dynamic LSB; %lld/%lld logits equal, %lld within 0.5 LSB; "
              "predictions agree on %lld/%lld; top-1 int %.2f%% sim %.2f%%\n",
              model_name, worst, static_cast<long long>(equal), static_cast<long long>(elements),
              static_cast<long long>(within_half), static_cast<long long>(same), static_cast<long long>(images),
              100.0 * static_cast<double>(int_correct) / 10000.0, 100.0 * static_cast<double>(sim_correct) / 10000.0);
  EXPECT_LE(worst, 1.0);
  EXPECT_GE(same, 9990);
}

INSTANTIATE_TEST_SUITE_P(Models, DynamicReferenceModel, ::testing::Values("lenet", "resnet8", "mobilenet", "mlp"));

// Batch 1 and batch 64, each against the simulation at the same batch (the scale is the
// batch's). A single image has large uniform regions (the background) whose conv outputs are
// one value repeated hundreds of times; when that value sits on a rounding tie of the next
// DynamicQuantizeLinear, a 1-ulp difference in the batch maximum (float sum order: the
// simulation's FP32 conv against the exact int32 sum) rounds all of them the other way at once.
// That happens on about 1 image in 200 (resnet8: 1.76 LSB on test image 2, traced to exactly
// such a tie at 25.5 with scales 1 ulp apart); so at batch 1 at most 1 % of images may exceed
// 1 LSB, none 3, and predictions must agree on ≥ 99 %.
TEST(DynamicReferenceModels, BatchOneAndSixtyFour) {
  constexpr int64_t kImages = 200;
  auto test = fmnist("test");
  data::Batch b;
  ASSERT_TRUE(test->read(0, kImages, &b).is_ok());
  const int64_t per = b.x.numel() / kImages;
  for (const char* name : {"lenet", "resnet8", "mobilenet", "mlp"}) {
    SCOPED_TRACE(name);
    const quant::QuantizedModel m = quantize_reference(name, "int8-dynamic");
    auto program = compile(m);
    ASSERT_TRUE(program.is_ok()) << program.status().message();
    auto sim = quant::make_simulation(m);
    ASSERT_TRUE(sim.is_ok());
    Shape s64 = b.x.shape();
    s64[0] = 64;
    Tensor x64 = Tensor::zeros(DType::kF32, s64);
    std::copy_n(b.x.data<float>() + 64 * per, 64 * per, x64.data<float>());  // images 64 … 127
    EXPECT_LE(max_dynamic_lsbs(*program, sim->session, x64), 1.0) << "batch 64";
    Shape one = b.x.shape();
    one[0] = 1;
    int64_t over = 0, same = 0;
    double worst = 0;
    for (int64_t i = 0; i < kImages; ++i) {
      Tensor x = Tensor::zeros(DType::kF32, one);
      std::copy_n(b.x.data<float>() + i * per, per, x.data<float>());
      const double d = max_dynamic_lsbs(*program, sim->session, x);
      worst = std::max(worst, d);
      over += d > 1.0;
      auto yi = program->run({x});
      auto ys = sim->session.run({x});
      ASSERT_TRUE(yi.is_ok() && ys.is_ok());
      const int64_t classes = (*yi)[0].dim(1);
      same += exec::argmax((*yi)[0].data<float>(), classes) == exec::argmax((*ys)[0].data<float>(), classes);
    }
    std::printf("%s int8-dynamic batch 1: %lld/%lld images over 1 LSB, worst %.3f LSB, predictions agree on %lld\n", name,
                static_cast<long long>(over), static_cast<long long>(kImages), worst, static_cast<long long>(same));
    EXPECT_LE(over, kImages / 100);
    EXPECT_LE(worst, 3.0);
    EXPECT_GE(same, kImages - kImages / 100);
  }
}

}  // namespace
}  // namespace lowbit::runtime
