// int8_nhwc_test.cc: the channels-last uint8 kernels (nhwc8.h) — the layout transposes by hand
// and against index loops; im2col, depthwise and max pool bit for bit against the NCHW kernels
// (im2col8.h, depthwise8.h + requantize, pool.h) run on the transposed input, over awkward
// channel counts and sizes, pads (asymmetric and wider than the kernel), strides, dilation,
// group slices and image ranges; the global average pool against a naive loop of its documented
// formula and against the real-valued definition (round half to even, within 1, equal ≥ 99 %).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "kernels/fp32/pool.h"
#include "kernels/int8/depthwise8.h"
#include "kernels/int8/im2col8.h"
#include "kernels/int8/nhwc8.h"
#include "kernels/int8/qelementwise8.h"
#include "kernels/requant/fixed_point.h"
#include "kernels/requant/requantize.h"

namespace lowbit::kernels {
namespace {

// Bytes a kernel must not touch start out as this; any write there shows up.
constexpr uint8_t kSentinel = 0xA5;

struct Kernel {
  int64_t kh, kw;
};
struct Pads {
  int64_t t, l, b, r;
};
constexpr int64_t kSizes[] = {1, 3, 15, 16, 17};
constexpr Kernel kKernels[] = {{1, 1}, {3, 3}, {5, 5}, {2, 3}};
// Symmetric 0 / 1 / 2, two asymmetric sets (one with a side wider than a 1×1 or 2×3 kernel,
// whose border windows then hold no input at all).
constexpr Pads kPads[] = {{0, 0, 0, 0}, {1, 1, 1, 1}, {2, 2, 2, 2}, {0, 1, 2, 1}, {2, 0, 1, 2}};

std::vector<uint8_t> random_u8(int64_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (auto& e : v) e = static_cast<uint8_t>(d(rng));
  return v;
}

// Only the extremes 0 and 255.
std::vector<uint8_t> extreme_u8(int64_t n, std::mt19937& rng) {
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (auto& e : v) e = (rng() & 1) ? 255 : 0;
  return v;
}

std::vector<int8_t> random_s8(int64_t n, bool extremes, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(-128, 127);
  std::vector<int8_t> v(static_cast<size_t>(n));
  for (auto& e : v) e = static_cast<int8_t>(extremes ? ((rng() & 1) ? 127 : -128) : d(rng));
  return v;
}

double log_uniform(double lo, double hi, std::mt19937& rng) {
  return std::exp(std::uniform_real_distribution<double>(std::log(lo), std::log(hi))(rng));
}

DyadicMultiplier dyadic(double m) {
  Result<DyadicMultiplier> r = dyadic_multiplier(m);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? *r : DyadicMultiplier{};
}

// [n][hw][c] → [n][c][hw] and back, written from the index definitions.
std::vector<uint8_t> naive_to_nchw(const std::vector<uint8_t>& x, int64_t n, int64_t c, int64_t hw) {
  std::vector<uint8_t> y(x.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p)
        y[static_cast<size_t>((b * c + ch) * hw + p)] = x[static_cast<size_t>((b * hw + p) * c + ch)];
  return y;
}
std::vector<uint8_t> naive_to_nhwc(const std::vector<uint8_t>& x, int64_t n, int64_t c, int64_t hw) {
  std::vector<uint8_t> y(x.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p)
        y[static_cast<size_t>((b * hw + p) * c + ch)] = x[static_cast<size_t>((b * c + ch) * hw + p)];
  return y;
}

Conv2dGeom make_geom(int64_t n, int64_t c, int64_t h, int64_t w, Kernel k, int64_t stride_h, int64_t stride_w, Pads p,
                     int64_t dil_h = 1, int64_t dil_w = 1) {
  Conv2dGeom g;
  g.n = n, g.c = c, g.h = h, g.w = w;
  g.kh = k.kh, g.kw = k.kw;
  g.stride_h = stride_h, g.stride_w = stride_w;
  g.pad_t = p.t, g.pad_l = p.l, g.pad_b = p.b, g.pad_r = p.r;
  g.dil_h = dil_h, g.dil_w = dil_w;
  return g;
}

bool has_output(const Conv2dGeom& g) { return g.oh() >= 1 && g.ow() >= 1; }

std::string describe(const Conv2dGeom& g) {
  std::ostringstream s;
  s << "n=" << g.n << " c=" << g.c << " " << g.h << "x" << g.w << " k=" << g.kh << "x" << g.kw << " s=" << g.stride_h
    << "," << g.stride_w << " pad(t,l,b,r)=" << g.pad_t << "," << g.pad_l << "," << g.pad_b << "," << g.pad_r
    << " dil=" << g.dil_h << "," << g.dil_w << " out=" << g.oh() << "x" << g.ow();
  return s.str();
}

// ---- Layout --------------------------------------------------------------------------------

TEST(Int8NhwcLayout, HandChecked) {
  // Two images of 2 channels × 3 pixels: NCHW [n][c][p] = 10·n + 3·c + p + 1.
  const std::vector<uint8_t> nchw = {1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16};
  const std::vector<uint8_t> nhwc = {1, 4, 2, 5, 3, 6, 11, 14, 12, 15, 13, 16};
  std::vector<uint8_t> y(12, kSentinel);
  nchw_to_nhwc_u8(nchw.data(), 2, 2, 3, y.data());
  EXPECT_EQ(y, nhwc);
  std::fill(y.begin(), y.end(), kSentinel);
  nhwc_to_nchw_u8(nhwc.data(), 2, 2, 3, y.data());
  EXPECT_EQ(y, nchw);
}

TEST(Int8NhwcLayout, RoundTripAndIndexLoops) {
  std::mt19937 rng(1);
  int cases = 0;
  for (int64_t n : {1, 3})
    for (int64_t c : {1, 3, 15, 16, 17, 63, 64, 65, 257})
      for (int64_t hw : {1, 3, 15, 16, 17, 49, 64, 65}) {
        const std::vector<uint8_t> x = random_u8(n * c * hw, rng);
        // One extra byte past the end must stay untouched.
        std::vector<uint8_t> nhwc(x.size() + 1, kSentinel), back(x.size() + 1, kSentinel);
        nchw_to_nhwc_u8(x.data(), n, c, hw, nhwc.data());
        nhwc_to_nchw_u8(nhwc.data(), n, c, hw, back.data());
        const std::vector<uint8_t> want = naive_to_nhwc(x, n, c, hw);
        ASSERT_TRUE(std::equal(want.begin(), want.end(), nhwc.begin())) << "n=" << n << " c=" << c << " hw=" << hw;
        ASSERT_TRUE(std::equal(x.begin(), x.end(), back.begin())) << "n=" << n << " c=" << c << " hw=" << hw;
        ASSERT_EQ(nhwc.back(), kSentinel);
        ASSERT_EQ(back.back(), kSentinel);
        // And the other direction first, against its own index loop.
        std::vector<uint8_t> nchw(x.size());
        nhwc_to_nchw_u8(x.data(), n, c, hw, nchw.data());
        ASSERT_EQ(nchw, naive_to_nchw(x, n, c, hw)) << "n=" << n << " c=" << c << " hw=" << hw;
        ++cases;
      }
  std::printf("[ note ] layout: %d shapes\n", cases);
}

// ---- im2col --------------------------------------------------------------------------------

// One im2col_nhwc_u8 call on a random NHWC image [g.h][g.w][c_total], channels [c0, c0 + c),
// rows ld = K + ld_extra, against im2col_u8_rows on the NCHW copy (columns permuted: NHWC
// k = (ky·kw + kx)·c + ic, NCHW k = (ic·kh + ky)·kw + kx) and against the header's formula.
// Bytes [K, ld) of every row and everything past the last row must stay untouched.
// Returns false (after one failure) on the first wrong byte.
bool check_im2col(const Conv2dGeom& g, int64_t c_total, int64_t c0, int64_t c, int64_t ld_extra, uint8_t x_zero,
                  std::mt19937& rng) {
  const int64_t h = g.h, w = g.w, oh = g.oh(), ow = g.ow(), P = oh * ow, K = c * g.kh * g.kw, ld = K + ld_extra;
  const std::vector<uint8_t> x = random_u8(h * w * c_total, rng);
  const std::vector<uint8_t> x_nchw = naive_to_nchw(x, 1, c_total, h * w);
  std::vector<uint8_t> ref(static_cast<size_t>(P * K));
  im2col_u8_rows(x_nchw.data() + c0 * h * w, c, h, w, g, x_zero, ref.data(), K);
  constexpr int64_t kTail = 64;
  std::vector<uint8_t> col(static_cast<size_t>(P * ld + kTail), kSentinel);
  im2col_nhwc_u8(x.data(), h, w, c_total, c0, c, g, x_zero, col.data(), ld);
  auto where = [&] {
    return describe(g) + " c_total=" + std::to_string(c_total) + " c0=" + std::to_string(c0) + " c=" +
           std::to_string(c) + " ld=" + std::to_string(ld) + " x_zero=" + std::to_string(x_zero);
  };
  for (int64_t oy = 0; oy < oh; ++oy)
    for (int64_t ox = 0; ox < ow; ++ox) {
      const int64_t p = oy * ow + ox;
      for (int64_t ky = 0; ky < g.kh; ++ky)
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          const int64_t iy = oy * g.stride_h - g.pad_t + ky * g.dil_h, ix = ox * g.stride_w - g.pad_l + kx * g.dil_w;
          const bool inside = iy >= 0 && iy < h && ix >= 0 && ix < w;
          for (int64_t ic = 0; ic < c; ++ic) {
            const uint8_t naive = inside ? x[static_cast<size_t>((iy * w + ix) * c_total + c0 + ic)] : x_zero;
            const uint8_t want = ref[static_cast<size_t>(p * K + (ic * g.kh + ky) * g.kw + kx)];
            const uint8_t got = col[static_cast<size_t>(p * ld + (ky * g.kw + kx) * c + ic)];
            if (want != naive) {
              ADD_FAILURE() << "reference im2col_u8_rows disagrees with the formula at p=" << p << " ky=" << ky
                            << " kx=" << kx << " ic=" << ic << ": " << int{want} << " vs " << int{naive} << " — "
                            << where();
              return false;
            }
            if (got != want) {
              ADD_FAILURE() << "im2col_nhwc_u8 at p=" << p << " ky=" << ky << " kx=" << kx << " ic=" << ic
                            << ": got " << int{got} << " want " << int{want} << " — " << where();
              return false;
            }
          }
        }
      for (int64_t k = K; k < ld; ++k)
        if (col[static_cast<size_t>(p * ld + k)] != kSentinel) {
          ADD_FAILURE() << "im2col_nhwc_u8 wrote row padding byte " << k << " of row " << p << " — " << where();
          return false;
        }
    }
  for (int64_t i = P * ld; i < P * ld + kTail; ++i)
    if (col[static_cast<size_t>(i)] != kSentinel) {
      ADD_FAILURE() << "im2col_nhwc_u8 wrote past the last row (byte " << i << ") — " << where();
      return false;
    }
  return true;
}

// Every channel width (the fixed-width paths 1, 3, 4, 8, 16, 32, 64 and the generic one on
// either side), every size pair, kernel, stride and pad set.
TEST(Int8NhwcIm2col, ChannelsSizesKernelsStridesPads) {
  std::mt19937 rng(2);
  int cases = 0;
  for (int64_t c : {1, 3, 4, 8, 15, 16, 17, 32, 63, 64, 65})
    for (int64_t h : kSizes)
      for (int64_t w : kSizes)
        for (Kernel k : kKernels)
          for (int64_t s : {1, 2})
            for (Pads p : kPads) {
              const Conv2dGeom g = make_geom(1, c, h, w, k, s, s, p);
              if (!has_output(g)) continue;
              // Tight rows most of the time, some with spare bytes.
              const int64_t ld_extra = (cases % 4 == 3) ? 5 : 0;
              const uint8_t x_zero = static_cast<uint8_t>(cases % 3 == 0 ? 0 : (cases % 3 == 1 ? 128 : 255));
              ASSERT_TRUE(check_im2col(g, c, 0, c, ld_extra, x_zero, rng));
              ++cases;
            }
  std::printf("[ note ] im2col grid: %d cases\n", cases);
}

TEST(Int8NhwcIm2col, DilationAndMixedStrides) {
  std::mt19937 rng(3);
  int cases = 0, tried = 0;
  for (int64_t c : {1, 3, 4, 8, 15, 16, 17, 32, 63, 64, 65})
    for (auto [dh, dw] : {std::pair<int64_t, int64_t>{2, 2}, {2, 1}, {1, 2}})
      for (auto [sh, sw] : {std::pair<int64_t, int64_t>{1, 1}, {2, 2}, {1, 2}, {2, 1}})
        for (Kernel k : kKernels)
          for (Pads p : kPads) {
            const int64_t h = kSizes[(tried + 2) % 5], w = kSizes[(tried * 3 + 4) % 5];
            const Conv2dGeom g = make_geom(1, c, h, w, k, sh, sw, p, dh, dw);
            ++tried;
            if (!has_output(g)) continue;
            ASSERT_TRUE(check_im2col(g, c, 0, c, (tried % 2) * 3, static_cast<uint8_t>(rng()), rng));
            ++cases;
          }
  // A dilated 5×5 (extent 9) on images exactly that size and just above.
  for (int64_t c : {3, 16, 17})
    for (int64_t hw : {9, 10, 11}) {
      const Conv2dGeom g = make_geom(1, c, hw, hw, {5, 5}, 1, 1, {0, 0, 0, 0}, 2, 2);
      if (!has_output(g)) continue;
      ASSERT_TRUE(check_im2col(g, c, 0, c, 0, 77, rng));
      ++cases;
    }
  std::printf("[ note ] im2col dilation / mixed strides: %d cases\n", cases);
}

// Every channel count up to 130 on one small geometry, so a width dispatched to the wrong
// fixed-width path (31, 33, 65, 127, ...) shows up.
TEST(Int8NhwcIm2col, EveryChannelCount) {
  std::mt19937 rng(14);
  for (int64_t c = 1; c <= 130; ++c) {
    ASSERT_TRUE(check_im2col(make_geom(1, c, 5, 6, {3, 3}, 2, 1, {1, 0, 1, 2}), c, 0, c, c % 3, 200, rng));
    ASSERT_TRUE(check_im2col(make_geom(1, c + 2, 4, 3, {2, 3}, 1, 2, {0, 1, 1, 1}, 2, 1), c + 2, 1, c, 0, 3, rng));
  }
}

// One group's channel slice of a wider image, with rows wider than K.
TEST(Int8NhwcIm2col, GroupSlicesAndWideRows) {
  std::mt19937 rng(4);
  int cases = 0, tried = 0;
  for (int64_t c : {1, 3, 4, 8, 15, 16, 17, 32, 63, 64, 65})
    for (int64_t groups : {2, 3}) {
      const int64_t c_total = c * groups;
      for (int64_t grp = 0; grp < groups; ++grp)
        for (int64_t ld_extra : {1, 13, 64}) {
          const Kernel k = kKernels[(tried + grp) % 4];
          const Pads p = kPads[(tried * 7 + 1) % 5];
          const int64_t s = 1 + tried % 2;
          const Conv2dGeom g = make_geom(1, c_total, kSizes[1 + tried % 4], kSizes[1 + (tried + 1) % 4], k, s, s, p,
                                         1 + (tried / 3) % 2, 1 + (tried / 5) % 2);
          ++tried;
          if (!has_output(g)) continue;
          ASSERT_TRUE(check_im2col(g, c_total, grp * c, c, ld_extra, static_cast<uint8_t>(rng()), rng));
          ++cases;
        }
    }
  // A slice that is not a whole group: odd c0 and c with channels on both sides.
  for (auto [c_total, c0, c] : {std::tuple<int64_t, int64_t, int64_t>{20, 3, 16}, {70, 1, 64}, {9, 5, 3}, {40, 7, 32},
                                {5, 4, 1}, {13, 1, 8}, {6, 2, 4}, {100, 17, 65}}) {
    const Conv2dGeom g = make_geom(1, c_total, 15, 17, {3, 3}, 2, 2, {1, 0, 2, 1});
    ASSERT_TRUE(check_im2col(g, c_total, c0, c, 3, 9, rng));
    ++cases;
  }
  std::printf("[ note ] im2col group slices: %d cases\n", cases);
}

// ---- Depthwise -----------------------------------------------------------------------------

// How many bits of requantize headroom (requantize.h) a depthwise case passes.
enum class Headroom { kNone, kMost, kSome };

struct DwCase {
  Conv2dGeom g;     // g.n images in the batch
  int64_t i0, i1;   // images the kernel computes
  int32_t x_zero, y_zero, lo, hi;
  bool per_channel;  // one multiplier per channel, else one per tensor
  bool extremes;     // inputs only 0 / 255, weights only −128 / 127
  Headroom headroom = Headroom::kNone;
};

// requantize.h's headroom k, per element: RDBP(SRDHM(acc · 2^k, m0), k − shift) for shift ≤ 0,
// i.e. requantize() of acc · 2^k with the multiplier's right shift k bits longer; multipliers
// with shift > 0 ignore k.
int32_t requantize_headroom(int32_t acc, DyadicMultiplier m, int k, int32_t zy, int32_t lo, int32_t hi) {
  if (m.shift > 0 || k == 0) return requantize(acc, m, zy, lo, hi);
  const int64_t scaled = static_cast<int64_t>(acc) * (int64_t{1} << k);
  EXPECT_TRUE(scaled >= std::numeric_limits<int32_t>::min() && scaled <= std::numeric_limits<int32_t>::max())
      << "test bug: headroom " << k << " overflows acc " << acc;
  return requantize(static_cast<int32_t>(scaled), DyadicMultiplier{m.m0, m.shift - k}, zy, lo, hi);
}

std::string describe(const DwCase& cs) {
  std::ostringstream s;
  s << describe(cs.g) << " images [" << cs.i0 << ", " << cs.i1 << ") x_zero=" << cs.x_zero << " y_zero=" << cs.y_zero
    << " clamp [" << cs.lo << ", " << cs.hi << "] " << (cs.per_channel ? "per-channel" : "per-tensor")
    << (cs.extremes ? " extremes" : "")
    << (cs.headroom == Headroom::kNone ? "" : cs.headroom == Headroom::kMost ? " most headroom" : " some headroom");
  return s.str();
}

// depthwise_nhwc_u8 against the scalar depthwise_u8s8s32 on the NCHW copy (weights transposed
// from [kh][kw][c] to [c][kh][kw]) followed by requantize() per element. Images outside
// [i0, i1) must stay untouched. Returns false after the first wrong byte.
bool check_depthwise(const DwCase& cs, std::mt19937& rng) {
  const Conv2dGeom& g = cs.g;
  const int64_t n = g.n, c = g.c, hw = g.h * g.w, ohw = g.oh() * g.ow(), taps = g.kh * g.kw;
  const std::vector<uint8_t> x = cs.extremes ? extreme_u8(n * hw * c, rng) : random_u8(n * hw * c, rng);
  const std::vector<int8_t> w_tap = random_s8(taps * c, cs.extremes, rng);
  std::vector<int8_t> w_chw(w_tap.size());
  for (int64_t t = 0; t < taps; ++t)
    for (int64_t ch = 0; ch < c; ++ch)
      w_chw[static_cast<size_t>(ch * taps + t)] = w_tap[static_cast<size_t>(t * c + ch)];
  const int32_t bias_max = cs.extremes ? (1 << 24) : (1 << 16);
  std::uniform_int_distribution<int32_t> bias_d(-bias_max, bias_max);
  std::vector<int32_t> bias(static_cast<size_t>(c));
  for (auto& b : bias) b = bias_d(rng);
  // Multipliers that spread a typical accumulator (≈ 10^4 · √taps) over the output range, a
  // few that saturate, and one above 1 (a left shift).
  std::vector<DyadicMultiplier> mult(static_cast<size_t>(cs.per_channel ? c : 1));
  for (size_t i = 0; i < mult.size(); ++i)
    mult[i] = dyadic(i % 17 == 5 ? 1.5 : log_uniform(std::ldexp(1.0, -18), std::ldexp(1.0, -5), rng));
  // Headroom as runtime::compile derives it: |acc| < 2^bits, k ≤ 31 − bits, and k − shift ≤ 31
  // for every multiplier with shift ≤ 0.
  int64_t bound = 0;
  for (int32_t b : bias) bound = std::max<int64_t>(bound, std::abs(int64_t{b}));
  bound += taps * 255 * 128;
  int bits = 0;
  while ((int64_t{1} << bits) <= bound) ++bits;
  int max_k = 31 - bits;
  for (const DyadicMultiplier& m : mult)
    if (m.shift <= 0) max_k = std::min(max_k, 31 + m.shift);
  max_k = std::max(max_k, 0);
  const int k = cs.headroom == Headroom::kNone ? 0
                : cs.headroom == Headroom::kMost ? max_k
                                                 : std::uniform_int_distribution<int>(0, max_k)(rng);
  const std::vector<uint8_t> x_nchw = naive_to_nchw(x, n, c, hw);
  std::vector<int32_t> acc(static_cast<size_t>(n * c * ohw));
  depthwise_u8s8s32_variant(kDwScalar, x_nchw.data(), g, cs.x_zero, w_chw.data(), bias.data(), acc.data(), nullptr);
  std::vector<uint8_t> y(static_cast<size_t>(n * ohw * c), kSentinel);
  depthwise_nhwc_u8(x.data(), g, cs.i0, cs.i1, cs.x_zero, w_tap.data(), bias.data(), mult.data(),
                    static_cast<int64_t>(mult.size()), k, cs.y_zero, cs.lo, cs.hi, y.data());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t p = 0; p < ohw; ++p)
      for (int64_t ch = 0; ch < c; ++ch) {
        const bool computed = b >= cs.i0 && b < cs.i1;
        const int32_t a = acc[static_cast<size_t>((b * c + ch) * ohw + p)];
        const int32_t want =
            computed
                ? requantize_headroom(a, mult[cs.per_channel ? static_cast<size_t>(ch) : 0], k, cs.y_zero, cs.lo, cs.hi)
                : kSentinel;
        const int32_t got = y[static_cast<size_t>((b * ohw + p) * c + ch)];
        if (got != want) {
          ADD_FAILURE() << "depthwise_nhwc_u8 at image " << b << " pixel " << p << " channel " << ch << " (acc " << a
                        << "): got " << got << " want " << want << " — " << describe(cs) << " k=" << k;
          return false;
        }
      }
  return true;
}

