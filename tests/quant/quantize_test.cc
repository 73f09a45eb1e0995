// quantize_test.cc: the quantize / dequantize / fake-quant kernels against hand-computed
// values: rounding modes, saturation, sub-byte and wide ranges, every granularity, and
// stochastic rounding's mean and reproducibility.
#include "kernels/quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace lowbit::kernels {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

SlotLayout per_tensor(int64_t n) {
  SlotLayout l;
  l.outer = n;
  return l;
}

SlotLayout make_layout(int64_t outer, int64_t channels, int64_t inner, int64_t group = 1, int64_t block = 0) {
  SlotLayout l;
  l.outer = outer;
  l.channels = channels;
  l.inner = inner;
  l.group = group;
  l.block = block;
  return l;
}

std::vector<int32_t> quant(const std::vector<float>& x, const SlotLayout& l, const std::vector<float>& s,
                           const std::vector<int32_t>& z, QuantRange r, Rounding mode = Rounding::kHalfEven,
                           uint64_t seed = 0) {
  EXPECT_EQ(static_cast<int64_t>(x.size()), l.numel());
  EXPECT_EQ(static_cast<int64_t>(s.size()), l.num_slots());
  std::vector<int32_t> q(x.size(), 12345);
  quantize(x.data(), l, s.data(), z.data(), r, mode, seed, q.data());
  return q;
}

// Per-tensor q of x with one scale and zero point.
std::vector<int32_t> quant1(const std::vector<float>& x, float s, int32_t z, QuantRange r,
                            Rounding mode = Rounding::kHalfEven) {
  return quant(x, per_tensor(static_cast<int64_t>(x.size())), {s}, {z}, r, mode);
}

TEST(QuantizeKernelTest, RoundHalfEven) {
  const Rounding m = Rounding::kHalfEven;
  EXPECT_EQ(round_value(0.5f, m, 0), 0.0f);
  EXPECT_EQ(round_value(1.5f, m, 0), 2.0f);
  EXPECT_EQ(round_value(2.5f, m, 0), 2.0f);
  EXPECT_EQ(round_value(-0.5f, m, 0), 0.0f);
  EXPECT_EQ(round_value(-1.5f, m, 0), -2.0f);
  EXPECT_EQ(round_value(-2.5f, m, 0), -2.0f);
  EXPECT_EQ(round_value(0.49999997f, m, 0), 0.0f);
  EXPECT_EQ(round_value(3.7f, m, 0), 4.0f);
  EXPECT_EQ(round_value(-3.7f, m, 0), -4.0f);
  EXPECT_EQ(round_value(8388609.0f, m, 0), 8388609.0f);  // 2^23 + 1: already an integer
  EXPECT_EQ(round_value(4194304.5f, m, 0), 4194304.0f);  // 2^22 + 0.5
  EXPECT_EQ(round_value(1e10f, m, 0), 1e10f);
  EXPECT_EQ(round_value(kInf, m, 0), kInf);
  EXPECT_EQ(round_value(-kInf, m, 0), -kInf);
  EXPECT_TRUE(std::isnan(round_value(kNaN, m, 0)));
}

TEST(QuantizeKernelTest, RoundHalfAwayAndFloor) {
  const Rounding a = Rounding::kHalfAway, f = Rounding::kFloor;
  EXPECT_EQ(round_value(0.5f, a, 0), 1.0f);
  EXPECT_EQ(round_value(1.5f, a, 0), 2.0f);
  EXPECT_EQ(round_value(2.5f, a, 0), 3.0f);
  EXPECT_EQ(round_value(-0.5f, a, 0), -1.0f);
  EXPECT_EQ(round_value(-2.5f, a, 0), -3.0f);
  EXPECT_EQ(round_value(2.4f, a, 0), 2.0f);
  EXPECT_EQ(round_value(0.49999997f, a, 0), 0.0f);  // floor(x + 0.5) would give 1 here
  EXPECT_EQ(round_value(-kInf, a, 0), -kInf);

  EXPECT_EQ(round_value(0.5f, f, 0), 0.0f);
  EXPECT_EQ(round_value(-0.5f, f, 0), -1.0f);
  EXPECT_EQ(round_value(-1.0f, f, 0), -1.0f);
  EXPECT_EQ(round_value(2.999f, f, 0), 2.0f);
  EXPECT_EQ(round_value(-2.001f, f, 0), -3.0f);
  EXPECT_EQ(round_value(1e9f, f, 0), 1e9f);
  EXPECT_EQ(round_value(kInf, f, 0), kInf);
}

