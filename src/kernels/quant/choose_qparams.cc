// choose_qparams.cc: range → (scale, zero point) (the formulas are in the header), bit ranges,
// and the names of the rounding modes.
#include "kernels/quant/choose_qparams.h"

#include <algorithm>
#include <cmath>

namespace lowbit::kernels {

std::string_view rounding_name(Rounding mode) {
  switch (mode) {
    case Rounding::kHalfEven: return "half-even";
    case Rounding::kHalfAway: return "half-away";
    case Rounding::kFloor: return "floor";
    case Rounding::kStochastic: return "stochastic";
  }
  return "half-even";
}

std::optional<Rounding> parse_rounding(std::string_view name) {
  for (Rounding r : {Rounding::kHalfEven, Rounding::kHalfAway, Rounding::kFloor, Rounding::kStochastic})
    if (rounding_name(r) == name) return r;
  return std::nullopt;
}

QuantRange range_for_bits(int bits, bool is_signed, bool narrow) {
  if (is_signed) {
    const int32_t half = int32_t{1} << (bits - 1);
    return {narrow ? -half + 1 : -half, half - 1};
  }
  const int32_t top = static_cast<int32_t>((int64_t{1} << bits) - 1);
  return {0, narrow ? top - 1 : top};
}

ScaleZero choose_qparams(float lo, float hi, QuantRange range, bool symmetric) {
  if (!std::isfinite(lo)) lo = 0.0f;
  if (!std::isfinite(hi)) hi = 0.0f;
  const float qmin = static_cast<float>(range.qmin), qmax = static_cast<float>(range.qmax);
  if (symmetric) {
    const float a = std::max(std::fabs(lo), std::fabs(hi));
    const int32_t z = range.qmin < 0 ? 0 : (range.qmin + range.qmax + 1) / 2;
    const float half = range.qmin < 0 ? qmax : qmax - static_cast<float>(z);
    if (a == 0.0f) return {1.0f, z};
    return {std::max(a / half, kMinScale), z};
  }
  // Float arithmetic in ONNX DynamicQuantizeLinear's order; the range always holds 0.
  lo = std::min(lo, 0.0f);
  hi = std::max(hi, 0.0f);
  float s = 1.0f;
  if (hi > lo) {
    s = (hi - lo) / (qmax - qmin);
    if (!std::isfinite(s))  // hi − lo overflowed float: redo it in double
      s = static_cast<float>((static_cast<double>(hi) - lo) / (static_cast<double>(qmax) - qmin));
  }
  s = std::max(s, kMinScale);
  const float zf = std::nearbyint(qmin - lo / s);
  const int32_t z = static_cast<int32_t>(std::clamp(zf, qmin, qmax));
  return {s, z};
}

}  // namespace lowbit::kernels
