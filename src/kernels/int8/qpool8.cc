// qpool8.cc: integer average pooling — the per-dimension window tables (found by stepping
// through the taps, no division), the window sums, and the multiplier preparation.
#include "kernels/int8/qpool8.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>

#include "core/check.h"
#include "kernels/int8/qelementwise8.h"
#include "kernels/requant/requantize.h"

namespace lowbit::kernels {
namespace {

// Where one output's window lies along one dim: it starts at input position `start`; taps
// [k0, k1) land inside [0, in); `padded` taps land inside [−pad_begin, in + pad_end).
struct DimWindow {
  int64_t start = 0, k0 = 0, k1 = 0, padded = 0;
};

// The windows of every output position along `dim`. Positions start + k·dilation rise with k,
// so each inside-set is one interval of k; a scan over the kernel finds it without the
// ceil-divisions avg_pool_f32's taps() uses, and gives the same k0, k1 (both 0 when empty).
std::vector<DimWindow> dim_windows(const PoolGeom& g, int dim) {
  const int64_t n = g.in[dim], lo_pad = -g.pad_begin[dim], hi_pad = g.in[dim] + g.pad_end[dim];
  std::vector<DimWindow> w(static_cast<size_t>(g.out[dim]));
  for (int64_t o = 0; o < g.out[dim]; ++o) {
    DimWindow& d = w[static_cast<size_t>(o)];
    d.start = o * g.stride[dim] - g.pad_begin[dim];
    bool found = false;
    for (int64_t k = 0; k < g.kernel[dim]; ++k) {
      const int64_t pos = d.start + k * g.dilation[dim];
      if (pos >= 0 && pos < n) {
        if (!found) d.k0 = k;
        found = true;
        d.k1 = k + 1;
      }
      if (pos >= lo_pad && pos < hi_pad) ++d.padded;
    }
  }
  return w;
}

void run_planes(ThreadPool* pool, int64_t planes, int64_t work_per_plane,
                const std::function<void(int64_t, int64_t)>& fn) {
  // Same thresholds as the FP32 pools: parallel above 65536 window taps, chunks of ≥ 16384.
  if (pool != nullptr && pool->num_threads() > 1 && static_cast<double>(planes) * work_per_plane > 65536.0) {
    pool->parallel_for(planes, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, work_per_plane)), fn);
  } else {
    fn(0, planes);
  }
}

bool in_u8(int32_t v) { return v >= 0 && v <= 255; }

// One divisor's multiplier, ready for requantize_split: acc · 2^k, then m0, left, right of
// with_headroom(m, k).
struct SplitMult {
  int32_t m0 = 0;
  int k = 0, left = 0, right = 0;
};

// |Σ (q − zx)| ≤ 255 · positions < 2^acc_bits (at least 8 bits, so k ≤ 23 even for size 0).
int acc_bits(int64_t positions) {
  return static_cast<int>(std::bit_width(static_cast<uint64_t>(255 * std::max<int64_t>(positions, 1))));
}

SplitMult split(DyadicMultiplier m, int bits) {
  SplitMult s;
  s.k = headroom_bits(m, bits);
  const DyadicMultiplier mk = with_headroom(m, s.k);
  s.m0 = mk.m0;
  s.left = mk.shift > 0 ? mk.shift : 0;
  s.right = mk.shift < 0 ? -mk.shift : 0;
  return s;
}

inline uint8_t requant(int32_t acc, const SplitMult& s, int32_t zy, int32_t lo, int32_t hi) {
  return static_cast<uint8_t>(requantize_split(acc * (int32_t{1} << s.k), s.m0, s.left, s.right, zy, lo, hi));
}

bool shift_ok(DyadicMultiplier m) { return m.shift >= kMinDyadicShift && m.shift <= kMaxDyadicShift; }

// The clamped zero point: the output of an empty window.
uint8_t clamped(int32_t zy, int32_t lo, int32_t hi) { return static_cast<uint8_t>(std::clamp(zy, lo, hi)); }

Status check_scales(double sx, double sy) {
  if (!std::isfinite(sx) || sx <= 0) {
    return Status::errorf("average pool: input scale {} is not a positive finite number", sx);
  }
  if (!std::isfinite(sy) || sy <= 0) {
    return Status::errorf("average pool: output scale {} is not a positive finite number", sy);
  }
  return Status::ok();
}

// dyadic_multiplier(sx / (sy · c)), flushed to 0 below 2^−32.
Result<DyadicMultiplier> mean_multiplier(double sx, double sy, int64_t c) {
  const double m = sx / (sy * static_cast<double>(c));
  if (m < std::ldexp(1.0, -32)) return DyadicMultiplier{};
  Result<DyadicMultiplier> d = dyadic_multiplier(m);
  if (!d.is_ok()) return Status::errorf("average pool: scales {} / {}: {}", sx, sy, d.status().message());
  return d;
}

}  // namespace

