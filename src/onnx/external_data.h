// external_data.h: reading a TensorProto's external data (data_location = EXTERNAL) safely.
//
// The location comes from an untrusted model, so it must be a relative path without any '..'
// component, and its canonical form (symlinks resolved) must stay inside the canonical model
// folder; offset and length must lie inside the file, and length must equal what the dims need.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <onnx/onnx_pb.h>

#include "core/status.h"

namespace lowbit::onnx {

// Returns the `expected_bytes` bytes the proto's external_data entries point at.
// Errors read "<display_name>: <what> <problem>"; an empty base_dir forbids external data.
Result<std::string> read_external_data(const ::onnx::TensorProto& proto, const std::string& display_name,
                                       const std::string& base_dir, std::string_view what,
                                       uint64_t expected_bytes);

}  // namespace lowbit::onnx
