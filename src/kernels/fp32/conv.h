// conv.h: FP32 convolution and transposed convolution on NCHW / NCDHW buffers.
//
// Geometry is always three spatial dims [D, H, W]; 1-D and 2-D convolutions set the leading
// ones to 1 (size 1, kernel 1, stride 1, pad 0). Along each spatial dim the two grids meet at
//   src = dst·stride − pad + k·dilation,   k in [0, kernel)
// where, for Conv, dst indexes the output and src the input (positions outside the input read
// as 0), and for ConvTranspose dst indexes the transposed op's input and src its output
// (contributions landing outside the output are dropped). Trailing padding is implied by the
// sizes. Kernels do not validate: the ops prove these preconditions first.
#pragma once

#include <array>
#include <cstdint>

#include "core/thread_pool.h"

namespace lowbit::kernels {

struct ConvGeom {
  int64_t batch = 1;
  int64_t in_channels = 1;   // channels of x
  int64_t out_channels = 1;  // channels of y
  int64_t groups = 1;        // divides both channel counts
  std::array<int64_t, 3> in{1, 1, 1};        // spatial size of x
  std::array<int64_t, 3> out{1, 1, 1};       // spatial size of y
  std::array<int64_t, 3> kernel{1, 1, 1};
  std::array<int64_t, 3> stride{1, 1, 1};
  std::array<int64_t, 3> dilation{1, 1, 1};
  std::array<int64_t, 3> pad{0, 0, 0};       // leading padding

  int64_t in_size() const { return in[0] * in[1] * in[2]; }
  int64_t out_size() const { return out[0] * out[1] * out[2]; }
  int64_t kernel_size() const { return kernel[0] * kernel[1] * kernel[2]; }
};

// Conv: x [batch, in_channels, in], w [out_channels, in_channels/groups, kernel],
// bias [out_channels] or nullptr, y [batch, out_channels, out] (overwritten).
// Picks a direct depthwise kernel, a plain GEMM for 1×1 stride-1 unpadded convs, and
// im2col + GEMM otherwise; parallel over images, groups and blocks of output positions.
// GEMM sizes must fit kMaxBlasDim (sgemm.h).
void conv_f32(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y, ThreadPool* pool);

// ConvTranspose: x [batch, in_channels, in], w [in_channels, out_channels/groups, kernel],
// bias [out_channels] or nullptr, y [batch, out_channels, out] (overwritten).
// GEMM (Wᵀ·x) into columns, then col2im scatters them; parallel over images, groups and
// blocks of output channels.
void conv_transpose_f32(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y,
                        ThreadPool* pool);

// The two pieces, for one image and group of `channels` channels, over the positions
// [p0, p1) of the dst grid (flattened D·H·W order):
// im2col: col[(c·K + k)·(p1−p0) + (p − p0)] = x[c][src(p, k)] or 0 (K = kernel_size()).
void im2col_f32(const ConvGeom& g, const float* x, int64_t channels, int64_t p0, int64_t p1, float* col);
// col2im: y[c][src(p, k)] += col[(c·K + k)·(p1−p0) + (p − p0)] where src is inside y.
// Here the dst grid is g.in (the transposed op's input) and the src grid g.out.
void col2im_f32(const ConvGeom& g, const float* col, int64_t channels, int64_t p0, int64_t p1, float* y);

// Depthwise 2-D conv (groups == in_channels, out_channels a multiple of it, in[0] == 1,
// kernel[0] == 1): each output channel m reads input channel m / (out_channels / groups).
void depthwise_conv2d_f32(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y,
                          ThreadPool* pool);
// Its two builds, over output planes [q0, q1) (plane = image · out_channels + channel), serial:
// baseline x86-64, and AVX2 (call only where cpu_features() has avx2, fma and os_avx).
// depthwise_conv2d_f32 uses the AVX2 one where it can, unless LOWBIT_ISA=scalar.
void depthwise_conv2d_f32_generic(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y,
                                  int64_t q0, int64_t q1);
void depthwise_conv2d_f32_avx2(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y,
                               int64_t q0, int64_t q1);
// Per-thread scratch of the depthwise builds: a zero row (in[2] floats) and a zero-padded
// input plane (nullptr when the padded plane would be unreasonably large; the kernel then
// tests bounds at the borders instead). Valid until the thread's next call.
struct DepthwiseScratch {
  const float* zeros;
  float* padded;
};
DepthwiseScratch depthwise_scratch(const ConvGeom& g);

}  // namespace lowbit::kernels
