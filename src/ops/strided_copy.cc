// strided_copy.cc: the strided gather loop; merges dims first so contiguous runs become memcpy.
#include "ops/strided_copy.h"

#include <algorithm>
#include <cstring>

#include "ops/broadcast.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {

std::vector<int64_t> contiguous_strides(const Shape& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t i = shape.size(); i-- > 1;) s[i - 1] = s[i] * shape[i];
  return s;
}

namespace {

// Copies a 2-D tile region where the source moves by `sr` per row and `sc` per column and
// neither is 1: done in 32×32 blocks so both the reads and the writes stay in cache.
template <typename U>
void copy_rows_blocked(U* dst, const U* src, int64_t rows, int64_t cols, int64_t sr, int64_t sc) {
  constexpr int64_t kB = 32;
  for (int64_t r0 = 0; r0 < rows; r0 += kB) {
    const int64_t r1 = std::min(rows, r0 + kB);
    for (int64_t c0 = 0; c0 < cols; c0 += kB) {
      const int64_t c1 = std::min(cols, c0 + kB);
      for (int64_t r = r0; r < r1; ++r)
        for (int64_t c = c0; c < c1; ++c) dst[r * cols + c] = src[r * sr + c * sc];
    }
  }
}

}  // namespace

void strided_copy(void* dst, const void* src, DType dtype, const Shape& shape, const std::vector<int64_t>& strides,
                  int64_t offset, ThreadPool& pool) {
  const int64_t n = numel(shape);
  if (n == 0) return;
  // Merge dims: drop size-1 dims, join d-1 and d when moving once along d-1 equals a full sweep of d.
  BroadcastPlan<1> p;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    if (!p.dims.empty() && p.strides[0].back() == strides[d] * shape[d]) {
      p.dims.back() *= shape[d];
      p.strides[0].back() = strides[d];
    } else {
      p.dims.push_back(shape[d]);
      p.strides[0].push_back(strides[d]);
    }
  }
  if (p.dims.empty()) {
    p.dims.push_back(1);
    p.strides[0].push_back(1);
  }
  const size_t esize = dtype_size(dtype);
  const int64_t inner = p.inner(), istride = p.inner_stride(0);
  const auto* s = static_cast<const uint8_t*>(src) + offset * static_cast<int64_t>(esize);
  auto* o = static_cast<uint8_t*>(dst);
  if (istride == 1) {
    const size_t run = static_cast<size_t>(inner) * esize;
    parallel_broadcast_rows(p, pool, [&](int64_t r, const std::array<int64_t, 1>& off) {
      std::memcpy(o + r * static_cast<int64_t>(run), s + off[0] * static_cast<int64_t>(esize), run);
    });
    return;
  }
  visit_elem_bits(dtype, [&](auto tag) {
    using U = decltype(tag);
    const U* su = reinterpret_cast<const U*>(s);
    U* ou = reinterpret_cast<U*>(o);
    // A transpose-like pair: the inner dim strides through memory and the dim above it is
    // contiguous (or nearly); copy in blocks over those two dims.
    if (p.dims.size() >= 2 && istride != 0 && inner >= 32 && p.dims[p.dims.size() - 2] >= 32) {
      const size_t k = p.dims.size() - 2;
      const int64_t rows = p.dims[k], sr = p.strides[0][k];
      BroadcastPlan<1> outer;
      outer.dims.assign(p.dims.begin(), p.dims.begin() + static_cast<int64_t>(k));
      outer.strides[0].assign(p.strides[0].begin(), p.strides[0].begin() + static_cast<int64_t>(k));
      outer.dims.push_back(1);  // the plan's "inner" is the whole tile, handled below
      outer.strides[0].push_back(0);
      const int64_t tile = rows * inner;
      pool.parallel_for(outer.rows(), std::max<int64_t>(1, kElementwiseGrain / tile), [&](int64_t b, int64_t e) {
        for_each_broadcast_row(outer, b, e, [&](int64_t r, const std::array<int64_t, 1>& off) {
          copy_rows_blocked(ou + r * tile, su + off[0], rows, inner, sr, istride);
        });
      });
      return 0;
    }
    parallel_broadcast_rows(p, pool, [&](int64_t r, const std::array<int64_t, 1>& off) {
      U* out_row = ou + r * inner;
      const U* in = su + off[0];
      if (istride == 0) {
        std::fill(out_row, out_row + inner, in[0]);
      } else {
        for (int64_t i = 0; i < inner; ++i) out_row[i] = in[i * istride];
      }
    });
    return 0;
  });
}

}  // namespace lowbit::ops