TEST(QuantizeKernelTest, RoundStochasticIsFloorOfVPlusU) {
  const Rounding m = Rounding::kStochastic;
  EXPECT_EQ(round_value(0.3f, m, 0.0f), 0.0f);
  EXPECT_EQ(round_value(0.3f, m, 0.5f), 0.0f);
  EXPECT_EQ(round_value(0.3f, m, 0.75f), 1.0f);
  EXPECT_EQ(round_value(2.0f, m, 0.99999994f), 2.0f);
  EXPECT_EQ(round_value(-0.3f, m, 0.2f), -1.0f);
  EXPECT_EQ(round_value(-0.3f, m, 0.8f), 0.0f);
  EXPECT_EQ(round_value(1e9f, m, 0.9f), 1e9f);
}

// The bit-trick rounding must agree with libm on every magnitude, including near 2^23.
TEST(QuantizeKernelTest, RoundingMatchesLibm) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> mant(-1.0f, 1.0f);
  std::uniform_int_distribution<int> expo(-30, 30);
  std::vector<float> xs = {0.0f, -0.0f, 8388607.5f, -8388607.5f, 8388608.0f, 16777215.0f, 0.5f, 1.5f};
  for (int i = 0; i < 200000; ++i) xs.push_back(std::ldexp(mant(rng), expo(rng)));
  for (int i = -2000; i <= 2000; ++i) xs.push_back(static_cast<float>(i) * 0.25f);
  for (float x : xs) {
    ASSERT_EQ(round_value(x, Rounding::kHalfEven, 0), std::nearbyint(x)) << x;
    ASSERT_EQ(round_value(x, Rounding::kHalfAway, 0), std::round(x)) << x;
    ASSERT_EQ(round_value(x, Rounding::kFloor, 0), std::floor(x)) << x;
  }
}

TEST(QuantizeKernelTest, SignedSaturationAndSpecialValues) {
  // x / 0.5 = {0.5, 1.5, 2.5, −0.5, −1.5, 200, −200, 127, 127.5, NaN, inf, −inf}
  const std::vector<float> x = {0.25f, 0.75f, 1.25f, -0.25f, -0.75f, 100.0f, -100.0f, 63.5f, 63.75f, kNaN, kInf, -kInf};
  EXPECT_EQ(quant1(x, 0.5f, 0, {-128, 127}),
            (std::vector<int32_t>{0, 2, 2, 0, -2, 127, -128, 127, 127, 0, 127, -128}));
  // Narrow s8: the low end stops at −127.
  EXPECT_EQ(quant1(x, 0.5f, 0, {-127, 127}),
            (std::vector<int32_t>{0, 2, 2, 0, -2, 127, -127, 127, 127, 0, 127, -127}));
  EXPECT_EQ(quant1(x, 0.5f, 0, {-128, 127}, Rounding::kHalfAway),
            (std::vector<int32_t>{1, 2, 3, -1, -2, 127, -128, 127, 127, 0, 127, -128}));
}

