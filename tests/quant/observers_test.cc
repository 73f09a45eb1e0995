// observers_test.cc: calibration observers — names and config checks, minmax / moving-average
// by hand over every granularity, exact merge and streaming histograms, error paths, memory.
// The clipping rules (percentile, entropy, mse, aciq) are in observer_clip_test.cc.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "quant/observer.h"
#include "quant/observers/histogram.h"
#include "quant/observers/slot_stats.h"

namespace lowbit::quant {
namespace {

std::unique_ptr<Observer> make(ObserverKind kind, const QScheme& scheme, ObserverConfig config = {}) {
  config.kind = kind;
  Result<std::unique_ptr<Observer>> r = make_observer(config, scheme);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? std::move(r).value() : nullptr;
}

QScheme per_channel(int axis) {
  QScheme s;
  s.granularity = Granularity::kPerChannel;
  s.axis = axis;
  return s;
}

void expect_ranges(const Observer& o, const std::vector<float>& lo, const std::vector<float>& hi) {
  std::vector<float> l, h;
  ASSERT_TRUE(o.ranges(l, h).is_ok());
  EXPECT_EQ(l, lo);
  EXPECT_EQ(h, hi);
}

std::vector<float> gaussian(size_t n, uint64_t seed, float scale = 1.0f, float shift = 0.0f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = shift + scale * d(rng);
  return v;
}

const std::vector<ObserverKind> kAllKinds = {
    ObserverKind::kMinMax, ObserverKind::kMovingAverage, ObserverKind::kPercentile, ObserverKind::kEntropy,
    ObserverKind::kMse,    ObserverKind::kAciqLaplace,   ObserverKind::kAciqGauss};

TEST(ObserverConfigTest, NamesRoundTrip) {
  const std::vector<std::string> names = {"minmax", "moving-average", "percentile", "entropy",
                                          "mse",    "aciq-laplace",   "aciq-gauss"};
  for (size_t k = 0; k < names.size(); ++k) {
    EXPECT_EQ(observer_name(kAllKinds[k]), names[k]);
    Result<ObserverKind> r = parse_observer_kind(names[k]);
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(*r, kAllKinds[k]);
  }
  Result<ObserverKind> bad = parse_observer_kind("kl");
  ASSERT_FALSE(bad.is_ok());
  for (const std::string& n : names) EXPECT_NE(bad.status().message().find(n), std::string::npos) << n;
}

TEST(ObserverConfigTest, RejectsBadFields) {
  const QScheme s;
  auto fails = [&](ObserverConfig c, const char* field) {
    Result<std::unique_ptr<Observer>> r = make_observer(c, s);
    ASSERT_FALSE(r.is_ok()) << field;
    EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().message();
  };
  ObserverConfig c;
  c.percentile = 50.0;
  fails(c, "percentile");
  c.percentile = 100.01;
  fails(c, "percentile");
  c.percentile = std::nan("");
  fails(c, "percentile");
  c = {};
  c.momentum = 1.0;
  fails(c, "momentum");
  c.momentum = -0.01;
  fails(c, "momentum");
  c = {};
  c.bins = 15;
  fails(c, "bins");
  c.bins = (1 << 16) + 1;
  fails(c, "bins");
  c = {};
  c.percentile = 100.0;
  c.momentum = 0.0;
  c.bins = 16;
  EXPECT_TRUE(make_observer(c, s).is_ok());
  QScheme bad;
  bad.bits = 1;
  EXPECT_FALSE(make_observer(ObserverConfig{}, bad).is_ok());
}

TEST(MinMaxObserverTest, PerTensorByHand) {
  QScheme s;  // u8 asymmetric per-tensor
  auto o = make(ObserverKind::kMinMax, s);
  ASSERT_TRUE(o->observe(Tensor::from_vector<float>({2, 3}, {1, -2, 3, 0.5f, 7, -4})).is_ok());
  expect_ranges(*o, {-4}, {7});
  ASSERT_TRUE(o->observe(Tensor::from_vector<float>({1, 3}, {-1, 8, 0})).is_ok());
  expect_ranges(*o, {-4}, {8});
  EXPECT_EQ(o->batches(), 2);
  EXPECT_EQ(o->slots(), 1);
  // s = 12/255, z = round(0 − (−4)/s) = round(85) = 85.
  Result<QParams> q = o->qparams();
  ASSERT_TRUE(q.is_ok());
  EXPECT_FLOAT_EQ(q->scale[0], 12.0f / 255.0f);
  EXPECT_EQ(q->zero_point[0], 85);
}

TEST(MinMaxObserverTest, PerChannelAxis1ByHand) {
  // Shape [2, 3, 2]: channel c of row o holds two values.
  //   o = 0: c0 {1, 5}  c1 {−3, 2}  c2 {0, 0.5}
  //   o = 1: c0 {−1, 4} c1 {6, −7}  c2 {2, 9}
  auto o = make(ObserverKind::kMinMax, per_channel(1));
  ASSERT_TRUE(o->observe(Tensor::from_vector<float>({2, 3, 2}, {1, 5, -3, 2, 0, 0.5f, -1, 4, 6, -7, 2, 9})).is_ok());
  expect_ranges(*o, {-1, -7, 0}, {5, 6, 9});
  // Axis −2 is the same axis; the batch dim may change.
  auto o2 = make(ObserverKind::kMinMax, per_channel(-2));
  ASSERT_TRUE(o2->observe(Tensor::from_vector<float>({1, 3, 1}, {3, 4, 5})).is_ok());
  expect_ranges(*o2, {3, 4, 5}, {3, 4, 5});
  ASSERT_TRUE(o2->observe(Tensor::from_vector<float>({2, 3, 1}, {-1, 9, 5, 0, 0, 6})).is_ok());
  expect_ranges(*o2, {-1, 0, 5}, {3, 9, 6});
}

TEST(MinMaxObserverTest, PerGroupAndPerBlockByHand) {
  QScheme g = per_channel(0);
  g.granularity = Granularity::kPerGroup;
  g.group = 2;
  auto og = make(ObserverKind::kMinMax, g);
  // [3, 2]: channels 0, 1 form group 0; channel 2 alone is group 1.
  ASSERT_TRUE(og->observe(Tensor::from_vector<float>({3, 2}, {1, 2, -3, 4, 7, 8})).is_ok());
  expect_ranges(*og, {-3, 7}, {4, 8});

  // [2, 6], axis 0, blocks of 4 along each row: {1..4}, {5, 6}; {−1, −5, 0, 2}, {8, −3}.
  QScheme b = per_channel(0);
  b.granularity = Granularity::kPerBlock;
  b.block = 4;
  auto ob = make(ObserverKind::kMinMax, b);
  ASSERT_TRUE(ob->observe(Tensor::from_vector<float>({2, 6}, {1, 2, 3, 4, 5, 6, -1, -5, 0, 2, 8, -3})).is_ok());
  expect_ranges(*ob, {1, 5, -5, -3}, {4, 6, 2, 8});

  // MatMul-style [K = 4, N = 2], axis 1, blocks of 3 down each column:
  //   column 0 {1, 2, 3 | 10}, column 1 {−1, −2, −3 | −10}.
  QScheme k = per_channel(1);
  k.granularity = Granularity::kPerBlock;
  k.block = 3;
  auto ok = make(ObserverKind::kMinMax, k);
  ASSERT_TRUE(ok->observe(Tensor::from_vector<float>({4, 2}, {1, -1, 2, -2, 3, -3, 10, -10})).is_ok());
  expect_ranges(*ok, {1, 10, -3, -10}, {3, 10, -1, -10});
}

TEST(MinMaxObserverTest, HistogramKindsAtFullPercentileMatchMinMaxPerBlock) {
  // p = 100 puts the percentile range at the exact min and max of every slot.
  QScheme b = per_channel(0);
  b.granularity = Granularity::kPerBlock;
  b.block = 4;
  ObserverConfig c;
  c.percentile = 100.0;
  auto o = make(ObserverKind::kPercentile, b, c);
  ASSERT_TRUE(o->observe(Tensor::from_vector<float>({2, 6}, {1, 2, 3, 4, 5, 6, -1, -5, 0, 2, 8, -3})).is_ok());
  expect_ranges(*o, {1, 5, -5, -3}, {4, 6, 2, 8});
}

TEST(MovingAverageObserverTest, ThreeBatchesByHand) {
  auto o = make(ObserverKind::kMovingAverage, QScheme{});  // momentum 0.9
  ASSERT_TRUE(o->observe(Tensor::from_vector<float>({3}, {0, 4, 1})).is_ok());
  ASSERT_TRUE(o->observe(Tensor::from_vector<float>({2}, {-2, 2})).is_ok());
  ASSERT_TRUE(o->observe(Tensor::from_vector<float>({4}, {-1, 8, 3, 0})).is_ok());
  // min: 0 → 0.9·0 + 0.1·(−2) = −0.2 → 0.9·(−0.2) + 0.1·(−1) = −0.28
  // max: 4 → 0.9·4 + 0.1·2 = 3.8 → 0.9·3.8 + 0.1·8 = 4.22
  std::vector<float> lo, hi;
  ASSERT_TRUE(o->ranges(lo, hi).is_ok());
  EXPECT_NEAR(lo[0], -0.28, 1e-6);
  EXPECT_NEAR(hi[0], 4.22, 1e-6);
  EXPECT_EQ(o->batches(), 3);
}

TEST(MovingAverageObserverTest, MergeWeightsByBatchCount) {
  ObserverConfig c;
  c.momentum = 0.5;
  auto a = make(ObserverKind::kMovingAverage, QScheme{}, c);
  auto b = make(ObserverKind::kMovingAverage, QScheme{}, c);
  ASSERT_TRUE(a->observe(Tensor::from_vector<float>({2}, {0, 4})).is_ok());
  ASSERT_TRUE(a->observe(Tensor::from_vector<float>({2}, {-2, 2})).is_ok());  // avg (−1, 3), 2 batches
  ASSERT_TRUE(b->observe(Tensor::from_vector<float>({2}, {-4, 6})).is_ok());  // avg (−4, 6), 1 batch
  ASSERT_TRUE(a->merge(*b).is_ok());
  std::vector<float> lo, hi;
  ASSERT_TRUE(a->ranges(lo, hi).is_ok());
  EXPECT_NEAR(lo[0], (2 * -1.0 + 1 * -4.0) / 3, 1e-6);
  EXPECT_NEAR(hi[0], (2 * 3.0 + 1 * 6.0) / 3, 1e-6);
  EXPECT_EQ(a->batches(), 3);
}

// Observers over two halves of the batches, merged, equal one observer over all of them.
TEST(ObserverMergeTest, HalvesEqualWhole) {
  std::vector<Tensor> batches;
  for (int b = 0; b < 6; ++b) {
    // Ranges differ a lot between batches, so merging must regrid the histograms.
    const float scale = b == 4 ? 40.0f : 1.0f + static_cast<float>(b);
    batches.push_back(Tensor::from_vector<float>({4, 3, 50}, gaussian(600, 100 + static_cast<uint64_t>(b), scale,
                                                                     b == 2 ? 7.0f : 0.0f)));
  }
  for (ObserverKind kind : kAllKinds) {
    if (kind == ObserverKind::kMovingAverage) continue;  // its merge is approximate by design
    for (const QScheme& s : {QScheme{}, per_channel(1)}) {
      auto whole = make(kind, s), a = make(kind, s), b = make(kind, s);
      for (size_t i = 0; i < batches.size(); ++i) {
        ASSERT_TRUE(whole->observe(batches[i]).is_ok());
        ASSERT_TRUE((i % 2 == 0 ? a : b)->observe(batches[i]).is_ok());
      }
      ASSERT_TRUE(a->merge(*b).is_ok());
      EXPECT_EQ(a->batches(), whole->batches());
      std::vector<float> lw, hw, lm, hm;
      ASSERT_TRUE(whole->ranges(lw, hw).is_ok());
      ASSERT_TRUE(a->ranges(lm, hm).is_ok());
      if (kind == ObserverKind::kAciqLaplace || kind == ObserverKind::kAciqGauss) {
        // Their fits use floating sums, which add up in another order after a merge.
        for (size_t k = 0; k < lw.size(); ++k) {
          EXPECT_NEAR(lm[k], lw[k], 1e-4 * std::fabs(lw[k]) + 1e-6) << observer_name(kind);
          EXPECT_NEAR(hm[k], hw[k], 1e-4 * std::fabs(hw[k]) + 1e-6) << observer_name(kind);
        }
      } else {
        EXPECT_EQ(lm, lw) << observer_name(kind);
        EXPECT_EQ(hm, hw) << observer_name(kind);
      }
    }
  }
}

TEST(ObserverMergeTest, IntoEmptyAndMismatches) {
  auto empty = make(ObserverKind::kPercentile, QScheme{});
  auto full = make(ObserverKind::kPercentile, QScheme{});
  ASSERT_TRUE(full->observe(Tensor::from_vector<float>({3}, {1, 2, 3})).is_ok());
  ASSERT_TRUE(empty->merge(*full).is_ok());
  std::vector<float> l1, h1, l2, h2;
  ASSERT_TRUE(empty->ranges(l1, h1).is_ok());
  ASSERT_TRUE(full->ranges(l2, h2).is_ok());
  EXPECT_EQ(l1, l2);
  EXPECT_EQ(h1, h2);

  auto mm = make(ObserverKind::kMinMax, QScheme{});
  EXPECT_FALSE(mm->merge(*full).is_ok());  // another kind
  ObserverConfig c;
  c.bins = 512;
  auto other_bins = make(ObserverKind::kPercentile, QScheme{}, c);
  EXPECT_FALSE(full->merge(*other_bins).is_ok());  // another config
  QScheme s8;
  s8.is_signed = true;
  auto other_scheme = make(ObserverKind::kPercentile, s8);
  EXPECT_FALSE(full->merge(*other_scheme).is_ok());
  auto a = make(ObserverKind::kMinMax, per_channel(0));
  auto b = make(ObserverKind::kMinMax, per_channel(0));
  ASSERT_TRUE(a->observe(Tensor::from_vector<float>({2, 1}, {1, 2})).is_ok());
  ASSERT_TRUE(b->observe(Tensor::from_vector<float>({3, 1}, {1, 2, 3})).is_ok());
  EXPECT_FALSE(a->merge(*b).is_ok());  // 2 slots vs 3
}

TEST(SlotHistogramsTest, GrowthKeepsCountsExact) {
  using observers::SlotHistograms;
  const int bins = 64;
  SlotHistograms h(bins);
  ASSERT_TRUE(h.reset(1).is_ok());
  std::vector<float> all;
  const std::vector<std::vector<float>> batches = {
      gaussian(500, 1, 0.1f, 0.5f), gaussian(500, 2, 10.0f, -20.0f), gaussian(500, 3, 1.0f, 150.0f),
      // Zeros and tiny values: x / w underflows in float, so these exercise the exact-floor fixes.
      // (The first four take the SSE2 path, the last three the scalar one.)
      {0.0f, -0.0f, std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::denorm_min(), 1e-30f, -3.0f,
       -std::numeric_limits<float>::denorm_min()}};
  kernels::SlotLayout layout;
  for (const std::vector<float>& b : batches) {
    layout.outer = static_cast<int64_t>(b.size());
    observers::BatchStats st;
    ASSERT_TRUE(observers::batch_stats("test", b.data(), layout, true, st).is_ok());
    h.add(b.data(), layout, st);
    all.insert(all.end(), b.begin(), b.end());
  }
  const observers::HistView v = h.view(0);
  EXPECT_EQ(v.count, static_cast<int64_t>(all.size()));
  float mn = all[0], mx = all[0];
  for (float x : all) {
    mn = std::min(mn, x);
    mx = std::max(mx, x);
  }
  EXPECT_EQ(v.min, mn);
  EXPECT_EQ(v.max, mx);
  // The grid is the finest power-of-two width that holds [min, max] in `bins` bins ...
  const double w = v.width();
  auto span = [&](double width) { return std::floor(mx / width) - std::floor(mn / width) + 1; };
  EXPECT_LE(span(w), bins);
  EXPECT_GT(span(w / 2), bins);
  EXPECT_EQ(v.offset, static_cast<int64_t>(std::floor(mn / w)));
  // ... and the streamed counts equal binning all the data at once on that grid.
  std::vector<int64_t> expect(bins, 0);
  for (float x : all) ++expect[static_cast<size_t>(static_cast<int64_t>(std::floor(x / w)) - v.offset)];
  EXPECT_EQ(std::vector<int64_t>(v.counts, v.counts + bins), expect);
}

TEST(ObserverErrorsTest, NonFiniteNothingObservedAndSlotMismatch) {
  for (ObserverKind kind : kAllKinds) {
    auto o = make(kind, per_channel(1));
    std::vector<float> lo, hi;
    Status st = o->ranges(lo, hi);
    ASSERT_FALSE(st.is_ok()) << observer_name(kind);
    EXPECT_NE(st.message().find("nothing observed"), std::string::npos) << st.message();
    EXPECT_FALSE(o->qparams().is_ok());

    const float inf = std::numeric_limits<float>::infinity();
    st = o->observe(Tensor::from_vector<float>({1, 2, 2}, {1, std::nanf(""), -inf, 2}));
    ASSERT_FALSE(st.is_ok());
    EXPECT_NE(st.message().find("2 non-finite"), std::string::npos) << st.message();
    EXPECT_EQ(o->batches(), 0);
    EXPECT_EQ(o->slots(), 0);

    ASSERT_TRUE(o->observe(Tensor::from_vector<float>({1, 2, 2}, {1, 2, 3, 4})).is_ok());
    st = o->observe(Tensor::from_vector<float>({1, 3, 1}, {1, 2, 3}));
    ASSERT_FALSE(st.is_ok());
    EXPECT_NE(st.message().find("3 slots"), std::string::npos) << st.message();
    EXPECT_FALSE(o->observe(Tensor::from_vector<int32_t>({1, 2, 1}, {1, 2})).is_ok());
    EXPECT_FALSE(o->observe(Tensor::zeros(DType::kF32, {0, 2, 1})).is_ok());
    EXPECT_FALSE(o->observe(Tensor::from_vector<float>({2}, {1, 2})).is_ok());  // axis 1 of a rank-1 tensor
    EXPECT_EQ(o->batches(), 1);
    ASSERT_TRUE(o->ranges(lo, hi).is_ok());
    EXPECT_EQ(lo.size(), 2u);
  }
}

TEST(ObserverErrorsTest, HistogramMemoryCeiling) {
  QScheme b = per_channel(0);
  b.granularity = Granularity::kPerBlock;
  b.block = 1;
  ObserverConfig c;
  c.bins = 1 << 16;
  auto o = make(ObserverKind::kEntropy, b, c);
  // 4096 slots × 65536 bins × 8 bytes = 2 GiB, over the 1 GiB ceiling: refused before allocating.
  Status st = o->observe(Tensor::zeros(DType::kF32, {4096}));
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.message().find("slots"), std::string::npos) << st.message();
}

TEST(ObserverMemoryTest, StateDoesNotGrowWithBatches) {
  for (ObserverKind kind : kAllKinds) {
    auto o = make(kind, per_channel(1));
    ASSERT_TRUE(o->observe(Tensor::from_vector<float>({2, 3, 4}, gaussian(24, 7))).is_ok());
    const size_t after_one = o->state_bytes();
    for (int i = 0; i < 99; ++i) {
      // Growing ranges make the histograms regrid along the way.
      const float scale = 1.0f + static_cast<float>(i);
      ASSERT_TRUE(o->observe(Tensor::from_vector<float>({5, 3, 4}, gaussian(60, 8 + static_cast<uint64_t>(i), scale)))
                      .is_ok());
    }
    EXPECT_EQ(o->batches(), 100);
    EXPECT_EQ(o->state_bytes(), after_one) << observer_name(kind);
  }
}

}  // namespace
}  // namespace lowbit::quant
