// histogram.cc: SlotHistograms — canonical regridding, the binning pass, exact merge.
#include "quant/observers/histogram.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace lowbit::quant::observers {
namespace {

// floor(v · 2^−e) in double, exact: the reference the float binning path agrees with.
inline int64_t global_bin(double v, int e) { return static_cast<int64_t>(std::floor(std::ldexp(v, -e))); }

// floor(x · 2^−e) − off for one element, in float and int32 — exact (histogram.h): the
// product is exact unless it is subnormal, where only its sign matters (floor 0 or −1) and
// a product that rounded to −0 is caught by x < 0.
inline int32_t bin_index(float x, float inv_w, int32_t off) {
  const float a = x * inv_w;
  int32_t g = static_cast<int32_t>(a);  // toward zero
  g -= static_cast<float>(g) > a || (a == 0.0f && x < 0.0f) ? 1 : 0;
  return g - off;
}

// The binning pass over one run: one multiply and one conversion per element (four at a time
// with SSE2), then the increments. Runs of equal values (the zeros after a ReLU) make each
// increment wait for the previous store to the same bin, so long runs alternate between h and
// `h2` (zeroed, bins entries), folded into h at the end.
void bin_run(const float* x, int64_t n, int e, int64_t off, int bins, int64_t* h, int64_t* h2) {
  const float inv_w = std::ldexp(1.0f, -e);
  const int32_t off32 = static_cast<int32_t>(off);
  const uint32_t nb = static_cast<uint32_t>(bins);
  constexpr int64_t kBlock = 256;
  alignas(16) int32_t idx[kBlock];
  const bool split = n >= 4 * static_cast<int64_t>(bins);  // the fold is worth it
  for (int64_t b0 = 0; b0 < n; b0 += kBlock) {
    const int64_t m = std::min(kBlock, n - b0);
    const float* xb = x + b0;
    int64_t i = 0;
#if defined(__SSE2__)
    const __m128 inv = _mm_set1_ps(inv_w), zero = _mm_setzero_ps();
    const __m128i offv = _mm_set1_epi32(off32);
    for (; i + 4 <= m; i += 4) {
      const __m128 v = _mm_loadu_ps(xb + i);
      const __m128 a = _mm_mul_ps(v, inv);
      const __m128i t = _mm_cvttps_epi32(a);
      // −1 (all ones) where the truncation rounded up, or where a negative x gave a = −0.
      const __m128 down = _mm_or_ps(_mm_cmpgt_ps(_mm_cvtepi32_ps(t), a),
                                    _mm_and_ps(_mm_cmpeq_ps(a, zero), _mm_cmplt_ps(v, zero)));
      const __m128i g = _mm_add_epi32(t, _mm_castps_si128(down));
      _mm_store_si128(reinterpret_cast<__m128i*>(idx + i), _mm_sub_epi32(g, offv));
    }
#endif
    for (; i < m; ++i) idx[i] = bin_index(xb[i], inv_w, off32);
    int64_t k = 0;
    if (split) {
      for (; k + 2 <= m; k += 2) {
        const uint32_t j0 = static_cast<uint32_t>(idx[k]), j1 = static_cast<uint32_t>(idx[k + 1]);
        LB_CHECK(j0 < nb && j1 < nb, "histogram: value outside the slot's bins");
        ++h[j0];
        ++h2[j1];
      }
    }
    for (; k < m; ++k) {
      const uint32_t j = static_cast<uint32_t>(idx[k]);
      LB_CHECK(j < nb, "histogram: value outside the slot's bins");  // the grid was widened to the batch range
      ++h[j];
    }
  }
  if (split) {
    for (int j = 0; j < bins; ++j) h[j] += h2[j];
    std::fill(h2, h2 + bins, 0);
  }
}

}  // namespace

int fit_exponent(double lo, double hi, int bins) {
  LB_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi && bins >= 2, "fit_exponent: bad range");
  const double amax = std::max(std::fabs(lo), std::fabs(hi));
  // amax < 2^(ilogb(amax) + 1), so amax / w < 2^30 once e ≥ ilogb(amax) + 1 − 30.
  int e = kMinExponent;
  if (amax > 0) e = std::max(e, std::ilogb(amax) + 1 - kMaxBinBits);
  // A fitting w has (hi − lo)/w < bins, so e > log2((hi − lo)/bins) ≥ ilogb((hi − lo)/bins):
  // starting there, the first e that fits is the smallest.
  const double d = hi - lo;
  if (d > 0) e = std::max(e, std::ilogb(d / bins));
  while (global_bin(hi, e) - global_bin(lo, e) + 1 > bins) ++e;
  return e;
}

Status SlotHistograms::reset(int64_t slots) {
  const int64_t per_slot = static_cast<int64_t>(bins_) * static_cast<int64_t>(sizeof(int64_t));
  if (slots < 0 || slots > kMaxHistogramBytes / per_slot)
    return Status::errorf("histogram: {} slots × {} bins would need {:.0f} MiB (limit {} MiB); use fewer bins or "
                          "a coarser granularity",
                          slots, bins_, static_cast<double>(slots) * static_cast<double>(per_slot) / (1 << 20),
                          kMaxHistogramBytes >> 20);
  const size_t n = static_cast<size_t>(slots);
  slots_ = slots;
  counts_.assign(n * static_cast<size_t>(bins_), 0);
  exponent_.assign(n, 0);
  offset_.assign(n, 0);
  min_.assign(n, 0.0f);
  max_.assign(n, 0.0f);
  count_.assign(n, 0);
  sum_.assign(n, 0.0);
  sumsq_.assign(n, 0.0);
  scratch_.assign(static_cast<size_t>(bins_), 0);
  return Status::ok();
}

