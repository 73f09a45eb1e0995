// conv_kernels_test.cc: kernels::conv_f32 (all three paths) and conv_transpose_f32 against
// the naive loops of nn_test_util.h over random geometry, serial and threaded.
#include "kernels/fp32/conv.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "core/cpu_features.h"
#include "ops/nn_test_util.h"

namespace lowbit::kernels {
namespace {

using nn_testing::all_close;
using nn_testing::random_vector;
using nn_testing::RefConv;

ConvGeom to_geom(const RefConv& r) {
  ConvGeom g;
  g.batch = r.n;
  g.in_channels = r.c;
  g.out_channels = r.m;
  g.groups = r.groups;
  g.in = r.in;
  g.out = r.out;
  g.kernel = r.k;
  g.stride = r.s;
  g.dilation = r.d;
  g.pad = r.p;
  return g;
}

// Output size of a conv with pads p (begin) + pe (end).
int64_t conv_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t p, int64_t pe) {
  return (in + p + pe - (k - 1) * d - 1) / s + 1;
}

void check_conv(RefConv r, std::array<int64_t, 3> pad_end, ThreadPool* pool, std::mt19937& rng, bool bias) {
  for (int i = 0; i < 3; ++i) r.out[i] = conv_out(r.in[i], r.k[i], r.s[i], r.d[i], r.p[i], pad_end[i]);
  ASSERT_GT(r.out[0] * r.out[1] * r.out[2], 0);
  const auto x = random_vector(static_cast<size_t>(r.n * r.c * r.in[0] * r.in[1] * r.in[2]), rng);
  const auto w = random_vector(static_cast<size_t>(r.m * (r.c / r.groups) * r.k[0] * r.k[1] * r.k[2]), rng);
  const auto b = random_vector(static_cast<size_t>(r.m), rng);
  const std::vector<float> want = nn_testing::ref_conv(r, x.data(), w.data(), bias ? b.data() : nullptr);
  std::vector<float> y(want.size(), 123.0f);
  conv_f32(to_geom(r), x.data(), w.data(), bias ? b.data() : nullptr, y.data(), pool);
  EXPECT_TRUE(all_close(y.data(), want)) << "n=" << r.n << " c=" << r.c << " m=" << r.m << " g=" << r.groups
                                         << " in=" << r.in[1] << "x" << r.in[2] << " k=" << r.k[1] << "x" << r.k[2];
}

TEST(ConvKernel, Im2colGemmPathMatchesNaive) {
  std::mt19937 rng(10);
  ThreadPool pool(3);
  for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
    RefConv r;
    r.n = 2, r.c = 3, r.m = 5, r.in = {1, 9, 7}, r.k = {1, 3, 3}, r.p = {0, 1, 1};
    check_conv(r, {0, 1, 1}, p, rng, true);
    r.s = {1, 2, 2};  // strided, asymmetric padding
    check_conv(r, {0, 0, 2}, p, rng, false);
    r.s = {1, 1, 3}, r.d = {1, 2, 1}, r.p = {0, 2, 0};  // dilation, odd strides
    check_conv(r, {0, 1, 0}, p, rng, true);
    r = RefConv{};  // stride 1, output as wide as the input: the shift-copy im2col, dilated and asymmetric
    r.n = 2, r.c = 3, r.m = 4, r.in = {1, 10, 9}, r.k = {1, 3, 3}, r.d = {1, 2, 2}, r.p = {0, 2, 2};
    check_conv(r, {0, 2, 2}, p, rng, true);
    r.d = {1, 1, 1}, r.p = {0, 2, 0};
    check_conv(r, {0, 0, 2}, p, rng, true);
    r.k = {1, 1, 5}, r.p = {0, 0, 4};
    check_conv(r, {0, 0, 0}, p, rng, false);
    r = RefConv{};
    r.n = 3, r.c = 6, r.m = 4, r.groups = 2, r.in = {1, 11, 13}, r.k = {1, 2, 5}, r.p = {0, 1, 2};  // groups
    check_conv(r, {0, 0, 2}, p, rng, true);
    r = RefConv{};
    r.n = 1, r.c = 16, r.m = 32, r.in = {1, 28, 28}, r.k = {1, 3, 3}, r.p = {0, 1, 1};  // batch 1, blocked
    check_conv(r, {0, 1, 1}, p, rng, true);
    r = RefConv{};
    r.n = 2, r.c = 2, r.m = 3, r.in = {1, 1, 17}, r.k = {1, 1, 4}, r.s = {1, 1, 2}, r.p = {0, 0, 3};  // 1-D
    check_conv(r, {0, 0, 1}, p, rng, true);
    r = RefConv{};
    r.n = 2, r.c = 4, r.m = 6, r.groups = 2, r.in = {5, 6, 7}, r.k = {3, 2, 3}, r.s = {2, 1, 2}, r.p = {1, 0, 1};  // 3-D
    check_conv(r, {1, 1, 0}, p, rng, true);
  }
}