TEST(QuantizeKernelTest, UnsignedWithZeroPoint) {
  // x / 0.5 = {0, 1, −128, −128.5, 127, 128, −0.5, 0.5}, then + 128
  const std::vector<float> x = {0.0f, 0.5f, -64.0f, -64.25f, 63.5f, 64.0f, -0.25f, 0.25f};
  EXPECT_EQ(quant1(x, 0.5f, 128, {0, 255}), (std::vector<int32_t>{128, 129, 0, 0, 255, 255, 128, 128}));
  // A NaN lands on the zero point.
  EXPECT_EQ(quant1({kNaN}, 0.5f, 128, {0, 255}), (std::vector<int32_t>{128}));
  // Floor with a zero point: x / 0.5 = {−0.2, 0.6, 1.48} → {−1, 0, 1} + 1.
  EXPECT_EQ(quant1({-0.1f, 0.3f, 0.74f}, 0.5f, 1, {0, 255}, Rounding::kFloor), (std::vector<int32_t>{0, 1, 2}));
}

TEST(QuantizeKernelTest, SubByteAndSixteenBitRanges) {
  // u4 [0, 15], z = 3: round → {−4, −3, 0, 2, 12, 12, 13}, + 3, clamp.
  EXPECT_EQ(quant1({-3.5f, -3.0f, 0.5f, 1.5f, 11.5f, 12.5f, 13.0f}, 1.0f, 3, {0, 15}),
            (std::vector<int32_t>{0, 0, 3, 5, 15, 15, 15}));
  // s4 narrow [−7, 7].
  EXPECT_EQ(quant1({-8.0f, -7.5f, -6.5f, 7.5f, 8.0f, 3.0f}, 1.0f, 0, {-7, 7}),
            (std::vector<int32_t>{-7, -7, -6, 7, 7, 3}));
  // s2 narrow [−1, 1].
  EXPECT_EQ(quant1({-2.0f, -1.0f, -0.5f, 0.5f, 1.5f}, 1.0f, 0, {-1, 1}), (std::vector<int32_t>{-1, -1, 0, 0, 1}));
  // u16 with z = 32768.
  EXPECT_EQ(quant1({-32768.0f, -32769.0f, 32767.0f, 32767.5f, 32768.0f, -0.5f}, 1.0f, 32768, {0, 65535}),
            (std::vector<int32_t>{0, 0, 65535, 65535, 65535, 32768}));
  // s16.
  EXPECT_EQ(quant1({-40000.0f, -32768.0f, 32767.0f, 32767.5f, 16383.5f}, 1.0f, 0, {-32768, 32767}),
            (std::vector<int32_t>{-32768, -32768, 32767, 32767, 16384}));
}

// Ranges and zero points past 2^23 take the double path; int32 bounds must not overflow.
TEST(QuantizeKernelTest, WideRanges) {
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min(), kMax = std::numeric_limits<int32_t>::max();
  EXPECT_EQ(quant1({3e9f, -3e9f, 1000.5f, kInf, -kInf, kNaN, -7.5f}, 1.0f, 0, {kMin, kMax}),
            (std::vector<int32_t>{kMax, kMin, 1000, kMax, kMin, 0, -8}));
  EXPECT_EQ(quant1({0.5f, 1.5f, -2e7f, 2e7f}, 1.0f, 10000000, {0, 20000000}),
            (std::vector<int32_t>{10000000, 10000002, 0, 20000000}));
  std::vector<float> y(2);
  const std::vector<float> x = {1.5f, 2e7f};
  const float s = 1.0f;
  const int32_t z = 10000000;
  fake_quantize(x.data(), per_tensor(2), &s, &z, {0, 20000000}, Rounding::kHalfEven, 0, y.data());
  EXPECT_EQ(y, (std::vector<float>{2.0f, 10000000.0f}));
}

TEST(QuantizeKernelTest, PerChannelNonZeroAxis) {
  // [2,3,2] with axis 1: outer 2, channels 3, inner 2; x[i] = i.
  const SlotLayout l = make_layout(2, 3, 2);
  std::vector<float> x(12);
  for (int i = 0; i < 12; ++i) x[static_cast<size_t>(i)] = static_cast<float>(i);
  // c0: s 1, z 0;  c1: s 2, z 1;  c2: s 4, z −1.
  // o0: 0 1 | 1+1 round(1.5)+1 | 1−1 round(1.25)−1;  o1: 6 7 | 4+1 round(4.5)+1 | round(2.5)−1 round(2.75)−1
  EXPECT_EQ(quant(x, l, {1, 2, 4}, {0, 1, -1}, {-128, 127}),
            (std::vector<int32_t>{0, 1, 2, 3, 0, 0, 6, 7, 5, 5, 1, 2}));
}

