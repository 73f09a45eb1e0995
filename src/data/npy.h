// npy.h: NumPy .npy reader and writer (format versions 1.0, 2.0 and 3.0).
//
// File layout: "\x93NUMPY", major, minor, header length (u16 LE for 1.0, u32 LE for 2.0/3.0),
// a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
// spaces and '\n' so the data starts on a 64-byte boundary, then the raw elements in C order.
// dtypes read: f4, f8 (rounded to f32), u1, i1, i4, i8, b1; little- or big-endian.
#pragma once

#include <string>

#include "core/status.h"
#include "core/tensor.h"

namespace lowbit::data {

// Reads a C-order array; fortran_order True, structured or unknown dtypes, bad or hostile headers
// (malformed dict, bad shape tuple, huge dims, header length past the end of file), truncated data
// and trailing data are errors naming the file. Gzip-compressed .npy files are read too.
Result<Tensor> read_npy(const std::string& path);

// Writes version 1.0 (2.0 for a header over 64 KiB) with descr <f4, |i1, |u1, <i4, <i8 or |b1,
// through a temporary file renamed into place (never a partial file at `path`).
Status write_npy(const Tensor& tensor, const std::string& path);

}  // namespace lowbit::data
