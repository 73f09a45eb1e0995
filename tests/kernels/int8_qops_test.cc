// int8_qops_test.cc: the integer-only elementwise and pooling kernels (qelementwise8.h,
// qpool8.h) — bit for bit against naive loops built on kernels::requantize, against
// hand-computed values, against the real-valued definition (round half to even of the exact
// result, within 1 and equal on ≥ 99 % of elements), the average pool against avg_pool_f32 on
// the dequantized input, the AVX2 Add against the scalar one, and the prepare helpers' errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/fp32/pool.h"
#include "kernels/int8/qelementwise8.h"
#include "kernels/int8/qpool8.h"
#include "kernels/isa.h"
#include "kernels/requant/requantize.h"

namespace lowbit::kernels {
namespace {

constexpr int32_t kI32Max = std::numeric_limits<int32_t>::max();
constexpr int32_t kI32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t kAwkward[] = {1, 3, 15, 16, 17, 63, 64, 65, 255, 257};

std::vector<uint8_t> random_u8(int64_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<uint8_t> v(static_cast<size_t>(n));
  for (auto& e : v) e = static_cast<uint8_t>(d(rng));
  return v;
}

double log_uniform(double lo, double hi, std::mt19937& rng) {
  return std::exp(std::uniform_real_distribution<double>(std::log(lo), std::log(hi))(rng));
}

int32_t random_zero(std::mt19937& rng) { return std::uniform_int_distribution<int32_t>(0, 255)(rng); }

DyadicMultiplier dyadic(double m) {
  Result<DyadicMultiplier> r = dyadic_multiplier(m);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? *r : DyadicMultiplier{};
}

// The real-valued definition: zy + v / sy rounded half to even (std::nearbyint in the default
// rounding mode), clamped.
int32_t quantize_real(double v, double sy, int32_t zy, int32_t lo, int32_t hi) {
  const double q = std::nearbyint(static_cast<double>(zy) + v / sy);
  return static_cast<int32_t>(std::clamp(q, static_cast<double>(lo), static_cast<double>(hi)));
}

// Spare bits for an accumulator below 2^acc_bits, written out from the contract in
// qelementwise8.h: none for M ≥ 1, else the fewer of 31 − acc_bits and shift + 31.
int spare_bits(DyadicMultiplier m, int acc_bits) {
  if (m.shift > 0) return 0;
  return std::max(0, std::min(31 - acc_bits, m.shift + 31));
}

// Smallest b with 255 · positions < 2^b.
int bits_for(int64_t positions) {
  int b = 0;
  while ((int64_t{1} << b) <= 255 * std::max<int64_t>(positions, 1)) ++b;
  return b;
}

// acc · M through requantize with k spare bits.
int32_t requant_headroom(int32_t acc, DyadicMultiplier m, int acc_bits, int32_t zy, int32_t lo, int32_t hi) {
  const int k = spare_bits(m, acc_bits);
  return requantize(acc * (1 << k), DyadicMultiplier{m.m0, m.shift - k}, zy, lo, hi);
}

// Tracks "within 1 everywhere, equal on ≥ 99 %".
struct Agreement {
  int64_t total = 0, equal = 0, far = 0;
  void add(int32_t got, int32_t want) {
    ++total;
    equal += got == want;
    far += std::abs(got - want) > 1;
  }
  void expect_close(const std::string& what) const {
    EXPECT_EQ(far, 0) << what;
    EXPECT_GE(static_cast<double>(equal), 0.99 * static_cast<double>(total)) << what << ": " << equal << " of "
                                                                               << total << " equal";
  }
};

// ---- Rescale -------------------------------------------------------------------------------

std::vector<uint8_t> ref_rescale(const std::vector<uint8_t>& x, int32_t zx, DyadicMultiplier m, int32_t zy, int32_t lo,
                                 int32_t hi) {
  std::vector<uint8_t> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = static_cast<uint8_t>(requant_headroom(x[i] - zx, m, 8, zy, lo, hi));
  return y;
}

TEST(Int8QOpsRescale, HandComputed) {
  // sx = sy: y = x − zx + zy, clamped; with Relu (lo = zy) negatives stop at zy.
  const std::vector<uint8_t> x = {0, 10, 11, 200, 250, 255};
  std::vector<uint8_t> y(x.size());
  rescale_u8(x.data(), 6, 10, dyadic(1.0), 20, 0, 255, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<uint8_t>{10, 20, 21, 210, 255, 255}));
  rescale_u8(x.data(), 6, 10, dyadic(1.0), 20, 20, 255, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<uint8_t>{20, 20, 21, 210, 255, 255}));
  // M = 1/4 on q − zx = 1, 2, 3, −1, −2, −3: 0.25 → 0 (requantize(1, 1/4) alone would give 1,
  // fixed_point.h), ties 0.5 → 1 and −0.5 → −1 away from zero, 0.75 → 1.
  const std::vector<uint8_t> q = {101, 102, 103, 99, 98, 97};
  std::vector<uint8_t> r(q.size());
  rescale_u8(q.data(), 6, 100, dyadic(0.25), 100, 0, 255, r.data(), nullptr);
  EXPECT_EQ(r, (std::vector<uint8_t>{100, 101, 101, 100, 99, 99}));
}

