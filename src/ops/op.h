// op.h: the contract every operator implements — a shape function and an FP32 forward.
//
// An op is an OpDef: `infer` computes output dtypes and (partial) shapes from what is known
// about the inputs (used by shape inference and constant folding), `forward` computes outputs
// from concrete input tensors. Both validate their inputs and attributes and return a Status
// whose message names the problem (the caller adds the node's name and the file), because
// models are untrusted. Backward rules join with the autograd tape (QAT); keep forward pure so
// they can.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "ir/graph.h"

namespace lowbit::ops {

// What is known about one tensor before running: any of the three may be missing.
struct TensorInfo {
  std::optional<DType> dtype;
  std::optional<Shape> shape;     // dims < 0 are unknown; nullopt: rank unknown
  const Tensor* value = nullptr;  // the contents, when the tensor is a constant
  bool present = true;            // false for an omitted optional input
};

struct InferCtx {
  const ir::Node& node;
  int64_t opset;                     // default-domain opset of the model
  std::vector<TensorInfo> inputs;    // one per node input
  std::vector<TensorInfo> outputs;   // one per node output; infer fills dtype and shape

  size_t num_inputs() const { return inputs.size(); }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i].present; }
  const ir::Attributes& attrs() const { return node.attrs; }
};

struct RunCtx {
  const ir::Node& node;
  int64_t opset;
  std::vector<const Tensor*> inputs;  // nullptr for an omitted optional input
  std::vector<Tensor> outputs;        // one per node output; forward assigns each present one
  ThreadPool& pool;

  size_t num_inputs() const { return inputs.size(); }
  bool has_input(size_t i) const { return i < inputs.size() && inputs[i] != nullptr; }
  const Tensor& in(size_t i) const { return *inputs[i]; }
  const ir::Attributes& attrs() const { return node.attrs; }
};

using InferFn = Status (*)(InferCtx&);
using ForwardFn = Status (*)(RunCtx&);

struct OpDef {
  std::string_view op_type;  // ONNX op type, default domain
  int min_inputs;
  int max_inputs;            // -1: variadic
  InferFn infer;
  ForwardFn forward;
};

// lowbit's own op domain (quantization ops ONNX's opsets cannot express; docs/onnx-format.md).
inline constexpr std::string_view kLowbitDomain = "com.lowbit";

// The op for (domain, op_type), or nullptr; "" and "ai.onnx" are the default domain.
const OpDef* find_op(std::string_view domain, std::string_view op_type);
// Every supported op type of the default domain, sorted.
std::vector<std::string_view> supported_op_types();

}  // namespace lowbit::ops
