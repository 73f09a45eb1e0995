// blas_env.cc: pick OpenBLAS's core type from CPUID and restart the process with it.
#include "kernels/fp32/blas_env.h"

#include <unistd.h>

#include <cstdlib>

namespace lowbit::kernels {

const char* preferred_openblas_coretype(const CpuFeatures& cpu) {
  if (cpu.avx512f && cpu.avx512bw && cpu.avx512vl && cpu.avx512dq) return "SkylakeX";
  if (cpu.avx2 && cpu.fma) return "Haswell";
  return nullptr;
}

void reexec_with_openblas_coretype(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") || std::getenv("LOWBIT_KEEP_BLAS_CORETYPE")) return;
  const char* coretype = preferred_openblas_coretype(cpu_features());
  if (!coretype) return;
  setenv("OPENBLAS_CORETYPE", coretype, 1);
  setenv("LOWBIT_KEEP_BLAS_CORETYPE", "1", 1);  // the restarted process must not loop
  execv("/proc/self/exe", argv);
  // execv failed (no /proc?): carry on with whatever OpenBLAS chose.
}

}  // namespace lowbit::kernels