TEST(QuantizeKernelTest, PerGroup) {
  // [5,2] with axis 0, groups of 2 channels → 3 slots (the last holds one channel).
  const SlotLayout l = make_layout(1, 5, 2, 2);
  ASSERT_EQ(l.num_slots(), 3);
  EXPECT_EQ(quant(std::vector<float>(10, 4.0f), l, {1, 2, 4}, {0, 0, 0}, {-128, 127}),
            (std::vector<int32_t>{4, 4, 4, 4, 2, 2, 2, 2, 1, 1}));
}

TEST(QuantizeKernelTest, PerBlockInsideChannels) {
  // [3,2,5] weight, axis 0, blocks of 4: each channel has 10 elements → ⌈10/4⌉ = 3 blocks.
  // Scale 1 and zero point = slot index on x = 0 make q the slot of each element.
  const SlotLayout l = make_layout(1, 3, 10, 1, 4);
  ASSERT_EQ(l.num_blocks(), 3);
  ASSERT_EQ(l.num_slots(), 9);
  EXPECT_EQ(quant(std::vector<float>(30, 0.0f), l, std::vector<float>(9, 1.0f), {0, 1, 2, 3, 4, 5, 6, 7, 8}, {0, 100}),
            (std::vector<int32_t>{0, 0, 0, 0, 1, 1, 1, 1, 2, 2,  //
                                  3, 3, 3, 3, 4, 4, 4, 4, 5, 5,  //
                                  6, 6, 6, 6, 7, 7, 7, 7, 8, 8}));
}

TEST(QuantizeKernelTest, PerBlockAlongOuter) {
  // [K,N] = [5,2] with axis 1 and blocks of 2: blocks run down K, 3 per column;
  // element (k, n) has slot n·3 + k/2.
  const SlotLayout l = make_layout(5, 2, 1, 1, 2);
  ASSERT_EQ(l.num_slots(), 6);
  EXPECT_EQ(quant(std::vector<float>(10, 0.0f), l, std::vector<float>(6, 1.0f), {0, 1, 2, 3, 4, 5}, {0, 100}),
            (std::vector<int32_t>{0, 3, 0, 3, 1, 4, 1, 4, 2, 5}));
  // [2,3,3] with axis 1 and blocks of 4: p = o·3 + i, 2 blocks per channel, a block spans two outer rows.
  const SlotLayout m = make_layout(2, 3, 3, 1, 4);
  ASSERT_EQ(m.num_slots(), 6);
  EXPECT_EQ(quant(std::vector<float>(18, 0.0f), m, std::vector<float>(6, 1.0f), {0, 1, 2, 3, 4, 5}, {0, 100}),
            (std::vector<int32_t>{0, 0, 0, 2, 2, 2, 4, 4, 4, 0, 1, 1, 2, 3, 3, 4, 5, 5}));
}

