// int_steps.cc: the small integer steps — rescale, view, residual Add, Concat, MaxPool,
// AveragePool / GlobalAveragePool. Each is a thin loop over kernels/int8 with the batch
// taken from its input at run time.
#include <cstring>
#include <functional>
#include <vector>

#include <fmt/format.h>

#include "kernels/int8/nhwc8.h"
#include "kernels/int8/qpool8.h"
#include "kernels/int8/quantize8.h"
#include "runtime/steps.h"

namespace lowbit::runtime {
namespace {

const Tensor& in_slot(const Frame& f, const Step& s, size_t i) { return f.slots[static_cast<size_t>(s.inputs[i])]; }
Tensor& out_slot(Frame& f, const Step& s) { return f.slots[static_cast<size_t>(s.outputs[0])]; }

// Runs fn(i0, i1) over [0, n) in chunks of at least `grain`, split over the pool when there
// are threads and at least two chunks' worth of work.
void split(ThreadPool* pool, int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (pool && pool->num_threads() > 1 && n >= 2 * grain) pool->parallel_for(n, grain, fn);
  else fn(0, n);
}

// Elementwise loops go in chunks of 16384 elements; image loops one image at a time.
constexpr int64_t kElementGrain = 16384;


class RescaleStep final : public Step {
 public:
  RescaleStep(int32_t x_zero, DyadicMultiplier m, IntOutput out) : x_zero_(x_zero), m_(m), out_(out) {}
  std::string describe() const override { return fmt::format("rescale [{}, {}]", out_.lo, out_.hi); }
  Status run(Frame& f) const override {
    const Tensor& x = in_slot(f, *this, 0);
    kernels::rescale_u8(x.data<uint8_t>(), x.numel(), x_zero_, m_, out_.zero, out_.lo, out_.hi,
                        out_slot(f, *this).data<uint8_t>(), f.pool);
    return Status::ok();
  }

 private:
  int32_t x_zero_;
  DyadicMultiplier m_;
  IntOutput out_;
};

class ViewStep final : public Step {
 public:
  ViewStep(Shape shape, bool per_sample) : shape_(std::move(shape)), per_sample_(per_sample) {}
  bool is_view() const override { return true; }
  bool per_sample() const override { return per_sample_; }
  std::string describe() const override { return "view (no copy)"; }
  Status run(Frame& f) const override {
    const Tensor& x = in_slot(f, *this, 0);
    Shape shape = shape_;
    if (!shape.empty() && shape[0] < 0) shape[0] = x.rank() > 0 ? x.dim(0) : 1;
    LB_ASSIGN_OR_RETURN(int64_t n, checked_numel(shape));
    if (n != x.numel())
      return Status::errorf("view of {} elements as {} does not fit", x.numel(), shape_str(shape));
    out_slot(f, *this) = x.reshaped(std::move(shape));
    return Status::ok();
  }

 private:
  Shape shape_;  // dim 0 < 0: the input's batch
  bool per_sample_;
};

// The output depends only on the input pair (a, b): the step tabulates all 65536 results
// once at compile time with the Add kernel itself (so they are its results bit for bit) and
// runs as one byte lookup per element — 64 KiB that stay in L2.
class AddStep final : public Step {
 public:
  explicit AddStep(const kernels::AddParams& p) : table_(65536) {
    std::vector<uint8_t> a(65536), b(65536);
    for (int i = 0; i < 65536; ++i) {
      a[static_cast<size_t>(i)] = static_cast<uint8_t>(i >> 8);
      b[static_cast<size_t>(i)] = static_cast<uint8_t>(i & 255);
    }
    kernels::add_u8_scalar(a.data(), b.data(), 65536, p, table_.data());
  }
  std::string describe() const override { return "add (dyadic rescale of both inputs, tabulated)"; }
  Status run(Frame& f) const override {
    const Tensor& a = in_slot(f, *this, 0);
    const Tensor& b = in_slot(f, *this, 1);
    if (a.numel() != b.numel()) return Status::errorf("add of {} and {} elements", a.numel(), b.numel());
    const uint8_t* ap = a.data<uint8_t>();
    const uint8_t* bp = b.data<uint8_t>();
    uint8_t* yp = out_slot(f, *this).data<uint8_t>();
    const uint8_t* t = table_.data();
    split(f.pool, a.numel(), kElementGrain, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) yp[i] = t[(static_cast<uint32_t>(ap[i]) << 8) | bp[i]];
    });
    return Status::ok();
  }

