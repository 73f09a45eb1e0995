// pool.cc: pooling loops. Each window is clipped to the input once per output row / column
// (the valid tap range along a dim is one interval), so inner loops carry no bounds tests.
#include "kernels/fp32/pool.h"

#include <algorithm>
#include <limits>

namespace lowbit::kernels {
namespace {

// Window taps [k0, k1) of output o that land inside [0, n), and where the window starts.
struct Taps {
  int64_t start, k0, k1;
};

inline Taps taps(int64_t o, int64_t stride, int64_t pad, int64_t dil, int64_t kernel, int64_t n) {
  const int64_t start = o * stride - pad;
  int64_t k0 = start >= 0 ? 0 : (-start + dil - 1) / dil;
  int64_t k1 = n - start <= 0 ? 0 : (n - start + dil - 1) / dil;
  k0 = std::min(k0, kernel);
  k1 = std::clamp(k1, k0, kernel);
  return {start, k0, k1};
}

int64_t grain_for(int64_t work_per_plane) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(1, work_per_plane));
}

void run_planes(ThreadPool* pool, int64_t planes, int64_t work_per_plane,
                const std::function<void(int64_t, int64_t)>& fn) {
  if (pool && pool->num_threads() > 1 && static_cast<double>(planes) * work_per_plane > 65536.0) {
    pool->parallel_for(planes, grain_for(work_per_plane), fn);
  } else {
    fn(0, planes);
  }
}

template <typename T>
void max_pool(const PoolGeom& g, const T* x, T* y, int64_t* indices, bool column_major, ThreadPool* pool) {
  const int64_t ID = g.in[0], IH = g.in[1], IW = g.in[2], in_size = g.in_size(), out_size = g.out_size();
  const int64_t window = g.kernel[0] * g.kernel[1] * g.kernel[2];
  run_planes(pool, g.planes, out_size * window, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const T* xp = x + p * in_size;
      T* yp = y + p * out_size;
      int64_t* ip = indices ? indices + p * out_size : nullptr;
      int64_t o = 0;
      for (int64_t od = 0; od < g.out[0]; ++od) {
        const Taps td = taps(od, g.stride[0], g.pad_begin[0], g.dilation[0], g.kernel[0], ID);
        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
          const Taps th = taps(oh, g.stride[1], g.pad_begin[1], g.dilation[1], g.kernel[1], IH);
          for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
            const Taps tw = taps(ow, g.stride[2], g.pad_begin[2], g.dilation[2], g.kernel[2], IW);
            T best = std::numeric_limits<T>::lowest();
            int64_t bd = -1, bh = -1, bw = -1;
            for (int64_t kd = td.k0; kd < td.k1; ++kd) {
              const int64_t d = td.start + kd * g.dilation[0];
              for (int64_t kh = th.k0; kh < th.k1; ++kh) {
                const int64_t h = th.start + kh * g.dilation[1];
                const T* xr = xp + (d * IH + h) * IW;
                for (int64_t kw = tw.k0; kw < tw.k1; ++kw) {
                  const int64_t w = tw.start + kw * g.dilation[2];
                  if (xr[w] > best || bd < 0) {
                    best = xr[w];
                    bd = d, bh = h, bw = w;
                  }
                }
              }
            }
            yp[o] = best;
            if (ip) {
              if (bd < 0) {
                ip[o] = -1;
              } else {
                ip[o] = p * in_size + (column_major ? (bw * IH + bh) * ID + bd : (bd * IH + bh) * IW + bw);
              }
            }
          }
        }
      }
    }
  });
}

}  // namespace

void max_pool_f32(const PoolGeom& g, const float* x, float* y, int64_t* indices, bool column_major,
                  ThreadPool* pool) {
  max_pool<float>(g, x, y, indices, column_major, pool);
}
void max_pool_u8(const PoolGeom& g, const uint8_t* x, uint8_t* y, int64_t* indices, bool column_major,
                 ThreadPool* pool) {
  max_pool<uint8_t>(g, x, y, indices, column_major, pool);
}
void max_pool_i8(const PoolGeom& g, const int8_t* x, int8_t* y, int64_t* indices, bool column_major,
                 ThreadPool* pool) {
  max_pool<int8_t>(g, x, y, indices, column_major, pool);
}

void avg_pool_f32(const PoolGeom& g, const float* x, float* y, bool count_include_pad, ThreadPool* pool) {
  const int64_t ID = g.in[0], IH = g.in[1], IW = g.in[2], in_size = g.in_size(), out_size = g.out_size();
  const int64_t window = g.kernel[0] * g.kernel[1] * g.kernel[2];
  // With count_include_pad the divisor counts taps inside [−pad_begin, in + pad_end).
  auto padded_count = [&](int dim, const Taps& t) {
    const Taps pt = taps(0, 1, -(t.start + g.pad_begin[dim]), g.dilation[dim], g.kernel[dim],
                         g.in[dim] + g.pad_begin[dim] + g.pad_end[dim]);
    return pt.k1 - pt.k0;
  };
  run_planes(pool, g.planes, out_size * window, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* xp = x + p * in_size;
      float* yp = y + p * out_size;
      int64_t o = 0;
      for (int64_t od = 0; od < g.out[0]; ++od) {
        const Taps td = taps(od, g.stride[0], g.pad_begin[0], g.dilation[0], g.kernel[0], ID);
        const int64_t cd = count_include_pad ? padded_count(0, td) : td.k1 - td.k0;
        for (int64_t oh = 0; oh < g.out[1]; ++oh) {
          const Taps th = taps(oh, g.stride[1], g.pad_begin[1], g.dilation[1], g.kernel[1], IH);
          const int64_t ch = count_include_pad ? padded_count(1, th) : th.k1 - th.k0;
          for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
            const Taps tw = taps(ow, g.stride[2], g.pad_begin[2], g.dilation[2], g.kernel[2], IW);
            const int64_t cw = count_include_pad ? padded_count(2, tw) : tw.k1 - tw.k0;
            float sum = 0.0f;
            for (int64_t kd = td.k0; kd < td.k1; ++kd) {
              const int64_t d = td.start + kd * g.dilation[0];
              for (int64_t kh = th.k0; kh < th.k1; ++kh) {
                const float* xr = xp + (d * IH + th.start + kh * g.dilation[1]) * IW;
                for (int64_t kw = tw.k0; kw < tw.k1; ++kw) sum += xr[tw.start + kw * g.dilation[2]];
              }
            }
            const int64_t count = cd * ch * cw;
            yp[o] = count > 0 ? sum / static_cast<float>(count) : 0.0f;
          }
        }
      }
    }
  });
}

void global_avg_pool_f32(int64_t planes, int64_t size, const float* x, float* y, ThreadPool* pool) {
  run_planes(pool, planes, size, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* xp = x + p * size;
      float sum = 0.0f;
      for (int64_t i = 0; i < size; ++i) sum += xp[i];
      y[p] = size > 0 ? sum / static_cast<float>(size) : 0.0f;
    }
  });
}

void global_max_pool_f32(int64_t planes, int64_t size, const float* x, float* y, ThreadPool* pool) {
  run_planes(pool, planes, size, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float* xp = x + p * size;
      float best = std::numeric_limits<float>::lowest();
      for (int64_t i = 0; i < size; ++i) best = std::max(best, xp[i]);
      y[p] = best;
    }
  });
}

}  // namespace lowbit::kernels