// The structural walk must put every element in the slot SlotLayout::slot_of names, and any
// split into ranges must give the whole-tensor result.
TEST(QuantizeKernelTest, SlotsMatchSlotOfForManyLayouts) {
  std::mt19937 rng(3);
  for (int64_t outer : {1, 2, 3, 7})
    for (int64_t channels : {1, 2, 5, 8})
      for (int64_t inner : {1, 3, 4, 9})
        for (int64_t group : {1, 2, 3})
          for (int64_t block : {0, 1, 2, 4, 5, 64}) {
            const SlotLayout l = make_layout(outer, channels, inner, group, block);
            const int64_t n = l.numel(), slots = l.num_slots();
            std::vector<float> scale(static_cast<size_t>(slots), 1.0f);
            std::vector<int32_t> zp(static_cast<size_t>(slots));
            for (int64_t k = 0; k < slots; ++k) zp[static_cast<size_t>(k)] = static_cast<int32_t>(k);
            const std::vector<float> x(static_cast<size_t>(n), 0.0f);
            const std::vector<int32_t> q = quant(x, l, scale, zp, {0, 1 << 20});
            for (int64_t i = 0; i < n; ++i) ASSERT_EQ(q[static_cast<size_t>(i)], l.slot_of(i)) << i;
            // Three random cut points.
            std::vector<int64_t> cuts = {0, n};
            for (int c = 0; c < 3; ++c) cuts.push_back(std::uniform_int_distribution<int64_t>(0, n)(rng));
            std::sort(cuts.begin(), cuts.end());
            // Dequantize with scale slot + 1 and zero point 0: out = (slot + 1) · q = (slot + 1) · slot.
            std::vector<float> scale2(static_cast<size_t>(slots));
            for (int64_t k = 0; k < slots; ++k) scale2[static_cast<size_t>(k)] = static_cast<float>(k + 1);
            const std::vector<int32_t> zero(static_cast<size_t>(slots), 0);
            std::vector<int32_t> parts(static_cast<size_t>(n), -1);
            std::vector<float> deq(static_cast<size_t>(n), -1.0f);
            for (size_t c = 0; c + 1 < cuts.size(); ++c) {
              quantize_range(x.data(), l, scale.data(), zp.data(), {0, 1 << 20}, Rounding::kHalfEven, 0, cuts[c],
                             cuts[c + 1], parts.data());
              dequantize_range(q.data(), l, scale2.data(), zero.data(), cuts[c], cuts[c + 1], deq.data());
            }
            ASSERT_EQ(parts, q);
            for (int64_t i = 0; i < n; ++i) {
              const float slot = static_cast<float>(l.slot_of(i));
              ASSERT_EQ(deq[static_cast<size_t>(i)], (slot + 1) * slot) << i;
            }
          }
}

TEST(QuantizeKernelTest, DequantizePerChannel) {
  const SlotLayout l = make_layout(1, 2, 2);
  const std::vector<float> s = {0.5f, 2.0f};
  const std::vector<int32_t> z = {1, -3};
  const std::vector<int32_t> q = {3, -1, 0, 5};
  std::vector<float> y(4);
  dequantize(q.data(), l, s.data(), z.data(), y.data());
  EXPECT_EQ(y, (std::vector<float>{1.0f, -1.0f, 6.0f, 16.0f}));
  const std::vector<int8_t> q8 = {3, -1, 0, 5};
  std::vector<float> y8(4);
  dequantize_range(q8.data(), l, s.data(), z.data(), 0, 4, y8.data());
  EXPECT_EQ(y8, y);
}

TEST(QuantizeKernelTest, FakeQuantizeEqualsDequantizeOfQuantize) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  const SlotLayout layouts[] = {per_tensor(1000), make_layout(10, 4, 25), make_layout(4, 10, 25, 3),
                                make_layout(5, 8, 25, 1, 16), make_layout(1000, 1, 1, 1, 7)};
  const QuantRange ranges[] = {{-128, 127}, {0, 255}, {-7, 7}, {0, 65535}};
  for (const SlotLayout& l : layouts)
    for (QuantRange r : ranges)
      for (Rounding mode : {Rounding::kHalfEven, Rounding::kHalfAway, Rounding::kFloor, Rounding::kStochastic}) {
        const int64_t n = l.numel(), slots = l.num_slots();
        std::vector<float> x(static_cast<size_t>(n));
        for (float& v : x) v = dist(rng);
        x[3] = kNaN;
        x[5] = kInf;
        x[7] = -kInf;
        std::vector<float> s(static_cast<size_t>(slots));
        std::vector<int32_t> z(static_cast<size_t>(slots));
        for (int64_t k = 0; k < slots; ++k) {
          s[static_cast<size_t>(k)] = 0.01f + 0.05f * static_cast<float>(k % 7);
          z[static_cast<size_t>(k)] = r.qmin + static_cast<int32_t>(k % 5) * (r.qmax - r.qmin) / 4;
        }
        std::vector<int32_t> q(static_cast<size_t>(n));
        std::vector<float> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
        quantize(x.data(), l, s.data(), z.data(), r, mode, 42, q.data());
        dequantize(q.data(), l, s.data(), z.data(), want.data());
        fake_quantize(x.data(), l, s.data(), z.data(), r, mode, 42, got.data());
        ASSERT_EQ(got, want);
        // In place (out aliases x).
        fake_quantize(x.data(), l, s.data(), z.data(), r, mode, 42, x.data());
        ASSERT_EQ(x, want);
      }
}

