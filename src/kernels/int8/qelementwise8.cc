// qelementwise8.cc: rescale_u8 (a 256-entry table when that pays), prepare_add, the scalar
// add_u8 variant, the run-time choice of the AVX2 one (qelementwise8_avx2.cc) and the split of
// both kernels over element chunks.
#include "kernels/int8/qelementwise8.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "kernels/isa.h"
#include "kernels/requant/requantize.h"

namespace lowbit::kernels {
namespace {

// Below kParallelMin elements a kernel runs on the calling thread; above, chunks of at least
// kGrain elements (elementwise work is memory bound: small chunks only add overhead).
constexpr int64_t kParallelMin = 65536;
constexpr int64_t kGrain = 16384;
// From this many elements rescale_u8 builds its 256-entry table first.
constexpr int64_t kTableMin = 256;

void run_chunks(ThreadPool* pool, int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  if (pool != nullptr && pool->num_threads() > 1 && n > kParallelMin) {
    pool->parallel_for(n, kGrain, fn);
  } else {
    fn(0, n);
  }
}

bool in_u8(int32_t v) { return v >= 0 && v <= 255; }

void check_shift(DyadicMultiplier m) {
  LB_CHECK(m.shift >= kMinDyadicShift && m.shift <= kMaxDyadicShift, "dyadic shift out of [-31, 30]");
}

Status check_scale(const char* what, double s) {
  if (!std::isfinite(s) || s <= 0) return Status::errorf("Add: {} scale {} is not a positive finite number", what, s);
  return Status::ok();
}

// dyadic_multiplier(r), with r < 2^−32 flushed to 0 (see prepare_add).
Result<DyadicMultiplier> input_multiplier(double r) {
  if (r < std::ldexp(1.0, -32)) return DyadicMultiplier{};
  return dyadic_multiplier(r);
}

// a' = multiply_by_dyadic((q − z) · 2^left_shift, m) for one input.
inline int32_t scale_input(int32_t q, int32_t z, int left_shift, DyadicMultiplier m) {
  return multiply_by_dyadic((q - z) * (int32_t{1} << left_shift), m);
}

}  // namespace

void rescale_u8(const uint8_t* x, int64_t n, int32_t x_zero, DyadicMultiplier m, int32_t y_zero, int32_t lo,
                int32_t hi, uint8_t* y, ThreadPool* pool) {
  LB_CHECK(n >= 0, "negative element count");
  LB_CHECK(in_u8(x_zero), "rescale_u8: input zero point outside [0, 255]");
  LB_CHECK(in_u8(lo) && lo <= hi && in_u8(hi), "rescale_u8: clamp bounds outside [0, 255]");
  check_shift(m);
  // |q − zx| ≤ 255 < 2^8; the header explains the headroom.
  const int k = headroom_bits(m, 8);
  const DyadicMultiplier mk = with_headroom(m, k);
  const int left = mk.shift > 0 ? mk.shift : 0;
  const int right = mk.shift < 0 ? -mk.shift : 0;
  auto one = [&](int32_t q) {
    return static_cast<uint8_t>(requantize_split((q - x_zero) * (int32_t{1} << k), mk.m0, left, right, y_zero, lo, hi));
  };
  if (n < kTableMin) {
    for (int64_t i = 0; i < n; ++i) y[i] = one(x[i]);
    return;
  }
  // A uint8 input has 256 values: requantize each once, then map.
  uint8_t table[256];
  for (int32_t q = 0; q < 256; ++q) table[q] = one(q);
  run_chunks(pool, n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) y[i] = table[x[i]];
  });
}

Result<AddParams> prepare_add(double sa, int32_t za, double sb, int32_t zb, double sy, int32_t zy, int32_t lo,
                              int32_t hi) {
  LB_TRY(check_scale("first input", sa));
  LB_TRY(check_scale("second input", sb));
  LB_TRY(check_scale("output", sy));
  if (!in_u8(za) || !in_u8(zb) || !in_u8(zy)) {
    return Status::errorf("Add: zero points {}, {}, {} must lie in [0, 255]", za, zb, zy);
  }
  if (!(in_u8(lo) && lo <= hi && in_u8(hi))) {
    return Status::errorf("Add: output clamp [{}, {}] is not inside [0, 255]", lo, hi);
  }
  AddParams p;
  p.left_shift = 20;
  const double twice_max = 2.0 * std::max(sa, sb);
  LB_ASSIGN_OR_RETURN(p.a, input_multiplier(sa / twice_max));
  LB_ASSIGN_OR_RETURN(p.b, input_multiplier(sb / twice_max));
  const double out = twice_max / (std::ldexp(1.0, p.left_shift) * sy);
  Result<DyadicMultiplier> m = dyadic_multiplier(out);
  if (!m.is_ok()) {
    return Status::errorf("Add: output scale {} is too small next to input scales {} and {} ({})", sy, sa, sb,
                          m.status().message());
  }
  p.out = *m;
  p.a_zero = za;
  p.b_zero = zb;
  p.y_zero = zy;
  p.lo = lo;
  p.hi = hi;
  return p;
}

void check_add_params(const AddParams& p) {
  LB_CHECK(p.left_shift >= 0 && p.left_shift <= 22, "add_u8: left_shift outside [0, 22]");
  LB_CHECK(p.a.shift >= kMinDyadicShift && p.a.shift <= 0, "add_u8: input multiplier a not in [0, 1]");
  LB_CHECK(p.b.shift >= kMinDyadicShift && p.b.shift <= 0, "add_u8: input multiplier b not in [0, 1]");
  check_shift(p.out);
  LB_CHECK(in_u8(p.a_zero) && in_u8(p.b_zero) && in_u8(p.y_zero), "add_u8: zero point outside [0, 255]");
  LB_CHECK(in_u8(p.lo) && p.lo <= p.hi && in_u8(p.hi), "add_u8: clamp bounds outside [0, 255]");
}

void add_u8_scalar(const uint8_t* a, const uint8_t* b, int64_t n, const AddParams& p, uint8_t* y) {
  LB_CHECK(n >= 0, "negative element count");
  check_add_params(p);
  const int left = p.out.shift > 0 ? p.out.shift : 0;
  const int right = p.out.shift < 0 ? -p.out.shift : 0;
  for (int64_t i = 0; i < n; ++i) {
    const int32_t sum =
        scale_input(a[i], p.a_zero, p.left_shift, p.a) + scale_input(b[i], p.b_zero, p.left_shift, p.b);
    y[i] = static_cast<uint8_t>(requantize_split(sum, p.out.m0, left, right, p.y_zero, p.lo, p.hi));
  }
}

void add_input_table(int32_t zero, int left_shift, DyadicMultiplier m, int32_t* table) {
  for (int32_t q = 0; q < 256; ++q) table[q] = scale_input(q, zero, left_shift, m);
}

bool add_u8_uses_avx2() {
  // Like requantize_uses_avx2: the ceiling is read once, and only "scalar" turns AVX2 off
  // (every ISA above it includes AVX2).
  return avx2_allowed();
}

void add_u8(const uint8_t* a, const uint8_t* b, int64_t n, const AddParams& p, uint8_t* y, ThreadPool* pool) {
  LB_CHECK(n >= 0, "negative element count");
  check_add_params(p);
  auto* fn = add_u8_uses_avx2() ? add_u8_avx2 : add_u8_scalar;
  run_chunks(pool, n, [&](int64_t i0, int64_t i1) { fn(a + i0, b + i0, i1 - i0, p, y + i0); });
}

}  // namespace lowbit::kernels