constexpr std::pair<int64_t, int64_t> kImageRanges[] = {{0, 3}, {1, 2}, {2, 3}, {0, 1}, {1, 3}, {0, 2}};

TEST(Int8NhwcDepthwise, HandChecked) {
  // One channel, x = 1..9 in a 3×3 image, a 3×3 kernel of ones, pad 1, M = 1: each output is
  // the sum of its in-bounds neighbourhood minus x_zero per in-bounds tap, plus the bias.
  const std::vector<uint8_t> x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const std::vector<int8_t> w(9, 1);
  const Conv2dGeom g = make_geom(1, 1, 3, 3, {3, 3}, 1, 1, {1, 1, 1, 1});
  const DyadicMultiplier one = dyadic(1.0);
  const int32_t bias0 = 0, bias3 = 3;
  std::vector<uint8_t> y(9);
  depthwise_nhwc_u8(x.data(), g, 0, 1, 0, w.data(), &bias0, &one, 1, 0, 0, 0, 255, y.data());
  EXPECT_EQ(y, (std::vector<uint8_t>{12, 21, 16, 27, 45, 33, 24, 39, 28}));
  // x_zero 1: corners lose 4, edges 6, the centre 9; bias 3, y_zero 10.
  depthwise_nhwc_u8(x.data(), g, 0, 1, 1, w.data(), &bias3, &one, 1, 0, 10, 0, 255, y.data());
  EXPECT_EQ(y, (std::vector<uint8_t>{21, 28, 25, 34, 49, 40, 33, 46, 37}));
  // M = 1 has shift 1 > 0, which ignores headroom.
  depthwise_nhwc_u8(x.data(), g, 0, 1, 1, w.data(), &bias3, &one, 1, 20, 10, 0, 255, y.data());
  EXPECT_EQ(y, (std::vector<uint8_t>{21, 28, 25, 34, 49, 40, 33, 46, 37}));
  // M = 1/4 (m0 = 2^30, shift −1) on the sums 12, 21, 16, 27, 45, 33, 24, 39, 28. Without
  // headroom SRDHM halves with ties up, then RDBP halves with ties away: 21 → 11 → 6,
  // 45 → 23 → 12, 33 → 17 → 9, 27 → 14 → 7, 39 → 20 → 10. With 20 bits the first step is
  // exact and the result is acc / 4 rounded once: 5.25 → 5, 11.25 → 11, 8.25 → 8, 6.75 → 7.
  const DyadicMultiplier quarter = dyadic(0.25);
  ASSERT_EQ(quarter.m0, 1 << 30);
  ASSERT_EQ(quarter.shift, -1);
  depthwise_nhwc_u8(x.data(), g, 0, 1, 0, w.data(), &bias0, &quarter, 1, 0, 0, 0, 255, y.data());
  EXPECT_EQ(y, (std::vector<uint8_t>{3, 6, 4, 7, 12, 9, 6, 10, 7}));
  depthwise_nhwc_u8(x.data(), g, 0, 1, 0, w.data(), &bias0, &quarter, 1, 20, 0, 0, 255, y.data());
  EXPECT_EQ(y, (std::vector<uint8_t>{3, 5, 4, 7, 11, 8, 6, 10, 7}));
  // Two channels interleaved, the second with weight −1 and Relu at y_zero 5: 5 + max(0, −s).
  const std::vector<uint8_t> x2 = {1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9};
  std::vector<int8_t> w2(18);
  for (int t = 0; t < 9; ++t) w2[static_cast<size_t>(2 * t)] = 1, w2[static_cast<size_t>(2 * t + 1)] = -1;
  const Conv2dGeom g2 = make_geom(1, 2, 3, 3, {3, 3}, 2, 2, {1, 1, 1, 1});  // outputs at the four corners
  const int32_t bias2[2] = {0, 20};
  std::vector<uint8_t> y2(8);
  depthwise_nhwc_u8(x2.data(), g2, 0, 1, 0, w2.data(), bias2, &one, 1, 0, 5, 5, 255, y2.data());
  // Corner sums 12, 16, 24, 28: channel 0 → 5 + s, channel 1 → max(5, 5 + 20 − s).
  EXPECT_EQ(y2, (std::vector<uint8_t>{17, 13, 21, 9, 29, 5, 33, 5}));
}

