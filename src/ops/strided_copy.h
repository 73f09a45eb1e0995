// strided_copy.h: gather a strided view of a tensor into a new contiguous tensor — the one
// data-movement loop behind Transpose (permuted strides), Slice (offset and stepped strides,
// possibly negative) and Expand (zero strides).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace lowbit::ops {

// dst[i_0, ..., i_{n-1}] = src[offset + Σ_d i_d · strides[d]] for every index of `shape`, with
// offsets and strides in elements of `dtype`. dst is contiguous and holds numel(shape) elements;
// the caller guarantees every source offset is inside src.
void strided_copy(void* dst, const void* src, DType dtype, const Shape& shape, const std::vector<int64_t>& strides,
                  int64_t offset, ThreadPool& pool);

// Contiguous (row-major) strides of a shape, in elements.
std::vector<int64_t> contiguous_strides(const Shape& shape);

}  // namespace lowbit::ops
