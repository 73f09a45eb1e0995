// minmax.h: the minmax and moving-average observers (per-slot ranges, no histogram).
//
// minmax: lo / hi are the running min / max; merge takes the min of mins and max of maxes,
//   which is exact (the same as one observer over all the data).
// moving-average: per slot, avg ← momentum·avg + (1 − momentum)·batch for the batch min and
//   max, the first batch initializing avg. Merge averages the two observers' averages weighted
//   by their batch counts: approximate (an EMA depends on the order of batches, which a merge
//   no longer knows), but exact when all batches agree and symmetric in the two sides.
#pragma once

#include <memory>

#include "quant/observer.h"

namespace lowbit::quant::observers {

// `config.kind` must be kMinMax or kMovingAverage; the config is already validated.
std::unique_ptr<Observer> make_minmax_observer(const ObserverConfig& config, const QScheme& scheme);

}  // namespace lowbit::quant::observers
