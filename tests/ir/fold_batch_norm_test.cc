// fold_batch_norm_test.cc: folding BatchNormalization into Conv / Gemm keeps outputs to 1e-5
// (synthetic graphs and the reference models) and leaves what it must not fold alone.
#include "ir/fold_batch_norm.h"

#include <gtest/gtest.h>

#include <random>

#include "data/fashion_mnist.h"
#include "exec/model.h"
#include "exec/session.h"
#include "ops/nn_test_util.h"

namespace lowbit::ir {
namespace {

using nn_testing::random_tensor;

int add_const(Graph& g, const std::string& name, Tensor t) {
  const int v = g.add_value(name);
  g.value(v).dtype = t.dtype();
  g.value(v).shape = t.shape();
  g.value(v).constant = std::move(t);
  g.value(v).is_initializer = true;
  return v;
}

// BN parameters with variances in [0.5, 2] so the fold is well conditioned.
std::vector<int> add_bn_params(Graph& g, const std::string& p, int64_t c, std::mt19937& rng) {
  return {add_const(g, p + ".gamma", random_tensor({c}, rng, 0.5f, 2.f)), add_const(g, p + ".beta", random_tensor({c}, rng)),
          add_const(g, p + ".mean", random_tensor({c}, rng)), add_const(g, p + ".var", random_tensor({c}, rng, 0.5f, 2.f))};
}

// x [2,3,6,6] → Conv(4 out, 3×3, bias or not) → BN → Relu → y.
Graph conv_bn_graph(bool bias, std::mt19937& rng) {
  Graph g;
  const int x = g.add_value("x");
  g.value(x).dtype = DType::kF32;
  g.value(x).shape = Shape{2, 3, 6, 6};
  g.inputs = {x};
  const int w = add_const(g, "w", random_tensor({4, 3, 3, 3}, rng));
  std::vector<int> conv_in{x, w};
  if (bias) conv_in.push_back(add_const(g, "b", random_tensor({4}, rng)));
  const int c = g.add_value("c"), bn = g.add_value("bn"), y = g.add_value("y");
  g.add_node(Node{"conv", "Conv", "", conv_in, {c}, {}});
  std::vector<int> bn_in{c};
  for (int v : add_bn_params(g, "bn", 4, rng)) bn_in.push_back(v);
  Attributes eps;
  eps.set("epsilon", 1e-3f);
  g.add_node(Node{"bn", "BatchNormalization", "", bn_in, {bn}, eps});
  g.add_node(Node{"relu", "Relu", "", {bn}, {y}, {}});
  g.outputs = {y};
  EXPECT_TRUE(g.topo_sort().is_ok());
  return g;
}

// x [5,6] → Gemm(B, C; transB, alpha, beta) → BN → y.
Graph gemm_bn_graph(bool trans_b, std::mt19937& rng) {
  Graph g;
  const int x = g.add_value("x");
  g.value(x).dtype = DType::kF32;
  g.value(x).shape = Shape{5, 6};
  g.inputs = {x};
  const int w = add_const(g, "w", random_tensor(trans_b ? Shape{4, 6} : Shape{6, 4}, rng));
  const int b = add_const(g, "b", random_tensor({4}, rng));
  const int m = g.add_value("m"), y = g.add_value("y");
  Attributes a;
  a.set("transB", int64_t{trans_b});
  a.set("alpha", 0.75f);
  a.set("beta", 1.5f);
  g.add_node(Node{"gemm", "Gemm", "", {x, w, b}, {m}, a});
  std::vector<int> bn_in{m};
  for (int v : add_bn_params(g, "bn", 4, rng)) bn_in.push_back(v);
  g.add_node(Node{"bn", "BatchNormalization", "", bn_in, {y}, {}});
  g.outputs = {y};
  EXPECT_TRUE(g.topo_sort().is_ok());
  return g;
}

Tensor run(const Graph& g, const Tensor& x) {
  auto s = exec::Session::create(g);
  EXPECT_TRUE(s.is_ok()) << s.status().message();
  auto y = s->run({x});
  EXPECT_TRUE(y.is_ok()) << y.status().message();
  return (*y)[0];
}

// max |a − b| / max(1, max |a|)
double rel_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double d = 0, m = 1;
  for (int64_t i = 0; i < a.numel(); ++i) {
    d = std::max(d, std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
    m = std::max(m, std::fabs(static_cast<double>(a.data<float>()[i])));
  }
  return d / m;
}

int count_op(const Graph& g, const std::string& op) {
  int n = 0;
  for (const Node& node : g.nodes) n += node.op_type == op;
  return n;
}

TEST(FoldBatchNorm, ConvWithAndWithoutBiasAgreesTo1e5) {
  for (bool bias : {false, true}) {
    std::mt19937 rng(7 + bias);
    Graph g = conv_bn_graph(bias, rng);
    const Tensor x = random_tensor({2, 3, 6, 6}, rng);
    const Tensor want = run(g, x);
    auto n = fold_batch_norm(g);
    ASSERT_TRUE(n.is_ok()) << n.status().message();
    EXPECT_EQ(*n, 1);
    EXPECT_EQ(count_op(g, "BatchNormalization"), 0);
    EXPECT_LE(rel_diff(want, run(g, x)), 1e-5) << "bias " << bias;
  }
}

TEST(FoldBatchNorm, GemmWithAlphaBetaAndBothLayoutsAgreesTo1e5) {
  for (bool trans_b : {false, true}) {
    std::mt19937 rng(11 + trans_b);
    Graph g = gemm_bn_graph(trans_b, rng);
    const Tensor x = random_tensor({5, 6}, rng);
    const Tensor want = run(g, x);
    ASSERT_EQ(*fold_batch_norm(g), 1);
    EXPECT_EQ(count_op(g, "BatchNormalization"), 0);
    EXPECT_LE(rel_diff(want, run(g, x)), 1e-5) << "transB " << trans_b;
  }
}

TEST(FoldBatchNorm, LeavesBnWhoseInputHasOtherReaders) {
  std::mt19937 rng(3);
  Graph g = conv_bn_graph(true, rng);
  // A second reader of the conv output: folding would change what it sees.
  const int c = g.find_value("c"), z = g.add_value("z");
  g.add_node(Node{"neg", "Neg", "", {c}, {z}, {}});
  g.outputs.push_back(z);
  ASSERT_TRUE(g.topo_sort().is_ok());
  EXPECT_EQ(*fold_batch_norm(g), 0);
  EXPECT_EQ(count_op(g, "BatchNormalization"), 1);
}

TEST(FoldBatchNorm, SharedWeightIsCopiedNotChanged) {
  std::mt19937 rng(5);
  Graph g = conv_bn_graph(false, rng);
  // A second Conv reads the same weight directly.
  const int x = g.inputs[0], w = g.find_value("w"), z = g.add_value("z");
  g.add_node(Node{"conv2", "Conv", "", {x, w}, {z}, {}});
  g.outputs.push_back(z);
  ASSERT_TRUE(g.topo_sort().is_ok());
  const Tensor x0 = random_tensor({2, 3, 6, 6}, rng);
  auto s = exec::Session::create(g);
  auto before = s->run({x0});
  ASSERT_EQ(*fold_batch_norm(g), 1);
  auto s2 = exec::Session::create(g);
  auto after = s2->run({x0});
  EXPECT_LE(rel_diff((*before)[0], (*after)[0]), 1e-5);
  EXPECT_EQ(rel_diff((*before)[1], (*after)[1]), 0.0);  // conv2 still sees the original weight
}

TEST(FoldBatchNorm, ReferenceModelsAgreeTo1e5) {
  auto ds = data::open_fashion_mnist("test", data::Normalize{255.f, {0.2860f}, {0.3530f}});
  ASSERT_TRUE(ds.is_ok()) << ds.status().message();
  data::Batch b;
  ASSERT_TRUE((*ds)->read(0, 32, &b).is_ok());
  for (const char* name : {"lenet", "resnet8", "mobilenet", "mlp"}) {
    auto g = exec::load_model(std::string(LOWBIT_SOURCE_DIR) + "/models/" + name + ".onnx");
    ASSERT_TRUE(g.is_ok()) << g.status().message();
    const int bns = count_op(*g, "BatchNormalization");
    const Tensor want = run(*g, b.x);
    auto n = fold_batch_norm(*g);
    ASSERT_TRUE(n.is_ok());
    EXPECT_EQ(*n, bns) << name;
    EXPECT_LE(rel_diff(want, run(*g, b.x)), 1e-5) << name;
  }
}

}  // namespace
}  // namespace lowbit::ir