void SlotHistograms::widen(int64_t s, float lo, float hi) {
  const size_t k = static_cast<size_t>(s);
  int64_t* h = counts_.data() + k * static_cast<size_t>(bins_);
  if (count_[k] == 0) {
    exponent_[k] = fit_exponent(lo, hi, bins_);
    offset_[k] = global_bin(lo, exponent_[k]);
    min_[k] = lo;
    max_[k] = hi;
    return;
  }
  const float nlo = std::min(min_[k], lo), nhi = std::max(max_[k], hi);
  if (nlo == min_[k] && nhi == max_[k]) return;
  min_[k] = nlo;
  max_[k] = nhi;
  const int e = exponent_[k], ne = fit_exponent(nlo, nhi, bins_);
  const int64_t off = offset_[k], noff = global_bin(nlo, ne);
  if (ne == e && noff == off) return;
  LB_CHECK(ne >= e, "histogram: a wider range gave a finer grid");
  // Bins combine 2^(ne − e) at a time; the offset moves to the new minimum's bin.
  const int shift = ne - e;
  for (int j = 0; j < bins_; ++j) {  // scratch_ is zero here
    if (h[j] == 0) continue;
    const uint64_t nj = static_cast<uint64_t>(((off + j) >> shift) - noff);
    LB_CHECK(nj < static_cast<uint64_t>(bins_), "histogram: regrid left the bins");
    scratch_[nj] += h[j];
  }
  std::copy(scratch_.begin(), scratch_.end(), h);
  std::fill(scratch_.begin(), scratch_.end(), 0);
  exponent_[k] = ne;
  offset_[k] = noff;
}

void SlotHistograms::add(const float* x, const kernels::SlotLayout& layout, const BatchStats& stats) {
  LB_CHECK(layout.num_slots() == slots_ && stats.sum.size() == static_cast<size_t>(slots_),
           "histogram: batch does not match the slots");
  for (int64_t s = 0; s < slots_; ++s) {
    const size_t k = static_cast<size_t>(s);
    widen(s, stats.min[k], stats.max[k]);
    count_[k] += stats.count[k];
    sum_[k] += stats.sum[k];
    sumsq_[k] += stats.sumsq[k];
  }
  for_each_run(layout, [&](int64_t s, int64_t begin, int64_t len) {
    const size_t k = static_cast<size_t>(s);
    bin_run(x + begin, len, exponent_[k], offset_[k], bins_, counts_.data() + k * static_cast<size_t>(bins_),
            scratch_.data());
  });
}

void SlotHistograms::merge(const SlotHistograms& other) {
  LB_CHECK(other.bins_ == bins_ && other.slots_ == slots_, "histogram: merge of different shapes");
  for (int64_t s = 0; s < slots_; ++s) {
    const size_t k = static_cast<size_t>(s);
    if (other.count_[k] == 0) continue;
    widen(s, other.min_[k], other.max_[k]);
    count_[k] += other.count_[k];
    sum_[k] += other.sum_[k];
    sumsq_[k] += other.sumsq_[k];
    const int shift = exponent_[k] - other.exponent_[k];
    LB_CHECK(shift >= 0, "histogram: merged range has a finer grid than a part");
    const int64_t* oh = other.counts_.data() + k * static_cast<size_t>(bins_);
    int64_t* h = counts_.data() + k * static_cast<size_t>(bins_);
    for (int j = 0; j < bins_; ++j) {
      if (oh[j] == 0) continue;
      const uint64_t nj = static_cast<uint64_t>(((other.offset_[k] + j) >> shift) - offset_[k]);
      LB_CHECK(nj < static_cast<uint64_t>(bins_), "histogram: merge left the bins");
      h[nj] += oh[j];
    }
  }
}

HistView SlotHistograms::view(int64_t slot) const {
  LB_CHECK(slot >= 0 && slot < slots_, "histogram: slot out of range");
  const size_t k = static_cast<size_t>(slot);
  HistView v;
  v.counts = counts_.data() + k * static_cast<size_t>(bins_);
  v.bins = bins_;
  v.exponent = exponent_[k];
  v.offset = offset_[k];
  v.min = min_[k];
  v.max = max_[k];
  v.count = count_[k];
  v.sum = sum_[k];
  v.sumsq = sumsq_[k];
  return v;
}

size_t SlotHistograms::state_bytes() const {
  return sizeof(*this) + counts_.capacity() * sizeof(int64_t) + exponent_.capacity() * sizeof(int) +
         offset_.capacity() * sizeof(int64_t) + (min_.capacity() + max_.capacity()) * sizeof(float) +
         count_.capacity() * sizeof(int64_t) + (sum_.capacity() + sumsq_.capacity()) * sizeof(double) +
         scratch_.capacity() * sizeof(int64_t);
}

}  // namespace lowbit::quant::observers
