// graph.h: the IR — Graph, Node, Value — that every layer below works on.
//
// Values and nodes live in vectors and refer to each other by index, so a Graph copies
// cheaply and passes can rewrite it without pointer fix-ups. A value is produced by at most
// one node (SSA); graph inputs and constants (initializers, folded results) have no producer.
// Shapes may be partial: a dim < 0 is unknown (e.g. a dynamic batch), an absent shape means
// even the rank is unknown.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/attribute.h"

namespace lowbit::ir {

inline constexpr int kNoValue = -1;  // an omitted optional input

struct Value {
  std::string name;
  std::optional<DType> dtype;
  std::optional<Shape> shape;           // dims < 0 are unknown
  std::vector<std::string> dim_params;  // symbolic dim names (graph inputs), "" where none
  std::optional<Tensor> constant;       // initializer or folded constant
  bool is_initializer = false;          // came from the model's initializers
  int producer = -1;                    // index of the producing node, -1 for none
};

struct Node {
  std::string name;     // unique in the graph after import (generated where the model had none)
  std::string op_type;
  std::string domain;   // "" for the default ONNX domain
  std::vector<int> inputs;   // value indices; kNoValue for omitted optional inputs
  std::vector<int> outputs;  // value indices; kNoValue for omitted optional outputs
  Attributes attrs;

  int input(size_t i) const { return i < inputs.size() ? inputs[i] : kNoValue; }
  bool has_input(size_t i) const { return input(i) != kNoValue; }
};

class Graph {
 public:
  std::string name;
  int64_t opset = 13;  // default-domain opset the model imports
  std::map<std::string, int64_t> opsets;  // every imported domain's version
  std::map<std::string, std::string> metadata;  // the model's metadata_props
  std::string producer_name;

  std::vector<Value> values;
  std::vector<Node> nodes;  // in topological order once topo_sort() succeeded
  std::vector<int> inputs;  // graph inputs fed at run time (initializers excluded)
  std::vector<int> outputs;

  // Adds a value; the name must be new (LB_CHECK). Returns its index.
  int add_value(std::string value_name);
  // Adds an initializer holding `t` (dtype and shape from it); the name must be new.
  int add_constant(std::string value_name, Tensor t);
  // Index of the value with that name, or -1.
  int find_value(std::string_view value_name) const;
  // A name not used yet, built from `base`.
  std::string unique_value_name(std::string_view base) const;
  // Appends a node and sets its outputs' producer; returns its index.
  int add_node(Node node);

  Value& value(int i) { return values[static_cast<size_t>(i)]; }
  const Value& value(int i) const { return values[static_cast<size_t>(i)]; }
  bool is_constant(int v) const { return v != kNoValue && value(v).constant.has_value(); }

  // Orders nodes so each comes after the producers of its inputs and recomputes producers.
  // Fails, naming a node on the cycle, if the graph is not a DAG; fails if a node reads a value
  // that is neither a graph input, a constant, nor produced by some node.
  Status topo_sort();
  // Recomputes Value::producer from the node list; LB_CHECKs single assignment.
  void rebuild_producers();
  // For each value, the nodes that read it.
  std::vector<std::vector<int>> consumers() const;
  // Drops nodes whose outputs reach no graph output, then drops values nothing refers to
  // (renumbering indices). Keeps nodes in order.
  void remove_dead();

 private:
  std::unordered_map<std::string, int> index_;
};

}  // namespace lowbit::ir