TEST(Int8QOpsRescale, MatchesRequantizeReference) {
  std::mt19937 rng(1234);
  ThreadPool pool2(2);
  std::vector<int64_t> sizes(std::begin(kAwkward), std::end(kAwkward));
  sizes.push_back(1000);
  sizes.push_back(70001);  // above the parallel threshold
  const double mults[] = {1.0, 0.3, 0.25, 2.7, 1e-3, 37.0};
  for (int64_t n : sizes) {
    const std::vector<uint8_t> x = random_u8(n, rng);
    for (int32_t zx : {0, 255, random_zero(rng)}) {
      for (double mr : mults) {
        const DyadicMultiplier m = dyadic(mr);
        for (int32_t zy : {0, 255, random_zero(rng)}) {
          for (auto [lo, hi] : {std::pair<int32_t, int32_t>{0, 255}, {zy, 255}, {30, 200}}) {
            const std::vector<uint8_t> want = ref_rescale(x, zx, m, zy, lo, hi);
            for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2}) {
              std::vector<uint8_t> y(x.size(), 7);
              rescale_u8(x.data(), n, zx, m, zy, lo, hi, y.data(), pool);
              ASSERT_EQ(y, want) << "n=" << n << " zx=" << zx << " M=" << mr << " zy=" << zy << " [" << lo << ", "
                                 << hi << "] pool=" << (pool != nullptr);
            }
          }
        }
      }
    }
  }
}

TEST(Int8QOpsRescale, CloseToRealValue) {
  std::mt19937 rng(99);
  Agreement all;
  for (int trial = 0; trial < 200; ++trial) {
    const double sx = log_uniform(1e-3, 1.0, rng), sy = sx * log_uniform(0.05, 20.0, rng);
    const int32_t zx = trial % 3 == 0 ? 0 : (trial % 3 == 1 ? 255 : random_zero(rng));
    const int32_t zy = random_zero(rng);
    const int32_t lo = trial % 2 ? zy : 0;  // Relu on half the trials
    const std::vector<uint8_t> x = random_u8(1024, rng);
    std::vector<uint8_t> y(x.size());
    rescale_u8(x.data(), 1024, zx, dyadic(sx / sy), zy, lo, 255, y.data(), nullptr);
    Agreement one;
    for (size_t i = 0; i < x.size(); ++i) {
      const int32_t want = quantize_real(sx * (x[i] - zx), sy, zy, lo, 255);
      one.add(y[i], want);
      all.add(y[i], want);
    }
    one.expect_close("trial " + std::to_string(trial) + " sx/sy=" + std::to_string(sx / sy));
  }
  all.expect_close("all trials");
}

// ---- Add -----------------------------------------------------------------------------------

// a' and b' as requantize() with zero point 0 and no clamp, then the output requantize.
uint8_t ref_add_one(uint8_t qa, uint8_t qb, const AddParams& p) {
  const int32_t a = requantize((qa - p.a_zero) * (1 << p.left_shift), p.a, 0, kI32Min, kI32Max);
  const int32_t b = requantize((qb - p.b_zero) * (1 << p.left_shift), p.b, 0, kI32Min, kI32Max);
  return static_cast<uint8_t>(requantize(a + b, p.out, p.y_zero, p.lo, p.hi));
}

std::vector<uint8_t> ref_add(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b, const AddParams& p) {
  std::vector<uint8_t> y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = ref_add_one(a[i], b[i], p);
  return y;
}

AddParams must_prepare(double sa, int32_t za, double sb, int32_t zb, double sy, int32_t zy, int32_t lo, int32_t hi) {
  Result<AddParams> p = prepare_add(sa, za, sb, zb, sy, zy, lo, hi);
  EXPECT_TRUE(p.is_ok()) << p.status().message();
  return p.is_ok() ? *p : AddParams{};
}

