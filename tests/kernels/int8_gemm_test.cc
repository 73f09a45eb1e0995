// int8_gemm_test.cc: kernels::gemm_u8s8s32 — the scalar twin against a naive triple loop,
// every ISA this CPU supports against the scalar twin bit for bit (awkward shapes, zero
// points, bias, strides, extreme values, narrow panels and row counts around each kernel's
// tiles), that no kernel reads past the last row of A, the packed layout, the threaded split,
// and LOWBIT_ISA parsing.
#include "kernels/int8/gemm.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace lowbit::kernels {
namespace {

constexpr int32_t kPoison = 0x5a5a5a5a;  // C's padding columns must keep it

struct Problem {
  int64_t m = 0, n = 0, k = 0;
  int64_t lda = 0, ldc = 0;
  int32_t z = 0;
  std::vector<uint8_t> a;
  std::vector<int8_t> w;
  std::optional<std::vector<int32_t>> bias;
};

Problem random_problem(int64_t m, int64_t n, int64_t k, int32_t z, bool with_bias, std::mt19937& rng,
                       int64_t pad = 0) {
  Problem p;
  p.m = m;
  p.n = n;
  p.k = k;
  p.lda = k + pad;
  p.ldc = n + pad;
  p.z = z;
  std::uniform_int_distribution<int> u8(0, 255), s8(-128, 127), b(-100000, 100000);
  p.a.resize(static_cast<size_t>(m * p.lda));
  for (uint8_t& v : p.a) v = static_cast<uint8_t>(u8(rng));
  p.w.resize(static_cast<size_t>(n * k));
  for (int8_t& v : p.w) v = static_cast<int8_t>(s8(rng));
  if (with_bias) {
    p.bias.emplace(static_cast<size_t>(n));
    for (int32_t& v : *p.bias) v = b(rng);
  }
  return p;
}

// C = Σ_k (A − z)·W + bias straight from the definition, in int64, then to int32.
std::vector<int32_t> naive(const Problem& p) {
  std::vector<int32_t> c(static_cast<size_t>(p.m * p.ldc), kPoison);
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t j = 0; j < p.n; ++j) {
      int64_t acc = p.bias ? (*p.bias)[static_cast<size_t>(j)] : 0;
      for (int64_t kk = 0; kk < p.k; ++kk)
        acc += (static_cast<int64_t>(p.a[static_cast<size_t>(i * p.lda + kk)]) - p.z) *
               p.w[static_cast<size_t>(j * p.k + kk)];
      c[static_cast<size_t>(i * p.ldc + j)] = static_cast<int32_t>(acc);
    }
  return c;
}

std::vector<int32_t> run(const Problem& p, Isa isa, ThreadPool* pool = nullptr) {
  const PackedWeights pw = pack_weights(p.w.data(), p.n, p.k, isa);
  std::vector<int32_t> c(static_cast<size_t>(p.m * p.ldc), kPoison);
  gemm_u8s8s32(p.a.data(), p.m, p.lda, p.z, pw, p.bias ? p.bias->data() : nullptr, c.data(), p.ldc, pool);
  return c;
}

std::string describe(const Problem& p) {
  return "m=" + std::to_string(p.m) + " n=" + std::to_string(p.n) + " k=" + std::to_string(p.k) +
         " z=" + std::to_string(p.z) + " bias=" + (p.bias ? "yes" : "no") + " lda=" + std::to_string(p.lda);
}

std::vector<Isa> simd_isas() {
  std::vector<Isa> out;
  for (Isa isa : kAllIsas)
    if (isa != Isa::kScalar && isa_supported(isa)) out.push_back(isa);
  return out;
}

// Shapes from DESIGN's awkward list: one dimension at a time over the list with the others
// at 17 and at 64, plus random combinations.
std::vector<std::array<int64_t, 3>> awkward_shapes(std::mt19937& rng) {
  const int64_t sizes[] = {1, 3, 15, 16, 17, 63, 64, 65, 255, 257};
  std::vector<std::array<int64_t, 3>> shapes;
  for (int dim = 0; dim < 3; ++dim)
    for (int64_t other : {17, 64})
      for (int64_t s : sizes) {
        std::array<int64_t, 3> shape{other, other, other};
        shape[static_cast<size_t>(dim)] = s;
        shapes.push_back(shape);
      }
  std::uniform_int_distribution<size_t> pick(0, std::size(sizes) - 1);
  for (int i = 0; i < 12; ++i) shapes.push_back({sizes[pick(rng)], sizes[pick(rng)], sizes[pick(rng)]});
  return shapes;
}

