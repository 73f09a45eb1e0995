// model_io.cc: QuantizedModel files — the QDQ graph of qdq_format.h written as ONNX, and the
// standard-ONNX export in QDQ or QOperator form (qoperator_format.h).
#include "core/file_util.h"
#include "onnx/export.h"
#include "onnx/import.h"
#include "onnx/validate.h"
#include "quant/qdq_format.h"
#include "quant/qoperator_format.h"

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

Result<ir::Graph> to_standard_onnx_graph(const QuantizedModel& model, const ExportOptions& options) {
  LB_TRY(check_standard_onnx(model, options));
  return options.form == OnnxForm::kQdq ? to_qdq_graph(model) : to_qoperator_graph(model);
}

Status export_standard_onnx(const QuantizedModel& model, const ExportOptions& options, const std::string& path,
                            ir::Graph* written) {
  Result<ir::Graph> g = to_standard_onnx_graph(model, options);
  if (!g.is_ok()) return g.status().with_context(path);
  Result<std::string> bytes = onnx::export_model_to_bytes(*g);
  if (!bytes.is_ok()) return bytes.status().with_context(path);
  LB_TRY(onnx::validate_model_bytes(*bytes, path));
  LB_TRY(write_file_atomic(path, *bytes));
  if (written) *written = std::move(g).value();
  return Status::ok();
}

}  // namespace lowbit::quant
