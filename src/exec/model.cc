// model.cc: support check, shape inference and constant folding over an ir::Graph.
#include "exec/model.h"

#include <map>
#include <set>

#include "core/thread_pool.h"
#include "onnx/import.h"
#include "ops/op.h"

namespace lowbit::exec {
namespace {

ops::TensorInfo info_of(const ir::Graph& g, int v) {
  ops::TensorInfo info;
  if (v == ir::kNoValue) {
    info.present = false;
    return info;
  }
  const ir::Value& value = g.value(v);
  if (value.constant) {
    info.dtype = value.constant->dtype();
    info.shape = value.constant->shape();
    info.value = &*value.constant;
  } else {
    info.dtype = value.dtype;
    info.shape = value.shape;
  }
  return info;
}

// Merges an inferred shape into a known one, preferring known dims; error on a contradiction.
Status merge_shape(ir::Value& value, const Shape& inferred, const ir::Node& node) {
  if (!value.shape) {
    value.shape = inferred;
    return Status::ok();
  }
  Shape& have = *value.shape;
  if (have.size() != inferred.size())
    return Status::errorf("node '{}' ({}): output '{}' is declared with shape {} but computes {}", node.name,
                          node.op_type, value.name, shape_str(have), shape_str(inferred));
  for (size_t d = 0; d < have.size(); ++d) {
    if (have[d] < 0) have[d] = inferred[d];
    else if (inferred[d] >= 0 && inferred[d] != have[d])
      return Status::errorf("node '{}' ({}): output '{}' is declared with shape {} but computes {}", node.name,
                            node.op_type, value.name, shape_str(have), shape_str(inferred));
  }
  return Status::ok();
}

// Runs one node on constant inputs; the outputs become constants.
Status fold_node(ir::Graph& g, const ir::Node& node, const ops::OpDef& op, std::vector<Tensor>* outputs) {
  ops::RunCtx ctx{node, g.opset, {}, std::vector<Tensor>(node.outputs.size()), ThreadPool::global()};
  for (int in : node.inputs) ctx.inputs.push_back(in == ir::kNoValue ? nullptr : &*g.value(in).constant);
  LB_TRY(op.forward(ctx));
  *outputs = std::move(ctx.outputs);
  return Status::ok();
}

// The value of Shape(x)[start:end] when those dims of x are known statically.
std::optional<Tensor> static_shape_slice(const ir::Graph& g, const ir::Node& shape_node) {
  const ir::Value& x = g.value(shape_node.input(0));
  if (!x.shape) return std::nullopt;
  const int64_t rank = static_cast<int64_t>(x.shape->size());
  auto clamp_axis = [&](int64_t a) { return std::clamp(a < 0 ? a + rank : a, int64_t{0}, rank); };
  int64_t start = 0, end = rank;
  if (Result<int64_t> s = shape_node.attrs.get_int("start", 0); s.is_ok()) start = clamp_axis(*s);
  if (Result<int64_t> e = shape_node.attrs.get_int("end", rank); e.is_ok()) end = clamp_axis(*e);
  std::vector<int64_t> dims;
  for (int64_t d = start; d < end; ++d) {
    if ((*x.shape)[static_cast<size_t>(d)] < 0) return std::nullopt;
    dims.push_back((*x.shape)[static_cast<size_t>(d)]);
  }
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims);
}

// Gather(Shape(x), const indices) where only the gathered dims must be known.
std::optional<Tensor> gather_of_shape(const ir::Graph& g, const ir::Node& gather) {
  if (!g.is_constant(gather.input(1))) return std::nullopt;
  const int src = gather.input(0);
  const int p = g.value(src).producer;
  if (p < 0 || g.nodes[static_cast<size_t>(p)].op_type != "Shape") return std::nullopt;
  const ir::Node& shape_node = g.nodes[static_cast<size_t>(p)];
  if (shape_node.attrs.has("start") || shape_node.attrs.has("end")) return std::nullopt;
  const ir::Value& x = g.value(shape_node.input(0));
  if (!x.shape) return std::nullopt;
  const Tensor& idx = *g.value(gather.input(1)).constant;
  if (idx.dtype() != DType::kI64 && idx.dtype() != DType::kI32) return std::nullopt;
  const int64_t rank = static_cast<int64_t>(x.shape->size());
  std::vector<int64_t> dims;
  for (int64_t i = 0; i < idx.numel(); ++i) {
    int64_t a = idx.at_i64(i);
    if (a < 0) a += rank;
    if (a < 0 || a >= rank || (*x.shape)[static_cast<size_t>(a)] < 0) return std::nullopt;
    dims.push_back((*x.shape)[static_cast<size_t>(a)]);
  }
  return Tensor::from_vector<int64_t>(idx.shape(), dims);
}

}  // namespace