TEST(Int8Gemm, ScalarMatchesNaive) {
  std::mt19937 rng(11);
  for (auto [m, n, k] : std::vector<std::array<int64_t, 3>>{
           {1, 1, 1}, {3, 5, 7}, {17, 15, 63}, {16, 16, 16}, {65, 33, 257}, {4, 9, 0}, {2, 3, 255}})
    for (int32_t z : {0, 128, 255})
      for (bool with_bias : {false, true}) {
        const Problem p = random_problem(m, n, k, z, with_bias, rng, /*pad=*/3);
        EXPECT_EQ(run(p, Isa::kScalar), naive(p)) << describe(p);
      }
}

TEST(Int8Gemm, EveryIsaMatchesScalarOnAwkwardShapes) {
  const std::vector<Isa> isas = simd_isas();
  if (isas.empty()) GTEST_SKIP() << "CPU supports no SIMD variant; only the scalar twin runs";
  std::mt19937 rng(12);
  int count = 0;
  for (const auto& [m, n, k] : awkward_shapes(rng))
    for (int32_t z : {0, 128, 255})
      for (bool with_bias : {false, true}) {
        const Problem p = random_problem(m, n, k, z, with_bias, rng, /*pad=*/count++ % 3 == 0 ? 5 : 0);
        const std::vector<int32_t> want = run(p, Isa::kScalar);
        for (Isa isa : isas) ASSERT_EQ(run(p, isa), want) << isa_name(isa) << " " << describe(p);
      }
}

TEST(Int8Gemm, EveryIsaMatchesScalarOnLongK) {
  // K across the kernels' k blocks (AVX-512 VNNI: 512), with partial groups of 4 at the end.
  std::mt19937 rng(16);
  for (auto [m, n, k] : std::vector<std::array<int64_t, 3>>{{13, 33, 513}, {5, 40, 1027}, {25, 17, 2049}})
    for (int32_t z : {0, 255}) {
      const Problem p = random_problem(m, n, k, z, z == 255, rng, 2);
      const std::vector<int32_t> want = naive(p);
      EXPECT_EQ(run(p, Isa::kScalar), want) << describe(p);
      for (Isa isa : simd_isas()) EXPECT_EQ(run(p, isa), want) << isa_name(isa) << " " << describe(p);
    }
}

TEST(Int8Gemm, EveryIsaMatchesScalarAroundTileEdges) {
  // Row counts around every kernel's tiles (AVX2 4 / 8, AVX-VNNI 6 / 12, AVX-512 12 / 24 rows)
  // times column counts that leave a narrow last panel (AVX-512: N mod 32 ≤ 16, AVX-VNNI:
  // N mod 16 ≤ 8, AVX2: N mod 8 ≤ 4) or a wide one, with short K (partial groups of 4) in
  // dense rows (lda == k: the kernels read a partial group whole where the next row exists)
  // and in padded ones.
  const std::vector<Isa> isas = simd_isas();
  if (isas.empty()) GTEST_SKIP() << "CPU supports no SIMD variant; only the scalar twin runs";
  std::mt19937 rng(18);
  const int64_t ms[] = {1, 3, 4, 5, 7, 8, 9, 11, 12, 13, 23, 24, 25, 36, 47, 48, 49, 73};
  const int64_t ns[] = {1, 4, 5, 8, 9, 12, 16, 17, 24, 33, 40, 48, 49, 60};
  const int64_t ks[] = {1, 3, 4, 9, 25};
  int count = 0;
  for (int64_t m : ms)
    for (int64_t n : ns)
      for (int64_t k : ks) {
        const int32_t z = count % 3 == 0 ? 0 : count % 3 == 1 ? 255 : 131;
        const Problem p = random_problem(m, n, k, z, count % 2 == 0, rng, /*pad=*/count % 4 == 3 ? 2 : 0);
        ++count;
        const std::vector<int32_t> want = run(p, Isa::kScalar);
        for (Isa isa : isas) ASSERT_EQ(run(p, isa), want) << isa_name(isa) << " " << describe(p);
      }
  // More panels than the kernels walk with row blocks outermost (N = 1000 with tiny K).
  for (auto [m, n, k] : std::vector<std::array<int64_t, 3>>{{37, 1000, 3}, {30, 600, 8}}) {
    const Problem p = random_problem(m, n, k, 77, true, rng);
    const std::vector<int32_t> want = naive(p);
    for (Isa isa : isas) EXPECT_EQ(run(p, isa), want) << isa_name(isa) << " " << describe(p);
  }
}

