// proto_io.cc: bounded protobuf parsing from memory.
#include "onnx/proto_io.h"

#include <google/protobuf/io/coded_stream.h>

#include "onnx/file_io.h"

namespace lowbit::onnx {

Status parse_message(std::string_view bytes, const std::string& display_name, std::string_view kind,
                     google::protobuf::MessageLite* msg) {
  if (bytes.empty()) return Status::errorf("{}: is empty (0 bytes), not a valid {}", display_name, kind);
  if (bytes.size() > kMaxProtobufBytes)
    return Status::errorf("{}: is {} bytes, over the 2 GiB protobuf limit (large models must keep weights in external data)",
                          display_name, bytes.size());
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                                            static_cast<int>(bytes.size()));
  in.SetTotalBytesLimit(static_cast<int>(bytes.size()));
  if (!msg->ParseFromCodedStream(&in) || !in.ConsumedEntireMessage())
    return Status::errorf("{}: is not a valid {} (protobuf parse failed)", display_name, kind);
  return Status::ok();
}

std::string printable(std::string_view name) {
  constexpr size_t kMaxShown = 200;
  std::string out;
  for (size_t i = 0; i < name.size() && i < kMaxShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c >= 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  if (name.size() > kMaxShown) out += "...";
  return out;
}

Status one_line(Status s) {
  if (s.is_ok()) return s;
  const std::string& msg = s.message();
  std::string out;
  out.reserve(msg.size());
  for (char ch : msg) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += ch;
  }
  return Status::error(std::move(out));
}

}  // namespace lowbit::onnx
