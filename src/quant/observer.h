// observer.h: calibration observers — they accumulate statistics of a tensor batch by batch
// and turn them into QParams for a QScheme.
//
// Streaming: observe() folds one batch into fixed-size statistics (per-slot min/max or
// histograms), so memory does not grow with the number of batches. Observers of the same
// config merge, so shards calibrated separately combine into one result.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "quant/qscheme.h"

namespace lowbit::quant {

enum class ObserverKind : uint8_t {
  kMinMax,         // running min and max
  kMovingAverage,  // exponential moving average of per-batch min and max
  kPercentile,     // the `percentile` and 100 − `percentile` points of a histogram
  kEntropy,        // TensorRT's KL-divergence threshold search over a histogram
  kMse,            // clipping range minimizing E[(x − Q(x))²] over a histogram
  kAciqLaplace,    // ACIQ closed-form clipping for a Laplace fit
  kAciqGauss,      // ACIQ closed-form clipping for a Gaussian fit
};

struct ObserverConfig {
  ObserverKind kind = ObserverKind::kMinMax;
  double percentile = 99.99;  // kPercentile, in (50, 100]
  double momentum = 0.9;      // kMovingAverage: avg ← momentum·avg + (1 − momentum)·batch
  int bins = 2048;            // histogram observers
  bool operator==(const ObserverConfig&) const = default;
};

// "minmax", "moving-average", "percentile", "entropy", "mse", "aciq-laplace", "aciq-gauss".
std::string_view observer_name(ObserverKind kind);
// The kind named `name`, or an error listing the allowed names.
Result<ObserverKind> parse_observer_kind(std::string_view name);

class Observer {
 public:
  virtual ~Observer() = default;
  const ObserverConfig& config() const { return config_; }
  const QScheme& scheme() const { return scheme_; }

  // Folds one tensor into the statistics. The first call fixes the slot layout; later calls
  // must have the same number of slots (shapes may differ along non-channel dims, e.g. the
  // batch). Non-finite values are an error naming the count.
  virtual Status observe(const Tensor& x) = 0;
  // Adds another observer's statistics (same kind, config and slot count, else an error).
  virtual Status merge(const Observer& other) = 0;
  // The clipping range chosen per slot; an error if nothing was observed.
  virtual Status ranges(std::vector<float>& lo, std::vector<float>& hi) const = 0;
  // qparams_from_range(scheme, ranges()).
  Result<QParams> qparams() const;
  // Number of observe() calls folded in (merged observers add up).
  virtual int64_t batches() const = 0;
  // Number of slots, fixed by the first observe() (0 before it).
  virtual int64_t slots() const = 0;
  // Bytes of statistics held. Fixed once the slot count is known: streaming never grows it.
  virtual size_t state_bytes() const = 0;

 protected:
  Observer(ObserverConfig config, QScheme scheme) : config_(config), scheme_(scheme) {}

 private:
  ObserverConfig config_;
  QScheme scheme_;
};

// A new observer; an error naming the field if the config is invalid.
Result<std::unique_ptr<Observer>> make_observer(const ObserverConfig& config, const QScheme& scheme);

}  // namespace lowbit::quant