TEST(ConvKernel, PointwisePathMatchesNaive) {
  std::mt19937 rng(11);
  ThreadPool pool(2);
  for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
    RefConv r;
    r.n = 3, r.c = 7, r.m = 9, r.in = {1, 5, 6};
    check_conv(r, {0, 0, 0}, p, rng, true);
    r.groups = 7, r.m = 14;  // grouped 1×1 (depthwise with multiplier 2 goes the depthwise way)
    check_conv(r, {0, 0, 0}, p, rng, false);
    r = RefConv{};
    r.n = 1, r.c = 32, r.m = 64, r.in = {1, 28, 28};
    check_conv(r, {0, 0, 0}, p, rng, true);
  }
}

TEST(ConvKernel, DepthwisePathMatchesNaive) {
  std::mt19937 rng(12);
  ThreadPool pool(3);
  for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
    RefConv r;
    r.n = 2, r.c = 8, r.m = 8, r.groups = 8, r.in = {1, 14, 15}, r.k = {1, 3, 3}, r.p = {0, 1, 1};
    check_conv(r, {0, 1, 1}, p, rng, true);
    r.s = {1, 2, 2};
    check_conv(r, {0, 0, 1}, p, rng, false);
    r.m = 24, r.s = {1, 1, 3}, r.d = {1, 2, 2}, r.p = {0, 2, 3};  // multiplier 3, dilation
    check_conv(r, {0, 2, 0}, p, rng, true);
    r = RefConv{};
    r.n = 1, r.c = 3, r.m = 3, r.groups = 3, r.in = {1, 4, 4}, r.k = {1, 5, 5}, r.p = {0, 2, 2};  // kernel > input
    check_conv(r, {0, 2, 2}, p, rng, true);
    r = RefConv{};
    r.n = 4, r.c = 64, r.m = 64, r.groups = 64, r.in = {1, 28, 28}, r.k = {1, 3, 3}, r.p = {0, 1, 1};
    check_conv(r, {0, 1, 1}, p, rng, true);
  }
}

void check_conv_transpose(RefConv r, ThreadPool* pool, std::mt19937& rng, bool bias) {
  const auto x = random_vector(static_cast<size_t>(r.n * r.c * r.in[0] * r.in[1] * r.in[2]), rng);
  const auto w = random_vector(static_cast<size_t>(r.c * (r.m / r.groups) * r.k[0] * r.k[1] * r.k[2]), rng);
  const auto b = random_vector(static_cast<size_t>(r.m), rng);
  const std::vector<float> want = nn_testing::ref_conv_transpose(r, x.data(), w.data(), bias ? b.data() : nullptr);
  std::vector<float> y(want.size(), 123.0f);
  conv_transpose_f32(to_geom(r), x.data(), w.data(), bias ? b.data() : nullptr, y.data(), pool);
  EXPECT_TRUE(all_close(y.data(), want)) << "n=" << r.n << " c=" << r.c << " m=" << r.m << " g=" << r.groups;
}

TEST(ConvKernel, DepthwiseBuildsAgree) {
  // The baseline and AVX2 builds of the depthwise kernel against the naive loop, kernel widths
  // 3 / 5 / 7 (unrolled) and 4 (generic), strides 1 and 2.
  std::mt19937 rng(14);
  for (int64_t k : {3, 4, 5, 7})
    for (int64_t s : {1, 2}) {
      RefConv r;
      r.n = 2, r.c = 5, r.m = 10, r.groups = 5, r.in = {1, 13, 17}, r.k = {1, k, k}, r.s = {1, s, s};
      r.p = {0, k / 2, k / 2};
      for (int i = 1; i < 3; ++i) r.out[i] = (r.in[i] + 2 * r.p[i] - k) / s + 1;
      const auto x = random_vector(static_cast<size_t>(r.n * r.c * 13 * 17), rng);
      const auto w = random_vector(static_cast<size_t>(r.m * k * k), rng);
      const auto b = random_vector(static_cast<size_t>(r.m), rng);
      const std::vector<float> want = nn_testing::ref_conv(r, x.data(), w.data(), b.data());
      std::vector<float> y(want.size(), 123.0f);
      depthwise_conv2d_f32_generic(to_geom(r), x.data(), w.data(), b.data(), y.data(), 0, r.n * r.m);
      EXPECT_TRUE(all_close(y.data(), want)) << "generic k=" << k << " s=" << s;
      const CpuFeatures& f = cpu_features();
      if (!(f.avx2 && f.fma && f.os_avx)) {
        GTEST_LOG_(INFO) << "CPU lacks AVX2/FMA: AVX2 depthwise build not tested";
        continue;
      }
      std::fill(y.begin(), y.end(), 123.0f);
      depthwise_conv2d_f32_avx2(to_geom(r), x.data(), w.data(), b.data(), y.data(), 0, r.n * r.m);
      EXPECT_TRUE(all_close(y.data(), want)) << "avx2 k=" << k << " s=" << s;
    }
}

