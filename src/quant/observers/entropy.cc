// entropy.cc: the entropy observer — TensorRT's KL-divergence calibration (Migacz, "8-bit
// Inference with TensorRT", GTC 2017), written from its public description.
//
// Over a histogram h[0..n) of magnitudes anchored at 0 (bin k covers [k·w, (k+1)·w)), each
// candidate threshold i = L .. n (in bins; L = the quantization levels) is scored by
//   P = h[0..i) with the outliers Σ h[i..n) added to P[i−1]        (what clipping at i·w keeps)
//   Q = h[0..i) merged into L equal groups of ⌊i/L⌋ bins (the last takes the remainder), each
//       group's count spread evenly over the bins where P is nonzero       (what L levels keep)
//   KL(P‖Q) = Σ_k p_k log(p_k / q_k)  with p, q the normalized P, Q,
// and the threshold is i·w for the i of least divergence (the upper edge of the last kept bin;
// TensorRT's slides use the centre of the next bin, MXNet the edge). Where P has mass and Q
// none — the last bin holding only outliers, in an empty group — Q gets kEntropyEps counts,
// MXNet's smoothing in effect, so the candidate pays a large but finite price.
// A candidate whose P has a single nonzero bin (data away from 0 with the threshold at or just
// above its smallest magnitude: everything clipped into one bin) compares a spike with a spike
// and would score 0; such candidates are ruled out (KL = +∞), except i = n, which always
// qualifies. KL measures shape only, so data far from 0 (a big empty gap below the smallest
// magnitude) remain a weak spot of the method, as in TensorRT.
//
// Each KL is O(L), not O(i): with prefix sums C (counts), Z (nonzero bins), S (h·log h),
//   Σ P log P = S[i−1] + P[i−1] log P[i−1],  Σ P log Q = Σ_groups (group mass) · log(H_g / nz_g),
//   KL = (Σ P log P − Σ P log Q)/N − log N + log ΣQ,   ΣP = N, ΣQ = N − outliers (+ ε).
//
// Which magnitudes and how many levels:
//   symmetric scheme:       |x| (the signed histogram folded), L = 2^(bits−1), range [−T, T];
//   asymmetric, min ≥ 0:    the positive part, L = 2^bits, range [min, T] (max ≤ 0: mirrored);
//   asymmetric, both signs: the histogram measured from the bin holding min (x − min, shifted
//                           by whole bins, so exactly), L = 2^bits, range [min, min + T]: the
//                           grid starts at min like a ReLU output's starts at 0. Scoring each
//                           side on its own from 0 instead fails on inputs such as normalized
//                           images, whose negative side is one spike at min (the background):
//                           KL compares shapes, so clipping the spike into one outlier bin looks
//                           cheap, and 4-bit grids then map the background to 0.
// Folding maps a negative bin [−(k+1)·w, −k·w) onto magnitude bin k, so a value exactly at
// −k·w counts one bin low: a w-sized blur, below the resolution of the search.
#include <algorithm>
#include <cmath>

#include "quant/observers/clip_search.h"