// `bytes` bytes that end exactly where an inaccessible page begins: reading one byte past
// them faults.
class GuardedBytes {
 public:
  explicit GuardedBytes(size_t bytes) {
    page_ = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    len_ = (bytes + page_ - 1) / page_ * page_ + page_;
    void* p = mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    base_ = p == MAP_FAILED ? nullptr : static_cast<uint8_t*>(p);
    if (base_ && mprotect(base_ + len_ - page_, page_, PROT_NONE) != 0) {
      munmap(base_, len_);
      base_ = nullptr;
    }
    data_ = base_ ? base_ + len_ - page_ - bytes : nullptr;
  }
  ~GuardedBytes() {
    if (base_) munmap(base_, len_);
  }
  GuardedBytes(const GuardedBytes&) = delete;
  GuardedBytes& operator=(const GuardedBytes&) = delete;
  uint8_t* data() const { return data_; }

 private:
  size_t page_ = 0, len_ = 0;
  uint8_t* base_ = nullptr;
  uint8_t* data_ = nullptr;
};

TEST(Int8Gemm, NeverReadsPastTheLastRowOfA) {
  // A's last byte (row m − 1, k K − 1) sits right before a PROT_NONE page, so a kernel reading
  // a partial group of 4 k whole on the last row would crash the test. Dense rows (where the
  // kernels may borrow the next row's bytes) and padded ones; the row count is not a multiple
  // of any tile, so the last tile is an edge tile.
  std::mt19937 rng(19);
  for (int64_t k : {1, 2, 3, 5, 9, 13, 25, 255})
    for (int64_t m : {1, 2, 3, 13, 25, 49})
      for (int64_t n : {5, 16, 40})
        for (int64_t pad : {0, 3}) {
          const Problem p = random_problem(m, n, k, 255, true, rng, pad);
          const size_t bytes = static_cast<size_t>((m - 1) * p.lda + k);  // up to row m − 1's K
          GuardedBytes guarded(bytes);
          ASSERT_NE(guarded.data(), nullptr) << "mmap failed";
          std::memcpy(guarded.data(), p.a.data(), bytes);
          const std::vector<int32_t> want = naive(p);
          for (Isa isa : kAllIsas) {
            if (!isa_supported(isa)) continue;
            const PackedWeights pw = pack_weights(p.w.data(), p.n, p.k, isa);
            std::vector<int32_t> c(static_cast<size_t>(p.m * p.ldc), kPoison);
            gemm_u8s8s32(guarded.data(), p.m, p.lda, p.z, pw, p.bias->data(), c.data(), p.ldc, nullptr);
            ASSERT_EQ(c, want) << isa_name(isa) << " " << describe(p);
          }
        }
}

TEST(Int8Gemm, SumsPastInt32WrapAlikeEverywhere) {
  // 70001 · 255 · 128 > 2^31: the true sum leaves int32; every ISA must give it modulo 2^32,
  // as the naive loop's int64 → int32 conversion does.
  std::mt19937 rng(17);
  Problem p = random_problem(2, 33, 70001, 0, true, rng);
  std::fill(p.a.begin(), p.a.end(), 255);
  std::fill(p.w.begin(), p.w.end(), -128);
  const std::vector<int32_t> want = naive(p);
  const int64_t exact = -int64_t{255} * 128 * 70001 + (*p.bias)[0];
  EXPECT_NE(static_cast<int64_t>(want[0]), exact);  // it did wrap
  EXPECT_EQ(want[0], static_cast<int32_t>(exact));
  EXPECT_EQ(run(p, Isa::kScalar), want);
  for (Isa isa : simd_isas()) EXPECT_EQ(run(p, isa), want) << isa_name(isa);
}

