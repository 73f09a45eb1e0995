// observer.cc: observer names, config validation and the factory, plus the pieces every
// observer shares (slot_stats.h): layout checks, the per-slot min / max pass, merge checks.
#include "quant/observer.h"

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "quant/observers/histogram_observer.h"
#include "quant/observers/minmax.h"
#include "quant/observers/slot_stats.h"

namespace lowbit::quant {
namespace {

constexpr std::array<ObserverKind, 7> kAllKinds = {
    ObserverKind::kMinMax,     ObserverKind::kMovingAverage, ObserverKind::kPercentile, ObserverKind::kEntropy,
    ObserverKind::kMse,        ObserverKind::kAciqLaplace,   ObserverKind::kAciqGauss,
};

constexpr int kMinBins = 16;
constexpr int kMaxBins = 1 << 16;

}  // namespace

std::string_view observer_name(ObserverKind kind) {
  switch (kind) {
    case ObserverKind::kMinMax: return "minmax";
    case ObserverKind::kMovingAverage: return "moving-average";
    case ObserverKind::kPercentile: return "percentile";
    case ObserverKind::kEntropy: return "entropy";
    case ObserverKind::kMse: return "mse";
    case ObserverKind::kAciqLaplace: return "aciq-laplace";
    case ObserverKind::kAciqGauss: return "aciq-gauss";
  }
  return "?";
}

Result<ObserverKind> parse_observer_kind(std::string_view name) {
  std::string allowed;
  for (ObserverKind k : kAllKinds) {
    if (observer_name(k) == name) return k;
    if (!allowed.empty()) allowed += ", ";
    allowed += observer_name(k);
  }
  return Status::errorf("unknown observer '{}' (allowed: {})", name, allowed);
}

Result<QParams> Observer::qparams() const {
  std::vector<float> lo, hi;
  LB_TRY(ranges(lo, hi));
  return qparams_from_range(scheme_, lo, hi);
}

Result<std::unique_ptr<Observer>> make_observer(const ObserverConfig& config, const QScheme& scheme) {
  if (std::find(kAllKinds.begin(), kAllKinds.end(), config.kind) == kAllKinds.end())
    return Status::errorf("observer: unknown kind {}", static_cast<int>(config.kind));
  // Written so that NaN fails every check.
  if (!(config.percentile > 50.0 && config.percentile <= 100.0))
    return Status::errorf("observer: percentile {} is outside (50, 100]", config.percentile);
  if (!(config.momentum >= 0.0 && config.momentum < 1.0))
    return Status::errorf("observer: momentum {} is outside [0, 1)", config.momentum);
  if (config.bins < kMinBins || config.bins > kMaxBins)
    return Status::errorf("observer: bins {} is outside [{}, {}]", config.bins, kMinBins, kMaxBins);
  LB_TRY(validate(scheme).with_context("observer"));
  if (config.kind == ObserverKind::kMinMax || config.kind == ObserverKind::kMovingAverage)
    return observers::make_minmax_observer(config, scheme);
  return observers::make_histogram_observer(config, scheme);
}

namespace observers {
namespace {

// Per-run statistics: min / max in float, sums in double, and the number of non-finite values.
struct RunStats {
  float min = INFINITY, max = -INFINITY;
  double sum = 0, sumsq = 0;
  int64_t bad = 0;
};

inline void scalar_stats(float v, bool with_sums, RunStats& r) {
  r.bad += std::fabs(v) <= FLT_MAX ? 0 : 1;  // NaN fails the comparison too
  r.min = v < r.min ? v : r.min;
  r.max = v > r.max ? v : r.max;
  if (with_sums) {
    r.sum += static_cast<double>(v);
    r.sumsq += static_cast<double>(v) * static_cast<double>(v);
  }
}

// One pass over a run, four floats at a time with SSE2 (the compiler does not vectorize float
// min / max reductions without -ffast-math). Non-finite values only feed the error count.
template <bool kSums>
void run_stats(const float* x, int64_t n, RunStats& r) {
  int64_t i = 0;
#if defined(__SSE2__)
  if (n >= 8) {
    constexpr int64_t kChunk = int64_t{1} << 20;  // keeps the int32 lane counters from overflowing
    __m128 lo = _mm_set1_ps(r.min), hi = _mm_set1_ps(r.max);
    const __m128 abs_mask = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff)), fmax = _mm_set1_ps(FLT_MAX);
    __m128d s0 = _mm_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
    for (int64_t c0 = 0; c0 + 4 <= n; c0 += kChunk) {
      const int64_t ce = std::min(n, c0 + kChunk);
      __m128i bad = _mm_setzero_si128();
      for (i = c0; i + 4 <= ce; i += 4) {
        const __m128 v = _mm_loadu_ps(x + i);
        // |v| > FLT_MAX, or unordered (NaN): cmpnle is true for both; all ones is −1.
        bad = _mm_sub_epi32(bad, _mm_castps_si128(_mm_cmpnle_ps(_mm_and_ps(v, abs_mask), fmax)));
        lo = _mm_min_ps(lo, v);
        hi = _mm_max_ps(hi, v);
        if constexpr (kSums) {
          const __m128d d0 = _mm_cvtps_pd(v), d1 = _mm_cvtps_pd(_mm_movehl_ps(v, v));
          s0 = _mm_add_pd(s0, d0);
          s1 = _mm_add_pd(s1, d1);
          q0 = _mm_add_pd(q0, _mm_mul_pd(d0, d0));
          q1 = _mm_add_pd(q1, _mm_mul_pd(d1, d1));
        }
      }
      alignas(16) int32_t b[4];
      _mm_store_si128(reinterpret_cast<__m128i*>(b), bad);
      r.bad += int64_t{b[0]} + b[1] + b[2] + b[3];
      if (i < ce) break;  // fewer than 4 left: the scalar tail takes them
    }
    alignas(16) float l[4], h[4];
    alignas(16) double s[2], q[2];
    _mm_store_ps(l, lo);
    _mm_store_ps(h, hi);
    for (int k = 0; k < 4; ++k) {
      r.min = std::min(r.min, l[k]);
      r.max = std::max(r.max, h[k]);
    }
    if constexpr (kSums) {
      _mm_store_pd(s, _mm_add_pd(s0, s1));
      _mm_store_pd(q, _mm_add_pd(q0, q1));
      r.sum += s[0] + s[1];
      r.sumsq += q[0] + q[1];
    }
  }
#endif
  for (; i < n; ++i) scalar_stats(x[i], kSums, r);
}

}  // namespace

