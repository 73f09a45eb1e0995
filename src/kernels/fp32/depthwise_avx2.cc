// depthwise_avx2.cc: depthwise_impl.h built for AVX2 + FMA (8-wide vectors). The only file
// of the FP32 kernels with these flags; depthwise.cc calls it after checking CPUID.
// No standard header is included below the pragma (see depthwise_impl.h).
#include <cstdint>

#include "core/thread_pool.h"
#include "kernels/fp32/conv.h"

#pragma GCC push_options
#pragma GCC target("avx2,fma")
#include "kernels/fp32/depthwise_impl.h"

namespace lowbit::kernels {

void depthwise_conv2d_f32_avx2(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y,
                               int64_t q0, int64_t q1) {
  DepthwiseScratch s = depthwise_scratch(g);
  dw_planes(g, x, w, bias, y, q0, q1, s.zeros, s.padded);
}

}  // namespace lowbit::kernels
#pragma GCC pop_options
