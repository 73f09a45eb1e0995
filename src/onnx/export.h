// export.h: ir::Graph -> ONNX model file.
//
// Writes opset_import (Graph::opsets with Graph::opset for the default domain, plus version 1
// for any other domain a node uses but the graph does not list), producer_name and metadata,
// every constant value that no node produces as an initializer in raw_data, graph inputs and
// outputs with dtype and shape (an unknown dim is written as its dim_param when the value has
// one, else as an empty dimension: a shared "?" would tell readers the dims are equal),
// value_info for intermediates whose dtype is known, and the nodes with their
// attributes. The IR version is the oldest that allows the opset (at least 4).
//
// import_model() of the result gives back the same graph (names, ops, attributes, constants bit
// for bit) except that: every constant comes back with is_initializer = true (a Constant node's
// value is written as an initializer); DOUBLE / FLOAT16 constants, FP32 since import, stay
// FLOAT; an empty graph name or producer_name comes back as "lowbit" (the ONNX checker requires
// a graph name).
#pragma once

#include <string>

#include "core/status.h"
#include "ir/graph.h"

namespace lowbit::onnx {

// Serializes to a temporary file in the target's folder and renames it into place, so a
// failure leaves no partial file. Errors start with `path`.
Status export_model(const ir::Graph& graph, const std::string& path);

// The serialized ModelProto. Fails on a malformed graph (index out of range, a value without a
// name or two with the same name, missing constant data) or a model over protobuf's 2 GiB limit.
Result<std::string> export_model_to_bytes(const ir::Graph& graph);

}  // namespace lowbit::onnx