TEST(Int8NhwcDepthwise, ChannelsKernelsStridesPads) {
  std::mt19937 rng(5);
  int cases = 0, tried = 0;
  for (int64_t c : {1, 3, 15, 16, 17, 63, 64, 65, 257})
    for (Kernel k : kKernels)
      for (int64_t s : {1, 2})
        for (Pads p : kPads)
          for (int rep = 0; rep < (c <= 17 ? 2 : 1); ++rep) {
            const int64_t h = kSizes[(tried + rep) % 5], w = kSizes[(tried * 3 + 2 * rep + 1) % 5];
            const auto [i0, i1] = kImageRanges[tried % 6];
            const int32_t zs[] = {0, 128, 255};
            const int32_t x_zero = zs[tried % 3], y_zero = zs[(tried / 3) % 3];
            const bool relu = tried % 2 == 1;
            const int32_t lo = relu ? y_zero : 0, hi = tried % 5 == 4 ? std::max(lo, 200) : 255;
            DwCase cs{make_geom(3, c, h, w, k, s, s, p), i0, i1, x_zero, y_zero, lo, hi, tried % 4 != 3,
                      tried % 7 == 6, static_cast<Headroom>(tried % 3)};
            ++tried;
            if (!has_output(cs.g)) continue;
            ASSERT_TRUE(check_depthwise(cs, rng));
            ++cases;
          }
  std::printf("[ note ] depthwise grid: %d cases\n", cases);
}

