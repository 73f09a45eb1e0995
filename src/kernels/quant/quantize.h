// quantize.h: uniform affine quantize / dequantize / fake-quant over float buffers, with the
// ONNX arithmetic and every granularity lowbit supports — the one implementation that ops,
// observers and the quantizers share.
//
// q = clamp(round(x / s) + z, qmin, qmax);  x' = s · (q − z).
// Division, not multiplication by 1/s, so results match ONNX QuantizeLinear exactly.
//
// Granularity is a SlotLayout: the tensor is viewed as [outer, channels, inner] around its
// channel axis (outer = product of dims before it, inner = product after it). Every element
// belongs to one slot, which owns one (scale, zero_point):
//   per-tensor : channels = 1 (the whole tensor is one slot)
//   per-channel: slot = c
//   per-group  : slot = c / group                  (group consecutive channels share a range)
//   per-block  : slot = c · num_blocks + p / block, p = o · inner + i, the element's position
//                inside its channel (row-major over every other dim), num_blocks = ⌈outer·inner/block⌉.
//                For weights whose channel axis is the output axis, p runs along the reduction
//                (Conv [O,I,kh,kw]: p over I·kh·kw; MatMul [K,N] with axis 1: p over K).
//
// Special values: x / s = NaN quantizes as 0 would (q = clamp(z)); ±inf saturate to qmax / qmin.
// Stochastic rounding draws u for flat element i from splitmix64 keyed by (seed, i): a
// counter-based hash, so any split of the work across threads gives the same q.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace lowbit::kernels {

enum class Rounding : uint8_t {
  kHalfEven,      // ties to even (ONNX, the default)
  kHalfAway,      // ties away from zero (gemmlowp, C's round())
  kFloor,         // toward −∞
  kStochastic,    // floor(v + u), u ~ U[0,1): unbiased, E[q] = v; seeded, reproducible
};

// "half-even", "half-away", "floor", "stochastic" — the names recipes, files and the
// com.lowbit ops use.
std::string_view rounding_name(Rounding mode);
// The mode called `name`, or nullopt.
std::optional<Rounding> parse_rounding(std::string_view name);

struct SlotLayout {
  int64_t outer = 1;
  int64_t channels = 1;
  int64_t inner = 1;
  int64_t group = 1;   // channels per slot (1: per-channel); ignored when block > 0
  int64_t block = 0;   // elements per block inside a channel; 0: no blocks

  int64_t num_blocks() const { return block > 0 ? (outer * inner + block - 1) / block : 1; }
  int64_t num_slots() const {
    return block > 0 ? channels * num_blocks() : (channels + group - 1) / group;
  }
  int64_t numel() const { return outer * channels * inner; }
  // Slot of the element at flat (row-major) index `i`.
  int64_t slot_of(int64_t i) const {
    const int64_t o = i / (channels * inner), c = (i / inner) % channels, in = i % inner;
    if (block > 0) return c * num_blocks() + (o * inner + in) / block;
    return c / group;
  }
};

struct QuantRange {
  int32_t qmin;
  int32_t qmax;
};

// Rounds one value with `mode`; `u` is the uniform [0,1) sample used only by kStochastic
// (the result is floor(v + u), computed exactly). NaN and ±inf come back unchanged.
float round_value(float v, Rounding mode, float u);

// out[i] = clamp(round(x[i] / scale[slot]) + zp[slot], qmin, qmax). `seed` drives
// kStochastic: the sample for element i depends only on (seed, i), so results do not depend
// on threading. scale[slot] must be > 0 and finite (callers validate).
void quantize(const float* x, const SlotLayout& layout, const float* scale, const int32_t* zp, QuantRange range,
              Rounding mode, uint64_t seed, int32_t* out);
// out[i] = scale[slot] · (q[i] − zp[slot]).
void dequantize(const int32_t* q, const SlotLayout& layout, const float* scale, const int32_t* zp, float* out);
// out = dequantize(quantize(x)), without the int buffer; out may alias x.
void fake_quantize(const float* x, const SlotLayout& layout, const float* scale, const int32_t* zp, QuantRange range,
                   Rounding mode, uint64_t seed, float* out);

// --- Helpers on the same arithmetic ------------------------------------------------------

// q of one value: clamp(round(x / scale) + zp, qmin, qmax), NaN as 0 (see above).
int32_t quantize_value(float x, float scale, int32_t zp, QuantRange range, Rounding mode, float u);
// The uniform [0,1) sample kStochastic uses for flat element `index` under `seed` (a multiple of 2^−24).
float stochastic_u(uint64_t seed, int64_t index);

// Range forms, for splitting one tensor across threads: they process flat elements
// [begin, end) of the tensor `layout` describes. Pointers are to element 0 of the whole
// tensor (out[i] is written for i in [begin, end)); results equal the whole-tensor call.
// The int8 / uint8 outputs need range inside the type; dequantize reads any of these types.
void quantize_range(const float* x, const SlotLayout& layout, const float* scale, const int32_t* zp, QuantRange range,
                    Rounding mode, uint64_t seed, int64_t begin, int64_t end, int32_t* out);
void quantize_range(const float* x, const SlotLayout& layout, const float* scale, const int32_t* zp, QuantRange range,
                    Rounding mode, uint64_t seed, int64_t begin, int64_t end, int8_t* out);
void quantize_range(const float* x, const SlotLayout& layout, const float* scale, const int32_t* zp, QuantRange range,
                    Rounding mode, uint64_t seed, int64_t begin, int64_t end, uint8_t* out);
void dequantize_range(const int32_t* q, const SlotLayout& layout, const float* scale, const int32_t* zp,
                      int64_t begin, int64_t end, float* out);
void dequantize_range(const int8_t* q, const SlotLayout& layout, const float* scale, const int32_t* zp,
                      int64_t begin, int64_t end, float* out);
void dequantize_range(const uint8_t* q, const SlotLayout& layout, const float* scale, const int32_t* zp,
                      int64_t begin, int64_t end, float* out);
void dequantize_range(const int64_t* q, const SlotLayout& layout, const float* scale, const int32_t* zp,
                      int64_t begin, int64_t end, float* out);
void fake_quantize_range(const float* x, const SlotLayout& layout, const float* scale, const int32_t* zp,
                         QuantRange range, Rounding mode, uint64_t seed, int64_t begin, int64_t end, float* out);

}  // namespace lowbit::kernels
