// quantize8.cc: scalar boundary conversions and the run-time choice of the AVX2 ones.
#include "kernels/int8/quantize8.h"

#include <cmath>

#include "core/check.h"
#include "kernels/isa.h"
#include "kernels/quant/quantize.h"

namespace lowbit::kernels {

void quantize_u8_scalar(const float* x, int64_t n, float scale, int32_t zero, int32_t qmin, int32_t qmax, uint8_t* y) {
  for (int64_t i = 0; i < n; ++i)
    y[i] = static_cast<uint8_t>(quantize_value(x[i], scale, zero, {qmin, qmax}, Rounding::kHalfEven, 0.5f));
}

void dequantize_u8_scalar(const uint8_t* q, int64_t n, float scale, int32_t zero, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] = static_cast<float>(static_cast<int32_t>(q[i]) - zero) * scale;
}

namespace {

bool use_avx2() {
  return avx2_allowed();
}

}  // namespace

void quantize_u8(const float* x, int64_t n, float scale, int32_t zero, int32_t qmin, int32_t qmax, uint8_t* y) {
  LB_CHECK(0 <= qmin && qmin <= qmax && qmax <= 255, "quantize_u8: range outside uint8");
  (use_avx2() ? quantize_u8_avx2 : quantize_u8_scalar)(x, n, scale, zero, qmin, qmax, y);
}

void dequantize_u8(const uint8_t* q, int64_t n, float scale, int32_t zero, float* y) {
  (use_avx2() ? dequantize_u8_avx2 : dequantize_u8_scalar)(q, n, scale, zero, y);
}

}  // namespace lowbit::kernels
