// gemm_loads.h: how the int8 GEMM microkernels read A — four activations at a time as one
// 32-bit lane (the vpmaddwd / vpdpbusd group), and the zero-extended tail of a row so no
// kernel reads past K. Plain C++ included before each ISA file's target pragma, so it
// compiles for the baseline and inlines into every variant.
#pragma once

#include <cstdint>

namespace lowbit::kernels::int8_gemm {

// The 4 bytes at p as one little-endian lane.
inline int32_t load4(const uint8_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

// The `n` (< 4) bytes at p, zero-extended to 4: the tail group of a row. Straight-line, not a
// loop: GCC unrolls and vectorizes such a loop in every row of every tile, which multiplied
// the kernels' code size by ten.
inline int32_t load_tail(const uint8_t* p, int64_t n) {
  uint32_t v = n > 0 ? p[0] : 0u;
  if (n > 1) v |= static_cast<uint32_t>(p[1]) << 8;
  if (n > 2) v |= static_cast<uint32_t>(p[2]) << 16;
  return static_cast<int32_t>(v);
}

}  // namespace lowbit::kernels::int8_gemm