// Every size pair for a fast-path-sized and an odd channel count.
TEST(Int8NhwcDepthwise, AllSizePairs) {
  std::mt19937 rng(6);
  int cases = 0;
  for (int64_t c : {16, 17})
    for (int64_t h : kSizes)
      for (int64_t w : kSizes)
        for (Kernel k : {Kernel{3, 3}, Kernel{5, 5}, Kernel{2, 3}}) {
          const Pads p = kPads[(cases + 1) % 5];
          DwCase cs{make_geom(3, c, h, w, k, 1 + cases % 2, 1 + cases % 2, p), 0, 3, 128, 128, 0, 255, true, false,
                    cases % 2 ? Headroom::kMost : Headroom::kNone};
          ++cases;
          if (!has_output(cs.g)) continue;
          ASSERT_TRUE(check_depthwise(cs, rng));
        }
}

TEST(Int8NhwcDepthwise, DilationAndMixedStrides) {
  std::mt19937 rng(7);
  int cases = 0;
  for (int64_t c : {1, 3, 16, 17, 64, 65})
    for (auto [dh, dw] : {std::pair<int64_t, int64_t>{2, 2}, {2, 1}, {1, 2}})
      for (auto [sh, sw] : {std::pair<int64_t, int64_t>{1, 1}, {2, 2}, {1, 2}, {2, 1}})
        for (Kernel k : {Kernel{3, 3}, Kernel{5, 5}, Kernel{2, 3}}) {
          const Pads p = kPads[cases % 5];
          const int64_t h = kSizes[2 + cases % 3], w = kSizes[2 + (cases + 1) % 3];
          const auto [i0, i1] = kImageRanges[cases % 6];
          DwCase cs{make_geom(3, c, h, w, k, sh, sw, p, dh, dw), i0, i1, static_cast<int32_t>(rng() % 256),
                    static_cast<int32_t>(rng() % 256), 0, 255, cases % 2 == 0, false, static_cast<Headroom>(cases % 3)};
          cs.lo = cases % 3 == 0 ? cs.y_zero : 0;
          ++cases;
          if (!has_output(cs.g)) continue;
          ASSERT_TRUE(check_depthwise(cs, rng));
        }
}