 private:
  std::vector<uint8_t> table_;  // [a][b]
};

class ConcatStep final : public Step {
 public:
  ConcatStep(int64_t axis, std::vector<ConcatInput> in, IntOutput out) : axis_(axis), in_(std::move(in)), out_(out) {}
  std::string describe() const override { return fmt::format("concat axis {}", axis_); }
  bool per_sample() const override { return axis_ >= 1; }
  Status run(Frame& f) const override {
    Tensor& y = out_slot(f, *this);
    int64_t outer = 1;
    for (int64_t d = 0; d < axis_; ++d) outer *= y.dim(static_cast<int>(d));
    const int64_t row = outer > 0 ? y.numel() / outer : 0;  // output bytes per outer index
    uint8_t* yp = y.data<uint8_t>();
    int64_t at = 0;
    for (size_t i = 0; i < in_.size(); ++i) {
      const Tensor& x = in_slot(f, *this, i);
      const int64_t chunk = outer > 0 ? x.numel() / outer : 0;
      const uint8_t* xp = x.data<uint8_t>();
      for (int64_t o = 0; o < outer; ++o) {
        if (in_[i].copy) std::memcpy(yp + o * row + at, xp + o * chunk, static_cast<size_t>(chunk));
        else
          kernels::rescale_u8(xp + o * chunk, chunk, in_[i].zero, in_[i].m, out_.zero, out_.lo, out_.hi,
                              yp + o * row + at, nullptr);
      }
      at += chunk;
    }
    return Status::ok();
  }

 private:
  int64_t axis_;
  std::vector<ConcatInput> in_;
  IntOutput out_;
};


class LayoutStep final : public Step {
 public:
  explicit LayoutStep(bool to_nhwc) : to_nhwc_(to_nhwc) {}
  std::string describe() const override { return to_nhwc_ ? "layout NCHW → NHWC" : "layout NHWC → NCHW"; }
  Status run(Frame& f) const override {
    const Tensor& x = in_slot(f, *this, 0);
    const int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
    const uint8_t* xp = x.data<uint8_t>();
    uint8_t* yp = out_slot(f, *this).data<uint8_t>();
    split(f.pool, n, 1, [&](int64_t i0, int64_t i1) {
      if (to_nhwc_) kernels::nchw_to_nhwc_u8(xp + i0 * c * hw, i1 - i0, c, hw, yp + i0 * c * hw);
      else kernels::nhwc_to_nchw_u8(xp + i0 * c * hw, i1 - i0, c, hw, yp + i0 * c * hw);
    });
    return Status::ok();
  }

 private:
  bool to_nhwc_;
};

class MaxPoolStep final : public Step {
 public:
  explicit MaxPoolStep(MaxPoolSpec s) : s_(std::move(s)) {}
  std::string describe() const override {
    return fmt::format("max pool {}x{}/{}{}", s_.geom.kh, s_.geom.kw, s_.geom.stride_w, s_.rescale ? " + rescale" : "");
  }
  Status run(Frame& f) const override {
    const Tensor& x = in_slot(f, *this, 0);
    Tensor& y = out_slot(f, *this);
    const uint8_t* xp = x.data<uint8_t>();
    uint8_t* yp = y.data<uint8_t>();
    split(f.pool, x.dim(0), 1, [&](int64_t i0, int64_t i1) { kernels::max_pool_nhwc_u8(xp, s_.geom, i0, i1, yp); });
    if (s_.rescale)
      kernels::rescale_u8(yp, y.numel(), s_.x_zero, s_.m, s_.out.zero, s_.out.lo, s_.out.hi, yp, f.pool);
    return Status::ok();
  }

 private:
  MaxPoolSpec s_;
};

