// depthwise8.cc: the int8 depthwise conv — scalar reference (the spec every variant matches),
// the SIMD variants' scratch, run-time variant choice and the split over planes.
#include "kernels/int8/depthwise8.h"
#include "kernels/int8/im2col8.h"

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/check.h"
#include "core/cpu_features.h"
#include "kernels/isa.h"

namespace lowbit::kernels {
namespace {

// Below this many multiply-adds the conv runs on the calling thread.
constexpr double kParallelMinMacs = 262144.0;

// One pixel with every tap tested: bias + Σ_{in bounds} (x − z)·w.
int32_t border_pixel(const uint8_t* xc, const Conv2dGeom& g, int32_t z, const int8_t* wc, int32_t b, int64_t oy,
                     int64_t ox) {
  int32_t acc = b;
  for (int64_t ky = 0; ky < g.kh; ++ky) {
    const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
    if (iy < 0 || iy >= g.h) continue;
    const uint8_t* xr = xc + iy * g.w;
    for (int64_t kx = 0; kx < g.kw; ++kx) {
      const int64_t ix = ox * g.stride_w - g.pad_l + kx * g.dil_w;
      if (ix >= 0 && ix < g.w) acc += (static_cast<int32_t>(xr[ix]) - z) * wc[ky * g.kw + kx];
    }
  }
  return acc;
}

// n interior pixels of one output row, 3×3 undilated, stride S: r[ky][i·S + kx] is tap (ky, kx)
// of pixel i; out = cst + Σ x·w with cst = bias − z·Σw.
template <int S>
void row3x3(const uint8_t* const* r, const int8_t* wc, int32_t cst, int32_t* out, int64_t n) {
  const int32_t w00 = wc[0], w01 = wc[1], w02 = wc[2], w10 = wc[3], w11 = wc[4], w12 = wc[5];
  const int32_t w20 = wc[6], w21 = wc[7], w22 = wc[8];
  const uint8_t* a = r[0];
  const uint8_t* b = r[1];
  const uint8_t* c = r[2];
  for (int64_t ox = 0; ox < n; ++ox) {
    const int64_t i = ox * S;
    out[ox] = cst + w00 * a[i] + w01 * a[i + 1] + w02 * a[i + 2] + w10 * b[i] + w11 * b[i + 1] + w12 * b[i + 2] +
              w20 * c[i] + w21 * c[i + 1] + w22 * c[i + 2];
  }
}

int env_isa_limit() {
  switch (isa_ceiling()) {
    case Isa::kScalar: return kDwScalar;
    case Isa::kAvx2:
    case Isa::kAvxVnni: return kDwAvx2;  // AVX-VNNI has no 512-bit registers: AVX2 is the best it allows
    case Isa::kAvx512Vnni: break;
  }
  return kDwAvx512;
}

}  // namespace

void depthwise8_plane_scalar(const uint8_t* xc, const Conv2dGeom& g, int32_t z, const int8_t* wc, int32_t b,
                             int32_t* oc) {
  const int64_t OH = g.oh(), OW = g.ow(), sh = g.stride_h, sw = g.stride_w, dh = g.dil_h, dw = g.dil_w;
  // Interior rectangle [ylo, yhi) × [xlo, xhi): every tap in bounds.
  int64_t ylo = 0, yhi = OH, xlo = 0, xhi = OW;
  for (int64_t ky = 0; ky < g.kh; ++ky) {
    int64_t lo, hi;
    tap_span(OH, sh, ky * dh - g.pad_t, g.h, &lo, &hi);
    ylo = std::max(ylo, lo);
    yhi = std::min(yhi, hi);
  }
  for (int64_t kx = 0; kx < g.kw; ++kx) {
    int64_t lo, hi;
    tap_span(OW, sw, kx * dw - g.pad_l, g.w, &lo, &hi);
    xlo = std::max(xlo, lo);
    xhi = std::min(xhi, hi);
  }
  if (yhi <= ylo || xhi <= xlo) ylo = yhi = xlo = xhi = 0;  // no interior: all border
  int32_t wsum = 0;
  for (int64_t k = 0; k < g.kh * g.kw; ++k) wsum += wc[k];
  const int32_t cst = b - z * wsum;
  const bool fast3 = g.kh == 3 && g.kw == 3 && dh == 1 && dw == 1 && sh == sw && (sh == 1 || sh == 2);
  for (int64_t oy = 0; oy < OH; ++oy) {
    int32_t* row = oc + oy * OW;
    if (oy < ylo || oy >= yhi) {
      for (int64_t ox = 0; ox < OW; ++ox) row[ox] = border_pixel(xc, g, z, wc, b, oy, ox);
      continue;
    }
    for (int64_t ox = 0; ox < xlo; ++ox) row[ox] = border_pixel(xc, g, z, wc, b, oy, ox);
    for (int64_t ox = xhi; ox < OW; ++ox) row[ox] = border_pixel(xc, g, z, wc, b, oy, ox);
    const int64_t iy0 = oy * sh - g.pad_t;
    if (fast3) {
      // Tap (ky, 0) of the first interior pixel: column xlo·S − pad_l ≥ 0.
      const uint8_t* r[3];
      for (int ky = 0; ky < 3; ++ky) r[ky] = xc + (iy0 + ky) * g.w + xlo * sh - g.pad_l;
      if (sh == 1) {
        row3x3<1>(r, wc, cst, row + xlo, xhi - xlo);
      } else {
        row3x3<2>(r, wc, cst, row + xlo, xhi - xlo);
      }
      continue;
    }
    for (int64_t ox = xlo; ox < xhi; ++ox) row[ox] = cst;
    for (int64_t ky = 0; ky < g.kh; ++ky) {
      const uint8_t* xr = xc + (iy0 + ky * dh) * g.w;
      for (int64_t kx = 0; kx < g.kw; ++kx) {
        const int32_t wv = wc[ky * g.kw + kx];
        const int64_t off = kx * dw - g.pad_l;
        for (int64_t ox = xlo; ox < xhi; ++ox) row[ox] += wv * xr[ox * sw + off];
      }
    }
  }
}

void depthwise8_planes_scalar(const uint8_t* x, const Conv2dGeom& g, int32_t x_zero, const int8_t* w,
                              const int32_t* bias, int32_t* out, int64_t q0, int64_t q1) {
  const int64_t in_plane = g.h * g.w, out_plane = g.oh() * g.ow(), kk = g.kh * g.kw;
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t c = q % g.c;
    depthwise8_plane_scalar(x + q * in_plane, g, x_zero, w + c * kk, bias ? bias[c] : 0, out + q * out_plane);
  }
}

