// observer_clip_test.cc: the histogram observers' clipping rules against independent answers —
// percentiles of a known grid, a naive KL loop, brute-force MSE on raw samples, ACIQ's table.
#include <algorithm>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "quant/observer.h"
#include "quant/observers/clip_search.h"

namespace lowbit::quant {
namespace {

std::unique_ptr<Observer> make(ObserverKind kind, const QScheme& scheme, ObserverConfig config = {}) {
  config.kind = kind;
  Result<std::unique_ptr<Observer>> r = make_observer(config, scheme);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? std::move(r).value() : nullptr;
}

QScheme signed_symmetric(int bits) {
  QScheme s;
  s.bits = bits;
  s.is_signed = true;
  s.symmetric = true;
  return s;
}

QScheme unsigned_asymmetric(int bits) {
  QScheme s;
  s.bits = bits;
  return s;
}

// Uniform in [0, 1) from the top 53 bits, so the samples do not depend on the library's distributions.
double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1p-53; }

std::vector<float> laplace(size_t n, uint64_t seed, double b) {
  std::mt19937_64 rng(seed);
  std::vector<float> v(n);
  for (float& x : v) {
    const double u = uniform01(rng) - 0.5;  // inverse CDF
    x = static_cast<float>(-b * (u < 0 ? -1.0 : 1.0) * std::log(1.0 - 2.0 * std::fabs(u)));
  }
  return v;
}

std::vector<float> gauss(size_t n, uint64_t seed, double sigma) {
  std::mt19937_64 rng(seed);
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) {  // Box–Muller
    const double u1 = 1.0 - uniform01(rng), u2 = uniform01(rng);
    v[i] = static_cast<float>(sigma * std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
  }
  return v;
}

void observe_all(Observer& o, const std::vector<float>& v) {
  ASSERT_TRUE(o.observe(Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v)).is_ok());
}

void ranges1(const Observer& o, float& lo, float& hi) {
  std::vector<float> l, h;
  ASSERT_TRUE(o.ranges(l, h).is_ok());
  ASSERT_EQ(l.size(), 1u);
  lo = l[0];
  hi = h[0];
}

// Mean of (x − Q(x))² over raw samples for the range [lo, hi] (after clipping to the data, as observers do).
double raw_mse(const std::vector<float>& x, const QScheme& s, float lo, float hi) {
  const QParams p = qparams_from_range(s, {lo}, {hi});
  double e = 0;
  for (float v : x) {
    const double d = static_cast<double>(v) - fake_quant_value(v, p.scale[0], p.zero_point[0], s);
    e += d * d;
  }
  return e / static_cast<double>(x.size());
}

TEST(PercentileObserverTest, UniformGridWithinOneBin) {
  std::vector<float> v;
  for (int k = 0; k < 10000; ++k) v.push_back(static_cast<float>(k) / 1000.0f);  // 0, 0.001, ..., 9.999
  ObserverConfig c;
  c.percentile = 99.0;
  auto o = make(ObserverKind::kPercentile, QScheme{}, c);
  // Three batches, so the histogram grows on the way.
  observe_all(*o, std::vector<float>(v.begin(), v.begin() + 100));
  observe_all(*o, std::vector<float>(v.begin() + 100, v.begin() + 5000));
  observe_all(*o, std::vector<float>(v.begin() + 5000, v.end()));
  float lo, hi;
  ranges1(*o, lo, hi);
  // 1% of the values lie below 0.1 and 99% below 9.9. The bin width is the power of two that
  // fits [0, 10) in 2048 bins: 2^−7.
  const double w = 0x1p-7;
  EXPECT_NEAR(lo, 0.1, w);
  EXPECT_NEAR(hi, 9.9, w);
}

// The KL loop spelled out: P, Q built bin by bin, as entropy.cc documents them.
std::vector<double> naive_divergences(const std::vector<int64_t>& h, int L) {
  const int n = static_cast<int>(h.size());
  std::vector<double> out;
  for (int i = L; i <= n; ++i) {
    std::vector<double> P(h.begin(), h.begin() + i), Q(static_cast<size_t>(i), 0.0);
    int kept_bins = 0;
    for (double p : P) kept_bins += p > 0 ? 1 : 0;
    if (kept_bins <= 1 && i < n) {  // P a single spike: ruled out
      out.push_back(INFINITY);
      continue;
    }
    for (int k = i; k < n; ++k) P[static_cast<size_t>(i - 1)] += static_cast<double>(h[static_cast<size_t>(k)]);
    const int m = i / L;
    for (int j = 0; j < L; ++j) {
      const int a = j * m, b = j == L - 1 ? i : a + m;
      double H = 0, nz = 0;
      for (int k = a; k < b; ++k) {
        H += static_cast<double>(h[static_cast<size_t>(k)]);
        nz += P[static_cast<size_t>(k)] > 0 ? 1 : 0;
      }
      for (int k = a; k < b; ++k)
        if (P[static_cast<size_t>(k)] > 0) Q[static_cast<size_t>(k)] = H > 0 ? H / nz : observers::kEntropyEps;
    }
    double sp = 0, sq = 0;
    for (int k = 0; k < i; ++k) {
      sp += P[static_cast<size_t>(k)];
      sq += Q[static_cast<size_t>(k)];
    }
    double kl = 0;
    for (int k = 0; k < i; ++k) {
      const double p = P[static_cast<size_t>(k)] / sp, q = Q[static_cast<size_t>(k)] / sq;
      if (p > 0) kl += p * std::log(p / q);
    }
    out.push_back(kl);
  }
  return out;
}