TEST(Int8QOpsAdd, HandComputed) {
  // sa = sb = sy = 1/2: a = b = 1/2 = 2^30 · 2^(0 − 31); out = 1 / (2^20 · 1/2) = 2^−19 =
  // 2^30 · 2^(−18 − 31). Every step is exact, so y = (qa − za) + (qb − zb) + zy, clamped.
  const AddParams p = must_prepare(0.5, 0, 0.5, 0, 0.5, 0, 0, 255);
  EXPECT_EQ(p.left_shift, 20);
  EXPECT_EQ(p.a.m0, 1 << 30);
  EXPECT_EQ(p.a.shift, 0);
  EXPECT_EQ(p.b.m0, 1 << 30);
  EXPECT_EQ(p.out.m0, 1 << 30);
  EXPECT_EQ(p.out.shift, -18);
  const std::vector<uint8_t> a = {0, 100, 200, 255, 7};
  const std::vector<uint8_t> b = {0, 27, 100, 255, 0};
  std::vector<uint8_t> y(a.size());
  add_u8(a.data(), b.data(), 5, p, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<uint8_t>{0, 127, 255, 255, 7}));
  // Zero points 128 everywhere: y = qa + qb − 128.
  const AddParams q = must_prepare(0.5, 128, 0.5, 128, 0.5, 128, 0, 255);
  add_u8(a.data(), b.data(), 5, q, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<uint8_t>{0, 0, 172, 255, 0}));
  // sb = sa / 2, sy = sa: y = (qa − 0) + (qb − 0) / 2, here without ties.
  const AddParams r = must_prepare(1.0, 0, 0.5, 0, 1.0, 0, 0, 255);
  const std::vector<uint8_t> c = {10, 10, 100, 0};
  const std::vector<uint8_t> d = {4, 6, 200, 254};
  std::vector<uint8_t> z(c.size());
  add_u8(c.data(), d.data(), 4, r, z.data(), nullptr);
  EXPECT_EQ(z, (std::vector<uint8_t>{12, 13, 200, 127}));
}

TEST(Int8QOpsAdd, MatchesRequantizeReference) {
  std::mt19937 rng(77);
  ThreadPool pool2(2);
  std::vector<int64_t> sizes(std::begin(kAwkward), std::end(kAwkward));
  sizes.push_back(70001);
  struct Scales {
    double sa, sb, sy;
  };
  const Scales scales[] = {{0.02, 0.05, 0.06}, {0.1, 0.1, 0.1}, {0.3, 0.01, 0.2}, {1.0, 1e-12, 1.0}, {0.01, 0.02, 0.005}};
  for (int64_t n : sizes) {
    const std::vector<uint8_t> a = random_u8(n, rng), b = random_u8(n, rng);
    for (const Scales& s : scales) {
      for (int32_t z : {0, 255, -1}) {
        const int32_t za = z >= 0 ? z : random_zero(rng), zb = z >= 0 ? 255 - z : random_zero(rng);
        const int32_t zy = z >= 0 ? z : random_zero(rng);
        for (auto [lo, hi] : {std::pair<int32_t, int32_t>{0, 255}, {zy, 255}, {10, 240}}) {
          const AddParams p = must_prepare(s.sa, za, s.sb, zb, s.sy, zy, lo, hi);
          const std::vector<uint8_t> want = ref_add(a, b, p);
          const std::string where = "n=" + std::to_string(n) + " sa=" + std::to_string(s.sa) + " za=" +
                                    std::to_string(za) + " zb=" + std::to_string(zb) + " zy=" + std::to_string(zy);
          for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2}) {
            std::vector<uint8_t> y(a.size(), 7);
            add_u8(a.data(), b.data(), n, p, y.data(), pool);
            ASSERT_EQ(y, want) << where << " pool=" << (pool != nullptr);
          }
          std::vector<uint8_t> y(a.size(), 7);
          add_u8_scalar(a.data(), b.data(), n, p, y.data());
          ASSERT_EQ(y, want) << where << " scalar";
          if (isa_supported(Isa::kAvx2)) {
            std::fill(y.begin(), y.end(), 7);
            add_u8_avx2(a.data(), b.data(), n, p, y.data());
            ASSERT_EQ(y, want) << where << " avx2";
          }
          // In place: y aliases the first input.
          std::vector<uint8_t> inplace = a;
          add_u8(inplace.data(), b.data(), n, p, inplace.data(), &pool2);
          ASSERT_EQ(inplace, want) << where << " in place";
        }
      }
    }
  }
}

