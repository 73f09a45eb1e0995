// cpu_features.h: what the running x86-64 CPU (and OS) supports, read once from CPUID/XGETBV.
#pragma once

#include <string>

namespace lowbit {

struct CpuFeatures {
  std::string vendor, brand;
  bool sse42 = false, avx = false, fma = false, avx2 = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx_vnni = false, avx512_vpopcntdq = false;
  // OS saves YMM / ZMM state (XCR0), without which AVX / AVX-512 instructions fault.
  bool os_avx = false, os_avx512 = false;

  // Feature names this CPU has, space separated, in a fixed order.
  std::string summary() const;
};

const CpuFeatures& cpu_features();

}  // namespace lowbit
