// graph.cc: Graph bookkeeping — names, producers, topological order, dead-code removal.
#include "ir/graph.h"

#include <algorithm>

#include "core/check.h"

namespace lowbit::ir {

int Graph::add_constant(std::string value_name, Tensor t) {
  const int v = add_value(std::move(value_name));
  Value& val = values[static_cast<size_t>(v)];
  val.dtype = t.dtype();
  val.shape = t.shape();
  val.constant = std::move(t);
  val.is_initializer = true;
  return v;
}

int Graph::add_value(std::string value_name) {
  if (index_.size() != values.size()) {  // values were edited directly: rebuild the index
    index_.clear();
    for (size_t i = 0; i < values.size(); ++i) index_.emplace(values[i].name, static_cast<int>(i));
  }
  if (value_name.empty()) value_name = unique_value_name("_unnamed");
  LB_CHECK(index_.find(value_name) == index_.end(), "add_value: duplicate value name");
  const int id = static_cast<int>(values.size());
  values.push_back(Value{});
  values.back().name = value_name;
  index_.emplace(std::move(value_name), id);
  return id;
}

int Graph::find_value(std::string_view value_name) const {
  if (index_.size() == values.size()) {
    auto it = index_.find(std::string(value_name));
    return it == index_.end() ? -1 : it->second;
  }
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i].name == value_name) return static_cast<int>(i);
  return -1;
}

std::string Graph::unique_value_name(std::string_view base) const {
  std::string name(base);
  for (int i = 1; find_value(name) >= 0; ++i) name = std::string(base) + "_" + std::to_string(i);
  return name;
}

int Graph::add_node(Node node) {
  const int id = static_cast<int>(nodes.size());
  for (int o : node.outputs)
    if (o != kNoValue) value(o).producer = id;
  nodes.push_back(std::move(node));
  return id;
}

void Graph::rebuild_producers() {
  for (Value& v : values) v.producer = -1;
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int o : nodes[n].outputs) {
      if (o == kNoValue) continue;
      LB_CHECK(value(o).producer == -1, "value produced by two nodes");
      value(o).producer = static_cast<int>(n);
    }
}

Status Graph::topo_sort() {
  // Producers by value, checking single assignment (untrusted models may violate it).
  std::vector<int> producer(values.size(), -1);
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int o : nodes[n].outputs) {
      if (o == kNoValue) continue;
      if (producer[static_cast<size_t>(o)] != -1)
        return Status::errorf("value '{}' is produced by two nodes ('{}' and '{}')", value(o).name,
                              nodes[static_cast<size_t>(producer[static_cast<size_t>(o)])].name, nodes[n].name);
      if (value(o).constant)
        return Status::errorf("node '{}' writes '{}', which is an initializer", nodes[n].name, value(o).name);
      producer[static_cast<size_t>(o)] = static_cast<int>(n);
    }
  std::vector<bool> is_input(values.size(), false);
  for (int i : inputs) is_input[static_cast<size_t>(i)] = true;

  // Kahn's algorithm; ties keep the original order so output is stable.
  std::vector<int> pending(nodes.size(), 0);
  std::vector<std::vector<int>> dependents(nodes.size());
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int in : nodes[n].inputs) {
      if (in == kNoValue) continue;
      const int p = producer[static_cast<size_t>(in)];
      if (p >= 0) {
        ++pending[n];
        dependents[static_cast<size_t>(p)].push_back(static_cast<int>(n));
      } else if (!is_input[static_cast<size_t>(in)] && !value(in).constant) {
        return Status::errorf("node '{}' reads '{}', which is not a graph input, an initializer or any node's output",
                              nodes[n].name, value(in).name);
      }
    }
  std::vector<int> order, ready;
  for (size_t n = nodes.size(); n-- > 0;)
    if (pending[n] == 0) ready.push_back(static_cast<int>(n));
  while (!ready.empty()) {
    const int n = ready.back();
    ready.pop_back();
    order.push_back(n);
    std::vector<int> now_ready;
    for (int d : dependents[static_cast<size_t>(n)])
      if (--pending[static_cast<size_t>(d)] == 0) now_ready.push_back(d);
    // Keep smaller indices on top of the stack.
    std::sort(now_ready.begin(), now_ready.end(), std::greater<int>());
    for (int d : now_ready) ready.push_back(d);
  }
  if (order.size() != nodes.size()) {
    for (size_t n = 0; n < nodes.size(); ++n)
      if (pending[n] > 0) return Status::errorf("the graph has a cycle through node '{}'", nodes[n].name);
  }
  std::vector<Node> sorted;
  sorted.reserve(nodes.size());
  for (int n : order) sorted.push_back(std::move(nodes[static_cast<size_t>(n)]));
  nodes = std::move(sorted);
  rebuild_producers();
  for (int o : outputs)
    if (value(o).producer < 0 && !value(o).constant && !is_input[static_cast<size_t>(o)])
      return Status::errorf("graph output '{}' is not produced by any node", value(o).name);
  return Status::ok();
}

std::vector<std::vector<int>> Graph::consumers() const {
  std::vector<std::vector<int>> c(values.size());
  for (size_t n = 0; n < nodes.size(); ++n)
    for (int in : nodes[n].inputs)
      if (in != kNoValue) c[static_cast<size_t>(in)].push_back(static_cast<int>(n));
  return c;
}

void Graph::remove_dead() {
  std::vector<bool> live_value(values.size(), false), live_node(nodes.size(), false);
  for (int o : outputs) live_value[static_cast<size_t>(o)] = true;
  for (int i : inputs) live_value[static_cast<size_t>(i)] = true;
  rebuild_producers();
  for (size_t n = nodes.size(); n-- > 0;) {
    bool needed = false;
    for (int o : nodes[n].outputs)
      if (o != kNoValue && live_value[static_cast<size_t>(o)]) needed = true;
    if (!needed) continue;
    live_node[n] = true;
    for (int in : nodes[n].inputs)
      if (in != kNoValue) live_value[static_cast<size_t>(in)] = true;
  }
  // Outputs of live nodes stay (even unused ones) so nodes keep their arity.
  for (size_t n = 0; n < nodes.size(); ++n)
    if (live_node[n])
      for (int o : nodes[n].outputs)
        if (o != kNoValue) live_value[static_cast<size_t>(o)] = true;

  std::vector<int> remap(values.size(), -1);
  std::vector<Value> kept_values;
  for (size_t v = 0; v < values.size(); ++v)
    if (live_value[v]) {
      remap[v] = static_cast<int>(kept_values.size());
      kept_values.push_back(std::move(values[v]));
    }
  auto re = [&](int v) { return v == kNoValue ? kNoValue : remap[static_cast<size_t>(v)]; };
  std::vector<Node> kept_nodes;
  for (size_t n = 0; n < nodes.size(); ++n) {
    if (!live_node[n]) continue;
    Node node = std::move(nodes[n]);
    for (int& in : node.inputs) in = re(in);
    for (int& o : node.outputs) o = re(o);
    kept_nodes.push_back(std::move(node));
  }
  for (int& i : inputs) i = re(i);
  for (int& o : outputs) o = re(o);
  values = std::move(kept_values);
  nodes = std::move(kept_nodes);
  index_.clear();
  for (size_t i = 0; i < values.size(); ++i) index_.emplace(values[i].name, static_cast<int>(i));
  rebuild_producers();
}

}  // namespace lowbit::ir
