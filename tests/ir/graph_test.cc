// graph_test.cc: topological order, cycle and dangling-input detection, dead-code removal.
#include "ir/graph.h"

#include <gtest/gtest.h>

namespace lowbit::ir {
namespace {

// x -> A -> a -> B -> b (output), with nodes added in reverse order.
Graph chain() {
  Graph g;
  const int x = g.add_value("x"), a = g.add_value("a"), b = g.add_value("b");
  g.inputs = {x};
  g.outputs = {b};
  g.add_node(Node{"B", "Relu", "", {a}, {b}, {}});
  g.add_node(Node{"A", "Relu", "", {x}, {a}, {}});
  return g;
}

TEST(Graph, TopoSortOrdersProducersFirst) {
  Graph g = chain();
  ASSERT_TRUE(g.topo_sort().is_ok());
  EXPECT_EQ(g.nodes[0].name, "A");
  EXPECT_EQ(g.nodes[1].name, "B");
  EXPECT_EQ(g.value(g.find_value("a")).producer, 0);
}

TEST(Graph, CycleIsReportedWithANode) {
  Graph g;
  const int x = g.add_value("x"), a = g.add_value("a"), b = g.add_value("b");
  g.inputs = {x};
  g.outputs = {b};
  g.add_node(Node{"A", "Add", "", {x, b}, {a}, {}});
  g.add_node(Node{"B", "Relu", "", {a}, {b}, {}});
  Status s = g.topo_sort();
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("cycle through node"), std::string::npos) << s.message();
}

TEST(Graph, DanglingInputAndDoubleProducerAreErrors) {
  Graph g = chain();
  const int ghost = g.add_value("ghost");
  g.nodes[0].inputs.push_back(ghost);
  Status s = g.topo_sort();
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("'ghost'"), std::string::npos) << s.message();

  Graph h = chain();
  h.add_node(Node{"C", "Relu", "", {h.find_value("x")}, {h.find_value("a")}, {}});
  s = h.topo_sort();
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("produced by two nodes"), std::string::npos) << s.message();
}

TEST(Graph, RemoveDeadDropsUnreachableNodesAndValues) {
  Graph g = chain();
  const int c = g.add_value("c");
  g.add_node(Node{"Dead", "Relu", "", {g.find_value("x")}, {c}, {}});
  ASSERT_TRUE(g.topo_sort().is_ok());
  g.remove_dead();
  EXPECT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.find_value("c"), -1);
  EXPECT_EQ(g.value(g.outputs[0]).name, "b");
  EXPECT_EQ(g.value(g.nodes[1].inputs[0]).name, "a");
}

TEST(Attributes, TypedAccessAndErrors) {
  Attributes a;
  a.set("k", int64_t{3});
  a.set("f", 0.5f);
  a.set("v", std::vector<int64_t>{1, 2});
  EXPECT_EQ(*a.get_int("k"), 3);
  EXPECT_EQ(*a.get_int("missing", 7), 7);
  EXPECT_EQ(*a.get_float("k"), 3.0f);  // int accepted where a float is asked
  EXPECT_EQ(*a.get_float("f"), 0.5f);
  Result<int64_t> wrong = a.get_int("f");
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_EQ(wrong.status().message(), "attribute 'f' is float, expected int");
  Result<std::vector<int64_t>> missing = a.get_ints("pads");
  ASSERT_FALSE(missing.is_ok());
  EXPECT_EQ(missing.status().message(), "required attribute 'pads' is missing");
}

}  // namespace
}  // namespace lowbit::ir
