// depthwise.cc: depthwise 2-D conv — the baseline build of depthwise_impl.h, the AVX2 dispatch,
// and the split over planes.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/fp32/depthwise_impl.h"
#include "kernels/isa.h"

namespace lowbit::kernels {
namespace {

// Below this many multiply-adds the conv runs on the calling thread.
constexpr double kParallelMinMacs = 262144.0;

bool use_avx2() {
  static const bool yes = [] {
    if (isa_ceiling() == Isa::kScalar) return false;
    const CpuFeatures& f = cpu_features();
    return f.avx2 && f.fma && f.os_avx;
  }();
  return yes;
}

}  // namespace

DepthwiseScratch depthwise_scratch(const ConvGeom& g) {
  thread_local std::vector<float> zeros, padded;
  if (zeros.size() < static_cast<size_t>(g.in[2])) zeros.assign(static_cast<size_t>(g.in[2]), 0.0f);
  int64_t rows, cols;
  dw_padded_size(g, &rows, &cols);
  // A padded plane bigger than a few input + output planes means absurd pads / strides:
  // not worth the memory, and the bordered loop handles it.
  const double need = static_cast<double>(rows) * static_cast<double>(cols) + static_cast<double>(g.out[1]) * cols +
                      static_cast<double>(g.kernel[2] - 1) * static_cast<double>(g.dilation[2]) + 16.0;
  const double fair = 8.0 * static_cast<double>(g.in[1] * g.in[2] + g.out[1] * g.out[2]) + 8192.0;
  float* pad = nullptr;
  if (need <= fair) {
    const size_t n = static_cast<size_t>(dw_padded_scratch(g));
    if (padded.size() < n) padded.resize(n);
    pad = padded.data();
  }
  return {zeros.data(), pad};
}

void depthwise_conv2d_f32_generic(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y,
                                  int64_t q0, int64_t q1) {
  DepthwiseScratch s = depthwise_scratch(g);
  dw_planes(g, x, w, bias, y, q0, q1, s.zeros, s.padded);
}

void depthwise_conv2d_f32(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y,
                          ThreadPool* pool) {
  const int64_t planes = g.batch * g.out_channels;
  const int64_t plane_macs = g.out[1] * g.out[2] * g.kernel[1] * g.kernel[2];
  auto* fn = use_avx2() ? depthwise_conv2d_f32_avx2 : depthwise_conv2d_f32_generic;
  auto run = [&](int64_t q0, int64_t q1) { fn(g, x, w, bias, y, q0, q1); };
  if (pool && pool->num_threads() > 1 && static_cast<double>(planes) * plane_macs >= kParallelMinMacs) {
    pool->parallel_for(planes, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, plane_macs)), run);
  } else {
    run(0, planes);
  }
}

}  // namespace lowbit::kernels