TEST(QuantizeKernelTest, StochasticRoundingIsUnbiasedAndSeeded) {
  constexpr int64_t kN = 200000;
  const float s = 0.5f;
  const int32_t z = 0;
  const std::vector<float> x(kN, 0.3f * s);
  auto run = [&](uint64_t seed, const std::vector<float>& in) {
    std::vector<int32_t> q(kN);
    quantize(in.data(), per_tensor(kN), &s, &z, {-128, 127}, Rounding::kStochastic, seed, q.data());
    return q;
  };
  const std::vector<int32_t> a = run(1, x), b = run(1, x), c = run(2, x);
  double sum = 0;
  for (int32_t v : a) {
    ASSERT_TRUE(v == 0 || v == 1) << v;
    sum += v;
  }
  const double p = 0.3, sigma = std::sqrt(p * (1 - p) / kN);
  EXPECT_NEAR(sum / kN, p, 4 * sigma);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  // −0.3: q ∈ {−1, 0} with mean −0.3.
  const std::vector<int32_t> neg = run(5, std::vector<float>(kN, -0.3f * s));
  double nsum = 0;
  for (int32_t v : neg) nsum += v;
  EXPECT_NEAR(nsum / kN, -p, 4 * sigma);
  // Splitting the work does not change the draws.
  std::vector<int32_t> parts(kN);
  for (int64_t b0 : {int64_t{0}, int64_t{12345}, int64_t{100000}}) {
    const int64_t e0 = b0 == 0 ? 12345 : (b0 == 12345 ? 100000 : kN);
    quantize_range(x.data(), per_tensor(kN), &s, &z, {-128, 127}, Rounding::kStochastic, 1, b0, e0, parts.data());
  }
  EXPECT_EQ(parts, a);
}

TEST(QuantizeKernelTest, StochasticSamplesAreUniform) {
  double sum = 0;
  for (int64_t i = 0; i < 100000; ++i) {
    const float u = stochastic_u(9, i);
    ASSERT_GE(u, 0.0f);
    ASSERT_LT(u, 1.0f);
    sum += u;
  }
  EXPECT_NEAR(sum / 100000, 0.5, 4 * std::sqrt(1.0 / 12 / 100000));
}

TEST(QuantizeKernelTest, QuantizeValue) {
  EXPECT_EQ(quantize_value(1.25f, 0.5f, 0, {-128, 127}, Rounding::kHalfEven, 0), 2);
  EXPECT_EQ(quantize_value(1.25f, 0.5f, 0, {-128, 127}, Rounding::kHalfAway, 0), 3);
  EXPECT_EQ(quantize_value(-1000.0f, 0.5f, 10, {0, 255}, Rounding::kHalfEven, 0), 0);
  EXPECT_EQ(quantize_value(kNaN, 0.5f, 10, {0, 255}, Rounding::kHalfEven, 0), 10);
  EXPECT_EQ(quantize_value(0.15f, 0.5f, 0, {-128, 127}, Rounding::kStochastic, 0.75f), 1);
}

}  // namespace
}  // namespace lowbit::kernels
