// qscheme.h: how a tensor is quantized (QScheme) and the numbers that do it (QParams), plus
// the tensor-level quantize / dequantize / fake-quant every reader of a QuantizedModel uses.
//
// A QScheme is the uniform affine quantizer of DESIGN.md: bits in [2, 16], signed or
// unsigned, symmetric (z fixed at the middle) or asymmetric, full or narrow range, one of
// four granularities, one rounding mode. Other quantizer families (power-of-two, codebooks,
// binary/ternary) join as further `QuantizerKind`s; everything here dispatches on it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "kernels/quant/choose_qparams.h"
#include "kernels/quant/quantize.h"

namespace lowbit::quant {

using kernels::Rounding;

enum class QuantizerKind : uint8_t { kUniform };

enum class Granularity : uint8_t {
  kPerTensor,   // one range for the tensor (layerwise)
  kPerChannel,  // one range per index along `axis`
  kPerGroup,    // `group` consecutive channels along `axis` share a range
  kPerBlock,    // blocks of `block` elements inside each channel (see kernels/quant/quantize.h)
};

struct QScheme {
  QuantizerKind kind = QuantizerKind::kUniform;
  int bits = 8;
  bool is_signed = false;
  bool symmetric = false;
  bool narrow = false;  // signed: [−2^(b−1)+1, 2^(b−1)−1]; unsigned: [0, 2^b − 2]
  Granularity granularity = Granularity::kPerTensor;
  int axis = 0;         // channel axis (negative counts from the end); unused per-tensor
  int64_t group = 0;    // kPerGroup: channels per group (≥ 1)
  int64_t block = 0;    // kPerBlock: elements per block (≥ 1)
  Rounding rounding = Rounding::kHalfEven;
  uint64_t seed = 0;    // kStochastic only

  int32_t qmin() const;
  int32_t qmax() const;
  kernels::QuantRange range() const { return {qmin(), qmax()}; }
  bool operator==(const QScheme&) const = default;
};

// Ok, or an error naming the field that is out of range (bits, group, block, ...).
Status validate(const QScheme& scheme);

// Short human form, e.g. "s8 sym narrow per-channel(axis 0)", "u4 asym per-block(32)".
std::string describe(const QScheme& scheme);
// "per-tensor", "per-channel", "per-group(32)", "per-block(32)".
std::string granularity_name(const QScheme& scheme);
// The bare key recipes and files use: "per-tensor", "per-channel", "per-group", "per-block";
// and back (nullopt for anything else).
std::string_view granularity_key(Granularity g);
std::optional<Granularity> parse_granularity(std::string_view key);
using kernels::parse_rounding;
using kernels::rounding_name;

// The slot layout of `scheme` on a tensor of `shape`; an error if the axis is out of range
// for the rank or the shape has unknown dims.
Result<kernels::SlotLayout> slot_layout(const QScheme& scheme, const Shape& shape);

// Per-slot scale and zero point (one entry per slot of the layout, in slot order).
struct QParams {
  std::vector<float> scale;
  std::vector<int32_t> zero_point;

  size_t size() const { return scale.size(); }
  bool operator==(const QParams&) const = default;
};

// Turns clipping ranges [lo[k], hi[k]] (one per slot) into QParams for `scheme`.
// Asymmetric: the range is widened to include 0 (so 0 is exact), s = (hi − lo)/(qmax − qmin),
//   z = clamp(round_half_even(qmin − lo/s), qmin, qmax).
// Symmetric: a = max(|lo|, |hi|); signed: z = 0, s = a / qmax; unsigned: z = (qmin + qmax + 1)/2
//   and s = a / (qmax − z) — ranges are centred on z.
// A zero-width range (all values equal 0) gets s = 1 so it stays exact; s is never below
// kMinScale, so x / s cannot overflow. A non-finite bound (NaN, ±inf) counts as 0. lo and hi
// must have the same size (a caller bug otherwise: LB_CHECK).
using kernels::kMinScale;  // kernels/quant/choose_qparams.h
QParams qparams_from_range(const QScheme& scheme, const std::vector<float>& lo, const std::vector<float>& hi);

// The integer type quantized values are stored in: i8 / u8 up to 8 bits, i32 above.
DType storage_dtype(const QScheme& scheme);

// q of x as storage_dtype(scheme); checks that params has one entry per slot.
Result<Tensor> quantize(const Tensor& x, const QScheme& scheme, const QParams& params);
// FP32 values of q (any integer dtype) under scheme and params.
Result<Tensor> dequantize(const Tensor& q, const QScheme& scheme, const QParams& params);
// dequantize(quantize(x)) in FP32.
Result<Tensor> fake_quant(const Tensor& x, const QScheme& scheme, const QParams& params);
// One element: s · (clamp(round(x/s) + z) − z) with the scheme's range and rounding mode
// (kStochastic draws u from `u`).
float fake_quant_value(float x, float scale, int32_t zero_point, const QScheme& scheme, float u = 0.5f);

}  // namespace lowbit::quant
