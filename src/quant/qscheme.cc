// qscheme.cc: QScheme ranges, validation and naming, QParams from clipping ranges, and the
// tensor-level quantize / dequantize / fake-quant over kernels/quant/quantize.h.
#include "quant/qscheme.h"

#include "kernels/quant/choose_qparams.h"

#include <algorithm>
#include <optional>
#include <cmath>
#include <cstdlib>

#include "core/check.h"
#include "core/thread_pool.h"

namespace lowbit::quant {
namespace {

// Bits are clamped only so that a scheme that validate() rejects still has defined bounds.
int clamped_bits(int bits) { return std::clamp(bits, 1, 31); }

// Elements per task when a tensor is split over the global pool (a few µs of work each).
constexpr int64_t kGrain = int64_t{1} << 14;

template <typename F>
void run_split(int64_t n, const F& f) {
  if (n <= kGrain) {
    f(int64_t{0}, n);
    return;
  }
  ThreadPool::global().parallel_for(n, kGrain, [&](int64_t b, int64_t e) { f(b, e); });
}

// The layout of `shape` under `scheme`, after checking that params has one valid entry per slot.
Result<kernels::SlotLayout> checked_layout(const char* what, const Shape& shape, const QScheme& scheme,
                                           const QParams& params) {
  LB_ASSIGN_OR_RETURN(kernels::SlotLayout layout, slot_layout(scheme, shape));
  const int64_t slots = layout.num_slots();
  if (static_cast<int64_t>(params.scale.size()) != slots || static_cast<int64_t>(params.zero_point.size()) != slots)
    return Status::errorf("{}: {} scales and {} zero points given, {} on shape {} has {} slots", what,
                          params.scale.size(), params.zero_point.size(), describe(scheme), shape_str(shape), slots);
  for (size_t k = 0; k < params.scale.size(); ++k) {
    const float s = params.scale[k];
    if (!(s > 0.0f) || !std::isfinite(s))
      return Status::errorf("{}: scale {} of slot {} is not a positive finite number", what, s, k);
  }
  return layout;
}

}  // namespace

int32_t QScheme::qmin() const { return kernels::range_for_bits(clamped_bits(bits), is_signed, narrow).qmin; }

int32_t QScheme::qmax() const { return kernels::range_for_bits(clamped_bits(bits), is_signed, narrow).qmax; }

Status validate(const QScheme& scheme) {
  if (scheme.kind != QuantizerKind::kUniform)
    return Status::errorf("qscheme: unknown quantizer kind {}", static_cast<int>(scheme.kind));
  if (scheme.bits < 2 || scheme.bits > 16)
    return Status::errorf("qscheme: bits must be in [2, 16], got {}", scheme.bits);
  switch (scheme.granularity) {
    case Granularity::kPerTensor:
    case Granularity::kPerChannel: break;
    case Granularity::kPerGroup:
      if (scheme.group < 1) return Status::errorf("qscheme: per-group needs group ≥ 1, got {}", scheme.group);
      break;
    case Granularity::kPerBlock:
      if (scheme.block < 1) return Status::errorf("qscheme: per-block needs block ≥ 1, got {}", scheme.block);
      break;
    default: return Status::errorf("qscheme: unknown granularity {}", static_cast<int>(scheme.granularity));
  }
  switch (scheme.rounding) {
    case Rounding::kHalfEven:
    case Rounding::kHalfAway:
    case Rounding::kFloor:
    case Rounding::kStochastic: break;
    default: return Status::errorf("qscheme: unknown rounding mode {}", static_cast<int>(scheme.rounding));
  }
  return Status::ok();
}

std::string_view granularity_key(Granularity g) {
  switch (g) {
    case Granularity::kPerTensor: return "per-tensor";
    case Granularity::kPerChannel: return "per-channel";
    case Granularity::kPerGroup: return "per-group";
    case Granularity::kPerBlock: return "per-block";
  }
  return "per-tensor";
}

std::optional<Granularity> parse_granularity(std::string_view key) {
  for (Granularity g : {Granularity::kPerTensor, Granularity::kPerChannel, Granularity::kPerGroup, Granularity::kPerBlock})
    if (granularity_key(g) == key) return g;
  return std::nullopt;
}

std::string granularity_name(const QScheme& scheme) {
  switch (scheme.granularity) {
    case Granularity::kPerTensor:
    case Granularity::kPerChannel: return std::string(granularity_key(scheme.granularity));
    case Granularity::kPerGroup: return fmt::format("per-group({})", scheme.group);
    case Granularity::kPerBlock: return fmt::format("per-block({})", scheme.block);
  }
  return "?";
}

std::string describe(const QScheme& scheme) {
  std::string s = fmt::format("{}{} {}", scheme.is_signed ? 's' : 'u', scheme.bits, scheme.symmetric ? "sym" : "asym");
  if (scheme.narrow) s += " narrow";
  switch (scheme.granularity) {
    case Granularity::kPerTensor: s += " per-tensor"; break;
    case Granularity::kPerChannel: s += fmt::format(" per-channel(axis {})", scheme.axis); break;
    case Granularity::kPerGroup:
    case Granularity::kPerBlock:
      s += ' ';
      s += granularity_name(scheme);
      if (scheme.axis != 0) {  // "per-block(32)" means axis 0; any other axis is spelled out
        s.pop_back();
        s += fmt::format(", axis {})", scheme.axis);
      }
      break;
  }
  if (scheme.rounding == Rounding::kStochastic) {
    s += fmt::format(" stochastic(seed {})", scheme.seed);
  } else if (scheme.rounding != Rounding::kHalfEven) {
    s += ' ';
    s += rounding_name(scheme.rounding);
  }
  return s;
}

Result<kernels::SlotLayout> slot_layout(const QScheme& scheme, const Shape& shape) {
  LB_TRY(validate(scheme));
  for (int64_t d : shape)
    if (d < 0) return Status::errorf("qscheme: shape {} has unknown dims", shape_str(shape));
  LB_ASSIGN_OR_RETURN(const int64_t n, checked_numel(shape));
  kernels::SlotLayout l;
  if (scheme.granularity == Granularity::kPerTensor) {
    l.outer = n;
    return l;
  }
  const int rank = static_cast<int>(shape.size());
  if (scheme.axis < -rank || scheme.axis >= rank)
    return Status::errorf("qscheme: {} axis {} is out of range for shape {}", granularity_name(scheme), scheme.axis,
                          shape_str(shape));
  const int axis = scheme.axis < 0 ? scheme.axis + rank : scheme.axis;
  // Every partial product divides n (or n is 0), so none of them overflows.
  l.outer = 1;
  for (int i = 0; i < axis; ++i) l.outer *= shape[static_cast<size_t>(i)];
  l.channels = shape[static_cast<size_t>(axis)];
  l.inner = 1;
  for (int i = axis + 1; i < rank; ++i) l.inner *= shape[static_cast<size_t>(i)];
  if (scheme.granularity == Granularity::kPerGroup) l.group = scheme.group;
  if (scheme.granularity == Granularity::kPerBlock) l.block = scheme.block;
  return l;
}

QParams qparams_from_range(const QScheme& scheme, const std::vector<float>& lo, const std::vector<float>& hi) {
  LB_CHECK(lo.size() == hi.size(), "qparams_from_range: lo and hi differ in size");
  QParams p;
  p.scale.resize(lo.size());
  p.zero_point.resize(lo.size());
  for (size_t k = 0; k < lo.size(); ++k) {
    const kernels::ScaleZero sz = kernels::choose_qparams(lo[k], hi[k], scheme.range(), scheme.symmetric);
    p.scale[k] = sz.scale;
    p.zero_point[k] = sz.zero_point;
  }
  return p;
}

DType storage_dtype(const QScheme& scheme) {
  if (scheme.bits > 8) return DType::kI32;
  return scheme.is_signed ? DType::kI8 : DType::kU8;
}

Result<Tensor> quantize(const Tensor& x, const QScheme& scheme, const QParams& params) {
  if (x.dtype() != DType::kF32) return Status::errorf("quantize: input must be f32, got {}", dtype_name(x.dtype()));
  LB_ASSIGN_OR_RETURN(const kernels::SlotLayout layout, checked_layout("quantize", x.shape(), scheme, params));
  const DType dt = storage_dtype(scheme);
  LB_ASSIGN_OR_RETURN(Tensor q, Tensor::make_uninit(dt, x.shape()));
  const float* src = x.data<float>();
  const float* s = params.scale.data();
  const int32_t* z = params.zero_point.data();
  run_split(x.numel(), [&](int64_t b, int64_t e) {
    switch (dt) {
      case DType::kI8:
        kernels::quantize_range(src, layout, s, z, scheme.range(), scheme.rounding, scheme.seed, b, e,
                                static_cast<int8_t*>(q.raw()));
        break;
      case DType::kU8:
        kernels::quantize_range(src, layout, s, z, scheme.range(), scheme.rounding, scheme.seed, b, e,
                                static_cast<uint8_t*>(q.raw()));
        break;
      default:
        kernels::quantize_range(src, layout, s, z, scheme.range(), scheme.rounding, scheme.seed, b, e,
                                static_cast<int32_t*>(q.raw()));
        break;
    }
  });
  return q;
}

Result<Tensor> dequantize(const Tensor& q, const QScheme& scheme, const QParams& params) {
  const DType dt = q.dtype();
  if (dt != DType::kI8 && dt != DType::kU8 && dt != DType::kI32 && dt != DType::kI64)
    return Status::errorf("dequantize: input must be an integer tensor (i8, u8, i32, i64), got {}", dtype_name(dt));
  LB_ASSIGN_OR_RETURN(const kernels::SlotLayout layout, checked_layout("dequantize", q.shape(), scheme, params));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(DType::kF32, q.shape()));
  float* dst = y.data<float>();
  const float* s = params.scale.data();
  const int32_t* z = params.zero_point.data();
  run_split(q.numel(), [&](int64_t b, int64_t e) {
    switch (dt) {
      case DType::kI8: kernels::dequantize_range(q.data<int8_t>(), layout, s, z, b, e, dst); break;
      case DType::kU8: kernels::dequantize_range(q.data<uint8_t>(), layout, s, z, b, e, dst); break;
      case DType::kI32: kernels::dequantize_range(q.data<int32_t>(), layout, s, z, b, e, dst); break;
      default: kernels::dequantize_range(q.data<int64_t>(), layout, s, z, b, e, dst); break;
    }
  });
  return y;
}

Result<Tensor> fake_quant(const Tensor& x, const QScheme& scheme, const QParams& params) {
  if (x.dtype() != DType::kF32) return Status::errorf("fake_quant: input must be f32, got {}", dtype_name(x.dtype()));
  LB_ASSIGN_OR_RETURN(const kernels::SlotLayout layout, checked_layout("fake_quant", x.shape(), scheme, params));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(DType::kF32, x.shape()));
  const float* src = x.data<float>();
  float* dst = y.data<float>();
  run_split(x.numel(), [&](int64_t b, int64_t e) {
    kernels::fake_quantize_range(src, layout, params.scale.data(), params.zero_point.data(), scheme.range(),
                                 scheme.rounding, scheme.seed, b, e, dst);
  });
  return y;
}

float fake_quant_value(float x, float scale, int32_t zero_point, const QScheme& scheme, float u) {
  const int32_t q = kernels::quantize_value(x, scale, zero_point, scheme.range(), scheme.rounding, u);
  return static_cast<float>(static_cast<int64_t>(q) - zero_point) * scale;
}

}  // namespace lowbit::quant
