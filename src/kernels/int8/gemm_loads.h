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

// The `n` (< 4) bytes at p, zero-extended to 4: the tail group of a row.
inline int32_t load_tail(const uint8_t* p, int64_t n) {
  uint32_t v = 0;
  for (int64_t i = 0; i < n; ++i) v |= static_cast<uint32_t>(p[i]) << (8 * i);
  return static_cast<int32_t>(v);
}

}  // namespace lowbit::kernels::int8_gemm