Result<std::vector<DyadicMultiplier>> avg_pool_multipliers(double sx, double sy, int64_t max_count) {
  LB_TRY(check_scales(sx, sy));
  if (max_count < 1 || max_count > kMaxPoolWindow) {
    return Status::errorf("average pool: window of {} positions outside [1, {}] (its sum must fit int32)", max_count,
                          kMaxPoolWindow);
  }
  std::vector<DyadicMultiplier> m(static_cast<size_t>(max_count) + 1);
  for (int64_t c = 1; c <= max_count; ++c) {
    LB_ASSIGN_OR_RETURN(m[static_cast<size_t>(c)], mean_multiplier(sx, sy, c));
  }
  return m;
}

Result<DyadicMultiplier> global_avg_pool_multiplier(double sx, double sy, int64_t size) {
  LB_TRY(check_scales(sx, sy));
  if (size < 1 || size > kMaxPoolWindow) {
    return Status::errorf("global average pool: plane of {} positions outside [1, {}] (its sum must fit int32)", size,
                          kMaxPoolWindow);
  }
  return mean_multiplier(sx, sy, size);
}

void avg_pool_u8(const PoolGeom& g, const uint8_t* x, int32_t x_zero, bool count_include_pad,
                 const DyadicMultiplier* mult_by_count, int32_t y_zero, int32_t lo, int32_t hi, uint8_t* y,
                 ThreadPool* pool) {
  LB_CHECK(in_u8(x_zero), "avg_pool_u8: input zero point outside [0, 255]");
  LB_CHECK(in_u8(lo) && lo <= hi && in_u8(hi), "avg_pool_u8: clamp bounds outside [0, 255]");
  const int64_t window = g.kernel[0] * g.kernel[1] * g.kernel[2];
  LB_CHECK(window >= 1 && window <= kMaxPoolWindow, "avg_pool_u8: kernel volume outside [1, kMaxPoolWindow]");
  const int bits = acc_bits(window);
  std::vector<SplitMult> mult(static_cast<size_t>(window) + 1);
  for (int64_t c = 1; c <= window; ++c) {
    LB_CHECK(shift_ok(mult_by_count[c]), "dyadic shift out of [-31, 30]");
    mult[static_cast<size_t>(c)] = split(mult_by_count[c], bits);
  }

  const std::vector<DimWindow> wd = dim_windows(g, 0), wh = dim_windows(g, 1), ww = dim_windows(g, 2);
  const int64_t IH = g.in[1], IW = g.in[2], in_size = g.in_size(), out_size = g.out_size();
  const int64_t dil_d = g.dilation[0], dil_h = g.dilation[1], dil_w = g.dilation[2];
  const uint8_t empty = clamped(y_zero, lo, hi);
  run_planes(pool, g.planes, out_size * window, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const uint8_t* xp = x + p * in_size;
      uint8_t* yp = y + p * out_size;
      int64_t o = 0;
      for (const DimWindow& td : wd) {
        for (const DimWindow& th : wh) {
          const int64_t n_dh = (td.k1 - td.k0) * (th.k1 - th.k0);
          const int64_t pad_dh = td.padded * th.padded;
          for (const DimWindow& tw : ww) {
            // Σ q over the in-bounds taps: ≤ 255 · window < 2^31.
            int32_t sum = 0;
            for (int64_t kd = td.k0; kd < td.k1; ++kd) {
              const int64_t d = td.start + kd * dil_d;
              for (int64_t kh = th.k0; kh < th.k1; ++kh) {
                const uint8_t* xr = xp + (d * IH + th.start + kh * dil_h) * IW + tw.start;
                for (int64_t kw = tw.k0; kw < tw.k1; ++kw) sum += xr[kw * dil_w];
              }
            }
            const int64_t inside = n_dh * (tw.k1 - tw.k0);
            const int64_t count = count_include_pad ? pad_dh * tw.padded : inside;
            if (count == 0) {
              yp[o++] = empty;
              continue;
            }
            // Σ (q − zx) = Σ q − inside · zx; padded taps are q = zx and add nothing.
            const int32_t acc = sum - static_cast<int32_t>(inside) * x_zero;
            yp[o++] = requant(acc, mult[static_cast<size_t>(count)], y_zero, lo, hi);
          }
        }
      }
    }
  });
}

void global_avg_pool_u8(int64_t planes, int64_t size, const uint8_t* x, int32_t x_zero, DyadicMultiplier m,
                        int32_t y_zero, int32_t lo, int32_t hi, uint8_t* y, ThreadPool* pool) {
  LB_CHECK(planes >= 0 && size >= 0 && size <= kMaxPoolWindow, "global_avg_pool_u8: sizes out of range");
  LB_CHECK(in_u8(x_zero), "global_avg_pool_u8: input zero point outside [0, 255]");
  LB_CHECK(in_u8(lo) && lo <= hi && in_u8(hi), "global_avg_pool_u8: clamp bounds outside [0, 255]");
  LB_CHECK(shift_ok(m), "dyadic shift out of [-31, 30]");
  const SplitMult sm = split(m, acc_bits(size));
  // Σ (q − zx) = Σ q − size · zx, both terms ≤ 255 · size < 2^31.
  const int32_t offset = static_cast<int32_t>(size) * x_zero;
  run_planes(pool, planes, size, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const uint8_t* xp = x + p * size;
      int32_t sum = 0;
      for (int64_t i = 0; i < size; ++i) sum += xp[i];
      y[p] = requant(sum - offset, sm, y_zero, lo, hi);
    }
  });
}

}  // namespace lowbit::kernels