// Parameters prepare_add never makes but the kernels accept: any m0 (negative, INT32_MIN),
// every allowed shift, left_shift in [0, 22]. Both variants must follow requantize() exactly.
TEST(Int8QOpsAdd, VariantsMatchOnExtremeParams) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int32_t> any32(kI32Min, kI32Max);
  const bool avx2 = isa_supported(Isa::kAvx2);
  // Corners first: a sum that saturates the output's left shift to INT32_MIN meets
  // m0 = INT32_MIN (SRDHM's one overflow, → INT32_MAX), and its positive twin.
  std::vector<AddParams> corners;
  for (int32_t out_m0 : {kI32Min, kI32Max, -(1 << 30)}) {
    for (int shift : {30, 12, 0, -31}) {
      AddParams p;
      p.left_shift = 22;
      p.a = {kI32Max, 0};
      p.b = {kI32Min, 0};
      p.out = {out_m0, shift};
      p.a_zero = 128;
      p.b_zero = 128;
      p.y_zero = 100;
      p.lo = 3;
      p.hi = 250;
      corners.push_back(p);
    }
  }
  for (const AddParams& p : corners) {
    const std::vector<uint8_t> a = {0, 255, 0, 255, 128, 0, 255, 1, 254, 128, 7, 200, 0, 255, 128, 128, 3};
    const std::vector<uint8_t> b = {255, 0, 0, 255, 128, 128, 128, 254, 1, 0, 9, 100, 255, 0, 255, 0, 5};
    const std::vector<uint8_t> want = ref_add(a, b, p);
    std::vector<uint8_t> y(a.size(), 7);
    add_u8_scalar(a.data(), b.data(), static_cast<int64_t>(a.size()), p, y.data());
    ASSERT_EQ(y, want) << "scalar, out " << p.out.m0 << " shift " << p.out.shift;
    if (avx2) {
      std::fill(y.begin(), y.end(), 7);
      add_u8_avx2(a.data(), b.data(), static_cast<int64_t>(a.size()), p, y.data());
      ASSERT_EQ(y, want) << "avx2, out " << p.out.m0 << " shift " << p.out.shift;
    }
  }
  for (int trial = 0; trial < 400; ++trial) {
    AddParams p;
    p.left_shift = std::uniform_int_distribution<int>(0, 22)(rng);
    const int32_t special[] = {kI32Min, kI32Max, 1 << 30, -(1 << 30), 0};
    p.a = {trial % 7 == 0 ? special[trial % 5] : any32(rng), std::uniform_int_distribution<int>(-31, 0)(rng)};
    p.b = {trial % 11 == 0 ? special[trial % 5] : any32(rng), std::uniform_int_distribution<int>(-31, 0)(rng)};
    p.out = {trial % 13 == 0 ? special[trial % 5] : any32(rng), std::uniform_int_distribution<int>(-31, 30)(rng)};
    p.a_zero = random_zero(rng);
    p.b_zero = random_zero(rng);
    p.y_zero = random_zero(rng);
    p.lo = std::uniform_int_distribution<int32_t>(0, 255)(rng);
    p.hi = std::uniform_int_distribution<int32_t>(p.lo, 255)(rng);
    const int64_t n = trial < 40 ? trial : std::uniform_int_distribution<int64_t>(1, 300)(rng);
    const std::vector<uint8_t> a = random_u8(n, rng), b = random_u8(n, rng);
    const std::vector<uint8_t> want = ref_add(a, b, p);
    std::vector<uint8_t> y(a.size(), 7);
    add_u8_scalar(a.data(), b.data(), n, p, y.data());
    ASSERT_EQ(y, want) << "scalar, trial " << trial;
    if (avx2) {
      std::fill(y.begin(), y.end(), 7);
      add_u8_avx2(a.data(), b.data(), n, p, y.data());
      ASSERT_EQ(y, want) << "avx2, trial " << trial;
    }
  }
  if (!avx2) GTEST_SKIP() << "CPU lacks AVX2: only the scalar variant was checked";
}

TEST(Int8QOpsAdd, CloseToRealValue) {
  std::mt19937 rng(2024);
  Agreement all;
  for (int trial = 0; trial < 200; ++trial) {
    const double sa = log_uniform(1e-3, 1.0, rng), sb = sa * log_uniform(0.1, 10.0, rng);
    const double sy = (sa + sb) * log_uniform(0.3, 3.0, rng);
    const int32_t za = trial % 3 == 0 ? 0 : random_zero(rng), zb = trial % 3 == 1 ? 255 : random_zero(rng);
    const int32_t zy = random_zero(rng);
    const int32_t lo = trial % 2 ? zy : 0;
    const AddParams p = must_prepare(sa, za, sb, zb, sy, zy, lo, 255);
    const std::vector<uint8_t> a = random_u8(1024, rng), b = random_u8(1024, rng);
    std::vector<uint8_t> y(a.size());
    add_u8(a.data(), b.data(), 1024, p, y.data(), nullptr);
    Agreement one;
    for (size_t i = 0; i < a.size(); ++i) {
      const int32_t want = quantize_real(sa * (a[i] - za) + sb * (b[i] - zb), sy, zy, lo, 255);
      one.add(y[i], want);
      all.add(y[i], want);
    }
    one.expect_close("trial " + std::to_string(trial));
  }
  all.expect_close("all trials");
}

// ---- Average pooling -----------------------------------------------------------------------

struct PoolSpec {
  int64_t planes;
  std::array<int64_t, 3> in, kernel, stride, dilation, pad_begin, pad_end;
  bool ceil_mode;
};

// Output sizes as ONNX / PyTorch define them; with ceil_mode a last window that would start
// past the input and the begin padding is dropped.
PoolGeom make_geom(const PoolSpec& s) {
  PoolGeom g;
  g.planes = s.planes;
  g.in = s.in;
  g.kernel = s.kernel;
  g.stride = s.stride;
  g.dilation = s.dilation;
  g.pad_begin = s.pad_begin;
  g.pad_end = s.pad_end;
  for (int d = 0; d < 3; ++d) {
    const int64_t span = s.in[d] + s.pad_begin[d] + s.pad_end[d] - s.dilation[d] * (s.kernel[d] - 1) - 1;
    int64_t out = (s.ceil_mode ? (span + s.stride[d] - 1) / s.stride[d] : span / s.stride[d]) + 1;
    if (s.ceil_mode && (out - 1) * s.stride[d] >= s.in[d] + s.pad_begin[d]) --out;
    g.out[d] = out;
  }
  return g;
}

