// validate.cc: libonnx's checker and shape inference on a serialized model.
#include "onnx/validate.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <exception>

namespace lowbit::onnx {
namespace {

// ONNX's messages can span lines; errors here are one line.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

Status validate_model_bytes(const std::string& bytes, const std::string& display_name, bool standard_only) {
  ::onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) return Status::errorf("{}: not a serialized ONNX ModelProto", display_name);
  if (standard_only) {
    for (const auto& n : model.graph().node())
      if (!n.domain().empty() && n.domain() != "ai.onnx")
        return Status::errorf("{}: node '{}' is {}.{}, not a standard ONNX op", display_name, n.name(), n.domain(), n.op_type());
  }
  try {
    ::onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return Status::errorf("{}: ONNX checker: {}", display_name, one_line(e.what()));
  }
  try {
    ::onnx::ShapeInferenceOptions options(/*check_type=*/true, /*strict_mode=*/1, /*data_prop=*/false);
    ::onnx::shape_inference::InferShapes(model, ::onnx::OpSchemaRegistry::Instance(), options);
  } catch (const std::exception& e) {
    return Status::errorf("{}: ONNX shape inference: {}", display_name, one_line(e.what()));
  }
  return Status::ok();
}

}  // namespace lowbit::onnx
