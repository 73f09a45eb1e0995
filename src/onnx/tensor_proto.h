// tensor_proto.h: ONNX TensorProto <-> lowbit Tensor, in every storage form (internal to src/onnx).
//
// A TensorProto keeps its elements in one of three places: a typed repeated field (float_data,
// int32_data, int64_data, double_data), raw_data (little-endian bytes), or an external file
// (data_location = EXTERNAL; entries location / offset / length). All three are untrusted:
// dims are checked for sign, overflow and the memory ceiling, and the data length against the
// element count, before anything is allocated.
//
// Element types: FLOAT, INT8, UINT8, INT32, INT64 and BOOL map to the DType of the same name.
// DOUBLE and FLOAT16 tensors are converted to kF32 on import (lowbit computes in FP32; DOUBLE
// loses precision beyond float's 24-bit mantissa, FLOAT16 converts exactly); export writes
// them back as FLOAT. Every other element type is an error naming the tensor and the type.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <onnx/onnx_pb.h>

#include "core/status.h"
#include "core/tensor.h"

namespace lowbit::onnx {

// TensorProto::DataType code of a DType.
int32_t onnx_dtype(DType t);
// The DType with exactly the same element type, or nullopt (DOUBLE and FLOAT16 included:
// graph inputs of those types are not silently re-typed).
std::optional<DType> exact_dtype_from_onnx(int32_t onnx_type);
// "FLOAT", "STRING", ..., or "42 (not an ONNX type)".
std::string onnx_dtype_name(int32_t onnx_type);

// Converts a TensorProto. Errors read "<display_name>: <what> <problem>", where `what`
// defaults to "tensor '<name>'" (e.g. pass "initializer 'w'"). External data is resolved in
// `base_dir`; an empty base_dir forbids external data.
Result<Tensor> tensor_from_proto(const ::onnx::TensorProto& proto, const std::string& display_name,
                                 const std::string& base_dir, std::string_view what = {});

// Fills `out` with name, data_type, dims and the elements as raw_data.
void tensor_to_proto(const Tensor& t, const std::string& name, ::onnx::TensorProto* out);

}  // namespace lowbit::onnx