Result<kernels::SlotLayout> observed_layout(std::string_view who, const Tensor& x, const QScheme& scheme,
                                            int64_t expected_slots) {
  if (x.dtype() != DType::kF32)
    return Status::errorf("{} observer: input must be f32, got {}", who, dtype_name(x.dtype()));
  if (x.numel() == 0) return Status::errorf("{} observer: empty tensor {}", who, shape_str(x.shape()));
  Result<kernels::SlotLayout> layout = slot_layout(scheme, x.shape());
  if (!layout) return layout.status().with_context(std::string(who) + " observer");
  if (expected_slots != 0 && layout->num_slots() != expected_slots)
    return Status::errorf("{} observer: tensor {} has {} slots under {}, but the first batch fixed {}", who,
                          shape_str(x.shape()), layout->num_slots(), granularity_name(scheme), expected_slots);
  return layout;
}

Status batch_stats(std::string_view who, const float* x, const kernels::SlotLayout& layout, bool with_sums,
                   BatchStats& out) {
  const size_t n = static_cast<size_t>(layout.num_slots());
  std::vector<RunStats> acc(n);
  out.count.assign(n, 0);
  for_each_run(layout, [&](int64_t s, int64_t begin, int64_t len) {
    const size_t k = static_cast<size_t>(s);
    if (with_sums)
      run_stats<true>(x + begin, len, acc[k]);
    else
      run_stats<false>(x + begin, len, acc[k]);
    out.count[k] += len;
  });
  int64_t bad = 0;
  for (const RunStats& r : acc) bad += r.bad;
  if (bad != 0)
    return Status::errorf("{} observer: {} non-finite value{} (of {}) in the batch", who, bad, bad == 1 ? "" : "s",
                          layout.numel());
  out.min.resize(n);
  out.max.resize(n);
  out.sum.assign(with_sums ? n : 0, 0.0);
  out.sumsq.assign(with_sums ? n : 0, 0.0);
  for (size_t k = 0; k < n; ++k) {
    out.min[k] = acc[k].min;
    out.max[k] = acc[k].max;
    if (with_sums) {
      out.sum[k] = acc[k].sum;
      out.sumsq[k] = acc[k].sumsq;
    }
  }
  return Status::ok();
}

Status check_mergeable(const Observer& a, const Observer& b) {
  const std::string_view who = observer_name(a.config().kind);
  if (a.config().kind != b.config().kind)
    return Status::errorf("{} observer: cannot merge a {} observer", who, observer_name(b.config().kind));
  if (!(a.config() == b.config())) return Status::errorf("{} observer: cannot merge one with another config", who);
  if (!(a.scheme() == b.scheme()))
    return Status::errorf("{} observer: cannot merge one for scheme '{}' into one for '{}'", who,
                          describe(b.scheme()), describe(a.scheme()));
  if (a.slots() != 0 && b.slots() != 0 && a.slots() != b.slots())
    return Status::errorf("{} observer: cannot merge {} slots into {}", who, b.slots(), a.slots());
  return Status::ok();
}

}  // namespace observers
}  // namespace lowbit::quant
