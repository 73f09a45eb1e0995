// validate.h: ONNX's own checker and strict shape inference (libonnx) over a serialized model —
// what lowbit runs on every file it exports as standard ONNX before writing it.
#pragma once

#include <string>

#include "core/status.h"

namespace lowbit::onnx {

// OK when onnx::checker::check_model accepts the ModelProto in `bytes` and shape inference,
// with type checks and errors on, infers every node without a conflict; else one line starting
// with `display_name` and holding ONNX's message. Nodes outside the default domain are an error
// (`standard_only`), since ONNX's checker skips domains it has no schemas for.
Status validate_model_bytes(const std::string& bytes, const std::string& display_name, bool standard_only = true);

}  // namespace lowbit::onnx