const std::vector<PoolSpec>& pool_specs() {
  static const std::vector<PoolSpec> specs = {
      {1, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, false},
      {2, {1, 15, 17}, {1, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}, false},
      {3, {1, 16, 16}, {1, 2, 2}, {1, 2, 2}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, false},
      {2, {1, 17, 15}, {1, 3, 3}, {1, 2, 2}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}, true},
      {1, {1, 63, 65}, {1, 3, 3}, {1, 2, 2}, {1, 1, 1}, {0, 1, 0}, {0, 0, 1}, true},
      {8, {1, 64, 64}, {1, 3, 3}, {1, 1, 1}, {1, 1, 1}, {0, 1, 1}, {0, 1, 1}, false},  // parallel path
      {1, {1, 1, 255}, {1, 1, 5}, {1, 1, 3}, {1, 1, 1}, {0, 0, 2}, {0, 0, 2}, true},
      {2, {1, 1, 257}, {1, 1, 4}, {1, 1, 4}, {1, 1, 1}, {0, 0, 0}, {0, 0, 1}, true},  // overhang past pad_end
      {2, {1, 17, 1}, {1, 2, 1}, {1, 2, 1}, {1, 1, 1}, {0, 0, 0}, {0, 0, 0}, true},   // overhang, no pads
      {1, {1, 15, 16}, {1, 3, 3}, {1, 1, 2}, {1, 2, 2}, {0, 2, 2}, {0, 2, 2}, true},  // dilated
      {2, {3, 15, 16}, {2, 3, 3}, {2, 2, 1}, {1, 1, 1}, {1, 1, 1}, {1, 0, 1}, true},  // 3-D
      {1, {1, 1, 3}, {1, 1, 2}, {1, 1, 1}, {1, 1, 1}, {0, 0, 2}, {0, 0, 2}, false},   // windows all padding
      {1, {1, 16, 16}, {1, 7, 7}, {1, 3, 3}, {1, 1, 1}, {0, 3, 3}, {0, 3, 3}, true},
  };
  return specs;
}

std::string describe(const PoolGeom& g) {
  std::string s = "planes " + std::to_string(g.planes);
  for (int d = 0; d < 3; ++d) {
    s += " | in " + std::to_string(g.in[d]) + " out " + std::to_string(g.out[d]) + " k " + std::to_string(g.kernel[d]) +
         " s " + std::to_string(g.stride[d]) + " dil " + std::to_string(g.dilation[d]) + " pads " +
         std::to_string(g.pad_begin[d]) + "," + std::to_string(g.pad_end[d]);
  }
  return s;
}

// Every window's Σ (x − zx) and divisor, from a loop over all kernel taps: a tap inside the
// input adds, a tap inside the padded box [−pad_begin, in + pad_end) counts for
// count_include_pad, a tap inside the input counts otherwise.
struct WindowSum {
  int32_t acc;
  int64_t count;
};

std::vector<WindowSum> naive_windows(const PoolGeom& g, const std::vector<uint8_t>& x, int32_t zx, bool include_pad) {
  std::vector<WindowSum> r;
  for (int64_t p = 0; p < g.planes; ++p) {
    for (int64_t od = 0; od < g.out[0]; ++od) {
      for (int64_t oh = 0; oh < g.out[1]; ++oh) {
        for (int64_t ow = 0; ow < g.out[2]; ++ow) {
          const std::array<int64_t, 3> o = {od, oh, ow};
          WindowSum w{0, 0};
          for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
            for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
              for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                const std::array<int64_t, 3> k = {kd, kh, kw};
                std::array<int64_t, 3> pos{};
                bool inside = true, padded = true;
                for (int d = 0; d < 3; ++d) {
                  pos[d] = o[d] * g.stride[d] - g.pad_begin[d] + k[d] * g.dilation[d];
                  inside = inside && pos[d] >= 0 && pos[d] < g.in[d];
                  padded = padded && pos[d] >= -g.pad_begin[d] && pos[d] < g.in[d] + g.pad_end[d];
                }
                if (inside) w.acc += x[p * g.in_size() + (pos[0] * g.in[1] + pos[1]) * g.in[2] + pos[2]] - zx;
                if (include_pad ? padded : inside) ++w.count;
              }
            }
          }
          r.push_back(w);
        }
      }
    }
  }
  return r;
}

std::vector<DyadicMultiplier> must_multipliers(double sx, double sy, int64_t max_count) {
  Result<std::vector<DyadicMultiplier>> m = avg_pool_multipliers(sx, sy, max_count);
  EXPECT_TRUE(m.is_ok()) << m.status().message();
  return m.is_ok() ? *m : std::vector<DyadicMultiplier>(static_cast<size_t>(max_count) + 1);
}

