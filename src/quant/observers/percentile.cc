// percentile.cc: the percentile observer's clipping — lo at the (100 − p)th and hi at the p-th
// percentile of the slot's histogram.
//
// The q-quantile is the value v with a fraction q of the mass below it: walking the bins, the
// first bin j whose cumulative count reaches t = q·N holds it, and inside the bin the mass is
// taken as uniform, v = lo_j + (t − before_j)/count_j · w. The result is clipped to the exact
// [min, max], so p = 100 gives the plain min / max.
#include <algorithm>

#include "quant/observers/clip_search.h"

namespace lowbit::quant::observers {
namespace {

double quantile(const HistView& h, double q) {
  const double t = q * static_cast<double>(h.count);
  if (t <= 0) return h.min;
  double before = 0;
  for (int j = 0; j < h.bins; ++j) {
    const double c = static_cast<double>(h.counts[j]);
    if (c == 0) continue;
    if (before + c >= t) return h.bin_lo(j) + std::clamp((t - before) / c, 0.0, 1.0) * h.width();
    before += c;
  }
  return h.max;
}

}  // namespace

ClipRange percentile_clip(const HistView& h, double percentile) {
  const double lo = quantile(h, (100.0 - percentile) / 100.0);
  const double hi = quantile(h, percentile / 100.0);
  ClipRange r;
  r.lo = static_cast<float>(std::clamp(lo, static_cast<double>(h.min), static_cast<double>(h.max)));
  r.hi = static_cast<float>(std::clamp(hi, static_cast<double>(h.min), static_cast<double>(h.max)));
  return r;
}

}  // namespace lowbit::quant::observers
