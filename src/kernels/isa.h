// isa.h: the instruction sets lowbit's kernels are built for, and which one runs (CPUID, LOWBIT_ISA).
// The one place LOWBIT_ISA is read: FP32 depthwise, int8 GEMM and depthwise, and requantization
// all ask here.
//
// Each ISA has its own translation unit (gemm_<isa>.cc) compiled under `#pragma GCC target`;
// nothing else in the library gets those flags, and a variant runs only after isa_supported()
// says the CPU and the OS (XCR0) allow it. LOWBIT_ISA narrows the choice for tests and
// benchmarks; it never enables an instruction set the CPU lacks.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/status.h"

namespace lowbit::kernels {

// Best last: best_isa() walks this order backwards.
enum class Isa : uint8_t { kScalar, kAvx2, kAvxVnni, kAvx512Vnni };

inline constexpr Isa kAllIsas[] = {Isa::kScalar, Isa::kAvx2, Isa::kAvxVnni, Isa::kAvx512Vnni};

// "scalar", "avx2", "avxvnni", "avx512vnni" — also the values LOWBIT_ISA accepts.
std::string_view isa_name(Isa isa);

// Whether the running CPU and OS can execute `isa` (from cpu_features()); scalar always.
bool isa_supported(Isa isa);

// The best ISA isa_supported() allows.
Isa best_isa();

// Parses an ISA name (exactly one of isa_name's values); the error names the value and the
// supported ones, also when the name is known but the CPU cannot run it.
Result<Isa> parse_isa(std::string_view name);

// The ISA to use: LOWBIT_ISA when set and not empty (parsed by parse_isa), else best_isa().
// Reads the environment on every call, so tests may change it.
Result<Isa> selected_isa();

// For kernels that cannot report an error: the ISA ceiling LOWBIT_ISA sets (best_isa() when it
// is unset or invalid — the command line reports an invalid value through selected_isa()).
// A kernel family without a variant for the ceiling uses its best one below it.
Isa isa_ceiling();

// Whether kernel families with a single AVX2 variant may use it: the CPU has AVX2 and
// LOWBIT_ISA does not say "scalar" (every level above scalar includes AVX2). Read once.
bool avx2_allowed();

}  // namespace lowbit::kernels
