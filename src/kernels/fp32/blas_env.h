// blas_env.h: which OpenBLAS kernel family ("core type") suits this CPU.
//
// OpenBLAS chooses its kernels when the library loads, before main(), from its own CPU table.
// Debian 12's OpenBLAS 0.3.21 does not know recent Xeons (family 6, model 207 here) and falls
// back to its SSE3 "Prescott" kernels: 44 GFLOP/s on a single-threaded 512³ sgemm against 111
// for "Haswell" and 206 for "SkylakeX" on the same core. Only OPENBLAS_CORETYPE, set before the library
// loads, overrides that choice, so the `lowbit` command sets it and re-executes itself.
#pragma once

#include "core/cpu_features.h"

namespace lowbit::kernels {

// "SkylakeX" with AVX-512 F/BW/VL/DQ, "Haswell" with AVX2 + FMA, else nullptr (let OpenBLAS choose).
const char* preferred_openblas_coretype(const CpuFeatures& cpu);

// If neither OPENBLAS_CORETYPE nor LOWBIT_KEEP_BLAS_CORETYPE is set and this CPU has a preferred
// core type, sets it and re-executes the running program with the same arguments (once).
// Returns only when no re-execution happened.
void reexec_with_openblas_coretype(char** argv);

}  // namespace lowbit::kernels