// Zero points 0 / 128 / 255 on both sides, Relu and plain, per-channel and per-tensor, random
// and extreme data (inputs 0 / 255 against weights −128 / 127: the largest |products|).
TEST(Int8NhwcDepthwise, ZeroPointsAndExtremes) {
  std::mt19937 rng(8);
  int cases = 0;
  for (int32_t x_zero : {0, 128, 255})
    for (int32_t y_zero : {0, 128, 255})
      for (bool relu : {false, true})
        for (bool per_channel : {false, true})
          for (bool extremes : {false, true}) {
            const int64_t c = std::array<int64_t, 5>{3, 16, 17, 64, 257}[static_cast<size_t>(cases % 5)];
            const Conv2dGeom g = cases % 2 == 0 ? make_geom(3, c, 17, 15, {5, 5}, 1, 1, {2, 2, 2, 2})
                                                : make_geom(3, c, 16, 17, {3, 3}, 2, 2, {0, 1, 1, 0});
            const auto [i0, i1] = kImageRanges[cases % 6];
            const DwCase cs{g, i0, i1, x_zero, y_zero, relu ? y_zero : 0, 255, per_channel, extremes,
                            static_cast<Headroom>(cases % 3)};
            ASSERT_TRUE(check_depthwise(cs, rng));
            ++cases;
          }
}

TEST(Int8NhwcDepthwise, EmptyImageRangeWritesNothing) {
  std::mt19937 rng(9);
  const Conv2dGeom g = make_geom(3, 17, 15, 16, {3, 3}, 1, 1, {1, 1, 1, 1});
  ASSERT_TRUE(check_depthwise({g, 1, 1, 3, 9, 0, 255, true, false}, rng));
  ASSERT_TRUE(check_depthwise({g, 3, 3, 3, 9, 0, 255, true, false}, rng));
}

