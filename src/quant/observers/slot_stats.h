// slot_stats.h: what every observer shares — walking a tensor slot by slot, and one pass of
// per-slot min / max (and optionally count, sum, sum of squares) over a batch.
//
// The pass is the only place observers read every element for min / max; a histogram adds a
// second, binning pass (histogram.h). Both walk maximal runs of consecutive elements that
// share one slot, so the element loops carry no index arithmetic.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "kernels/quant/quantize.h"
#include "quant/observer.h"
#include "quant/qscheme.h"

namespace lowbit::quant::observers {

// Calls fn(slot, begin, length) for maximal runs [begin, begin + length) of flat indices that
// belong to one slot of `l`, in memory order. Every element is in exactly one run.
template <typename F>
void for_each_run(const kernels::SlotLayout& l, F&& fn) {
  const int64_t n = l.numel();
  if (n == 0) return;
  if (l.block == 0) {
    if (l.num_slots() == 1) {
      fn(int64_t{0}, int64_t{0}, n);
      return;
    }
    // Channels of one group are contiguous inside an outer row: one run per (row, group).
    for (int64_t o = 0; o < l.outer; ++o) {
      for (int64_t c = 0; c < l.channels; c += l.group) {
        const int64_t ce = std::min(l.channels, c + l.group);
        fn(c / l.group, (o * l.channels + c) * l.inner, (ce - c) * l.inner);
      }
    }
    return;
  }
  // Per-block: inside channel c the element (o, i) is at position p = o·inner + i, and runs
  // break where p crosses a multiple of `block` (or the row ends).
  const int64_t nb = l.num_blocks();
  for (int64_t o = 0; o < l.outer; ++o) {
    for (int64_t c = 0; c < l.channels; ++c) {
      const int64_t base = (o * l.channels + c) * l.inner;
      int64_t i = 0;
      while (i < l.inner) {
        const int64_t p = o * l.inner + i;
        const int64_t len = std::min(l.inner - i, l.block - p % l.block);
        fn(c * nb + p / l.block, base + i, len);
        i += len;
      }
    }
  }
}

// Per-slot statistics of one batch (every slot of a non-empty tensor gets at least one element).
struct BatchStats {
  std::vector<float> min, max;
  std::vector<int64_t> count;
  std::vector<double> sum, sumsq;  // filled only when asked for
};

// The slot layout of `x` under `scheme`, checking what observe() requires: f32, non-empty, and
// `expected_slots` slots unless it is 0 (the first batch). `who` prefixes errors.
Result<kernels::SlotLayout> observed_layout(std::string_view who, const Tensor& x, const QScheme& scheme,
                                            int64_t expected_slots);

// Fills `out` for the batch x (laid out by `layout`); sums only if `with_sums`. An error naming
// the number of non-finite elements if there are any (then `out` is unspecified).
Status batch_stats(std::string_view who, const float* x, const kernels::SlotLayout& layout, bool with_sums,
                   BatchStats& out);

// Ok if `b` can merge into `a`: same config (so the same kind), same scheme, and the same slot
// count unless one of them has observed nothing.
Status check_mergeable(const Observer& a, const Observer& b);

}  // namespace lowbit::quant::observers
