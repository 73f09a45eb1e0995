// model.h: turning an imported graph into a runnable one — support check, constant folding,
// shape inference — and load_model(), which does all of it for an ONNX file.
//
// These passes live in exec rather than ir (DESIGN.md puts graph passes in ir) because they
// evaluate ops: folding runs an op's forward, inference its shape function, and ops sit below ir.
#pragma once

#include <functional>
#include <string>

#include "core/status.h"
#include "ir/graph.h"
#include "ops/op.h"

namespace lowbit::exec {

// Ok if lowbit implements every node's op; else one error listing every unsupported op type
// with the name of one node using it: "unsupported ops: If (node 'cond_1'), NonZero (node 'nz')".
Status check_supported(const ir::Graph& graph);

// Ok if `node` has between op.min_inputs and op.max_inputs inputs and none of the first
// min_inputs is omitted; else an error naming the node.
Status check_arity(const ir::Node& node, const ops::OpDef& op);

// Fills dtype and (partial) shape of every value from the ops' shape functions, in node order.
// Shapes already known (graph inputs, value_info) are kept where inference knows less.
Status infer_shapes(ir::Graph& graph);

// Replaces nodes whose inputs are all constants by their (computed) outputs, and Shape nodes
// (plus Gather/Slice of them) whose selected dims are statically known, repeating with shape
// inference until nothing changes; then removes what no output needs. Outputs over
// kMaxFoldedElements stay as nodes (folding must not bloat the model).
// `foldable`, when given, limits folding to the nodes it accepts (the QDQ recognizer keeps
// DequantizeLinear of constant weights as nodes: they are the patterns it reads).
inline constexpr int64_t kMaxFoldedElements = int64_t{1} << 24;
Status fold_constants(ir::Graph& graph, const std::function<bool(const ir::Node&)>& foldable = {});

// check_supported + fold_constants + infer_shapes on an imported graph.
Status prepare_graph(ir::Graph& graph);

// Imports an ONNX file and prepares it; errors start with the file's path.
Result<ir::Graph> load_model(const std::string& path);

}  // namespace lowbit::exec
