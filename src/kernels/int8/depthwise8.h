// depthwise8.h: int8 depthwise 2-D convolution (NCHW, u8 activations with a zero point, s8
// weights, s32 results) and the geometry shared with the int8 im2col (im2col8.h).
//
//   out[n][c][oy][ox] = bias[c] + Σ_{ky,kx: tap in bounds} (x[n][c][iy][ix] − x_zero) · w[c][ky][kx]
//   iy = oy·stride_h − pad_t + ky·dil_h,   ix = ox·stride_w − pad_l + kx·dil_w
//
// A padded tap is the real value 0, i.e. the quantized value x_zero, so it adds nothing.
// The kernels use Σ(x − z)·w = Σ x·w − z·Σ_{in-bounds} w: inside the plane the bracket is one
// constant per channel, bias − z·Σ_all w; only the border pixels sum their own taps.
//
// Preconditions (the int8 conv op proves them; kernels only assert them in Debug builds):
// every size ≥ 1, pads ≥ 0, oh() ≥ 1 and ow() ≥ 1, 0 ≤ x_zero ≤ 255, and no s32 overflow on
// the way: |bias| + 2·kh·kw·255·128 < 2^31 (the scalar interior adds Σ x·w to bias − z·Σw),
// which kh·kw ≤ 16384 with |bias| < 2^30 guarantees.
// Every variant is bit-exact with the scalar one.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"

namespace lowbit::kernels {

struct Conv2dGeom {
  int64_t n = 1, c = 1, h = 1, w = 1;  // input [n, c, h, w]
  int64_t kh = 1, kw = 1, stride_h = 1, stride_w = 1;
  int64_t pad_t = 0, pad_l = 0, pad_b = 0, pad_r = 0;
  int64_t dil_h = 1, dil_w = 1;

  int64_t oh() const { return (h + pad_t + pad_b - dil_h * (kh - 1) - 1) / stride_h + 1; }
  int64_t ow() const { return (w + pad_l + pad_r - dil_w * (kw - 1) - 1) / stride_w + 1; }
};

// x [n, c, h, w], w [c, kh, kw], bias [c] or nullptr, out [n, c, oh, ow] (overwritten).
// Picks the best variant this CPU supports (LOWBIT_ISA=scalar|avx2|avxvnni narrows it, read once);
// parallel over the n·c planes when `pool` is given and the conv is big enough.
void depthwise_u8s8s32(const uint8_t* x, const Conv2dGeom& g, int32_t x_zero, const int8_t* w, const int32_t* bias,
                       int32_t* out, ThreadPool* pool);

// Variants, for tests and benchmarks.
enum DepthwiseVariant : int { kDwScalar = 0, kDwAvx2 = 1, kDwAvx512 = 2 };
// Whether `variant` can run on this CPU (ignores LOWBIT_ISA).
bool depthwise_u8s8s32_variant_supported(int variant);
// The variant the plain entry point uses.
int depthwise_u8s8s32_best_variant();
// depthwise_u8s8s32 with an explicit variant; one this CPU lacks is an internal error (abort).
void depthwise_u8s8s32_variant(int variant, const uint8_t* x, const Conv2dGeom& g, int32_t x_zero, const int8_t* w,
                               const int32_t* bias, int32_t* out, ThreadPool* pool);

// ---- Internals shared by the variant files (depthwise8.cc, depthwise8_avx2.cc, depthwise8_avx512.cc) ----

// One variant over planes [q0, q1) (plane q = image q / c, channel q % c), serial.
void depthwise8_planes_scalar(const uint8_t* x, const Conv2dGeom& g, int32_t x_zero, const int8_t* w,
                              const int32_t* bias, int32_t* out, int64_t q0, int64_t q1);
void depthwise8_planes_avx2(const uint8_t* x, const Conv2dGeom& g, int32_t x_zero, const int8_t* w,
                            const int32_t* bias, int32_t* out, int64_t q0, int64_t q1);
void depthwise8_planes_avx512(const uint8_t* x, const Conv2dGeom& g, int32_t x_zero, const int8_t* w,
                              const int32_t* bias, int32_t* out, int64_t q0, int64_t q1);

// One output plane by the scalar reference: xc [h, w], wc [kh, kw], oc [oh, ow].
void depthwise8_plane_scalar(const uint8_t* xc, const Conv2dGeom& g, int32_t x_zero, const int8_t* wc, int32_t b,
                             int32_t* oc);

// Thread-local scratch of at least `bytes` bytes, 64-byte aligned, valid until the thread's
// next call (the SIMD variants keep their padded view of a plane here: depthwise8_impl.h).
void* depthwise8_scratch(int64_t bytes);

}  // namespace lowbit::kernels