class AvgPoolStep final : public Step {
 public:
  explicit AvgPoolStep(AvgPoolSpec s) : s_(std::move(s)) {}
  std::string describe() const override {
    if (s_.global) return "global average pool";
    return fmt::format("average pool {}x{}/{}", s_.geom.kernel[1], s_.geom.kernel[2], s_.geom.stride[2]);
  }
  Status run(Frame& f) const override {
    const Tensor& x = in_slot(f, *this, 0);
    Tensor& y = out_slot(f, *this);
    if (s_.global) {
      const uint8_t* xp = x.data<uint8_t>();
      uint8_t* yp = y.data<uint8_t>();
      split(f.pool, x.dim(0), 1, [&](int64_t i0, int64_t i1) {
        kernels::global_avg_pool_nhwc_u8(xp, s_.channels, s_.plane_size, i0, i1, s_.x_zero, s_.mult, s_.out.zero,
                                         s_.out.lo, s_.out.hi, yp);
      });
    } else {
      kernels::PoolGeom g = s_.geom;
      g.planes = s_.geom.planes * x.dim(0);
      kernels::avg_pool_u8(g, x.data<uint8_t>(), s_.x_zero, s_.count_include_pad, s_.mult_by_count.data(), s_.out.zero,
                           s_.out.lo, s_.out.hi, y.data<uint8_t>(), f.pool);
    }
    return Status::ok();
  }

 private:
  AvgPoolSpec s_;
};

class QuantizeStep final : public Step {
 public:
  QuantizeStep(float scale, int32_t zero, int32_t qmin, int32_t qmax) : s_(scale), z_(zero), lo_(qmin), hi_(qmax) {}
  std::string describe() const override { return "quantize (fp32 → u8)"; }
  Status run(Frame& f) const override {
    const Tensor& x = in_slot(f, *this, 0);
    if (x.dtype() != DType::kF32) return Status::errorf("quantize: input is {}, expected float32", dtype_name(x.dtype()));
    const float* xp = x.data<float>();
    uint8_t* yp = out_slot(f, *this).data<uint8_t>();
    split(f.pool, x.numel(), kElementGrain, [&](int64_t i0, int64_t i1) { kernels::quantize_u8(xp + i0, i1 - i0, s_, z_, lo_, hi_, yp + i0); });
    return Status::ok();
  }

 private:
  float s_;
  int32_t z_, lo_, hi_;
};

class DequantizeStep final : public Step {
 public:
  DequantizeStep(float scale, int32_t zero) : s_(scale), z_(zero) {}
  bool integer() const override { return false; }  // writes FP32, allocated here
  std::string describe() const override { return "dequantize (u8 → fp32)"; }
  Status run(Frame& f) const override {
    const Tensor& q = in_slot(f, *this, 0);
    LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(DType::kF32, q.shape()));
    const uint8_t* qp = q.data<uint8_t>();
    float* yp = y.data<float>();
    split(f.pool, q.numel(), kElementGrain, [&](int64_t i0, int64_t i1) { kernels::dequantize_u8(qp + i0, i1 - i0, s_, z_, yp + i0); });
    out_slot(f, *this) = std::move(y);
    return Status::ok();
  }

 private:
  float s_;
  int32_t z_;
};

}  // namespace

std::unique_ptr<Step> make_quantize_step(float scale, int32_t zero, int32_t qmin, int32_t qmax) {
  return std::make_unique<QuantizeStep>(scale, zero, qmin, qmax);
}
std::unique_ptr<Step> make_dequantize_step(float scale, int32_t zero) {
  return std::make_unique<DequantizeStep>(scale, zero);
}

std::unique_ptr<Step> make_rescale_step(int32_t x_zero, DyadicMultiplier m, IntOutput out) {
  return std::make_unique<RescaleStep>(x_zero, m, out);
}
std::unique_ptr<Step> make_view_step(Shape shape, bool per_sample) {
  return std::make_unique<ViewStep>(std::move(shape), per_sample);
}
std::unique_ptr<Step> make_add_step(kernels::AddParams params) { return std::make_unique<AddStep>(params); }
std::unique_ptr<Step> make_concat_step(int64_t axis, std::vector<ConcatInput> inputs, IntOutput out) {
  return std::make_unique<ConcatStep>(axis, std::move(inputs), out);
}
std::unique_ptr<Step> make_layout_step(bool to_nhwc) { return std::make_unique<LayoutStep>(to_nhwc); }
std::unique_ptr<Step> make_max_pool_step(MaxPoolSpec spec) { return std::make_unique<MaxPoolStep>(std::move(spec)); }
std::unique_ptr<Step> make_avg_pool_step(AvgPoolSpec spec) { return std::make_unique<AvgPoolStep>(std::move(spec)); }

}  // namespace lowbit::runtime
