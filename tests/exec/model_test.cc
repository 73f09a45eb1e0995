// model_test.cc: constant folding, shape inference, the support check and Session execution.
#include "exec/model.h"

#include <gtest/gtest.h>

#include "exec/session.h"

namespace lowbit::exec {
namespace {

using ir::Graph;
using ir::Node;

int add_const(Graph& g, const std::string& name, Tensor t) {
  const int v = g.add_value(name);
  g.value(v).constant = std::move(t);
  g.value(v).is_initializer = true;
  return v;
}

// PyTorch's dynamic flatten: Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])) on
// x [?,2,3,4]; plus a static sub-graph Shape(x)[1] * 7 that must fold to a constant.
Graph flatten_graph() {
  Graph g;
  g.opset = 13;
  const int x = g.add_value("x");
  g.value(x).dtype = DType::kF32;
  g.value(x).shape = Shape{-1, 2, 3, 4};
  g.inputs = {x};
  const int shape = g.add_value("shape"), b = g.add_value("b"), bu = g.add_value("bu"), target = g.add_value("target");
  const int y = g.add_value("y"), c1 = g.add_value("c1"), c1x7 = g.add_value("c1x7");
  const int zero = add_const(g, "zero", Tensor::scalar<int64_t>(0));
  const int one = add_const(g, "one", Tensor::scalar<int64_t>(1));
  const int axes = add_const(g, "axes", Tensor::from_vector<int64_t>({1}, {0}));
  const int minus1 = add_const(g, "minus1", Tensor::from_vector<int64_t>({1}, {-1}));
  const int seven = add_const(g, "seven", Tensor::scalar<int64_t>(7));
  ir::Attributes concat_axis;
  concat_axis.set("axis", int64_t{0});
  g.add_node(Node{"shape", "Shape", "", {x}, {shape}, {}});
  g.add_node(Node{"gather0", "Gather", "", {shape, zero}, {b}, {}});
  g.add_node(Node{"unsq", "Unsqueeze", "", {b, axes}, {bu}, {}});
  g.add_node(Node{"concat", "Concat", "", {bu, minus1}, {target}, concat_axis});
  g.add_node(Node{"reshape", "Reshape", "", {x, target}, {y}, {}});
  g.add_node(Node{"gather1", "Gather", "", {shape, one}, {c1}, {}});
  g.add_node(Node{"mul", "Mul", "", {c1, seven}, {c1x7}, {}});
  g.outputs = {y, c1x7};
  EXPECT_TRUE(g.topo_sort().is_ok());
  return g;
}

TEST(FoldConstants, FoldsStaticDimsAndKeepsDynamicOnes) {
  Graph g = flatten_graph();
  ASSERT_TRUE(prepare_graph(g).is_ok());
  // Shape(x)[1] * 7 = 14 is a constant now; the batch-dependent chain stays.
  const int c = g.find_value("c1x7");
  ASSERT_GE(c, 0);
  ASSERT_TRUE(g.value(c).constant.has_value());
  EXPECT_EQ(g.value(c).constant->at_i64(0), 14);
  EXPECT_EQ(g.value(g.find_value("y")).shape, (Shape{-1, -1}));
  bool has_gather1 = false, has_shape = false;
  for (const Node& n : g.nodes) {
    has_gather1 |= n.name == "gather1";
    has_shape |= n.op_type == "Shape";
  }
  EXPECT_FALSE(has_gather1);
  EXPECT_TRUE(has_shape);  // the batch size is only known at run time

  Result<Session> s = Session::create(g);
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  Tensor x = Tensor::zeros(DType::kF32, {5, 2, 3, 4});
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = static_cast<float>(i);
  Result<std::vector<Tensor>> out = s->run({x});
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ((*out)[0].shape(), (Shape{5, 24}));
  EXPECT_EQ((*out)[0].data<float>()[119], 119.0f);
  EXPECT_EQ((*out)[1].at_i64(0), 14);
}

TEST(FoldConstants, WholeStaticShapeFolds) {
  Graph g = flatten_graph();
  g.value(g.inputs[0]).shape = Shape{3, 2, 3, 4};
  ASSERT_TRUE(prepare_graph(g).is_ok());
  ASSERT_EQ(g.nodes.size(), 1u);
  EXPECT_EQ(g.nodes[0].op_type, "Reshape");
  EXPECT_EQ(g.value(g.find_value("y")).shape, (Shape{3, 24}));
}

TEST(CheckSupported, ListsEveryUnsupportedOpOnce) {
  Graph g;
  const int x = g.add_value("x"), a = g.add_value("a"), b = g.add_value("b"), c = g.add_value("c");
  g.inputs = {x};
  g.outputs = {c};
  g.add_node(Node{"nz1", "NonZero", "", {x}, {a}, {}});
  g.add_node(Node{"nz2", "NonZero", "", {a}, {b}, {}});
  g.add_node(Node{"lstm", "LSTM", "", {b}, {c}, {}});
  Status s = check_supported(g);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.message(), "unsupported ops: LSTM (node 'lstm'), NonZero (node 'nz1')");
}

TEST(CheckArity, EmptyRequiredInputIsAnError) {
  // Found by model_run_fuzz: a Resize whose X input name is "" reached the op's forward.
  Graph g;
  const int x = g.add_value("x"), scales = g.add_value("scales"), y = g.add_value("y");
  g.value(scales).constant = Tensor::from_vector<float>({4}, {1, 1, 2, 2});
  g.inputs = {x};
  g.outputs = {y};
  g.add_node(Node{"up", "Resize", "", {ir::kNoValue, ir::kNoValue, scales}, {y}, {}});
  ASSERT_TRUE(g.topo_sort().is_ok());
  Status s = prepare_graph(g);
  ASSERT_FALSE(s.is_ok());
  EXPECT_EQ(s.message(), "node 'up' (Resize): required input 0 is empty");
  EXPECT_FALSE(Session::create(g).is_ok());
}

TEST(Session, RejectsWrongInputsAndCallsHook) {
  Graph g;
  const int x = g.add_value("x"), y = g.add_value("y"), z = g.add_value("z");
  g.value(x).dtype = DType::kF32;
  g.value(x).shape = Shape{-1, 3};
  g.inputs = {x};
  g.outputs = {z};
  g.add_node(Node{"relu", "Relu", "", {x}, {y}, {}});
  g.add_node(Node{"neg", "Neg", "", {y}, {z}, {}});
  ASSERT_TRUE(prepare_graph(g).is_ok());
  Result<Session> s = Session::create(g);
  ASSERT_TRUE(s.is_ok());

  Result<std::vector<Tensor>> bad = s->run({Tensor::zeros(DType::kF32, {2, 4})});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message(), "input 'x' must have shape [?,3], got [2,4]");
  bad = s->run({Tensor::zeros(DType::kI64, {2, 3})});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message(), "input 'x' must be f32, got i64");
  EXPECT_FALSE(s->run({}).is_ok());

  std::vector<std::string> seen;
  Result<std::vector<Tensor>> out =
      s->run({Tensor::from_vector<float>({1, 3}, {-1, 2, -3})},
             [&](int v, const Tensor& t) { seen.push_back(s->graph().value(v).name + "=" + std::to_string(t.numel())); });
  ASSERT_TRUE(out.is_ok()) << out.status().message();
  EXPECT_EQ(seen, (std::vector<std::string>{"y=3", "z=3"}));
  EXPECT_EQ((*out)[0].data<float>()[0], -0.0f);
  EXPECT_EQ((*out)[0].data<float>()[1], -2.0f);
}

}  // namespace
}  // namespace lowbit::exec