int64_t volume(const PoolGeom& g) { return g.kernel[0] * g.kernel[1] * g.kernel[2]; }

TEST(Int8QOpsAvgPool, HandComputed) {
  // x = [[11, 12], [13, 15]], zx = zy = 10, sx = sy = 1, 2×2 kernel, stride 1, pads 1: a 3×3
  // output; Σ (x − zx) per window = [[1, 3, 2], [4, 11, 7], [3, 8, 5]].
  PoolGeom g;
  g.in = {1, 2, 2};
  g.out = {1, 3, 3};
  g.kernel = {1, 2, 2};
  g.pad_begin = {0, 1, 1};
  g.pad_end = {0, 1, 1};
  const std::vector<uint8_t> x = {11, 12, 13, 15};
  const std::vector<DyadicMultiplier> m = must_multipliers(1.0, 1.0, 4);
  std::vector<uint8_t> y(9);
  // Divisors [[1, 2, 1], [2, 4, 2], [1, 2, 1]]: means 1, 1.5, 2, 2, 2.75, 3.5, 3, 4, 5, the
  // ties 1.5, 3.5 rounded away from zero.
  avg_pool_u8(g, x.data(), 10, false, m.data(), 10, 0, 255, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<uint8_t>{11, 12, 12, 12, 13, 14, 13, 14, 15}));
  // Divisor 4 everywhere: 0.25, 0.75, 0.5, 1, 2.75, 1.75, 0.75, 2, 1.25 → 0, 1, 1 (tie), 1,
  // 3, 2, 1, 2, 1.
  avg_pool_u8(g, x.data(), 10, true, m.data(), 10, 0, 255, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<uint8_t>{10, 11, 11, 11, 13, 12, 11, 12, 11}));
  // Relu-style clamp at 12.
  avg_pool_u8(g, x.data(), 10, true, m.data(), 10, 12, 255, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<uint8_t>{12, 12, 12, 12, 13, 12, 12, 12, 12}));
}

TEST(Int8QOpsAvgPool, MatchesRequantizeReference) {
  std::mt19937 rng(31);
  ThreadPool pool2(2);
  for (const PoolSpec& spec : pool_specs()) {
    const PoolGeom g = make_geom(spec);
    const int64_t vol = volume(g);
    const int bits = bits_for(vol);
    const std::vector<uint8_t> x = random_u8(g.planes * g.in_size(), rng);
    for (int32_t zx : {0, 255, random_zero(rng)}) {
      const double sx = log_uniform(1e-3, 1.0, rng), sy = sx * log_uniform(0.2, 5.0, rng);
      const std::vector<DyadicMultiplier> m = must_multipliers(sx, sy, vol);
      for (bool include_pad : {false, true}) {
        const std::vector<WindowSum> w = naive_windows(g, x, zx, include_pad);
        for (int32_t zy : {0, 255, random_zero(rng)}) {
          const int32_t lo = zy == 255 ? 0 : zy, hi = 255;  // Relu except where zy = 255
          std::vector<uint8_t> want(w.size());
          for (size_t i = 0; i < w.size(); ++i) {
            want[i] = static_cast<uint8_t>(w[i].count == 0 ? std::clamp(zy, lo, hi)
                                                           : requant_headroom(w[i].acc, m[w[i].count], bits, zy, lo, hi));
          }
          for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2}) {
            std::vector<uint8_t> y(want.size(), 7);
            avg_pool_u8(g, x.data(), zx, include_pad, m.data(), zy, lo, hi, y.data(), pool);
            ASSERT_EQ(y, want) << describe(g) << " zx=" << zx << " zy=" << zy << " include_pad=" << include_pad
                               << " pool=" << (pool != nullptr);
          }
        }
      }
    }
  }
}

TEST(Int8QOpsAvgPool, CloseToRealValue) {
  std::mt19937 rng(8);
  Agreement all;
  for (int rep = 0; rep < 6; ++rep) {
    for (const PoolSpec& spec : pool_specs()) {
      const PoolGeom g = make_geom(spec);
      const std::vector<uint8_t> x = random_u8(g.planes * g.in_size(), rng);
      const double sx = log_uniform(1e-3, 1.0, rng), sy = sx * log_uniform(0.2, 5.0, rng);
      const int32_t zx = random_zero(rng), zy = random_zero(rng);
      const std::vector<DyadicMultiplier> m = must_multipliers(sx, sy, volume(g));
      for (bool include_pad : {false, true}) {
        const std::vector<WindowSum> w = naive_windows(g, x, zx, include_pad);
        std::vector<uint8_t> y(w.size());
        avg_pool_u8(g, x.data(), zx, include_pad, m.data(), zy, 0, 255, y.data(), nullptr);
        for (size_t i = 0; i < w.size(); ++i) {
          const double real = w[i].count == 0 ? 0.0 : sx * w[i].acc / static_cast<double>(w[i].count);
          all.add(y[i], quantize_real(real, sy, zy, 0, 255));
        }
      }
    }
  }
  all.expect_close("average pool");
}

