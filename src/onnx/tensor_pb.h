// tensor_pb.h: standalone ONNX TensorProto files (.pb), the format of ONNX's test data
// (test_data_set_N/input_0.pb, output_0.pb) and a simple way to save one tensor.
//
// Reading accepts every storage form tensor_proto.h accepts; external data is resolved in the
// .pb file's folder. Errors start with the file's path.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"
#include "core/tensor.h"

namespace lowbit::onnx {

struct NamedTensor {
  std::string name;  // TensorProto.name ("" when the file gives none)
  Tensor tensor;
};

Result<Tensor> read_tensor_pb(const std::string& path);
// As read_tensor_pb, also returning the tensor's name (test data names the graph input it feeds).
Result<NamedTensor> read_named_tensor_pb(const std::string& path);
// Parses a serialized TensorProto; errors start with `display_name`; empty base_dir forbids
// external data.
Result<NamedTensor> read_tensor_pb_from_bytes(std::string_view bytes, const std::string& display_name,
                                              const std::string& base_dir);

// Writes `t` as a TensorProto named `name` (raw_data), via a temporary file and a rename.
Status write_tensor_pb(const Tensor& t, const std::string& name, const std::string& path);

}  // namespace lowbit::onnx
