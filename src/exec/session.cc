// session.cc: node-by-node FP32 execution with early release of dead intermediates.
#include "exec/session.h"

#include "exec/model.h"

namespace lowbit::exec {

Status check_input(const ir::Graph& graph, int v, const Tensor& t) {
  const ir::Value& value = graph.value(v);
  if (value.dtype && *value.dtype != t.dtype())
    return Status::errorf("input '{}' must be {}, got {}", value.name, dtype_name(*value.dtype), dtype_name(t.dtype()));
  if (value.shape) {
    const Shape& want = *value.shape;
    bool ok = want.size() == t.shape().size();
    for (size_t d = 0; ok && d < want.size(); ++d) ok = want[d] < 0 || want[d] == t.shape()[d];
    if (!ok)
      return Status::errorf("input '{}' must have shape {}, got {}", value.name, shape_str(want), shape_str(t.shape()));
  }
  return Status::ok();
}

Session::Session(ir::Graph graph) : graph_(std::move(graph)) {}

Result<Session> Session::create(ir::Graph graph) {
  LB_TRY(check_supported(graph));
  Session s(std::move(graph));
  const ir::Graph& g = s.graph_;
  s.op_of_node_.reserve(g.nodes.size());
  for (const ir::Node& n : g.nodes) {
    s.op_of_node_.push_back(ops::find_op(n.domain, n.op_type));
    LB_TRY(check_arity(n, *s.op_of_node_.back()));
  }
  s.last_use_.assign(g.values.size(), -1);
  for (size_t n = 0; n < g.nodes.size(); ++n)
    for (int in : g.nodes[n].inputs)
      if (in != ir::kNoValue) s.last_use_[static_cast<size_t>(in)] = static_cast<int>(n);
  s.is_output_.assign(g.values.size(), false);
  for (int o : g.outputs) s.is_output_[static_cast<size_t>(o)] = true;
  return s;
}

Result<std::vector<Tensor>> Session::run(const std::vector<Tensor>& inputs, const ValueHook& hook) const {
  const ir::Graph& g = graph_;
  if (inputs.size() != g.inputs.size())
    return Status::errorf("the model takes {} input(s), got {}", g.inputs.size(), inputs.size());
  std::vector<Tensor> slot(g.values.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    LB_TRY(check_input(g, g.inputs[i], inputs[i]));
    slot[static_cast<size_t>(g.inputs[i])] = inputs[i];
  }
  auto lookup = [&](int v) -> const Tensor* {
    const ir::Value& value = g.value(v);
    if (value.constant) return &*value.constant;
    const Tensor& t = slot[static_cast<size_t>(v)];
    return t.defined() ? &t : nullptr;
  };

  ThreadPool& pool = ThreadPool::global();
  for (size_t n = 0; n < g.nodes.size(); ++n) {
    const ir::Node& node = g.nodes[n];
    ops::RunCtx ctx{node, g.opset, {}, std::vector<Tensor>(node.outputs.size()), pool};
    ctx.inputs.reserve(node.inputs.size());
    for (int in : node.inputs) {
      const Tensor* t = in == ir::kNoValue ? nullptr : lookup(in);
      if (in != ir::kNoValue && !t)
        return Status::errorf("node '{}' ({}): input '{}' was not computed", node.name, node.op_type, g.value(in).name);
      ctx.inputs.push_back(t);
    }
    LB_TRY(op_of_node_[n]->forward(ctx).with_context(fmt::format("node '{}' ({})", node.name, node.op_type)));
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const int v = node.outputs[o];
      if (v == ir::kNoValue) continue;
      if (!ctx.outputs[o].defined()) {
        if (last_use_[static_cast<size_t>(v)] >= 0 || is_output_[static_cast<size_t>(v)])
          return Status::errorf("node '{}' ({}) did not produce output '{}'", node.name, node.op_type, g.value(v).name);
        continue;
      }
      if (hook) hook(v, ctx.outputs[o]);
      slot[static_cast<size_t>(v)] = std::move(ctx.outputs[o]);
    }
    // Release what no later node reads.
    for (int in : node.inputs)
      if (in != ir::kNoValue && last_use_[static_cast<size_t>(in)] == static_cast<int>(n) &&
          !is_output_[static_cast<size_t>(in)])
        slot[static_cast<size_t>(in)] = Tensor();
  }
  std::vector<Tensor> out;
  out.reserve(g.outputs.size());
  for (int o : g.outputs) {
    const Tensor* t = lookup(o);
    if (!t) return Status::errorf("graph output '{}' was not computed", g.value(o).name);
    out.push_back(*t);
  }
  return out;
}

}  // namespace lowbit::exec
