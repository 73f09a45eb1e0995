// histogram_observer.h: the observers built on SlotHistograms — percentile, entropy, mse,
// aciq-laplace, aciq-gauss. They share observe() and merge() (both exact: merging observers of
// two halves of the data gives the histogram of all of it) and differ only in the clipping rule
// that ranges() applies to each slot (clip_search.h).
#pragma once

#include <memory>

#include "quant/observer.h"

namespace lowbit::quant::observers {

// `config.kind` must be a histogram kind; the config is already validated.
std::unique_ptr<Observer> make_histogram_observer(const ObserverConfig& config, const QScheme& scheme);

}  // namespace lowbit::quant::observers
