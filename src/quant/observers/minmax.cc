// minmax.cc: MinMaxObserver — running min / max, or their exponential moving average.
#include "quant/observers/minmax.h"

#include <algorithm>

#include "core/check.h"
#include "quant/observers/slot_stats.h"

namespace lowbit::quant::observers {
namespace {

class MinMaxObserver final : public Observer {
 public:
  MinMaxObserver(const ObserverConfig& config, const QScheme& scheme)
      : Observer(config, scheme), moving_(config.kind == ObserverKind::kMovingAverage) {}

  Status observe(const Tensor& x) override {
    const std::string_view who = observer_name(config().kind);
    LB_ASSIGN_OR_RETURN(const kernels::SlotLayout layout, observed_layout(who, x, scheme(), slots_));
    BatchStats b;
    LB_TRY(batch_stats(who, x.data<float>(), layout, false, b));
    if (slots_ == 0) {
      slots_ = layout.num_slots();
      lo_.assign(b.min.begin(), b.min.end());
      hi_.assign(b.max.begin(), b.max.end());
    } else if (moving_) {
      const double m = config().momentum;
      for (size_t k = 0; k < lo_.size(); ++k) {
        lo_[k] = m * lo_[k] + (1.0 - m) * b.min[k];
        hi_[k] = m * hi_[k] + (1.0 - m) * b.max[k];
      }
    } else {
      for (size_t k = 0; k < lo_.size(); ++k) {
        lo_[k] = std::min(lo_[k], static_cast<double>(b.min[k]));
        hi_[k] = std::max(hi_[k], static_cast<double>(b.max[k]));
      }
    }
    ++batches_;
    return Status::ok();
  }

  Status merge(const Observer& other) override {
    LB_TRY(check_mergeable(*this, other));
    const auto* o = dynamic_cast<const MinMaxObserver*>(&other);
    LB_CHECK(o != nullptr, "minmax observer: same kind, different class");
    if (o->slots_ == 0) {
      batches_ += o->batches_;
      return Status::ok();
    }
    if (slots_ == 0) {
      slots_ = o->slots_;
      lo_ = o->lo_;
      hi_ = o->hi_;
    } else if (moving_) {
      const double wa = static_cast<double>(batches_), wb = static_cast<double>(o->batches_);
      for (size_t k = 0; k < lo_.size(); ++k) {
        lo_[k] = (wa * lo_[k] + wb * o->lo_[k]) / (wa + wb);
        hi_[k] = (wa * hi_[k] + wb * o->hi_[k]) / (wa + wb);
      }
    } else {
      for (size_t k = 0; k < lo_.size(); ++k) {
        lo_[k] = std::min(lo_[k], o->lo_[k]);
        hi_[k] = std::max(hi_[k], o->hi_[k]);
      }
    }
    batches_ += o->batches_;
    return Status::ok();
  }

  Status ranges(std::vector<float>& lo, std::vector<float>& hi) const override {
    if (slots_ == 0) return Status::errorf("{} observer: nothing observed", observer_name(config().kind));
    lo.resize(lo_.size());
    hi.resize(hi_.size());
    // Averages of floats lie between floats' extremes, so the casts stay finite.
    for (size_t k = 0; k < lo_.size(); ++k) {
      lo[k] = static_cast<float>(lo_[k]);
      hi[k] = static_cast<float>(hi_[k]);
    }
    return Status::ok();
  }

  int64_t batches() const override { return batches_; }
  int64_t slots() const override { return slots_; }
  size_t state_bytes() const override { return sizeof(*this) + (lo_.capacity() + hi_.capacity()) * sizeof(double); }

 private:
  bool moving_;
  int64_t slots_ = 0;
  int64_t batches_ = 0;
  std::vector<double> lo_, hi_;  // per slot: min / max, or their moving averages
};

}  // namespace

std::unique_ptr<Observer> make_minmax_observer(const ObserverConfig& config, const QScheme& scheme) {
  LB_CHECK(config.kind == ObserverKind::kMinMax || config.kind == ObserverKind::kMovingAverage,
           "make_minmax_observer: wrong kind");
  return std::make_unique<MinMaxObserver>(config, scheme);
}

}  // namespace lowbit::quant::observers