Status check_arity(const ir::Node& node, const ops::OpDef& op) {
  const int n_in = static_cast<int>(node.inputs.size());
  if (n_in < op.min_inputs || (op.max_inputs >= 0 && n_in > op.max_inputs))
    return Status::errorf("node '{}' ({}) has {} inputs, expected {} to {}", node.name, node.op_type, n_in,
                          op.min_inputs, op.max_inputs < 0 ? std::string("any") : std::to_string(op.max_inputs));
  // ONNX puts required inputs first; an empty name there leaves the op without one.
  for (int i = 0; i < op.min_inputs; ++i)
    if (node.inputs[static_cast<size_t>(i)] == ir::kNoValue)
      return Status::errorf("node '{}' ({}): required input {} is empty", node.name, node.op_type, i);
  return Status::ok();
}

Status check_supported(const ir::Graph& graph) {
  std::map<std::string, std::string> missing;  // "domain:op" -> first node
  for (const ir::Node& n : graph.nodes)
    if (!ops::find_op(n.domain, n.op_type)) {
      const std::string key = n.domain.empty() || n.domain == "ai.onnx" ? n.op_type : n.domain + "." + n.op_type;
      missing.emplace(key, n.name);
    }
  if (missing.empty()) return Status::ok();
  std::string msg = "unsupported ops: ";
  bool first = true;
  for (const auto& [op, node] : missing) {
    if (!first) msg += ", ";
    first = false;
    msg += fmt::format("{} (node '{}')", op, node);
  }
  return Status::error(msg);
}

Status infer_shapes(ir::Graph& g) {
  for (const ir::Node& node : g.nodes) {
    const ops::OpDef* op = ops::find_op(node.domain, node.op_type);
    if (!op) continue;
    ops::InferCtx ctx{node, g.opset, {}, std::vector<ops::TensorInfo>(node.outputs.size())};
    for (int in : node.inputs) ctx.inputs.push_back(info_of(g, in));
    LB_TRY(check_arity(node, *op));
    LB_TRY(op->infer(ctx).with_context(fmt::format("node '{}' ({})", node.name, node.op_type)));
    for (size_t o = 0; o < node.outputs.size(); ++o) {
      const int v = node.outputs[o];
      if (v == ir::kNoValue) continue;
      ir::Value& value = g.value(v);
      if (ctx.outputs[o].dtype) value.dtype = ctx.outputs[o].dtype;
      if (ctx.outputs[o].shape) LB_TRY(merge_shape(value, *ctx.outputs[o].shape, node));
    }
  }
  return Status::ok();
}

Status fold_constants(ir::Graph& g, const std::function<bool(const ir::Node&)>& foldable) {
  for (int round = 0; round < 16; ++round) {
    LB_TRY(infer_shapes(g));
    bool changed = false;
    std::vector<bool> drop(g.nodes.size(), false);
    for (size_t n = 0; n < g.nodes.size(); ++n) {
      const ir::Node& node = g.nodes[n];
      const ops::OpDef* op = ops::find_op(node.domain, node.op_type);
      if (!op || (foldable && !foldable(node))) continue;
      std::vector<Tensor> outs;
      if (node.op_type == "Shape") {
        std::optional<Tensor> t = static_shape_slice(g, node);
        if (!t) continue;
        outs.push_back(*t);
      } else if (node.op_type == "Gather" && gather_of_shape(g, node)) {
        outs.push_back(*gather_of_shape(g, node));
      } else {
        bool all_const = !node.inputs.empty();
        for (int in : node.inputs)
          if (in != ir::kNoValue && !g.is_constant(in)) all_const = false;
        if (!all_const) continue;
        bool small = true;
        for (int o : node.outputs) {
          const ir::Value& v = g.value(o == ir::kNoValue ? node.outputs[0] : o);
          if (v.shape) {
            Result<int64_t> count = checked_numel(*v.shape);
            if (count.is_ok() && *count > kMaxFoldedElements) small = false;
          }
        }
        if (!small) continue;
        LB_TRY(fold_node(g, node, *op, &outs).with_context(
            fmt::format("node '{}' ({}) on constant inputs", node.name, node.op_type)));
      }
      for (size_t o = 0; o < node.outputs.size() && o < outs.size(); ++o) {
        const int v = node.outputs[o];
        if (v == ir::kNoValue || !outs[o].defined()) continue;
        ir::Value& value = g.value(v);
        value.dtype = outs[o].dtype();
        value.shape = outs[o].shape();
        value.constant = std::move(outs[o]);
      }
      drop[n] = true;
      changed = true;
    }
    if (!changed) break;
    std::vector<ir::Node> kept;
    for (size_t n = 0; n < g.nodes.size(); ++n)
      if (!drop[n]) kept.push_back(std::move(g.nodes[n]));
    g.nodes = std::move(kept);
    g.rebuild_producers();
  }
  g.remove_dead();
  return infer_shapes(g);
}

Status prepare_graph(ir::Graph& graph) {
  LB_TRY(check_supported(graph));
  return fold_constants(graph);
}

Result<ir::Graph> load_model(const std::string& path) {
  LB_ASSIGN_OR_RETURN(ir::Graph graph, onnx::import_model(path));
  LB_TRY(prepare_graph(graph).with_context(path));
  return graph;
}

}  // namespace lowbit::exec
