// op_step.cc: a node of the simulation graph run through the op registry — the FP32 fallback
// and the Quantize / Dequantize boundary steps. It computes exactly what the simulation
// session computes for that node.
#include <fmt/format.h>

#include "exec/model.h"
#include "ops/op.h"
#include "runtime/steps.h"

namespace lowbit::runtime {
namespace {

class OpStep final : public Step {
 public:
  OpStep(ir::Node node, const ops::OpDef* op, int64_t opset) : node_(std::move(node)), op_(op), opset_(opset) {}

  bool integer() const override { return false; }

  // Ops known to compute each sample from that sample alone (for slicing a batch); anything
  // else — dynamic quantization's batch-wide range, reshapes across the batch, broadcasting
  // against a run-time value — keeps the batch whole.
  bool per_sample() const override {
    static const char* const kUnary[] = {"Relu",     "Clip",    "Sigmoid", "Tanh",      "LeakyRelu",
                                         "HardSigmoid", "HardSwish", "Identity", "Conv", "MaxPool",
                                         "AveragePool", "GlobalAveragePool", "BatchNormalization"};
    if (!node_.domain.empty()) return false;
    const std::string& op = node_.op_type;
    for (const char* u : kUnary)
      if (op == u) return true;
    auto attr = [&](const char* name, int64_t def) {
      Result<int64_t> v = node_.attrs.get_int(name, def);
      return v.is_ok() ? *v : def;
    };
    auto axis = [&](int64_t def) { return attr("axis", def); };
    if (op == "Flatten" || op == "Softmax" || op == "LogSoftmax") return axis(1) >= 1;
    if (op == "QuantizeLinear" || op == "DequantizeLinear") return axis(1) != 0;
    if (op == "Gemm") return attr("transA", 0) == 0;
    return false;
  }

  std::string describe() const override {
    if (node_.op_type == "QuantizeLinear") return "quantize (fp32 → integer)";
    if (node_.op_type == "DequantizeLinear") return "dequantize (integer → fp32)";
    return fmt::format("{} (fp32)", node_.op_type);
  }

  Status run(Frame& f) const override {
    ops::RunCtx ctx{node_, opset_, {}, std::vector<Tensor>(node_.outputs.size()),
                    f.pool ? *f.pool : ThreadPool::global()};
    ctx.inputs.reserve(node_.inputs.size());
    for (int in : node_.inputs) {
      if (in == ir::kNoValue) {
        ctx.inputs.push_back(nullptr);
        continue;
      }
      const Tensor& t = f.slots[static_cast<size_t>(in)];
      if (!t.defined()) return Status::errorf("input {} was not computed", in);
      ctx.inputs.push_back(&t);
    }
    LB_TRY(op_->forward(ctx));
    for (size_t o = 0; o < node_.outputs.size(); ++o)
      if (node_.outputs[o] != ir::kNoValue) f.slots[static_cast<size_t>(node_.outputs[o])] = std::move(ctx.outputs[o]);
    return Status::ok();
  }

 private:
  ir::Node node_;
  const ops::OpDef* op_;
  int64_t opset_;
};

}  // namespace

Result<std::unique_ptr<Step>> make_op_step(const ir::Node& node, int64_t opset) {
  const ops::OpDef* op = ops::find_op(node.domain, node.op_type);
  if (!op) return Status::errorf("node '{}': unsupported op {}", node.name, node.op_type);
  LB_TRY(exec::check_arity(node, *op));
  auto step = std::make_unique<OpStep>(node, op, opset);
  step->node = node.name;
  step->op_type = node.op_type;
  for (int in : node.inputs)
    if (in != ir::kNoValue) step->inputs.push_back(in);
  for (int out : node.outputs)
    if (out != ir::kNoValue) step->outputs.push_back(out);
  return std::unique_ptr<Step>(std::move(step));
}

}  // namespace lowbit::runtime
