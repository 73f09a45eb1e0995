// pool.h: max / average pooling over the spatial dims of NCHW / NCDHW buffers.
//
// Same geometry convention as conv.h: three spatial dims [D, H, W], lower-rank pools put 1
// in front. Window of output o along a dim: i = o·stride − pad_begin + k·dilation,
// k in [0, kernel); positions outside [0, in) are padding and never win a max.
#pragma once

#include <array>
#include <cstdint>

#include "core/thread_pool.h"

namespace lowbit::kernels {

struct PoolGeom {
  int64_t planes = 1;  // batch · channels, each pooled on its own
  std::array<int64_t, 3> in{1, 1, 1};
  std::array<int64_t, 3> out{1, 1, 1};
  std::array<int64_t, 3> kernel{1, 1, 1};
  std::array<int64_t, 3> stride{1, 1, 1};
  std::array<int64_t, 3> dilation{1, 1, 1};
  std::array<int64_t, 3> pad_begin{0, 0, 0};
  std::array<int64_t, 3> pad_end{0, 0, 0};  // only average pooling's count_include_pad reads it

  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
};

// y = max over the window (lowest() when the window holds no input position).
// indices (nullable) receives, per output, the flat index of the max in x counting the
// plane: plane·in_size + (d·H + h)·W + w (row major) or plane·in_size + (w·H + h)·D + d
// (column major, ONNX storage_order = 1); −1 for an empty window. Ties keep the first.
void max_pool_f32(const PoolGeom& g, const float* x, float* y, int64_t* indices, bool column_major,
                  ThreadPool* pool);
void max_pool_u8(const PoolGeom& g, const uint8_t* x, uint8_t* y, int64_t* indices, bool column_major,
                 ThreadPool* pool);
void max_pool_i8(const PoolGeom& g, const int8_t* x, int8_t* y, int64_t* indices, bool column_major,
                 ThreadPool* pool);

// y = mean of the window. The divisor counts the input positions in the window, or, with
// count_include_pad, the positions inside the padded extent [−pad_begin, in + pad_end)
// (so a ceil_mode window hanging past pad_end is not charged for the overhang). An empty
// window gives 0.
void avg_pool_f32(const PoolGeom& g, const float* x, float* y, bool count_include_pad, ThreadPool* pool);

// GlobalAveragePool / GlobalMaxPool: y[p] = mean / max of x[p·size, (p+1)·size).
void global_avg_pool_f32(int64_t planes, int64_t size, const float* x, float* y, ThreadPool* pool);
void global_max_pool_f32(int64_t planes, int64_t size, const float* x, float* y, ThreadPool* pool);

}  // namespace lowbit::kernels
