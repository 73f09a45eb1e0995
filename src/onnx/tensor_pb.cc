// tensor_pb.cc: read and write single-TensorProto .pb files.
#include "onnx/tensor_pb.h"


#include <onnx/onnx_pb.h>

#include "onnx/file_io.h"
#include "onnx/proto_io.h"
#include "onnx/tensor_proto.h"

namespace lowbit::onnx {

Result<NamedTensor> read_tensor_pb_from_bytes(std::string_view bytes, const std::string& display_name,
                                              const std::string& base_dir) {
  ::onnx::TensorProto proto;
  LB_TRY(one_line(parse_message(bytes, display_name, "ONNX TensorProto file", &proto)));
  NamedTensor out;
  out.name = proto.name();
  Result<Tensor> t = tensor_from_proto(proto, display_name, base_dir);
  if (!t) return one_line(t.status());
  out.tensor = std::move(t).value();
  return out;
}

Result<NamedTensor> read_named_tensor_pb(const std::string& path) {
  Result<std::string> bytes = read_file_capped(path, kMaxProtobufBytes);
  if (!bytes) return one_line(bytes.status());
  const std::string base_dir = folder_of(path);
  return read_tensor_pb_from_bytes(*bytes, path, base_dir);
}

Result<Tensor> read_tensor_pb(const std::string& path) {
  LB_ASSIGN_OR_RETURN(NamedTensor t, read_named_tensor_pb(path));
  return std::move(t.tensor);
}

Status write_tensor_pb(const Tensor& t, const std::string& name, const std::string& path) {
  if (!t.defined()) return Status::errorf("{}: cannot write an empty (undefined) tensor", path);
  ::onnx::TensorProto proto;
  tensor_to_proto(t, name, &proto);
  if (proto.ByteSizeLong() > kMaxProtobufBytes)
    return Status::errorf("{}: the tensor needs {} bytes, over the 2 GiB protobuf limit", path, proto.ByteSizeLong());
  std::string bytes;
  if (!proto.SerializeToString(&bytes)) return Status::errorf("{}: protobuf serialization failed", path);
  return write_file_atomic(path, bytes);
}

}  // namespace lowbit::onnx
