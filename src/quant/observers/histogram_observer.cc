// histogram_observer.cc: HistogramObserver — one SlotHistograms, and the clipping rule of its kind.
#include "quant/observers/histogram_observer.h"

#include <algorithm>

#include "core/check.h"
#include "quant/observers/clip_search.h"
#include "quant/observers/histogram.h"
#include "quant/observers/slot_stats.h"

namespace lowbit::quant::observers {
namespace {

// Bins for the observer's histogram. The entropy search needs many bins per quantization
// level — TensorRT's geometry is 2048 bins for 128 levels, 16 per level — or its candidate
// Q equals P bin for bin near the smallest thresholds and the rounding error it should weigh
// against clipping is invisible (an 8-bit unsigned grid over a 2048-bin histogram picks the
// first candidate, clipping ReLU6 outputs at a third of their range). Power-of-two bin
// widths use between half and all of the bins, so entropy gets at least 32 per level.
int histogram_bins(const ObserverConfig& config, const QScheme& scheme) {
  if (config.kind != ObserverKind::kEntropy) return config.bins;
  const int64_t levels = int64_t{1} << std::min(scheme.bits, 16);
  return static_cast<int>(std::clamp<int64_t>(32 * levels, config.bins, 65536));
}

class HistogramObserver final : public Observer {
 public:
  HistogramObserver(const ObserverConfig& config, const QScheme& scheme)
      : Observer(config, scheme), hist_(histogram_bins(config, scheme)) {}

  Status observe(const Tensor& x) override {
    const std::string_view who = observer_name(config().kind);
    LB_ASSIGN_OR_RETURN(const kernels::SlotLayout layout, observed_layout(who, x, scheme(), hist_.slots()));
    BatchStats b;
    LB_TRY(batch_stats(who, x.data<float>(), layout, true, b));
    if (hist_.slots() == 0) LB_TRY(hist_.reset(layout.num_slots()).with_context(std::string(who) + " observer"));
    hist_.add(x.data<float>(), layout, b);
    ++batches_;
    return Status::ok();
  }

  Status merge(const Observer& other) override {
    LB_TRY(check_mergeable(*this, other));
    const auto* o = dynamic_cast<const HistogramObserver*>(&other);
    LB_CHECK(o != nullptr, "histogram observer: same kind, different class");
    if (o == this) {  // merging with itself: read from a copy
      const SlotHistograms copy = hist_;
      hist_.merge(copy);
    } else if (o->hist_.slots() != 0) {
      if (hist_.slots() == 0)
        hist_ = o->hist_;
      else
        hist_.merge(o->hist_);
    }
    batches_ += o->batches_;
    return Status::ok();
  }

  Status ranges(std::vector<float>& lo, std::vector<float>& hi) const override {
    if (hist_.slots() == 0) return Status::errorf("{} observer: nothing observed", observer_name(config().kind));
    const size_t n = static_cast<size_t>(hist_.slots());
    lo.resize(n);
    hi.resize(n);
    for (size_t k = 0; k < n; ++k) {
      const HistView h = hist_.view(static_cast<int64_t>(k));
      ClipRange r;
      switch (config().kind) {
        case ObserverKind::kPercentile: r = percentile_clip(h, config().percentile); break;
        case ObserverKind::kEntropy: r = entropy_clip(h, scheme()); break;
        case ObserverKind::kMse: r = mse_clip(h, scheme()); break;
        case ObserverKind::kAciqLaplace: r = aciq_clip(h, scheme(), true); break;
        case ObserverKind::kAciqGauss: r = aciq_clip(h, scheme(), false); break;
        default: LB_CHECK(false, "histogram observer: not a histogram kind");
      }
      lo[k] = r.lo;
      hi[k] = r.hi;
    }
    return Status::ok();
  }

  int64_t batches() const override { return batches_; }
  int64_t slots() const override { return hist_.slots(); }
  size_t state_bytes() const override { return sizeof(*this) - sizeof(hist_) + hist_.state_bytes(); }

 private:
  SlotHistograms hist_;
  int64_t batches_ = 0;
};

}  // namespace

std::unique_ptr<Observer> make_histogram_observer(const ObserverConfig& config, const QScheme& scheme) {
  LB_CHECK(config.kind != ObserverKind::kMinMax && config.kind != ObserverKind::kMovingAverage,
           "make_histogram_observer: not a histogram kind");
  return std::make_unique<HistogramObserver>(config, scheme);
}

}  // namespace lowbit::quant::observers
