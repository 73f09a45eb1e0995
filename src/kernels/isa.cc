// isa.cc: CPUID-based support checks and LOWBIT_ISA parsing for every kernel family.
#include "kernels/isa.h"

#include <cstdlib>
#include <string>

#include "core/cpu_features.h"

namespace lowbit::kernels {

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvxVnni:
      return "avxvnni";
    case Isa::kAvx512Vnni:
      return "avx512vnni";
  }
  return "unknown";
}

bool isa_supported(Isa isa) {
  const CpuFeatures& f = cpu_features();  // already false for what the OS does not save
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
      return f.avx2 && f.os_avx;
    case Isa::kAvxVnni:
      return f.avx2 && f.avx_vnni && f.os_avx;
    case Isa::kAvx512Vnni:
      // The kernel uses 512-bit integer ops (BW), mask registers and 256-bit forms (VL).
      return f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni && f.os_avx512;
  }
  return false;
}

Isa best_isa() {
  for (int i = static_cast<int>(std::size(kAllIsas)) - 1; i > 0; --i)
    if (isa_supported(kAllIsas[i])) return kAllIsas[i];
  return Isa::kScalar;
}

namespace {

std::string supported_list() {
  std::string s;
  for (Isa isa : kAllIsas) {
    if (!isa_supported(isa)) continue;
    if (!s.empty()) s += ", ";
    s += isa_name(isa);
  }
  return s;
}

}  // namespace

Result<Isa> parse_isa(std::string_view name) {
  for (Isa isa : kAllIsas) {
    if (name != isa_name(isa)) continue;
    if (!isa_supported(isa))
      return Status::errorf("LOWBIT_ISA: '{}' is not supported by this CPU (supported: {})", name,
                            supported_list());
    return isa;
  }
  return Status::errorf("LOWBIT_ISA: unknown instruction set '{}' (supported: {})", name, supported_list());
}

Result<Isa> selected_isa() {
  const char* env = std::getenv("LOWBIT_ISA");
  if (env == nullptr || env[0] == '\0') return best_isa();
  return parse_isa(env);
}

Isa isa_ceiling() {
  Result<Isa> isa = selected_isa();
  return isa.is_ok() ? *isa : best_isa();
}

bool avx2_allowed() {
  static const bool yes = isa_ceiling() != Isa::kScalar && isa_supported(Isa::kAvx2);
  return yes;
}

}  // namespace lowbit::kernels
