// file_io.h: whole-file reads with a size cap (atomic writes are core/file_util.h).
//
// Internal to src/onnx. Every error message starts with the path: "<path>: <problem>".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/file_util.h"
#include "core/status.h"

namespace lowbit::onnx {

// A protobuf message cannot exceed 2 GiB; bigger models keep their weights in external data.
inline constexpr uint64_t kMaxProtobufBytes = (uint64_t{1} << 31) - 1;

// Reads a regular file of at most `max_bytes` bytes. Errors name the path and say whether it
// does not exist, is not a regular file, cannot be opened (and why) or is too big.
Result<std::string> read_file_capped(const std::string& path, uint64_t max_bytes);

// The folder holding `path` ("." for a bare file name): where its external data lives.
std::string folder_of(const std::string& path);

}  // namespace lowbit::onnx
