// model_io.cc: QuantizedModel files — the QDQ graph of qdq_format.h written as ONNX.
#include "onnx/export.h"
#include "onnx/import.h"
#include "quant/qdq_format.h"

namespace lowbit::quant {

Status save_quantized_model(const QuantizedModel& model, const std::string& path) {
  LB_ASSIGN_OR_RETURN(ir::Graph g, to_qdq_graph(model));
  return onnx::export_model(g, path);
}

Result<QuantizedModel> load_quantized_model(const std::string& path) {
  LB_ASSIGN_OR_RETURN(ir::Graph g, onnx::import_model(path));
  auto m = from_qdq_graph(std::move(g));
  if (!m.is_ok()) return Status::errorf("{}: {}", path, m.status().message());
  return m;
}

}  // namespace lowbit::quant