// (c): dequantize, avg_pool_f32, quantize — the FP32 op's divisor rule, independently coded.
TEST(Int8QOpsAvgPool, AgreesWithFp32Pool) {
  std::mt19937 rng(17);
  for (int rep = 0; rep < 4; ++rep) {
    for (const PoolSpec& spec : pool_specs()) {
      const PoolGeom g = make_geom(spec);
      const std::vector<uint8_t> x = random_u8(g.planes * g.in_size(), rng);
      const double sx = log_uniform(1e-3, 1.0, rng), sy = sx * log_uniform(0.2, 5.0, rng);
      const int32_t zx = rep == 0 ? 0 : (rep == 1 ? 255 : random_zero(rng)), zy = random_zero(rng);
      const std::vector<DyadicMultiplier> m = must_multipliers(sx, sy, volume(g));
      std::vector<float> xf(x.size());
      for (size_t i = 0; i < x.size(); ++i) xf[i] = static_cast<float>(sx * (x[i] - zx));
      for (bool include_pad : {false, true}) {
        std::vector<float> yf(static_cast<size_t>(g.planes * g.out_size()));
        avg_pool_f32(g, xf.data(), yf.data(), include_pad, nullptr);
        std::vector<uint8_t> y(yf.size());
        avg_pool_u8(g, x.data(), zx, include_pad, m.data(), zy, 0, 255, y.data(), nullptr);
        for (size_t i = 0; i < y.size(); ++i) {
          const int32_t want = quantize_real(yf[i], sy, zy, 0, 255);
          ASSERT_LE(std::abs(y[i] - want), 1) << describe(g) << " include_pad=" << include_pad << " output " << i
                                              << ": fp32 " << yf[i] << " → " << want << ", int " << int{y[i]};
        }
      }
    }
  }
}

// ---- Global average pooling ----------------------------------------------------------------

TEST(Int8QOpsGlobalAvgPool, MatchesRequantizeReferenceAndRealValue) {
  std::mt19937 rng(64);
  ThreadPool pool2(2);
  std::vector<int64_t> sizes(std::begin(kAwkward), std::end(kAwkward));
  sizes.push_back(49);
  sizes.push_back(3136);
  Agreement all;
  for (int64_t planes : {1, 3, 64}) {
    for (int64_t size : sizes) {
      const std::vector<uint8_t> x = random_u8(planes * size, rng);
      for (int32_t zx : {0, 255, random_zero(rng)}) {
        const double sx = log_uniform(1e-3, 1.0, rng), sy = sx * log_uniform(0.2, 5.0, rng);
        const int32_t zy = random_zero(rng);
        Result<DyadicMultiplier> m = global_avg_pool_multiplier(sx, sy, size);
        ASSERT_TRUE(m.is_ok()) << m.status().message();
        std::vector<uint8_t> want(static_cast<size_t>(planes));
        for (int64_t p = 0; p < planes; ++p) {
          int32_t acc = 0;
          for (int64_t i = 0; i < size; ++i) acc += x[p * size + i] - zx;
          want[p] = static_cast<uint8_t>(requant_headroom(acc, *m, bits_for(size), zy, 0, 255));
        }
        for (ThreadPool* pool : {static_cast<ThreadPool*>(nullptr), &pool2}) {
          std::vector<uint8_t> y(want.size(), 7);
          global_avg_pool_u8(planes, size, x.data(), zx, *m, zy, 0, 255, y.data(), pool);
          ASSERT_EQ(y, want) << "planes=" << planes << " size=" << size << " zx=" << zx << " zy=" << zy;
          if (pool != nullptr) continue;
          for (int64_t p = 0; p < planes; ++p) {
            double sum = 0;
            for (int64_t i = 0; i < size; ++i) sum += sx * (x[p * size + i] - zx);
            all.add(y[p], quantize_real(sum / static_cast<double>(size), sy, zy, 0, 255));
          }
        }
      }
    }
  }
  all.expect_close("global average pool");
}

// ---- Prepare helpers -----------------------------------------------------------------------

