// proto_io.h: parsing an untrusted serialized protobuf message held in memory (internal).
#pragma once

#include <string>
#include <string_view>

#include <google/protobuf/message_lite.h>

#include "core/status.h"

namespace lowbit::onnx {

// Parses `bytes` into `msg` through a CodedInputStream whose total-bytes limit is the input
// size (at most 2 GiB). Fails, "<display_name>: is not a valid <kind> (protobuf parse failed)",
// on malformed input, and on an empty or over-2-GiB input.
Status parse_message(std::string_view bytes, const std::string& display_name, std::string_view kind,
                     google::protobuf::MessageLite* msg);

// A model-supplied name made safe for a one-line message: control and non-ASCII bytes are
// written as \xNN and names over 200 bytes are cut with "...".
std::string printable(std::string_view name);

// The same status with control characters in its message written as \xNN, so a message that
// quotes model-supplied text (e.g. from ir::Graph::topo_sort) stays one line.
Status one_line(Status s);

}  // namespace lowbit::onnx
