// requantize.h: dyadic requantization for the integer runtime — turning a real multiplier
// M = sx · sw / sy into its dyadic form, and the row kernels that map an int32 accumulator
// block to uint8 / int8 outputs (scalar, AVX2, AVX-512 chosen at run time).
//
// Per element (fixed_point.h): y = clamp(zy + RDBP(SRDHM(acc · 2^left, m0), right), lo, hi),
// gemmlowp's arithmetic bit for bit; no float and no integer division on this path.
// ReLU / ReLU6 / Clip fold into [lo, hi].
#pragma once

#include <cstdint>

#include "core/status.h"
#include "kernels/requant/fixed_point.h"

namespace lowbit::kernels {

// Decomposes a real m into m0 · 2^(shift − 31) exactly like TFLite's QuantizeMultiplier:
// m = q · 2^e with q in [0.5, 1) (frexp), m0 = round(q · 2^31) (ties away from zero; q · 2^31
// is exact in double), and when that rounds up to 2^31 the carry makes m0 = 2^30, shift = e + 1.
// m == 0 gives {0, 0}. Errors: m < 0, m not finite, or a shift outside
// [kMinDyadicShift, kMaxDyadicShift] = [−31, 30], i.e. m outside [2^−32, 2^30) after
// rounding (TFLite flushes multipliers below 2^−32 to 0; here a scale that small is reported).
Result<DyadicMultiplier> dyadic_multiplier(double m);

// Row form: for a row-major [rows][cols] int32 block,
//   out[r·cols + c] = requantize(acc[r·cols + c], mult[nmult == 1 ? 0 : c], zy, lo, hi),
// with one multiplier per tensor (nmult == 1) or one per column = output channel
// (nmult == cols). Preconditions (bugs if broken, checked, abort): rows, cols ≥ 0;
// nmult == 1 or nmult == cols; every shift in [−31, 30]; lo ≤ hi within the output type
// ([0, 255] for uint8, [−128, 127] for int8). zy and m0 may be any int32.
// Uses the AVX-512 kernel where the CPU has AVX-512 F + BW + VL and the ISA ceiling
// (kernels/isa.h) is avx512vnni, i.e. LOWBIT_ISA unset or "avx512vnni"; else the AVX2 kernel
// where the CPU has it, unless LOWBIT_ISA=scalar; else the scalar one. So LOWBIT_ISA=avx2 (or
// avxvnni) narrows requantization to AVX2 and LOWBIT_ISA=scalar to scalar.
//
// Headroom. `headroom` = k > 0 computes, for each multiplier with shift ≤ 0,
//   RDBP(SRDHM(acc · 2^k, m0), k − shift)
// — the same real multiplier, with SRDHM's rounding 2^k times finer. gemmlowp's plain form
// (k = 0) rounds twice, and when the right shift is small the first rounding lands a visible
// share of outputs 1 above round(acc · M) (2^−(right+1) of them); with k bits of headroom that
// share is 2^−(right+k+1). The caller guarantees |acc| · 2^k < 2^31 and k − shift ≤ 31 for
// every multiplier (runtime::compile derives k from the accumulator's bound); multipliers
// with shift > 0 ignore k.
void requantize_to_u8(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult, int64_t nmult,
                      int32_t zy, int32_t lo, int32_t hi, uint8_t* out, int headroom = 0);
void requantize_to_s8(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult, int64_t nmult,
                      int32_t zy, int32_t lo, int32_t hi, int8_t* out, int headroom = 0);

// The variants behind the two above, for tests and benchmarks (same contract, same checks).
// The _avx2 ones may only run where cpu_features() reports avx2 and os_avx, the _avx512 ones
// only where it reports avx512f, avx512bw, avx512vl and os_avx512; every variant gives
// bit-identical output.
void requantize_to_u8_scalar(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult,
                             int64_t nmult, int32_t zy, int32_t lo, int32_t hi, uint8_t* out, int headroom = 0);
void requantize_to_s8_scalar(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult,
                             int64_t nmult, int32_t zy, int32_t lo, int32_t hi, int8_t* out, int headroom = 0);
void requantize_to_u8_avx2(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult,
                           int64_t nmult, int32_t zy, int32_t lo, int32_t hi, uint8_t* out, int headroom = 0);
void requantize_to_s8_avx2(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult,
                           int64_t nmult, int32_t zy, int32_t lo, int32_t hi, int8_t* out, int headroom = 0);
void requantize_to_u8_avx512(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult,
                             int64_t nmult, int32_t zy, int32_t lo, int32_t hi, uint8_t* out, int headroom = 0);
void requantize_to_s8_avx512(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult,
                             int64_t nmult, int32_t zy, int32_t lo, int32_t hi, int8_t* out, int headroom = 0);

// True where the AVX2 kernel may run (CPU support, LOWBIT_ISA not "scalar"); the row forms use
// it unless requantize_uses_avx512().
bool requantize_uses_avx2();

// True where the row forms use the AVX-512 kernel (CPU and OS support for AVX-512 F + BW + VL,
// and isa_ceiling() is Isa::kAvx512Vnni). Like requantize_uses_avx2, read once per process.
bool requantize_uses_avx512();

// Aborts unless the row-form preconditions above hold (qmin, qmax: the output type's range).
void check_requantize_rows(int64_t rows, int64_t cols, const DyadicMultiplier* mult, int64_t nmult, int32_t lo,
                           int32_t hi, int32_t qmin, int32_t qmax, int headroom = 0);

}  // namespace lowbit::kernels
