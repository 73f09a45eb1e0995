// requantize.cc: dyadic_multiplier, the scalar row kernels, and the run-time choice of the
// AVX-512 and AVX2 ones (requantize_avx512.cc, requantize_avx2.cc).
#include "kernels/requant/requantize.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/check.h"
#include "core/cpu_features.h"
#include "kernels/isa.h"

namespace lowbit::kernels {

Result<DyadicMultiplier> dyadic_multiplier(double m) {
  if (!std::isfinite(m)) return Status::errorf("requantization multiplier {} is not finite", m);
  if (m < 0) return Status::errorf("requantization multiplier {} is negative", m);
  if (m == 0) return DyadicMultiplier{};
  int e = 0;
  const double q = std::frexp(m, &e);  // m = q · 2^e, q in [0.5, 1)
  // q · 2^31 only moves the exponent, so it is exact; round() takes ties away from zero.
  int64_t q_fixed = static_cast<int64_t>(std::round(std::ldexp(q, 31)));
  if (q_fixed == (int64_t{1} << 31)) {  // q rounded up to 1.0: renormalize to 0.5 · 2^(e+1)
    q_fixed >>= 1;
    ++e;
  }
  if (e < kMinDyadicShift || e > kMaxDyadicShift) {
    return Status::errorf("requantization multiplier {} needs shift {}, outside [{}, {}] (multipliers in [2^-32, 2^30))",
                          m, e, kMinDyadicShift, kMaxDyadicShift);
  }
  return DyadicMultiplier{static_cast<int32_t>(q_fixed), e};
}

void check_requantize_rows(int64_t rows, int64_t cols, const DyadicMultiplier* mult, int64_t nmult, int32_t lo,
                           int32_t hi, int32_t qmin, int32_t qmax, int headroom) {
  LB_CHECK(headroom >= 0 && headroom <= 31, "requantize headroom outside [0, 31]");
  LB_CHECK(rows >= 0 && cols >= 0, "negative requantize block size");
  LB_CHECK(nmult == 1 || nmult == cols, "requantize needs one multiplier or one per column");
  LB_CHECK(qmin <= lo && lo <= hi && hi <= qmax, "requantize clamp bounds outside the output type");
  for (int64_t i = 0; i < nmult; ++i) {
    LB_CHECK(mult[i].shift >= kMinDyadicShift && mult[i].shift <= kMaxDyadicShift, "dyadic shift out of [-31, 30]");
    LB_CHECK(mult[i].shift > 0 || headroom - mult[i].shift <= 31, "requantize headroom makes a right shift over 31");
  }
}

namespace {

// The left / right shifts of one multiplier with `headroom` bits (requantize.h).
inline void split_shift(int shift, int headroom, int* left, int* right) {
  *left = shift > 0 ? shift : headroom;
  *right = shift > 0 ? 0 : headroom - shift;
}

template <typename T>
void requantize_rows_scalar(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult,
                            int64_t nmult, int32_t zy, int32_t lo, int32_t hi, T* out, int headroom) {
  int left = 0, right = 0;
  if (nmult == 1) {
    // One multiplier: the block is one flat run, shifts split once.
    const int32_t m0 = mult[0].m0;
    split_shift(mult[0].shift, headroom, &left, &right);
    const int64_t n = rows * cols;
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(requantize_split(acc[i], m0, left, right, zy, lo, hi));
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* a = acc + r * cols;
    T* o = out + r * cols;
    for (int64_t c = 0; c < cols; ++c) {
      split_shift(mult[c].shift, headroom, &left, &right);
      o[c] = static_cast<T>(requantize_split(a[c], mult[c].m0, left, right, zy, lo, hi));
    }
  }
}

}  // namespace

void requantize_to_u8_scalar(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult,
                             int64_t nmult, int32_t zy, int32_t lo, int32_t hi, uint8_t* out, int headroom) {
  check_requantize_rows(rows, cols, mult, nmult, lo, hi, 0, 255, headroom);
  requantize_rows_scalar(acc, rows, cols, mult, nmult, zy, lo, hi, out, headroom);
}

void requantize_to_s8_scalar(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult,
                             int64_t nmult, int32_t zy, int32_t lo, int32_t hi, int8_t* out, int headroom) {
  check_requantize_rows(rows, cols, mult, nmult, lo, hi, -128, 127, headroom);
  requantize_rows_scalar(acc, rows, cols, mult, nmult, zy, lo, hi, out, headroom);
}

bool requantize_uses_avx2() {
  static const bool yes = [] {
    if (isa_ceiling() == Isa::kScalar) return false;
    const CpuFeatures& f = cpu_features();
    return f.avx2 && f.os_avx;
  }();
  return yes;
}

// isa_ceiling() is best_isa() unless LOWBIT_ISA narrows it; any value below avx512vnni turns the
// AVX-512 kernel off (a CPU with AVX-512 F/BW/VL but no VNNI has a lower best_isa() and so
// stays on AVX2 here too).
bool requantize_uses_avx512() {
  static const bool yes = [] {
    if (isa_ceiling() < Isa::kAvx512Vnni) return false;
    const CpuFeatures& f = cpu_features();
    return f.avx512f && f.avx512bw && f.avx512vl && f.os_avx512;
  }();
  return yes;
}

void requantize_to_u8(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult, int64_t nmult,
                      int32_t zy, int32_t lo, int32_t hi, uint8_t* out, int headroom) {
  auto* fn = requantize_uses_avx512() ? requantize_to_u8_avx512
             : requantize_uses_avx2() ? requantize_to_u8_avx2
                                      : requantize_to_u8_scalar;
  fn(acc, rows, cols, mult, nmult, zy, lo, hi, out, headroom);
}

void requantize_to_s8(const int32_t* acc, int64_t rows, int64_t cols, const DyadicMultiplier* mult, int64_t nmult,
                      int32_t zy, int32_t lo, int32_t hi, int8_t* out, int headroom) {
  auto* fn = requantize_uses_avx512() ? requantize_to_s8_avx512
             : requantize_uses_avx2() ? requantize_to_s8_avx2
                                      : requantize_to_s8_scalar;
  fn(acc, rows, cols, mult, nmult, zy, lo, hi, out, headroom);
}

}  // namespace lowbit::kernels
