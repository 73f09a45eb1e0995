// import.h: ONNX model file -> ir::Graph (the only way models enter lowbit).
//
// The file is untrusted: every failure is a one-line error that starts with the file's path,
// "bad.onnx: initializer 'w' has dims [1099511627776,1099511627776] which overflow", and
// nothing is allocated before its size is checked.
//
// What import does to the model:
//   - opset_import: the default domain ("" or "ai.onnx") becomes Graph::opset and must be in
//     [kMinOpset, kMaxOpset]; every domain's version is kept in Graph::opsets ("" for default).
//   - initializers become constant values (is_initializer = true); DOUBLE and FLOAT16
//     initializers are converted to FP32 (see tensor_proto.h).
//   - Constant nodes become constant values (no node); other nodes keep their op, domain
//     ("ai.onnx" is written as ""), inputs and outputs. Nodes without a name, or whose name an
//     earlier node took, are named "<OpType>_<index in the model>".
//   - GRAPH, GRAPHS, TENSORS, SPARSE_TENSOR(S) and TYPE_PROTO(S) attributes are dropped (the node
//     stays; lowbit has no control-flow ops, so such nodes are reported unsupported later) and
//     listed in ImportNotes.
//   - graph inputs that are also initializers are not graph inputs; the others must be tensors
//     of a DType lowbit has (no DOUBLE / FLOAT16 inputs: they are not silently re-typed); known
//     dims are kept, a dim_param or missing dim becomes -1 (the dim_param name goes to
//     Value::dim_params). Outputs and value_info of other types are kept without a dtype.
//   - finally Graph::topo_sort(): reading a value nothing defines, or a cycle, is an error.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "ir/graph.h"

namespace lowbit::onnx {

inline constexpr int64_t kMinOpset = 7;
inline constexpr int64_t kMaxOpset = 18;

// What import left out without failing, for diagnostics.
struct ImportNotes {
  // One entry per dropped attribute: "node 'loop_1' attribute 'body' (GRAPH)".
  std::vector<std::string> dropped_attributes;
};

// Reads and imports an ONNX model file; external data is resolved in the file's folder.
Result<ir::Graph> import_model(const std::string& path, ImportNotes* notes = nullptr);

// Imports a serialized ModelProto. Errors start with `display_name`. External data is resolved
// in `base_dir`; an empty base_dir forbids external data (the fuzzer and in-memory callers).
Result<ir::Graph> import_model_from_bytes(std::string_view bytes, const std::string& display_name,
                                          const std::string& base_dir, ImportNotes* notes = nullptr);

}  // namespace lowbit::onnx