// ---- Max pool ------------------------------------------------------------------------------

// max_pool_nhwc_u8 against max_pool_u8 on the NCHW copy with the equivalent PoolGeom (depth
// 1, planes n·c). Images outside [i0, i1) must stay untouched.
bool check_max_pool(const Conv2dGeom& g, int64_t i0, int64_t i1, bool extremes, std::mt19937& rng) {
  const int64_t n = g.n, c = g.c, hw = g.h * g.w, oh = g.oh(), ow = g.ow(), ohw = oh * ow;
  const std::vector<uint8_t> x = extremes ? extreme_u8(n * hw * c, rng) : random_u8(n * hw * c, rng);
  PoolGeom pg;
  pg.planes = n * c;
  pg.in = {1, g.h, g.w};
  pg.out = {1, oh, ow};
  pg.kernel = {1, g.kh, g.kw};
  pg.stride = {1, g.stride_h, g.stride_w};
  pg.dilation = {1, g.dil_h, g.dil_w};
  pg.pad_begin = {0, g.pad_t, g.pad_l};
  pg.pad_end = {0, g.pad_b, g.pad_r};
  const std::vector<uint8_t> x_nchw = naive_to_nchw(x, n, c, hw);
  std::vector<uint8_t> ref(static_cast<size_t>(n * c * ohw));
  max_pool_u8(pg, x_nchw.data(), ref.data(), nullptr, false, nullptr);
  std::vector<uint8_t> y(static_cast<size_t>(n * ohw * c), kSentinel);
  max_pool_nhwc_u8(x.data(), g, i0, i1, y.data());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t p = 0; p < ohw; ++p)
      for (int64_t ch = 0; ch < c; ++ch) {
        const bool computed = b >= i0 && b < i1;
        const int want = computed ? ref[static_cast<size_t>((b * c + ch) * ohw + p)] : kSentinel;
        const int got = y[static_cast<size_t>((b * ohw + p) * c + ch)];
        if (got != want) {
          ADD_FAILURE() << "max_pool_nhwc_u8 at image " << b << " pixel " << p << " channel " << ch << ": got " << got
                        << " want " << want << " — " << describe(g) << " images [" << i0 << ", " << i1 << ")";
          return false;
        }
      }
  return true;
}

TEST(Int8NhwcMaxPool, HandChecked) {
  // 3×3 image, 2 channels: channel 0 = 1..9, channel 1 = 9..1. 2×2 windows, stride 2, pad 1
  // on top / left: windows {1}, {2,3}, {4,7}, {5,6,8,9} (channel 0).
  const std::vector<uint8_t> x = {1, 9, 2, 8, 3, 7, 4, 6, 5, 5, 6, 4, 7, 3, 8, 2, 9, 1};
  std::vector<uint8_t> y(8, kSentinel);
  max_pool_nhwc_u8(x.data(), make_geom(1, 2, 3, 3, {2, 2}, 2, 2, {1, 1, 0, 0}), 0, 1, y.data());
  EXPECT_EQ(y, (std::vector<uint8_t>{1, 9, 3, 8, 7, 6, 9, 5}));
  // A window entirely in the padding gives 0: 1×1 kernel, pad 1 → a 5×5 output framing x.
  std::vector<uint8_t> z(50, kSentinel);
  max_pool_nhwc_u8(x.data(), make_geom(1, 2, 3, 3, {1, 1}, 1, 1, {1, 1, 1, 1}), 0, 1, z.data());
  for (int64_t oy = 0; oy < 5; ++oy)
    for (int64_t ox = 0; ox < 5; ++ox)
      for (int64_t ch = 0; ch < 2; ++ch) {
        const bool inside = oy >= 1 && oy <= 3 && ox >= 1 && ox <= 3;
        const int want = inside ? x[static_cast<size_t>(((oy - 1) * 3 + ox - 1) * 2 + ch)] : 0;
        EXPECT_EQ(z[static_cast<size_t>((oy * 5 + ox) * 2 + ch)], want) << oy << "," << ox << "," << ch;
      }
}

TEST(Int8NhwcMaxPool, ChannelsKernelsStridesPads) {
  std::mt19937 rng(10);
  int cases = 0, tried = 0;
  for (int64_t c : {1, 3, 15, 16, 17, 63, 64, 65, 257})
    for (Kernel k : kKernels)
      for (int64_t s : {1, 2})
        for (Pads p : kPads)
          for (int rep = 0; rep < (c <= 17 ? 2 : 1); ++rep) {
            const int64_t h = kSizes[(tried + rep) % 5], w = kSizes[(tried * 3 + 2 * rep + 1) % 5];
            const auto [i0, i1] = kImageRanges[tried % 6];
            const Conv2dGeom g = make_geom(3, c, h, w, k, s, s, p);
            const bool extremes = tried % 5 == 2;
            ++tried;
            if (!has_output(g)) continue;
            ASSERT_TRUE(check_max_pool(g, i0, i1, extremes, rng));
            ++cases;
          }
  std::printf("[ note ] max pool grid: %d cases\n", cases);
}

TEST(Int8NhwcMaxPool, DilationMixedStridesAndEmptyRanges) {
  std::mt19937 rng(11);
  for (int64_t c : {1, 3, 16, 17, 64, 65, 257})
    for (auto [dh, dw] : {std::pair<int64_t, int64_t>{1, 1}, {2, 2}, {2, 1}, {1, 2}})
      for (auto [sh, sw] : {std::pair<int64_t, int64_t>{1, 2}, {2, 1}, {3, 3}})
        for (Kernel k : {Kernel{3, 3}, Kernel{2, 3}, Kernel{5, 5}}) {
          const Pads p = kPads[static_cast<size_t>((c + dh + 2 * sw + k.kh) % 5)];
          const Conv2dGeom g = make_geom(3, c, 17, 16, k, sh, sw, p, dh, dw);
          if (!has_output(g)) continue;
          const auto [i0, i1] = kImageRanges[static_cast<size_t>((c + sh + dw) % 6)];
          ASSERT_TRUE(check_max_pool(g, i0, i1, false, rng));
        }
  ASSERT_TRUE(check_max_pool(make_geom(3, 17, 15, 16, {3, 3}, 2, 2, {1, 1, 1, 1}), 2, 2, false, rng));
}

