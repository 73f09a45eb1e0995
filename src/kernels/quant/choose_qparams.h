// choose_qparams.h: the scale and zero point that map a clipping range [lo, hi] onto an
// integer range — one slot's arithmetic, shared by calibration (quant::qparams_from_range)
// and by dynamic quantization at run time (ops), so both choose identically.
#pragma once

#include <cstdint>

#include "kernels/quant/quantize.h"

namespace lowbit::kernels {

// The integer range of a `bits`-bit grid: signed [−2^(b−1), 2^(b−1) − 1], unsigned [0, 2^b − 1];
// narrow drops the lowest signed value (symmetric around 0) or the highest unsigned one.
QuantRange range_for_bits(int bits, bool is_signed, bool narrow);

// Smallest scale ever chosen, so x / s stays finite.
inline constexpr float kMinScale = 1e-12f;

struct ScaleZero {
  float scale;
  int32_t zero_point;
};

// Asymmetric: [lo, hi] is widened to include 0 (so 0 is exact), s = (hi − lo)/(qmax − qmin),
//   z = clamp(round_half_even(qmin − lo/s), qmin, qmax)  (ONNX DynamicQuantizeLinear's rule).
// Symmetric: a = max(|lo|, |hi|); a signed range (qmin < 0) has z = 0 and s = a / qmax; an
//   unsigned one is centred: z = (qmin + qmax + 1) / 2, s = a / (qmax − z).
// A zero-width range gets s = 1 (its only value, 0, stays exact; asymmetric z is then qmin);
// s never falls below kMinScale. Non-finite bounds are treated as 0.
ScaleZero choose_qparams(float lo, float hi, QuantRange range, bool symmetric);

}  // namespace lowbit::kernels