TEST(ConvKernel, DepthwiseAbsurdPaddingTakesBorderedPath) {
  // Pads and strides so large that a zero-padded plane would be huge: the kernel tests bounds
  // at the borders instead of copying. 2×2 input, kernel 3, stride 1000, pads 1500 -> 3×3.
  std::mt19937 rng(15);
  RefConv r;
  r.n = 1, r.c = 2, r.m = 2, r.groups = 2, r.in = {1, 2, 2}, r.k = {1, 3, 3}, r.s = {1, 1000, 1000};
  r.p = {0, 1500, 1500}, r.out = {1, 3, 3};
  const auto x = random_vector(8, rng), w = random_vector(18, rng), b = random_vector(2, rng);
  const std::vector<float> want = nn_testing::ref_conv(r, x.data(), w.data(), b.data());
  const ConvGeom g = to_geom(r);
  EXPECT_EQ(depthwise_scratch(g).padded, nullptr);
  std::vector<float> y(want.size(), 123.0f);
  depthwise_conv2d_f32_generic(g, x.data(), w.data(), b.data(), y.data(), 0, 2);
  EXPECT_TRUE(all_close(y.data(), want));
  std::fill(y.begin(), y.end(), 123.0f);
  conv_f32(g, x.data(), w.data(), b.data(), y.data(), nullptr);
  EXPECT_TRUE(all_close(y.data(), want));
}

TEST(ConvKernel, ConvTransposeMatchesNaive) {
  std::mt19937 rng(13);
  ThreadPool pool(3);
  for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
    RefConv r;
    r.n = 2, r.c = 3, r.m = 4, r.in = {1, 5, 6}, r.k = {1, 3, 3}, r.s = {1, 2, 2}, r.p = {0, 1, 1};
    r.out = {1, 10, 12};  // (in−1)·s + k − 2p = 9, 11, plus output_padding 1
    check_conv_transpose(r, p, rng, true);
    r.groups = 2, r.c = 4, r.m = 6, r.d = {1, 2, 1}, r.p = {0, 0, 2}, r.out = {1, 13, 11};
    check_conv_transpose(r, p, rng, false);
    r = RefConv{};  // negative padding: the output extends past the full result
    r.n = 1, r.c = 2, r.m = 2, r.in = {1, 3, 3}, r.k = {1, 3, 3}, r.s = {1, 3, 2}, r.p = {0, -1, 0}, r.out = {1, 12, 8};
    check_conv_transpose(r, p, rng, true);
    r = RefConv{};  // 1-D and 3-D
    r.n = 2, r.c = 3, r.m = 2, r.in = {1, 1, 7}, r.k = {1, 1, 4}, r.s = {1, 1, 3}, r.out = {1, 1, 22};
    check_conv_transpose(r, p, rng, true);
    r = RefConv{};
    r.n = 1, r.c = 2, r.m = 4, r.in = {3, 4, 5}, r.k = {3, 3, 2}, r.s = {2, 1, 2}, r.p = {1, 1, 0}, r.out = {5, 4, 10};
    check_conv_transpose(r, p, rng, true);
    r = RefConv{};  // big enough for channel blocks
    r.n = 1, r.c = 16, r.m = 16, r.in = {1, 14, 14}, r.k = {1, 2, 2}, r.s = {1, 2, 2}, r.out = {1, 28, 28};
    check_conv_transpose(r, p, rng, true);
  }
}

TEST(ConvKernel, Im2colLaysOutColumns) {
  // x = 1 channel 3×3 with values 1..9, kernel 2×2, pad 1 (begin), stride 2 -> out 2×2.
  ConvGeom g;
  g.in = {1, 3, 3};
  g.out = {1, 2, 2};
  g.kernel = {1, 2, 2};
  g.stride = {1, 2, 2};
  g.pad = {0, 1, 1};
  const std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8, 9};
  std::vector<float> col(4 * 4, -1.0f);
  im2col_f32(g, x.data(), 1, 0, 4, col.data());
  // Row k=(kh,kw), column p=(oh,ow): x[oh·2 − 1 + kh][ow·2 − 1 + kw] or 0.
  const std::vector<float> want{0, 0, 0, 5,   // (0,0)
                                0, 0, 4, 6,   // (0,1)
                                0, 2, 0, 8,   // (1,0)
                                1, 3, 7, 9};  // (1,1)
  EXPECT_EQ(col, want);
  // A sub-range of positions [1, 3) gives the middle columns only.
  std::vector<float> part(4 * 2, -1.0f);
  im2col_f32(g, x.data(), 1, 1, 3, part.data());
  EXPECT_EQ(part, (std::vector<float>{0, 0, 0, 4, 2, 0, 3, 7}));
}

}  // namespace
}  // namespace lowbit::kernels
