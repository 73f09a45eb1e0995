// mse.cc: the mse observer — the clipping range minimizing the expected squared error
// E[(x − Q(x))²] of the scheme's own quantizer, with each histogram bin standing in for its
// mass at the bin centre (clamped to the observed [min, max]):
//   E(lo, hi) ≈ Σ_j c_j · (x_j − fake_quant_value(x_j; qparams_from_range(lo, hi)))² / N,
// clipping error included (values outside [lo, hi] saturate in fake_quant_value).
//
// Candidates shrink the range toward 0, which every range holds once widened (asymmetric) or
// is centred on (symmetric):
//   symmetric:  [−f·a, f·a], a = max |x|, f = 1/100 .. 1 (100 factors);
//   asymmetric: [f·A, f·B], A = min(min, 0), B = max(max, 0), the same 100 factors; when both
//               sides are nonzero, also every pair (f_lo, f_hi) on a 20 × 20 grid, then a sweep of
//               each end alone on the 1/100 grid around the best (the ends trade off unevenly
//               for skewed data).
// Stochastic rounding is scored as round-half-up (u = 1/2), not by its expected error.
#include <algorithm>
#include <cmath>

#include "quant/observers/clip_search.h"

namespace lowbit::quant::observers {
namespace {

constexpr int kFineSteps = 100;
constexpr int kCoarseSteps = 20;
constexpr int kSweep = 5;  // fine steps either side of the best pair

struct Mass {
  float x;
  double count;
};

class RangeScorer {
 public:
  RangeScorer(const HistView& h, const QScheme& scheme) : h_(h), scheme_(scheme), one_slot_(scheme) {
    one_slot_.granularity = Granularity::kPerTensor;
    for (int j = 0; j < h.bins; ++j) {
      if (h.counts[j] == 0) continue;
      const double c = std::clamp(h.bin_centre(j), static_cast<double>(h.min), static_cast<double>(h.max));
      mass_.push_back({static_cast<float>(c), static_cast<double>(h.counts[j])});
    }
  }

  // The candidate clipped to [min, max] (what the observer would report) and its error.
  double score(double lo, double hi, ClipRange& clipped) const {
    clipped.lo = static_cast<float>(std::clamp(lo, static_cast<double>(h_.min), static_cast<double>(h_.max)));
    clipped.hi = static_cast<float>(std::clamp(hi, static_cast<double>(h_.min), static_cast<double>(h_.max)));
    const QParams p = qparams_from_range(one_slot_, {clipped.lo}, {clipped.hi});
    const float s = p.scale[0];
    const int32_t z = p.zero_point[0];
    double err = 0;
    for (const Mass& m : mass_) {
      const double d = static_cast<double>(m.x) - fake_quant_value(m.x, s, z, scheme_);
      err += m.count * d * d;
    }
    return err;
  }

 private:
  const HistView& h_;
  const QScheme& scheme_;
  QScheme one_slot_;
  std::vector<Mass> mass_;
};

struct Best {
  double err = INFINITY;
  ClipRange range;
  double f_lo = 1, f_hi = 1;
  void consider(const RangeScorer& scorer, double lo, double hi, double fl, double fh) {
    ClipRange r;
    const double e = scorer.score(lo, hi, r);
    if (e < err) {
      err = e;
      range = r;
      f_lo = fl;
      f_hi = fh;
    }
  }
};

}  // namespace

ClipRange mse_clip(const HistView& h, const QScheme& scheme) {
  const RangeScorer scorer(h, scheme);
  Best best;
  if (scheme.symmetric) {
    const double a = std::max(std::fabs(static_cast<double>(h.min)), std::fabs(static_cast<double>(h.max)));
    if (a == 0) return {h.min, h.max};
    for (int k = 1; k <= kFineSteps; ++k) {
      const double f = static_cast<double>(k) / kFineSteps;
      best.consider(scorer, -f * a, f * a, f, f);
    }
    return best.range;
  }
  const double A = std::min(static_cast<double>(h.min), 0.0), B = std::max(static_cast<double>(h.max), 0.0);
  if (A == B) return {h.min, h.max};
  for (int k = 1; k <= kFineSteps; ++k) {
    const double f = static_cast<double>(k) / kFineSteps;
    best.consider(scorer, f * A, f * B, f, f);
  }
  if (A < 0 && B > 0) {
    for (int a = 1; a <= kCoarseSteps; ++a)
      for (int b = 1; b <= kCoarseSteps; ++b) {
        const double fl = static_cast<double>(a) / kCoarseSteps, fh = static_cast<double>(b) / kCoarseSteps;
        best.consider(scorer, fl * A, fh * B, fl, fh);
      }
    // One sweep of each end alone around the best pair, on the fine grid.
    const double fl0 = best.f_lo, fh0 = best.f_hi;
    for (int d = -kSweep; d <= kSweep; ++d) {
      const double fl = std::clamp(fl0 + static_cast<double>(d) / kFineSteps, 1.0 / kFineSteps, 1.0);
      best.consider(scorer, fl * A, fh0 * B, fl, fh0);
    }
    const double fl1 = best.f_lo;
    for (int d = -kSweep; d <= kSweep; ++d) {
      const double fh = std::clamp(fh0 + static_cast<double>(d) / kFineSteps, 1.0 / kFineSteps, 1.0);
      best.consider(scorer, fl1 * A, fh * B, fl1, fh);
    }
  }
  return best.range;
}

}  // namespace lowbit::quant::observers