TEST(Int8Gemm, ExtremeValuesAreExact) {
  // All A = 255 with all W = −128: every vpmaddubsw pair would saturate int16; K = 257 makes
  // the sums large (257·255·128 ≈ 8.4e6) and leaves a partial group of 4.
  std::mt19937 rng(13);
  std::vector<Problem> problems;
  for (int32_t z : {0, 128, 255}) {
    Problem p = random_problem(9, 40, 257, z, z == 128, rng);
    std::fill(p.a.begin(), p.a.end(), 255);
    std::fill(p.w.begin(), p.w.end(), -128);
    problems.push_back(p);
    std::fill(p.w.begin(), p.w.end(), 127);
    problems.push_back(p);
  }
  // All A = 0 with z = 255: (A − z) = −255 everywhere, against ±extreme weights.
  Problem p = random_problem(13, 37, 257, 255, true, rng);
  std::fill(p.a.begin(), p.a.end(), 0);
  for (size_t i = 0; i < p.w.size(); ++i) p.w[i] = i % 3 == 0 ? 127 : -128;
  problems.push_back(p);
  // Mixed extremes: A alternating 0 / 255, W alternating −128 / 127.
  Problem q = random_problem(17, 33, 257, 128, false, rng);
  for (size_t i = 0; i < q.a.size(); ++i) q.a[i] = i % 2 ? 255 : 0;
  for (size_t i = 0; i < q.w.size(); ++i) q.w[i] = i % 2 ? -128 : 127;
  problems.push_back(q);

  for (const Problem& e : problems) {
    const std::vector<int32_t> want = naive(e);
    EXPECT_EQ(run(e, Isa::kScalar), want) << "scalar " << describe(e);
    for (Isa isa : simd_isas()) EXPECT_EQ(run(e, isa), want) << isa_name(isa) << " " << describe(e);
  }
  // A hand check of the first: Σ_k (255 − 0)·(−128) over 257 k.
  EXPECT_EQ(naive(problems[0])[0], -255 * 128 * 257);
}

TEST(Int8Gemm, EmptyKGivesBiasAndEmptyMWritesNothing) {
  std::mt19937 rng(14);
  for (Isa isa : kAllIsas) {
    if (!isa_supported(isa)) continue;
    const Problem p = random_problem(5, 19, 0, 255, true, rng);
    const std::vector<int32_t> c = run(p, isa);
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j)
        EXPECT_EQ(c[static_cast<size_t>(i * p.ldc + j)], (*p.bias)[static_cast<size_t>(j)]) << isa_name(isa);
    const Problem none = random_problem(0, 19, 8, 3, false, rng);
    EXPECT_TRUE(run(none, isa).empty());
  }
}

TEST(Int8Gemm, PackedLayoutAndRowSums) {
  // 3 columns × 6 k with W[n][k] = 10·n + k: checks gemm.h's formula on the scalar layout.
  const int64_t n = 3, k = 6;
  std::vector<int8_t> w(static_cast<size_t>(n * k));
  for (int64_t j = 0; j < n; ++j)
    for (int64_t kk = 0; kk < k; ++kk) w[static_cast<size_t>(j * k + kk)] = static_cast<int8_t>(10 * j + kk);
  for (Isa isa : kAllIsas) {
    const PackedWeights pw = pack_weights(w.data(), n, k, isa);
    const int64_t nr = isa_panel_width(isa);
    ASSERT_EQ(pw.nr, nr);
    ASSERT_EQ(pw.kp, 8);
    ASSERT_EQ(static_cast<int64_t>(pw.data.size()), 8 * nr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(pw.data.data()) % 64, 0u);
    for (int64_t q = 0; q < 2; ++q)
      for (int64_t j = 0; j < nr; ++j)
        for (int64_t r = 0; r < 4; ++r) {
          const int64_t kk = 4 * q + r;
          const int want = j < n && kk < k ? static_cast<int>(10 * j + kk) : 0;
          EXPECT_EQ(pw.data[static_cast<size_t>((q * nr + j) * 4 + r)], want) << isa_name(isa);
        }
    ASSERT_EQ(pw.row_sums.size(), 3u);
    EXPECT_EQ(pw.row_sums[0], 0 + 1 + 2 + 3 + 4 + 5);
    EXPECT_EQ(pw.row_sums[2], 6 * 20 + 15);
  }
}

