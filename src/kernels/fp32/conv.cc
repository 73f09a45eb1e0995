// conv.cc: the Conv and ConvTranspose drivers — which path (depthwise.cc for depthwise convs,
// 1×1-as-GEMM, im2col + GEMM; GEMM + col2im for the transpose) and how work spreads over threads.
//
// Work is a list of independent items (image, group, block of output positions), each one
// GEMM  y[Mg × nb] = w_g[Mg × K] · col[K × nb]  with K = Cg·kernel_size and col either the
// input itself (1×1, stride 1, no padding) or an im2col block in a per-thread scratch buffer.
// Blocks keep col inside ~2 MB (L2-sized) and make enough items to feed every thread at
// batch 1; at batch 64 each item is a whole image. GEMMs inside items run single-threaded
// (sgemm.h policy); only when there are fewer items than threads does the GEMM itself split.
#include <algorithm>
#include <vector>

#include "kernels/fp32/conv.h"
#include "kernels/fp32/sgemm.h"

namespace lowbit::kernels {
namespace {

constexpr int64_t kScratchFloats = int64_t{1} << 19;  // 2 MB of im2col columns per thread
constexpr int64_t kMinBlock = 32;                      // output positions per GEMM, at least
// Below this many multiply-adds a whole conv runs on the calling thread.
constexpr int64_t kParallelMinMacs = int64_t{1} << 18;

float* thread_scratch(int64_t floats) {
  thread_local std::vector<float> buf;
  if (static_cast<int64_t>(buf.size()) < floats) buf.resize(static_cast<size_t>(floats));
  return buf.data();
}

void add_bias_rows(float* y, int64_t rows, int64_t ld, int64_t n, const float* bias) {
  for (int64_t r = 0; r < rows; ++r) {
    const float b = bias[r];
    float* yr = y + r * ld;
    for (int64_t i = 0; i < n; ++i) yr[i] += b;
  }
}

bool is_depthwise(const ConvGeom& g) {
  return g.groups > 1 && g.groups == g.in_channels && g.out_channels % g.groups == 0 && g.in[0] == 1 &&
         g.kernel[0] == 1 && g.out[0] == 1;
}

bool is_pointwise(const ConvGeom& g) {
  for (int d = 0; d < 3; ++d)
    if (g.kernel[d] != 1 || g.stride[d] != 1 || g.pad[d] != 0 || g.in[d] != g.out[d]) return false;
  return true;
}

}  // namespace

void conv_f32(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y, ThreadPool* pool) {
  if (is_depthwise(g)) {
    depthwise_conv2d_f32(g, x, w, bias, y, pool);
    return;
  }
  const int64_t Cg = g.in_channels / g.groups, Mg = g.out_channels / g.groups;
  const int64_t K = Cg * g.kernel_size(), N = g.out_size(), IN = g.in_size();
  const bool pointwise = is_pointwise(g);
  const int threads = pool ? pool->num_threads() : 1;
  const double macs = static_cast<double>(g.batch) * g.out_channels * N * K;
  const bool parallel = threads > 1 && macs >= static_cast<double>(kParallelMinMacs);

  // Block size: bounded by the scratch budget, then shrunk until there are ~2 items per thread.
  int64_t nb = pointwise ? N : std::max<int64_t>(1, kScratchFloats / std::max<int64_t>(K, 1));
  nb = std::min(nb, N);
  if (parallel) {
    const int64_t want_blocks = (2 * threads + g.batch * g.groups - 1) / (g.batch * g.groups);
    if (want_blocks > 1) nb = std::min(nb, std::max(kMinBlock, (N + want_blocks - 1) / want_blocks));
  }
  nb = std::max<int64_t>(nb, 1);
  const int64_t blocks = (N + nb - 1) / nb;
  const int64_t items = g.batch * g.groups * blocks;
  // Too few items to share out: run them in turn and let each GEMM split instead.
  ThreadPool* gemm_pool = parallel && items < threads ? pool : nullptr;

  auto run = [&](int64_t i0, int64_t i1) {
    for (int64_t it = i0; it < i1; ++it) {
      const int64_t blk = it % blocks, ng = it / blocks;
      const int64_t grp = ng % g.groups, n = ng / g.groups;
      const int64_t p0 = blk * nb, p1 = std::min(N, p0 + nb), np = p1 - p0;
      const float* xg = x + (n * g.in_channels + grp * Cg) * IN;
      float* yg = y + (n * g.out_channels + grp * Mg) * N + p0;
      const float* wg = w + grp * Mg * K;
      if (pointwise) {
        sgemm(false, false, Mg, np, K, 1.0f, wg, K, xg + p0, IN, 0.0f, yg, N, gemm_pool);
      } else {
        float* col = thread_scratch(K * np);
        im2col_f32(g, xg, Cg, p0, p1, col);
        sgemm(false, false, Mg, np, K, 1.0f, wg, K, col, np, 0.0f, yg, N, gemm_pool);
      }
      if (bias) add_bias_rows(yg, Mg, N, np, bias + grp * Mg);
    }
  };
  if (parallel && !gemm_pool) {
    pool->parallel_for(items, 1, run);
  } else {
    run(0, items);
  }
}

void conv_transpose_f32(const ConvGeom& g, const float* x, const float* w, const float* bias, float* y,
                        ThreadPool* pool) {
  const int64_t Cg = g.in_channels / g.groups, Mg = g.out_channels / g.groups;
  const int64_t KK = g.kernel_size(), N = g.out_size(), IN = g.in_size();
  const int threads = pool ? pool->num_threads() : 1;
  const double macs = static_cast<double>(g.batch) * g.in_channels * IN * Mg * KK;
  const bool parallel = threads > 1 && macs >= static_cast<double>(kParallelMinMacs);
  // Items: (image, group, block of mb output channels); each owns its output planes.
  int64_t mb = Mg;
  if (parallel) {
    const int64_t want = (2 * threads + g.batch * g.groups - 1) / (g.batch * g.groups);
    if (want > 1) mb = std::max<int64_t>(1, (Mg + want - 1) / want);
  }
  const int64_t mblocks = (Mg + mb - 1) / mb;
  const int64_t items = g.batch * g.groups * mblocks;
  auto run = [&](int64_t i0, int64_t i1) {
    for (int64_t it = i0; it < i1; ++it) {
      const int64_t blk = it % mblocks, ng = it / mblocks;
      const int64_t grp = ng % g.groups, n = ng / g.groups;
      const int64_t m0 = blk * mb, m1 = std::min(Mg, m0 + mb), rows = (m1 - m0) * KK;
      const float* xg = x + (n * g.in_channels + grp * Cg) * IN;
      const float* wg = w + grp * Cg * Mg * KK + m0 * KK;  // rows of wᵀ: (m, k) pairs
      float* yg = y + (n * g.out_channels + grp * Mg + m0) * N;
      for (int64_t m = m0; m < m1; ++m) {
        const float b = bias ? bias[grp * Mg + m] : 0.0f;
        float* ym = yg + (m - m0) * N;
        for (int64_t i = 0; i < N; ++i) ym[i] = b;
      }
      const int64_t nb = std::clamp<int64_t>(kScratchFloats / std::max<int64_t>(rows, 1), 1, std::max<int64_t>(IN, 1));
      for (int64_t p0 = 0; p0 < IN; p0 += nb) {
        const int64_t p1 = std::min(IN, p0 + nb), np = p1 - p0;
        float* col = thread_scratch(rows * np);
        // col[(m, k) × p] = Σ_c w[c][m][k] · x[c][p]
        sgemm(true, false, rows, np, Cg, 1.0f, wg, Mg * KK, xg + p0, IN, 0.0f, col, np, nullptr);
        col2im_f32(g, col, m1 - m0, p0, p1, yg);
      }
    }
  };
  if (parallel) {
    pool->parallel_for(items, 1, run);
  } else {
    run(0, items);
  }
}

}  // namespace lowbit::kernels