// ---- Global average pool -------------------------------------------------------------------

// The header's formula written out: s = Σ_p x − hw·x_zero, k = headroom_bits(m, bits) with
// bits the smallest b where 2^b > 255·hw, y = requantize(s · 2^k, with_headroom(m, k), ...).
uint8_t naive_global_avg(const uint8_t* x, int64_t c, int64_t hw, int64_t b, int64_t ch, int32_t x_zero,
                         DyadicMultiplier m, int32_t y_zero, int32_t lo, int32_t hi) {
  int64_t s = 0;
  for (int64_t p = 0; p < hw; ++p) s += x[(b * hw + p) * c + ch];
  s -= hw * x_zero;
  int bits = 0;
  while ((int64_t{1} << bits) <= 255 * hw) ++bits;
  const int k = headroom_bits(m, bits);
  const int64_t shifted = s * (int64_t{1} << k);
  EXPECT_TRUE(shifted >= std::numeric_limits<int32_t>::min() && shifted <= std::numeric_limits<int32_t>::max())
      << "headroom overflows: s=" << s << " k=" << k;
  return static_cast<uint8_t>(requantize(static_cast<int32_t>(shifted), with_headroom(m, k), y_zero, lo, hi));
}

// Tracks "within 1 everywhere, equal on ≥ 99 %".
struct Agreement {
  int64_t total = 0, equal = 0, far = 0;
  void add(int32_t got, int32_t want) {
    ++total;
    equal += got == want;
    far += std::abs(got - want) > 1;
  }
};

struct GapCase {
  int64_t n, c, hw, i0, i1;
  int32_t x_zero, y_zero, lo, hi;
  double ratio;  // sx / sy; the kernel's multiplier is ratio / hw
};

// Runs the kernel once; (a) bit-exact against naive_global_avg, (b) feeds the real-valued
// comparison into `real`. Images outside [i0, i1) must stay untouched.
void check_global_avg(const GapCase& cs, std::mt19937& rng, Agreement* real) {
  const int64_t n = cs.n, c = cs.c, hw = cs.hw;
  // Each channel's values spread around its own centre, so the means cover the range.
  std::vector<uint8_t> x(static_cast<size_t>(n * hw * c));
  std::vector<int> centre(static_cast<size_t>(c)), spread(static_cast<size_t>(c));
  for (int64_t ch = 0; ch < c; ++ch) {
    centre[static_cast<size_t>(ch)] = static_cast<int>(rng() % 256);
    spread[static_cast<size_t>(ch)] = static_cast<int>(rng() % 129);
  }
  for (int64_t b = 0; b < n; ++b)
    for (int64_t p = 0; p < hw; ++p)
      for (int64_t ch = 0; ch < c; ++ch) {
        const size_t i = static_cast<size_t>(ch);
        const int v = centre[i] + std::uniform_int_distribution<int>(-spread[i], spread[i])(rng);
        x[static_cast<size_t>((b * hw + p) * c + ch)] = static_cast<uint8_t>(std::clamp(v, 0, 255));
      }
  const DyadicMultiplier m = dyadic(cs.ratio / static_cast<double>(hw));
  std::vector<uint8_t> y(static_cast<size_t>(n * c), kSentinel);
  global_avg_pool_nhwc_u8(x.data(), c, hw, cs.i0, cs.i1, cs.x_zero, m, cs.y_zero, cs.lo, cs.hi, y.data());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch) {
      const int got = y[static_cast<size_t>(b * c + ch)];
      auto where = [&] {
        return "image " + std::to_string(b) + " channel " + std::to_string(ch) + " c=" + std::to_string(c) +
               " hw=" + std::to_string(hw) + " x_zero=" + std::to_string(cs.x_zero) + " y_zero=" +
               std::to_string(cs.y_zero) + " ratio=" + std::to_string(cs.ratio);
      };
      if (b < cs.i0 || b >= cs.i1) {
        ASSERT_EQ(got, kSentinel) << "wrote outside the image range: " << where();
        continue;
      }
      ASSERT_EQ(got, naive_global_avg(x.data(), c, hw, b, ch, cs.x_zero, m, cs.y_zero, cs.lo, cs.hi)) << where();
      int64_t s = 0;
      for (int64_t p = 0; p < hw; ++p) s += x[static_cast<size_t>((b * hw + p) * c + ch)];
      const double mean = static_cast<double>(s - hw * cs.x_zero) / static_cast<double>(hw);
      const double q = std::nearbyint(cs.y_zero + mean * cs.ratio);  // half to even
      const int want = static_cast<int>(std::clamp(q, static_cast<double>(cs.lo), static_cast<double>(cs.hi)));
      if (std::abs(got - want) > 1) ADD_FAILURE() << "off by " << got - want << " from the real value: " << where();
      real->add(got, want);
    }
}

TEST(Int8NhwcGlobalAvgPool, HandChecked) {
  // hw 4, one channel: 10, 20, 30, 41 → mean 25.25 → 25; x_zero 5 → 20.25 → y_zero 3 + 20.
  // A second channel in the same pixels: 0, 0, 0, 2 → mean 0.5 → 0 in ONNX's half-to-even;
  // the dyadic path rounds that tie away from zero, to 1.
  const std::vector<uint8_t> x = {10, 0, 20, 0, 30, 0, 41, 2};
  std::vector<uint8_t> y(2);
  global_avg_pool_nhwc_u8(x.data(), 2, 4, 0, 1, 0, dyadic(0.25), 0, 0, 255, y.data());
  EXPECT_EQ(y, (std::vector<uint8_t>{25, 1}));
  global_avg_pool_nhwc_u8(x.data(), 2, 4, 0, 1, 5, dyadic(0.25), 3, 0, 255, y.data());
  // Channel 1: (2 − 20) / 4 = −4.5 → −5 (away from zero) + 3 = −2 → clamped to 0.
  EXPECT_EQ(y, (std::vector<uint8_t>{23, 0}));
  // Relu at y_zero 100 and hi 110: channel 0 → 120 → 110, channel 1 → 95 → 100.
  global_avg_pool_nhwc_u8(x.data(), 2, 4, 0, 1, 5, dyadic(0.25), 100, 100, 110, y.data());
  EXPECT_EQ(y, (std::vector<uint8_t>{110, 100}));
}

