// onnx_standard_check.cc: which annotations of a QuantizedModel standard ONNX (opset ≤ 18, the
// ops QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear) can express, and why not.
#include <vector>

#include "quant/qoperator_format.h"

namespace lowbit::quant {
namespace {

// "node '/conv1/Conv'" for the first reader of `name`, or "" when nothing reads it.
std::string reader_of(const ir::Graph& g, const std::vector<std::vector<int>>& consumers, const std::string& name) {
  const int v = g.find_value(name);
  if (v < 0 || consumers[static_cast<size_t>(v)].empty()) return "";
  return fmt::format(" (read by node '{}')", g.nodes[static_cast<size_t>(consumers[static_cast<size_t>(v)][0])].name);
}

// Why standard ONNX cannot dequantize this weight, or "".
std::string weight_problem(const QScheme& s, int64_t opset, bool widen) {
  if (s.bits > 8)
    return fmt::format("{}-bit weights: DequantizeLinear takes only 8-bit integers before opset 21", s.bits);
  if (s.granularity == Granularity::kPerGroup || s.granularity == Granularity::kPerBlock)
    return fmt::format("{} scales need blocked DequantizeLinear (opset 21)", granularity_name(s));
  if (s.granularity == Granularity::kPerChannel && opset < 13)
    return fmt::format("per-channel scales need opset 13, the model has opset {}", opset);
  if (s.bits < 8 && !widen)
    return fmt::format("{}-bit weights need INT{} (opset 21) but lowbit writes opset <= 18; "
                       "pass --widen-weights to store the same values in int8", s.bits, s.bits);
  return "";
}

std::string activation_problem(const ActQuant& a, int64_t opset) {
  const QScheme& s = a.scheme;
  if (a.dynamic) {
    const bool standard = s.bits == 8 && !s.is_signed && !s.symmetric && !s.narrow &&
                          s.granularity == Granularity::kPerTensor;
    if (!standard)
      return fmt::format("dynamic {}: DynamicQuantizeLinear computes only 8-bit unsigned asymmetric per-tensor ranges",
                         describe(s));
    if (opset < 11) return fmt::format("DynamicQuantizeLinear needs opset 11, the model has opset {}", opset);
    return "";
  }
  if (s.bits != 8)
    return fmt::format("{}-bit activations: QuantizeLinear saturates to the full 8-bit range, not [{}, {}]", s.bits,
                       s.qmin(), s.qmax());
  if (s.narrow) return fmt::format("narrow range [{}, {}]: QuantizeLinear saturates to the full 8-bit range", s.qmin(), s.qmax());
  if (s.rounding != Rounding::kHalfEven)
    return fmt::format("rounding '{}': QuantizeLinear rounds half to even", rounding_name(s.rounding));
  if (s.granularity == Granularity::kPerGroup || s.granularity == Granularity::kPerBlock)
    return fmt::format("{} activation scales need opset 21", granularity_name(s));
  if (s.granularity == Granularity::kPerChannel && opset < 13)
    return fmt::format("per-channel activation scales need opset 13, the model has opset {}", opset);
  if (opset < 10) return fmt::format("QuantizeLinear needs opset 10, the model has opset {}", opset);
  return "";
}

}  // namespace

Status check_standard_onnx(const QuantizedModel& model, const ExportOptions& options) {
  const ir::Graph& g = model.graph;
  const auto consumers = g.consumers();
  // Problems no option fixes come first; the 4-bit-weight one --widen-weights fixes comes last.
  std::vector<std::string> problems, widenable;
  for (const auto& [name, w] : model.weights)
    if (std::string p = weight_problem(w.scheme, g.opset, options.widen_weights); !p.empty())
      (p.find("--widen-weights") != std::string::npos ? widenable : problems)
          .push_back(fmt::format("weight '{}'{}: {}", name, reader_of(g, consumers, name), p));
  for (const auto& [name, b] : model.biases)
    if (b.scale.size() > 1 && g.opset < 13)
      problems.push_back(fmt::format("bias '{}'{}: per-channel int32 bias scales need opset 13, the model has opset {}",
                                     name, reader_of(g, consumers, name), g.opset));
  for (const auto& [name, a] : model.activations)
    if (std::string p = activation_problem(a, g.opset); !p.empty())
      problems.push_back(fmt::format("activation '{}'{}: {}", name, reader_of(g, consumers, name), p));
  problems.insert(problems.end(), widenable.begin(), widenable.end());
  if (problems.empty()) return Status::ok();
  const std::string more = problems.size() > 1 ? fmt::format(" (and {} more)", problems.size() - 1) : "";
  return Status::errorf("not expressible in standard ONNX: {}{}", problems[0], more);
}

}  // namespace lowbit::quant