TEST(Int8Gemm, ThreadedEqualsSingleThreaded) {
  ThreadPool pool(2);
  std::mt19937 rng(15);
  // Many column panels (split over N), and a narrow N (split over rows); both large enough to
  // pass the parallel threshold. Then tall, dense products with a small W (split over rows):
  // a stem-like N = 16, K = 9, three panels, and more panels than the kernels walk with row
  // blocks outermost.
  for (auto [m, n, k, pad] : std::vector<std::array<int64_t, 4>>{{257, 257, 257, 1},
                                                                  {1031, 16, 257, 1},
                                                                  {129, 65, 1000, 1},
                                                                  {30011, 16, 9, 0},
                                                                  {3001, 70, 25, 0},
                                                                  {1501, 1000, 3, 0}}) {
    const Problem p = random_problem(m, n, k, 128, true, rng, pad);
    for (Isa isa : kAllIsas) {
      if (!isa_supported(isa)) continue;
      EXPECT_EQ(run(p, isa, &pool), run(p, isa, nullptr)) << isa_name(isa) << " " << describe(p);
    }
    EXPECT_EQ(run(p, best_isa(), &pool), naive(p)) << describe(p);
  }
}

// Sets LOWBIT_ISA for one scope and restores what was there.
class ScopedIsaEnv {
 public:
  explicit ScopedIsaEnv(const char* value) {
    if (const char* old = std::getenv("LOWBIT_ISA")) old_ = old;
    if (value) {
      setenv("LOWBIT_ISA", value, 1);
    } else {
      unsetenv("LOWBIT_ISA");
    }
  }
  ~ScopedIsaEnv() {
    if (old_) {
      setenv("LOWBIT_ISA", old_->c_str(), 1);
    } else {
      unsetenv("LOWBIT_ISA");
    }
  }

 private:
  std::optional<std::string> old_;
};

TEST(Int8GemmIsa, NamesAndSupport) {
  EXPECT_EQ(isa_name(Isa::kScalar), "scalar");
  EXPECT_EQ(isa_name(Isa::kAvx2), "avx2");
  EXPECT_EQ(isa_name(Isa::kAvxVnni), "avxvnni");
  EXPECT_EQ(isa_name(Isa::kAvx512Vnni), "avx512vnni");
  EXPECT_TRUE(isa_supported(Isa::kScalar));
  EXPECT_TRUE(isa_supported(best_isa()));
  for (Isa isa : kAllIsas)
    if (isa_supported(isa)) {
      EXPECT_GE(static_cast<int>(best_isa()), static_cast<int>(isa));
    }
}

TEST(Int8GemmIsa, LowbitIsaSelects) {
  {
    ScopedIsaEnv env(nullptr);
    Result<Isa> r = selected_isa();
    ASSERT_TRUE(r.is_ok());
    EXPECT_EQ(*r, best_isa());
  }
  {
    ScopedIsaEnv env("");
    ASSERT_TRUE(selected_isa().is_ok());
    EXPECT_EQ(*selected_isa(), best_isa());
  }
  for (Isa isa : kAllIsas) {
    const std::string name(isa_name(isa));
    ScopedIsaEnv env(name.c_str());
    Result<Isa> r = selected_isa();
    if (isa_supported(isa)) {
      ASSERT_TRUE(r.is_ok()) << name << ": " << r.status().message();
      EXPECT_EQ(*r, isa);
    } else {
      ASSERT_FALSE(r.is_ok()) << name;
      EXPECT_NE(r.status().message().find(name), std::string::npos) << r.status().message();
      EXPECT_NE(r.status().message().find("not supported"), std::string::npos) << r.status().message();
    }
  }
}

TEST(Int8GemmIsa, UnknownNameIsAnErrorNamingItAndTheSupportedOnes) {
  for (const char* bad : {"avx1024", "AVX2", "scalar ", "neon"}) {
    ScopedIsaEnv env(bad);
    Result<Isa> r = selected_isa();
    ASSERT_FALSE(r.is_ok()) << bad;
    const std::string& msg = r.status().message();
    EXPECT_NE(msg.find(std::string("'") + bad + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("LOWBIT_ISA"), std::string::npos) << msg;
    for (Isa isa : kAllIsas)
      if (isa_supported(isa)) {
        EXPECT_NE(msg.find(isa_name(isa)), std::string::npos) << msg;
      }
  }
}

}  // namespace
}  // namespace lowbit::kernels