TEST(Int8NhwcGlobalAvgPool, FormulaAndRealValue) {
  std::mt19937 rng(12);
  Agreement all;
  int cases = 0;
  for (int64_t hw : {1, 3, 49, 196, 784}) {
    Agreement per_hw;
    std::vector<int64_t> channels = {1, 3, 15, 16, 17, 63, 64, 65, 255, 257};
    for (int i = 0; i < 4; ++i) channels.push_back(1 + static_cast<int64_t>(rng() % 257));
    for (int64_t c : channels) {
      const int32_t zs[] = {0, 128, 255, static_cast<int32_t>(rng() % 256)};
      const int32_t x_zero = zs[cases % 4], y_zero = zs[(cases / 4) % 4];
      const auto [i0, i1] = kImageRanges[cases % 6];
      const bool relu = cases % 3 == 1;
      // sx / sy over [1/8, 8]: with hw = 1 the multiplier reaches 8 (a left shift, no headroom).
      const int32_t lo = relu ? y_zero : 0, hi = cases % 5 == 4 ? std::max(lo, 200) : 255;
      const GapCase cs{3, c, hw, i0, i1, x_zero, y_zero, lo, hi, log_uniform(0.125, 8.0, rng)};
      check_global_avg(cs, rng, &per_hw);
      if (testing::Test::HasFatalFailure()) return;
      ++cases;
    }
    EXPECT_EQ(per_hw.far, 0) << "hw=" << hw;
    EXPECT_GE(static_cast<double>(per_hw.equal), 0.99 * static_cast<double>(per_hw.total))
        << "hw=" << hw << ": " << per_hw.equal << " of " << per_hw.total << " equal";
    all.total += per_hw.total, all.equal += per_hw.equal, all.far += per_hw.far;
  }
  EXPECT_GE(static_cast<double>(all.equal), 0.99 * static_cast<double>(all.total));
  std::printf("[ note ] global avg pool: %d cases, %lld outputs, %lld equal to the real value, %lld off by > 1\n",
              cases,
              static_cast<long long>(all.total), static_cast<long long>(all.equal), static_cast<long long>(all.far));
}

// Many random scales on small tensors: the rounding statistics, not the shapes.
TEST(Int8NhwcGlobalAvgPool, RandomScales) {
  std::mt19937 rng(13);
  Agreement all;
  for (int trial = 0; trial < 300; ++trial) {
    const int64_t hw = std::array<int64_t, 5>{1, 3, 49, 196, 784}[static_cast<size_t>(trial % 5)];
    const int64_t c = 1 + static_cast<int64_t>(rng() % 257);
    const int32_t y_zero = static_cast<int32_t>(rng() % 256);
    const GapCase cs{1, c, hw, 0, 1, static_cast<int32_t>(rng() % 256), y_zero, trial % 2 ? y_zero : 0, 255,
                     log_uniform(1.0 / 32, 32.0, rng)};
    check_global_avg(cs, rng, &all);
    if (testing::Test::HasFatalFailure()) return;
  }
  EXPECT_EQ(all.far, 0);
  EXPECT_GE(static_cast<double>(all.equal), 0.99 * static_cast<double>(all.total))
      << all.equal << " of " << all.total << " equal";
  std::printf("[ note ] global avg pool, random scales: %lld outputs, %lld equal to the real value\n",
              static_cast<long long>(all.total), static_cast<long long>(all.equal));
}

// A sum and multiplier built so that only the full headroom rounds right. With shift 0 and
// k = headroom_bits(m, bits) the result is RDBP(SRDHM(3 · 2^k, m0), k); 3 · m0 = 5 · 2^30 − δ
// puts 3 · M = 2.5 − δ / 2^31 just under a tie. SRDHM rounds at 2^(31−k): it stays below the
// tie (→ 2) when δ > 2^(30−k), and lands on it (→ 3, RDBP's tie goes up) with one bit less.
// hw 1: bits 8, k 23, δ = 131 in (2^7, 2^8]; hw 49: bits 14, k 17, δ = 8195 in (2^13, 2^14].
TEST(Int8NhwcGlobalAvgPool, UsesAllTheHeadroom) {
  for (auto [hw, delta] : {std::pair<int64_t, int64_t>{1, 131}, {49, 8195}}) {
    const int64_t three_m0 = 5 * (int64_t{1} << 30) - delta;
    ASSERT_EQ(three_m0 % 3, 0);
    const DyadicMultiplier m{static_cast<int32_t>(three_m0 / 3), 0};
    ASSERT_GE(m.m0, 1 << 30);
    // One channel: x_zero 10 everywhere but one pixel at 13, so Σ x − hw · x_zero = 3.
    std::vector<uint8_t> x(static_cast<size_t>(hw), 10);
    x[static_cast<size_t>(hw / 2)] = 13;
    uint8_t y = kSentinel;
    global_avg_pool_nhwc_u8(x.data(), 1, hw, 0, 1, 10, m, 100, 0, 255, &y);
    EXPECT_EQ(y, 102) << "hw " << hw << ": 3 · M = " << 3.0 * m.m0 / 2147483648.0;
    EXPECT_EQ(y, naive_global_avg(x.data(), 1, hw, 0, 0, 10, m, 100, 0, 255)) << "hw " << hw;
  }
}

// The largest plane the header allows (255 · hw < 2^31): sums at ±255·hw, no headroom left.
TEST(Int8NhwcGlobalAvgPool, LargestPlane) {
  constexpr int64_t kHw = int64_t{1} << 23;  // 255 · 2^23 = 2'139'095'040 < 2^31
  for (auto [value, x_zero] : {std::pair<uint8_t, int32_t>{255, 0}, {0, 255}, {200, 13}}) {
    const std::vector<uint8_t> x(static_cast<size_t>(kHw), value);
    for (double ratio : {1.0, 0.01}) {
      const DyadicMultiplier m = dyadic(ratio / static_cast<double>(kHw));
      uint8_t y = kSentinel;
      global_avg_pool_nhwc_u8(x.data(), 1, kHw, 0, 1, x_zero, m, 128, 0, 255, &y);
      EXPECT_EQ(y, naive_global_avg(x.data(), 1, kHw, 0, 0, x_zero, m, 128, 0, 255))
          << "value " << int{value} << " x_zero " << x_zero << " ratio " << ratio;
      // A constant plane's mean is exact: y = 128 + (value − x_zero) · ratio, rounded.
      const double want = std::clamp(std::nearbyint(128 + (value - x_zero) * ratio), 0.0, 255.0);
      EXPECT_NEAR(y, want, 1.0) << "value " << int{value} << " x_zero " << x_zero << " ratio " << ratio;
    }
  }
}

}  // namespace
}  // namespace lowbit::kernels