void* depthwise8_scratch(int64_t bytes) {
  thread_local std::vector<uint64_t> buf;  // + 7 words to align to 64 bytes
  const size_t words = static_cast<size_t>((bytes + 7) / 8) + 8;
  if (buf.size() < words) buf.resize(words);
  const uintptr_t a = reinterpret_cast<uintptr_t>(buf.data());
  return reinterpret_cast<void*>((a + 63) & ~uintptr_t{63});
}

bool depthwise_u8s8s32_variant_supported(int variant) {
  const CpuFeatures& f = cpu_features();
  switch (variant) {
    case kDwScalar: return true;
    case kDwAvx2: return f.avx2 && f.os_avx;
    case kDwAvx512: return f.avx512f && f.avx512bw && f.os_avx && f.os_avx512;
    default: return false;
  }
}

int depthwise_u8s8s32_best_variant() {
  static const int best = [] {
    for (int v = env_isa_limit(); v > kDwScalar; --v)
      if (depthwise_u8s8s32_variant_supported(v)) return v;
    return static_cast<int>(kDwScalar);
  }();
  return best;
}

void depthwise_u8s8s32_variant(int variant, const uint8_t* x, const Conv2dGeom& g, int32_t x_zero, const int8_t* w,
                               const int32_t* bias, int32_t* out, ThreadPool* pool) {
  LB_CHECK(depthwise_u8s8s32_variant_supported(variant), "depthwise_u8s8s32: variant not supported by this CPU");
  assert(g.n >= 1 && g.c >= 1 && g.h >= 1 && g.w >= 1 && g.kh >= 1 && g.kw >= 1);
  assert(g.stride_h >= 1 && g.stride_w >= 1 && g.dil_h >= 1 && g.dil_w >= 1);
  assert(g.pad_t >= 0 && g.pad_l >= 0 && g.pad_b >= 0 && g.pad_r >= 0 && g.oh() >= 1 && g.ow() >= 1);
  assert(x_zero >= 0 && x_zero <= 255);
  auto* fn = variant == kDwAvx512 ? depthwise8_planes_avx512
             : variant == kDwAvx2 ? depthwise8_planes_avx2
                                  : depthwise8_planes_scalar;
  const int64_t planes = g.n * g.c;
  const int64_t plane_macs = g.oh() * g.ow() * g.kh * g.kw;
  auto run = [&](int64_t q0, int64_t q1) { fn(x, g, x_zero, w, bias, out, q0, q1); };
  if (pool && pool->num_threads() > 1 && static_cast<double>(planes) * plane_macs >= kParallelMinMacs) {
    pool->parallel_for(planes, std::max<int64_t>(1, 8192 / std::max<int64_t>(1, plane_macs)), run);
  } else {
    run(0, planes);
  }
}

void depthwise_u8s8s32(const uint8_t* x, const Conv2dGeom& g, int32_t x_zero, const int8_t* w, const int32_t* bias,
                       int32_t* out, ThreadPool* pool) {
  depthwise_u8s8s32_variant(depthwise_u8s8s32_best_variant(), x, g, x_zero, w, bias, out, pool);
}

}  // namespace lowbit::kernels