namespace lowbit::quant::observers {
namespace {

// The slot's positive part (pos), mirrored negative part (neg), or both folded, as a histogram
// anchored at 0 with at most h.bins bins; `exponent` receives its bin width's exponent.
std::vector<int64_t> magnitudes(const HistView& h, bool pos, bool neg, int& exponent) {
  auto index = [&](int j) -> int64_t {  // magnitude bin of slot bin j, or −1 if not wanted
    const int64_t g = h.offset + j;
    if (g >= 0) return pos ? g : -1;
    return neg ? -g - 1 : -1;
  };
  int64_t imax = -1;
  for (int j = 0; j < h.bins; ++j)
    if (h.counts[j] != 0) imax = std::max(imax, index(j));
  // Combine 2^m bins at a time until the magnitudes fit in h.bins bins (exact: anchored at 0).
  int m = 0;
  while (imax >= 0 && (imax >> m) + 1 > h.bins) ++m;
  exponent = h.exponent + m;
  std::vector<int64_t> out(imax >= 0 ? static_cast<size_t>((imax >> m) + 1) : 0, 0);
  for (int j = 0; j < h.bins; ++j) {
    const int64_t i = h.counts[j] != 0 ? index(j) : -1;
    if (i >= 0) out[static_cast<size_t>(i >> m)] += h.counts[j];
  }
  return out;
}

// The first bin's count replaced by the second's: a ReLU output's zeros (or an image's
// background at its minimum) pile up in bin 0, and that spike dominates P so much that KL
// then prefers tiny thresholds (it clipped MobileNet's ReLU6 outputs below their 90th
// percentile); NVIDIA's TensorRT calibration tools flatten it the same way.
std::vector<int64_t> without_spike_at_zero(std::vector<int64_t> h) {
  if (h.size() > 1) h[0] = h[1];
  return h;
}

// The KL threshold of the data above its minimum, as an absolute upper edge: the histogram is
// re-indexed from the bin holding min (whole bins, so exact) and scored like a one-signed side.
double above_min_edge(const HistView& h, int levels) {
  int first = 0;
  while (first < h.bins && h.counts[first] == 0) ++first;
  std::vector<int64_t> rel(h.counts + first, h.counts + h.bins);
  while (!rel.empty() && rel.back() == 0) rel.pop_back();
  if (rel.empty()) return h.max;
  return h.bin_lo(first) +
         std::ldexp(static_cast<double>(entropy_threshold_bins(without_spike_at_zero(std::move(rel)), levels)), h.exponent);
}

// The KL threshold of one side, as a magnitude.
double side_threshold(const HistView& h, bool pos, bool neg, int levels) {
  int e = 0;
  const std::vector<int64_t> mag = without_spike_at_zero(magnitudes(h, pos, neg, e));
  return std::ldexp(static_cast<double>(entropy_threshold_bins(mag, levels)), e);
}

}  // namespace

std::vector<double> entropy_divergences(const std::vector<int64_t>& hist, int levels) {
  const int64_t n = static_cast<int64_t>(hist.size()), L = levels;
  if (L < 1 || n < L) return {};
  std::vector<double> C(static_cast<size_t>(n + 1), 0.0), Z(C), S(C);
  for (int64_t k = 0; k < n; ++k) {
    const double c = static_cast<double>(hist[static_cast<size_t>(k)]);
    const size_t u = static_cast<size_t>(k);
    C[u + 1] = C[u] + c;
    Z[u + 1] = Z[u] + (c > 0 ? 1.0 : 0.0);
    S[u + 1] = S[u] + (c > 0 ? c * std::log(c) : 0.0);
  }
  const double total = C[static_cast<size_t>(n)];
  std::vector<double> kl;
  if (total <= 0) return std::vector<double>(static_cast<size_t>(n - L + 1), 0.0);
  kl.reserve(static_cast<size_t>(n - L + 1));
  for (int64_t i = L; i <= n; ++i) {
    const size_t ui = static_cast<size_t>(i);
    const double out = total - C[ui];
    const double kept_bins = Z[ui] + (hist[ui - 1] == 0 && out > 0 ? 1 : 0);
    if (kept_bins <= 1 && i < n) {
      kl.push_back(INFINITY);
      continue;
    }
    const double last = static_cast<double>(hist[ui - 1]) + out;
    const double plogp = S[ui - 1] + (last > 0 ? last * std::log(last) : 0.0);
    const int64_t m = i / L;
    double plogq = 0, sum_q = total - out;
    for (int64_t j = 0; j < L; ++j) {
      const size_t a = static_cast<size_t>(j * m), b = j == L - 1 ? ui : static_cast<size_t>((j + 1) * m);
      const double H = C[b] - C[a];
      double nz = Z[b] - Z[a], mass = H;
      if (j == L - 1) {
        mass += out;
        if (hist[ui - 1] == 0 && out > 0) nz += 1;
      }
      if (mass == 0) continue;
      if (H == 0) {  // only clipped outliers, in bin i − 1: Q there is ε
        plogq += mass * std::log(kEntropyEps);
        sum_q += kEntropyEps;
      } else {
        plogq += mass * std::log(H / nz);
      }
    }
    kl.push_back((plogp - plogq) / total - std::log(total) + std::log(sum_q));
  }
  return kl;
}

int64_t entropy_threshold_bins(const std::vector<int64_t>& hist, int levels) {
  const std::vector<double> kl = entropy_divergences(hist, levels);
  if (kl.empty()) return static_cast<int64_t>(hist.size());
  const auto best = std::min_element(kl.begin(), kl.end());  // the first of equal minima
  return levels + static_cast<int64_t>(best - kl.begin());
}

ClipRange entropy_clip(const HistView& h, const QScheme& scheme) {
  const int bits = scheme.bits;
  double lo = h.min, hi = h.max;
  if (scheme.symmetric) {
    const double t = side_threshold(h, true, true, 1 << (bits - 1));
    lo = -t;
    hi = t;
  } else if (h.min >= 0) {
    hi = side_threshold(h, true, false, 1 << bits);
  } else if (h.max <= 0) {
    lo = -side_threshold(h, false, true, 1 << bits);
  } else {
    hi = above_min_edge(h, 1 << bits);
  }
  ClipRange r;
  r.lo = static_cast<float>(std::clamp(lo, static_cast<double>(h.min), static_cast<double>(h.max)));
  r.hi = static_cast<float>(std::clamp(hi, static_cast<double>(h.min), static_cast<double>(h.max)));
  return r;
}

}  // namespace lowbit::quant::observers
