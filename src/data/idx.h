// idx.h: reader for IDX files (the MNIST / Fashion-MNIST container), plain or gzip-compressed.
//
// Layout (big-endian): bytes 0-1 zero, byte 2 the element type, byte 3 the number of dims;
// then one u32 per dim; then the elements, row-major.
//   type 0x08 u8 -> kU8   0x09 i8 -> kI8   0x0B i16 -> kI32 (widened)   0x0C i32 -> kI32
//        0x0D f32 -> kF32 0x0E f64 -> kF32 (rounded to nearest)
#pragma once

#include <string>

#include "core/status.h"
#include "core/tensor.h"

namespace lowbit::data {

// Reads the whole file into a tensor. Errors name the file: bad magic, unknown type, dims outside
// 1..4, sizes over the tensor limit, truncated ("truncated: expected N bytes of data, found M")
// or trailing data.
Result<Tensor> read_idx(const std::string& path);

}  // namespace lowbit::data
