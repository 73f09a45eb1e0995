// histogram.h: the streaming per-slot histogram behind every histogram observer (percentile,
// entropy, mse, aciq), plus exact running min / max / count / sum / sum of squares per slot.
//
// Each slot's histogram has `bins` bins of width w = 2^e anchored at 0: global bin g covers
// [g·w, (g+1)·w), and the slot stores bins off .. off + bins − 1. The state is canonical — a
// function of the data's range only, not of the order batches came in:
//   e   = the smallest exponent ≥ e_floor with floor(max/w) − floor(min/w) + 1 ≤ bins,
//         e_floor = max(−126, ⌊log2 max|x|⌋ + 1 − 30), which keeps |x|/w < 2^30 (so bin
//         numbers fit int32, and 2^30 / 2^16 bins still resolves 2^−14 of the magnitude);
//   off = floor(min / w).
// "Fits" only gets easier as w doubles, so a wider range never needs a smaller e. When a batch
// widens the range, e grows by k and bins combine 2^k at a time (g → g >> k): bins only ever
// merge, never split, so growth and merge() are exact, and memory is fixed at bins per slot.
//
// Binning is exact too, in float: 2^−e is a float (e ∈ [−126, 149]), a = x · 2^−e is exact
// unless it is subnormal (then |a| < 1 and only its sign matters), and g = floor(a) fits int32.
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "core/status.h"
#include "kernels/quant/quantize.h"
#include "quant/observers/slot_stats.h"

namespace lowbit::quant::observers {

inline constexpr int kMinExponent = -126;  // 2^126 is still a float
inline constexpr int kMaxBinBits = 30;     // |x| / w < 2^30
// slots × bins × 8 bytes above this is refused (per-block histograms of big weights).
inline constexpr int64_t kMaxHistogramBytes = int64_t{1} << 30;

// One slot's histogram, read-only, as the clipping searches see it.
struct HistView {
  const int64_t* counts = nullptr;  // `bins` entries; entry j is global bin offset + j
  int bins = 0;
  int exponent = 0;  // w = 2^exponent
  int64_t offset = 0;
  float min = 0, max = 0;  // exact, over everything observed
  int64_t count = 0;
  double sum = 0, sumsq = 0;

  double width() const { return std::ldexp(1.0, exponent); }
  double bin_lo(int64_t j) const { return std::ldexp(static_cast<double>(offset + j), exponent); }
  double bin_centre(int64_t j) const { return std::ldexp(static_cast<double>(offset + j) + 0.5, exponent); }
};

// The canonical exponent for data in [lo, hi] (finite, lo ≤ hi) with `bins` bins.
int fit_exponent(double lo, double hi, int bins);

class SlotHistograms {
 public:
  explicit SlotHistograms(int bins) : bins_(bins) {}

  // Allocates `slots` empty histograms; an error if they would pass kMaxHistogramBytes.
  Status reset(int64_t slots);
  int64_t slots() const { return slots_; }
  int bins() const { return bins_; }

  // Folds a batch in: `x` laid out by `layout` (its slot count equals slots()), with `stats`
  // from batch_stats(..., with_sums = true) over the same data.
  void add(const float* x, const kernels::SlotLayout& layout, const BatchStats& stats);
  // Adds `other` (same bins and slots) as if its data had been added here.
  void merge(const SlotHistograms& other);

  HistView view(int64_t slot) const;
  size_t state_bytes() const;

 private:
  // Regrids slot s to the canonical (exponent, offset) of its range widened to [lo, hi].
  void widen(int64_t s, float lo, float hi);

  int bins_;
  int64_t slots_ = 0;
  std::vector<int64_t> counts_;  // slots × bins
  std::vector<int> exponent_;
  std::vector<int64_t> offset_;
  std::vector<float> min_, max_;
  std::vector<int64_t> count_;
  std::vector<double> sum_, sumsq_;
  std::vector<int64_t> scratch_;  // bins entries, zero between calls: widen() and the binning pass use it
};

}  // namespace lowbit::quant::observers