TEST(Int8QOpsPrepare, RejectsBadScalesAndRanges) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  for (double bad : {0.0, -0.0, -1.0, nan, inf, -inf}) {
    EXPECT_FALSE(prepare_add(bad, 0, 0.1, 0, 0.1, 0, 0, 255).is_ok()) << bad;
    EXPECT_FALSE(prepare_add(0.1, 0, bad, 0, 0.1, 0, 0, 255).is_ok()) << bad;
    EXPECT_FALSE(prepare_add(0.1, 0, 0.1, 0, bad, 0, 0, 255).is_ok()) << bad;
    EXPECT_FALSE(avg_pool_multipliers(bad, 0.1, 9).is_ok()) << bad;
    EXPECT_FALSE(avg_pool_multipliers(0.1, bad, 9).is_ok()) << bad;
    EXPECT_FALSE(global_avg_pool_multiplier(bad, 0.1, 49).is_ok()) << bad;
    EXPECT_FALSE(global_avg_pool_multiplier(0.1, bad, 49).is_ok()) << bad;
  }
  // Zero points and clamp bounds outside uint8.
  EXPECT_FALSE(prepare_add(0.1, -1, 0.1, 0, 0.1, 0, 0, 255).is_ok());
  EXPECT_FALSE(prepare_add(0.1, 0, 0.1, 256, 0.1, 0, 0, 255).is_ok());
  EXPECT_FALSE(prepare_add(0.1, 0, 0.1, 0, 0.1, 300, 0, 255).is_ok());
  EXPECT_FALSE(prepare_add(0.1, 0, 0.1, 0, 0.1, 0, 200, 100).is_ok());
  EXPECT_FALSE(prepare_add(0.1, 0, 0.1, 0, 0.1, 0, -1, 255).is_ok());
  EXPECT_FALSE(prepare_add(0.1, 0, 0.1, 0, 0.1, 0, 0, 256).is_ok());
  // An output multiplier 2 / (2^20 · 1e-20) far above 2^30.
  EXPECT_FALSE(prepare_add(1.0, 0, 1.0, 0, 1e-20, 0, 0, 255).is_ok());
  // Windows whose sum cannot fit int32, and a ratio sx / sy beyond 2^30.
  EXPECT_FALSE(avg_pool_multipliers(0.1, 0.1, 0).is_ok());
  EXPECT_FALSE(avg_pool_multipliers(0.1, 0.1, -3).is_ok());
  EXPECT_FALSE(avg_pool_multipliers(0.1, 0.1, kMaxPoolWindow + 1).is_ok());
  EXPECT_FALSE(avg_pool_multipliers(1.0, 1e-10, 4).is_ok());
  EXPECT_FALSE(global_avg_pool_multiplier(0.1, 0.1, 0).is_ok());
  EXPECT_FALSE(global_avg_pool_multiplier(0.1, 0.1, kMaxPoolWindow + 1).is_ok());
  // kMaxPoolWindow is the largest window whose sum of 255s fits int32.
  EXPECT_LT(255 * kMaxPoolWindow, int64_t{1} << 31);
  EXPECT_GE(255 * (kMaxPoolWindow + 1), int64_t{1} << 31);
}

TEST(Int8QOpsPrepare, MultipliersRepresentTheRatios) {
  // Entry c of avg_pool_multipliers is sx / (sy · c) to 2^−31 relative; entry 0 is {0, 0}.
  const std::vector<DyadicMultiplier> m = must_multipliers(0.02, 0.03, 49);
  ASSERT_EQ(m.size(), 50u);
  EXPECT_EQ(m[0].m0, 0);
  EXPECT_EQ(m[0].shift, 0);
  for (int c = 1; c <= 49; ++c) {
    const double want = 0.02 / (0.03 * c);
    const double got = std::ldexp(static_cast<double>(m[c].m0), m[c].shift - 31);
    EXPECT_NEAR(got / want, 1.0, 1e-9) << c;
    EXPECT_GE(m[c].m0, 1 << 30);
  }
  // prepare_add: a, b = sa / T, sb / T with T = 2 · max(sa, sb); out = T / (2^20 · sy).
  const AddParams p = must_prepare(0.3, 1, 0.1, 2, 0.25, 3, 4, 250);
  EXPECT_NEAR(std::ldexp(static_cast<double>(p.a.m0), p.a.shift - 31), 0.5, 1e-9);
  EXPECT_NEAR(std::ldexp(static_cast<double>(p.b.m0), p.b.shift - 31) / (0.1 / 0.6), 1.0, 1e-9);
  EXPECT_NEAR(std::ldexp(static_cast<double>(p.out.m0), p.out.shift - 31) / (0.6 / (1048576.0 * 0.25)), 1.0, 1e-9);
  EXPECT_EQ(p.a_zero, 1);
  EXPECT_EQ(p.b_zero, 2);
  EXPECT_EQ(p.y_zero, 3);
  EXPECT_EQ(p.lo, 4);
  EXPECT_EQ(p.hi, 250);
  // An input 2^−40 as fine as the other contributes nothing: its multiplier is flushed to 0.
  const AddParams f = must_prepare(1.0, 0, std::ldexp(1.0, -40), 0, 1.0, 0, 0, 255);
  EXPECT_EQ(f.b.m0, 0);
  const std::vector<uint8_t> a = {5, 200}, b = {255, 0};
  std::vector<uint8_t> y(2);
  add_u8(a.data(), b.data(), 2, f, y.data(), nullptr);
  EXPECT_EQ(y, (std::vector<uint8_t>{5, 200}));
}

}  // namespace
}  // namespace lowbit::kernels