TEST(EntropyObserverTest, DivergencesMatchNaiveLoop) {
  // Zeros inside, a long empty tail and two outliers at the end: at i = 29 the last group
  // [23, 29) holds only the clipped outliers (the ε rule).
  // Leading zeros: candidates whose P is one spike are ruled out.
  std::vector<int64_t> h = {0, 0, 0, 0, 0, 5, 3, 0, 7, 1, 0, 0, 2, 9, 4, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  for (int L : {1, 3, 4, 8}) {
    const std::vector<double> fast = observers::entropy_divergences(h, L), naive = naive_divergences(h, L);
    ASSERT_EQ(fast.size(), naive.size());
    size_t best = 0;
    for (size_t k = 0; k < naive.size(); ++k) {
      if (std::isinf(naive[k]))
        EXPECT_TRUE(std::isinf(fast[k]));
      else
        EXPECT_NEAR(fast[k], naive[k], 1e-9 * (1 + std::fabs(naive[k]))) << "L " << L << " i " << k + L;
      if (naive[k] < naive[best]) best = k;
    }
    EXPECT_EQ(observers::entropy_threshold_bins(h, L), static_cast<int64_t>(best) + L) << "L " << L;
  }
  EXPECT_TRUE(observers::entropy_divergences(h, 38).empty());
  EXPECT_EQ(observers::entropy_threshold_bins(h, 38), 37);
}

TEST(EntropyObserverTest, ThresholdNearTheMassNotTheOutliers) {
  // Exponential mass (98% in [0, 1)) and five outliers at 100. (Uniform mass would not do:
  // Q spreads each group evenly over its nonzero bins, so KL cannot see a uniform shape blur.)
  std::vector<float> v;
  for (int k = 0; k < 10000; ++k) v.push_back(static_cast<float>(-0.25 * std::log(1.0 - (k + 0.5) / 10000.0)));
  for (int k = 0; k < 5; ++k) v.push_back(100.0f);
  {
    // 4-bit symmetric: L = 8 levels over the |x| histogram of width 2^−4 (100 in 2048 bins).
    auto o = make(ObserverKind::kEntropy, signed_symmetric(4));
    observe_all(*o, v);
    float lo, hi;
    ranges1(*o, lo, hi);
    EXPECT_GE(hi, 0.5f);
    EXPECT_LE(hi, 2.0f);
    EXPECT_EQ(lo, v[0]);  // −hi clipped to the observed min
  }
  {
    // 8-bit: candidates start at 128 bins = 8; the threshold must stay far below 100.
    auto o = make(ObserverKind::kEntropy, signed_symmetric(8));
    observe_all(*o, v);
    float lo, hi;
    ranges1(*o, lo, hi);
    EXPECT_LT(hi, 20.0f);
    auto u = make(ObserverKind::kEntropy, unsigned_asymmetric(8));  // positive part, L = 256
    observe_all(*u, v);
    ranges1(*u, lo, hi);
    EXPECT_EQ(lo, v[0]);
    EXPECT_LT(hi, 20.0f);
  }
  {
    // Mirrored: all-negative data clip at −T on the low side and keep max on the high side.
    std::vector<float> neg(v);
    for (float& x : neg) x = -x;
    auto o = make(ObserverKind::kEntropy, unsigned_asymmetric(4));
    observe_all(*o, neg);
    float lo, hi;
    ranges1(*o, lo, hi);
    EXPECT_EQ(hi, neg[0]);
    EXPECT_LE(lo, -0.5f);
    EXPECT_GE(lo, -2.0f);
    // Both signs, asymmetric: the grid starts at min (kept, as a ReLU output's 0 is) and KL
    // clips only the top: the outliers at +100 go, the ones at −100 stay.
    std::vector<float> both(v);
    both.insert(both.end(), neg.begin(), neg.end());
    auto b = make(ObserverKind::kEntropy, unsigned_asymmetric(8));
    observe_all(*b, both);
    ranges1(*b, lo, hi);
    EXPECT_EQ(lo, *std::min_element(both.begin(), both.end()));
    EXPECT_LT(hi, 50.0f);  // well below the outliers at +100 (the grid is coarse: [−100, 100] in 2048 bins)
    EXPECT_GT(hi, 0.5f);
  }
}

TEST(EntropyObserverTest, ReluZerosDoNotPullTheThresholdDown) {
  // A ReLU output: half exact zeros, half exponential (mean 0.25, 99th percentile of all 0.98,
  // max 2.48). Scored as is, the spike at 0 makes KL clip at 0.69 (a naive KL loop in numpy
  // over the same 8192-bin histogram agrees); with bin 0 flattened to bin 1, as NVIDIA's tools
  // do, the threshold is the max.
  std::vector<float> v(10000, 0.0f);
  for (int k = 0; k < 10000; ++k) v.push_back(static_cast<float>(-0.25 * std::log(1.0 - (k + 0.5) / 10000.0)));
  auto o = make(ObserverKind::kEntropy, unsigned_asymmetric(8));
  observe_all(*o, v);
  float lo, hi;
  ranges1(*o, lo, hi);
  EXPECT_EQ(lo, 0.0f);
  EXPECT_GT(hi, 2.0f);
}

TEST(MseObserverTest, SymmetricMatchesBruteForceOnRawSamples) {
  const QScheme s = signed_symmetric(4);
  const std::vector<float> x = laplace(4000, 11, 1.0);
  double amax = 0;
  for (float v : x) amax = std::max(amax, std::fabs(static_cast<double>(v)));
  double best = INFINITY;
  for (int k = 1; k <= 2000; ++k) {
    const float a = static_cast<float>(amax * k / 2000.0);
    best = std::min(best, raw_mse(x, s, -a, a));
  }
  auto o = make(ObserverKind::kMse, s);
  observe_all(*o, x);
  float lo, hi;
  ranges1(*o, lo, hi);
  const double got = raw_mse(x, s, lo, hi);
  EXPECT_LE(got, 1.01 * best) << "range [" << lo << ", " << hi << "]";
  EXPECT_LT(hi, 0.8 * amax);  // it really clips
}

TEST(MseObserverTest, AsymmetricMatchesBruteForceOnRawSamples) {
  const QScheme s = unsigned_asymmetric(4);
  // Skewed, both signs: exponential minus 0.7.
  std::mt19937_64 rng(5);
  std::vector<float> x(2000);
  for (float& v : x) v = static_cast<float>(-std::log(1.0 - uniform01(rng)) - 0.7);
  float mn = x[0], mx = x[0];
  for (float v : x) {
    mn = std::min(mn, v);
    mx = std::max(mx, v);
  }
  double best = INFINITY;
  constexpr int kGrid = 120;
  for (int a = 1; a <= kGrid; ++a)
    for (int b = 1; b <= kGrid; ++b)
      best = std::min(best, raw_mse(x, s, mn * static_cast<float>(a) / kGrid, mx * static_cast<float>(b) / kGrid));
  auto o = make(ObserverKind::kMse, s);
  observe_all(*o, x);
  float lo, hi;
  ranges1(*o, lo, hi);
  EXPECT_LE(raw_mse(x, s, lo, hi), 1.01 * best) << "range [" << lo << ", " << hi << "]";
}

TEST(AciqObserverTest, AlphaMatchesPublishedTable) {
  const double laplace_table[] = {2.83, 3.89, 5.03, 6.2, 7.41, 8.64, 9.89};
  const double gauss_table[] = {1.71, 2.15, 2.55, 2.94, 3.29, 3.61, 3.92};
  for (int bits = 2; bits <= 8; ++bits) {
    EXPECT_NEAR(observers::aciq_alpha(bits, true), laplace_table[bits - 2], 0.01) << bits;
    EXPECT_NEAR(observers::aciq_alpha(bits, false), gauss_table[bits - 2], 0.01) << bits;
  }
}

TEST(AciqObserverTest, LaplaceAndGaussSamplesClipAtAlpha) {
  {
    auto o = make(ObserverKind::kAciqLaplace, signed_symmetric(4));
    observe_all(*o, laplace(200000, 3, 1.0));
    float lo, hi;
    ranges1(*o, lo, hi);
    EXPECT_NEAR(hi, 5.03, 0.02 * 5.03);
    EXPECT_NEAR(lo, -5.03, 0.02 * 5.03);
  }
  {
    auto o = make(ObserverKind::kAciqGauss, signed_symmetric(4));
    observe_all(*o, gauss(200000, 4, 2.0));
    float lo, hi;
    ranges1(*o, lo, hi);
    EXPECT_NEAR(hi, 2.55 * 2.0, 0.02 * 5.1);
    EXPECT_NEAR(lo, -2.55 * 2.0, 0.02 * 5.1);
  }
  {
    // One-signed data (a ReLU of Laplace samples): lo stays at the min, hi is clipped.
    std::vector<float> x = laplace(200000, 5, 1.0);
    for (float& v : x) v = std::max(v, 0.0f);
    auto o = make(ObserverKind::kAciqLaplace, unsigned_asymmetric(2));
    observe_all(*o, x);
    float lo, hi;
    ranges1(*o, lo, hi);
    EXPECT_EQ(lo, 0.0f);
    EXPECT_GT(hi, 0.5f);
    EXPECT_LT(hi, 5.0f);  // well inside max ≈ ln(100000) ≈ 11.5
  }
}

}  // namespace
}  // namespace lowbit::quant
