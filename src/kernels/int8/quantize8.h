// quantize8.h: the integer program's boundary conversions for uint8 per-tensor values —
// QuantizeLinear (ties to even, saturating) of the FP32 input and DequantizeLinear of the
// output — bit-identical to the ONNX ops' definitions as kernels/quant/quantize.h computes
// them (quantize_value with Rounding::kHalfEven; (q − z) · s in float), vectorized (AVX2
// chosen at run time, LOWBIT_ISA=scalar turns it off).
#pragma once

#include <cstdint>

namespace lowbit::kernels {

// y[i] = clamp(round_half_even(x[i] / scale) + zero, qmin, qmax); NaN counts as 0, ±inf
// saturates. 0 ≤ qmin ≤ qmax ≤ 255.
void quantize_u8(const float* x, int64_t n, float scale, int32_t zero, int32_t qmin, int32_t qmax, uint8_t* y);
// y[i] = float(q[i] − zero) · scale.
void dequantize_u8(const uint8_t* q, int64_t n, float scale, int32_t zero, float* y);

// The variants behind them (tests): same contracts; _avx2 only where the CPU has AVX2.
void quantize_u8_scalar(const float* x, int64_t n, float scale, int32_t zero, int32_t qmin, int32_t qmax, uint8_t* y);
void quantize_u8_avx2(const float* x, int64_t n, float scale, int32_t zero, int32_t qmin, int32_t qmax, uint8_t* y);
void dequantize_u8_scalar(const uint8_t* q, int64_t n, float scale, int32_t zero, float* y);
void dequantize_u8_avx2(const uint8_t* q, int64_t n, float scale, int32_t zero, float* y);

}  // namespace lowbit::kernels
