// int8_conv_test.cc: kernels::depthwise_u8s8s32 (every variant this CPU has, serial and threaded)
// and im2col_u8 / im2col_u8_rows against naive loops written here.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/int8/depthwise8.h"
#include "kernels/int8/im2col8.h"

namespace lowbit::kernels {
namespace {

constexpr int32_t kSentinel = 0x5a5a5a5a;
constexpr int64_t kGuard = 37;  // output elements past the end that must stay untouched

std::string describe(const Conv2dGeom& g, int32_t z, bool bias) {
  std::ostringstream s;
  s << "n=" << g.n << " c=" << g.c << " in=" << g.h << "x" << g.w << " k=" << g.kh << "x" << g.kw << " s=" << g.stride_h
    << "," << g.stride_w << " pad(t,l,b,r)=" << g.pad_t << "," << g.pad_l << "," << g.pad_b << "," << g.pad_r
    << " dil=" << g.dil_h << "," << g.dil_w << " z=" << z << " bias=" << bias;
  return s.str();
}

// The definition, six loops: bias + Σ_{in-bounds taps} (x − z)·w, in int64.
std::vector<int32_t> naive_depthwise(const std::vector<uint8_t>& x, const Conv2dGeom& g, int32_t z,
                                     const std::vector<int8_t>& w, const int32_t* bias) {
  const int64_t OH = g.oh(), OW = g.ow();
  std::vector<int32_t> out(static_cast<size_t>(g.n * g.c * OH * OW));
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t oy = 0; oy < OH; ++oy)
        for (int64_t ox = 0; ox < OW; ++ox) {
          int64_t acc = bias ? bias[c] : 0;
          for (int64_t ky = 0; ky < g.kh; ++ky)
            for (int64_t kx = 0; kx < g.kw; ++kx) {
              const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
              const int64_t ix = ox * g.stride_w - g.pad_l + kx * g.dil_w;
              if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
              const int64_t xv = x[static_cast<size_t>(((n * g.c + c) * g.h + iy) * g.w + ix)];
              acc += (xv - z) * w[static_cast<size_t>((c * g.kh + ky) * g.kw + kx)];
            }
          out[static_cast<size_t>(((n * g.c + c) * OH + oy) * OW + ox)] = static_cast<int32_t>(acc);
        }
  return out;
}

enum class Fill { kRandom, kExtremeHigh, kExtremeLow };

struct DwCase {
  Conv2dGeom g;
  int32_t z = 128;
  bool bias = true;
  Fill fill = Fill::kRandom;
};

// Runs every variant (serial) against the naive loops and the scalar variant, plus the
// default entry point threaded; checks the guard after the output.
void check_depthwise(const DwCase& cs, std::mt19937& rng, ThreadPool* pool) {
  const Conv2dGeom& g = cs.g;
  ASSERT_GE(g.oh(), 1);
  ASSERT_GE(g.ow(), 1);
  std::vector<uint8_t> x(static_cast<size_t>(g.n * g.c * g.h * g.w));
  std::vector<int8_t> w(static_cast<size_t>(g.c * g.kh * g.kw));
  std::vector<int32_t> b(static_cast<size_t>(g.c));
  std::uniform_int_distribution<int> u8(0, 255), s8(-128, 127), s20(-(1 << 20), 1 << 20);
  for (auto& v : x)
    v = static_cast<uint8_t>(cs.fill == Fill::kRandom ? u8(rng) : cs.fill == Fill::kExtremeHigh ? 255 : 0);
  for (auto& v : w) v = static_cast<int8_t>(cs.fill == Fill::kRandom ? s8(rng) : -128);
  for (auto& v : b) v = s20(rng);
  const int32_t* bias = cs.bias ? b.data() : nullptr;
  const std::vector<int32_t> want = naive_depthwise(x, g, cs.z, w, bias);
  const std::string what = describe(g, cs.z, cs.bias);

  std::vector<int32_t> scalar;
  for (int v : {kDwScalar, kDwAvx2, kDwAvx512}) {
    if (!depthwise_u8s8s32_variant_supported(v)) continue;
    std::vector<int32_t> out(want.size() + kGuard, kSentinel);
    depthwise_u8s8s32_variant(v, x.data(), g, cs.z, w.data(), bias, out.data(), nullptr);
    for (size_t i = want.size(); i < out.size(); ++i)
      ASSERT_EQ(out[i], kSentinel) << "variant " << v << " wrote past the end; " << what;
    out.resize(want.size());
    if (v == kDwScalar) {
      ASSERT_EQ(out, want) << "scalar vs naive; " << what;
      scalar = out;
    } else {
      ASSERT_EQ(out, scalar) << "variant " << v << " vs scalar; " << what;
    }
  }
  if (pool) {
    std::vector<int32_t> out(want.size(), kSentinel);
    depthwise_u8s8s32(x.data(), g, cs.z, w.data(), bias, out.data(), pool);
    ASSERT_EQ(out, want) << "threaded; " << what;
  }
}

Conv2dGeom geom(int64_t n, int64_t c, int64_t h, int64_t w, int64_t k, int64_t s, int64_t pad) {
  Conv2dGeom g;
  g.n = n, g.c = c, g.h = h, g.w = w, g.kh = k, g.kw = k, g.stride_h = s, g.stride_w = s;
  g.pad_t = g.pad_l = g.pad_b = g.pad_r = pad;
  return g;
}

const int64_t kSizes[] = {1, 3, 15, 16, 17, 63, 64, 65};

TEST(Int8Depthwise, VariantsReported) {
  EXPECT_TRUE(depthwise_u8s8s32_variant_supported(kDwScalar));
  EXPECT_FALSE(depthwise_u8s8s32_variant_supported(7));
  EXPECT_TRUE(depthwise_u8s8s32_variant_supported(depthwise_u8s8s32_best_variant()));
  for (int v : {kDwAvx2, kDwAvx512})
    if (!depthwise_u8s8s32_variant_supported(v))
      std::printf("[ note ] depthwise variant %d not supported here, skipped\n", v);
}

TEST(Int8Depthwise, Reference3x3Stride1Pad1) {
  std::mt19937 rng(1);
  ThreadPool pool(3);
  // One size at a time around the base c = 16, 15×17.
  for (int64_t s : kSizes) {
    for (int64_t stride : {1, 2}) {
      check_depthwise({geom(1, s, 15, 17, 3, stride, 1)}, rng, &pool);
      check_depthwise({geom(1, 16, s, 17, 3, stride, 1)}, rng, &pool);
      check_depthwise({geom(1, 16, 15, s, 3, stride, 1)}, rng, &pool);
    }
  }
}

TEST(Int8Depthwise, KernelsStridesPads) {
  std::mt19937 rng(2);
  for (int64_t k : {1, 3, 5})
    for (int64_t s : {1, 2})
      for (int64_t pad : {0, 1, 2})
        for (int64_t hw : {1, 3, 16, 17, 65}) {
          Conv2dGeom g = geom(2, 3, hw, hw + 2, k, s, pad);
          if (g.oh() < 1 || g.ow() < 1) continue;
          check_depthwise({g, 128, (hw & 1) != 0}, rng, nullptr);
        }
}

TEST(Int8Depthwise, AsymmetricPadsStridesAndDilation) {
  std::mt19937 rng(3);
  for (int64_t k : {1, 3, 5})
    for (int64_t dil : {1, 2})
      for (int trial = 0; trial < 12; ++trial) {
        Conv2dGeom g = geom(1, 5, 0, 0, k, 1, 0);
        std::uniform_int_distribution<int64_t> pad(0, 2), stride(1, 2), size(1, 20);
        g.h = size(rng), g.w = size(rng), g.stride_h = stride(rng), g.stride_w = stride(rng);
        g.pad_t = pad(rng), g.pad_l = pad(rng), g.pad_b = pad(rng), g.pad_r = pad(rng);
        g.dil_h = dil, g.dil_w = trial % 3 == 0 ? 1 : dil;
        if (g.oh() < 1 || g.ow() < 1) continue;
        check_depthwise({g, static_cast<int32_t>(rng() % 256), trial % 2 == 0}, rng, nullptr);
      }
  // Non-square kernels take the generic loops of every variant.
  for (int64_t kh : {1, 2, 3, 7})
    for (int64_t kw : {1, 2, 4, 7}) {
      Conv2dGeom g = geom(1, 4, 19, 23, 1, 1, 1);
      g.kh = kh, g.kw = kw, g.pad_b = 3, g.stride_w = kw % 2 + 1, g.dil_h = kh == 7 ? 1 : 2;
      if (g.oh() < 1 || g.ow() < 1) continue;
      check_depthwise({g, 77, true}, rng, nullptr);
    }
}

TEST(Int8Depthwise, ZeroPointsAndExtremes) {
  std::mt19937 rng(4);
  for (int32_t z : {0, 128, 255})
    for (bool bias : {false, true})
      for (int64_t s : {1, 2}) {
        check_depthwise({geom(2, 7, 17, 16, 3, s, 1), z, bias}, rng, nullptr);
        check_depthwise({geom(1, 3, 9, 33, 5, s, 2), z, bias}, rng, nullptr);
        // All 255 × −128 (and all 0 × −128): the largest |x − z|·|w| a tap can give.
        check_depthwise({geom(1, 3, 17, 65, 3, s, 1), z, bias, Fill::kExtremeHigh}, rng, nullptr);
        check_depthwise({geom(1, 3, 16, 15, 5, s, 2), z, bias, Fill::kExtremeLow}, rng, nullptr);
      }
}

TEST(Int8Depthwise, RandomCombos) {
  std::mt19937 rng(5);
  ThreadPool pool(4);
  std::uniform_int_distribution<size_t> pick(0, std::size(kSizes) - 1);
  for (int trial = 0; trial < 24; ++trial) {
    const int64_t k = trial % 3 == 0 ? 5 : 3;
    Conv2dGeom g = geom(1 + trial % 2, kSizes[pick(rng)], kSizes[pick(rng)], kSizes[pick(rng)], k, 1 + trial % 2,
                        trial % 3);
    if (g.oh() < 1 || g.ow() < 1) continue;
    check_depthwise({g, static_cast<int32_t>(rng() % 256), trial % 4 != 0}, rng, &pool);
  }
}

TEST(Int8Depthwise, ThreadedMatchesSerialOnLargeConv) {
  std::mt19937 rng(6);
  ThreadPool pool(4);
  // Big enough to pass the parallel threshold.
  check_depthwise({geom(2, 64, 56, 56, 3, 1, 1), 3, true}, rng, &pool);
  check_depthwise({geom(1, 96, 65, 63, 3, 2, 1), 200, false}, rng, &pool);
}

TEST(Int8Depthwise, AbsurdGeometryFallsBack) {
  std::mt19937 rng(7);
  // Huge pads and strides: the SIMD variants' padded view would be mostly padding.
  Conv2dGeom g = geom(1, 2, 3, 4, 3, 1, 0);
  g.pad_t = 40, g.pad_b = 45, g.pad_l = 60, g.pad_r = 61, g.stride_h = 9, g.stride_w = 13, g.dil_h = 5, g.dil_w = 7;
  check_depthwise({g, 9, true}, rng, nullptr);
}

// ---- im2col ----

uint8_t naive_tap(const std::vector<uint8_t>& x, int64_t h, int64_t w, const Conv2dGeom& g, uint8_t z, int64_t ic,
                  int64_t ky, int64_t kx, int64_t oy, int64_t ox) {
  const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h;
  const int64_t ix = ox * g.stride_w - g.pad_l + kx * g.dil_w;
  if (iy < 0 || iy >= h || ix < 0 || ix >= w) return z;
  return x[static_cast<size_t>((ic * h + iy) * w + ix)];
}

void check_im2col(int64_t c, int64_t h, int64_t w, Conv2dGeom g, uint8_t z, std::mt19937& rng) {
  g.c = c, g.h = h, g.w = w;
  const int64_t OH = g.oh(), OW = g.ow();
  if (OH < 1 || OW < 1) return;
  const int64_t P = OH * OW, K = c * g.kh * g.kw;
  std::vector<uint8_t> x(static_cast<size_t>(c * h * w));
  for (auto& v : x) v = static_cast<uint8_t>(rng() % 256);
  // The kernels must ignore g.n, g.c, g.h, g.w: give them nonsense.
  Conv2dGeom gk = g;
  gk.n = 5, gk.c = 1000, gk.h = 2, gk.w = 999;
  const std::string what = describe(g, z, false);

  std::vector<uint8_t> col(static_cast<size_t>(K * P + kGuard), 0xA5);
  im2col_u8(x.data(), c, h, w, gk, z, col.data());
  for (int64_t ic = 0, k = 0; ic < c; ++ic)
    for (int64_t ky = 0; ky < g.kh; ++ky)
      for (int64_t kx = 0; kx < g.kw; ++kx, ++k)
        for (int64_t oy = 0; oy < OH; ++oy)
          for (int64_t ox = 0; ox < OW; ++ox)
            ASSERT_EQ(col[static_cast<size_t>(k * P + oy * OW + ox)], naive_tap(x, h, w, g, z, ic, ky, kx, oy, ox))
                << "im2col_u8 k=" << k << " oy=" << oy << " ox=" << ox << "; " << what;
  for (int64_t i = K * P; i < K * P + kGuard; ++i) ASSERT_EQ(col[static_cast<size_t>(i)], 0xA5) << what;

  const int64_t ld = K + 3;
  std::vector<uint8_t> rows(static_cast<size_t>(ld * P + kGuard), 0xA5);
  im2col_u8_rows(x.data(), c, h, w, gk, z, rows.data(), ld);
  for (int64_t oy = 0; oy < OH; ++oy)
    for (int64_t ox = 0; ox < OW; ++ox) {
      const int64_t p = oy * OW + ox;
      for (int64_t ic = 0, k = 0; ic < c; ++ic)
        for (int64_t ky = 0; ky < g.kh; ++ky)
          for (int64_t kx = 0; kx < g.kw; ++kx, ++k)
            ASSERT_EQ(rows[static_cast<size_t>(p * ld + k)], naive_tap(x, h, w, g, z, ic, ky, kx, oy, ox))
                << "im2col_u8_rows p=" << p << " k=" << k << "; " << what;
      for (int64_t k = K; k < ld; ++k) ASSERT_EQ(rows[static_cast<size_t>(p * ld + k)], 0xA5) << "row slack; " << what;
    }
  for (int64_t i = ld * P; i < ld * P + kGuard; ++i) ASSERT_EQ(rows[static_cast<size_t>(i)], 0xA5) << what;
}

TEST(Int8Im2col, BothLayoutsMatchNaive) {
  std::mt19937 rng(8);
  for (int64_t k : {1, 3, 5})
    for (int64_t s : {1, 2})
      for (int64_t pad : {0, 1, 2})
        for (int64_t hw : {1, 3, 16, 17}) {
          Conv2dGeom g = geom(1, 1, 1, 1, k, s, pad);
          check_im2col(hw == 1 ? 1 : 3, hw, hw + 1, g, static_cast<uint8_t>(k == 3 ? 255 : 0), rng);
        }
}

TEST(Int8Im2col, AsymmetricPadsDilationAndSizes) {
  std::mt19937 rng(9);
  std::uniform_int_distribution<int64_t> pad(0, 3), stride(1, 3), dil(1, 2), kern(1, 5);
  std::uniform_int_distribution<size_t> pick(0, std::size(kSizes) - 1);
  for (int trial = 0; trial < 60; ++trial) {
    Conv2dGeom g;
    g.kh = kern(rng), g.kw = kern(rng), g.stride_h = stride(rng), g.stride_w = stride(rng);
    g.pad_t = pad(rng), g.pad_l = pad(rng), g.pad_b = pad(rng), g.pad_r = pad(rng);
    g.dil_h = dil(rng), g.dil_w = dil(rng);
    const int64_t c = trial < 20 ? 1 + trial % 4 : 2;
    check_im2col(c, kSizes[pick(rng)] % 40 + 1, kSizes[pick(rng)], g, static_cast<uint8_t>(rng() % 256), rng);
  }
}

}  // namespace
}  // namespace lowbit::kernels
