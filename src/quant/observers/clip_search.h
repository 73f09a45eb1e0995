// clip_search.h: the clipping rules of the histogram observers — each turns one slot's
// histogram (histogram.h) into a range [lo, hi] inside the observed [min, max].
//
//   percentile_clip   percentile.cc  the (100 − p)th and p-th percentiles, interpolated in a bin
//   entropy_clip      entropy.cc     TensorRT's KL-divergence threshold search
//   mse_clip          mse.cc         the range minimizing E[(x − Q(x))²] under the real quantizer
//   aciq_clip         aciq.cc        Banner et al.'s closed-form clipping for a Laplace / Gauss fit
#pragma once

#include <cstdint>
#include <vector>

#include "quant/observers/histogram.h"
#include "quant/qscheme.h"

namespace lowbit::quant::observers {

struct ClipRange {
  float lo = 0, hi = 0;
};

ClipRange percentile_clip(const HistView& h, double percentile);
ClipRange entropy_clip(const HistView& h, const QScheme& scheme);
ClipRange mse_clip(const HistView& h, const QScheme& scheme);
ClipRange aciq_clip(const HistView& h, const QScheme& scheme, bool laplace);

// --- pieces exposed for tests -------------------------------------------------------------

// KL(P‖Q) for every candidate threshold i = levels .. hist.size() (entry i − levels), over a
// histogram of magnitudes anchored at 0 (see entropy.cc for P, Q and the ε rule). Empty if
// hist.size() < levels.
std::vector<double> entropy_divergences(const std::vector<int64_t>& hist, int levels);
// The number of bins i of the candidate with the least divergence (the first on ties);
// hist.size() when there are fewer bins than levels. The threshold is i bin widths.
int64_t entropy_threshold_bins(const std::vector<int64_t>& hist, int levels);
// The ε that stands in for Q on a bin where P has mass (clipped outliers) and Q has none.
inline constexpr double kEntropyEps = 1e-4;

// The optimal clipping constant for `bits` bits, α/b (Laplace) or α/σ (Gaussian), minimizing
// the closed-form expected squared error numerically (aciq.cc).
double aciq_alpha(int bits, bool laplace);

}  // namespace lowbit::quant::observers
