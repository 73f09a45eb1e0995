// im2col.cc: unfold input patches into GEMM columns (Conv) and fold columns back (ConvTranspose).
//
// Both walk the dst grid one row (fixed d, h) at a time: along W the valid dst positions for
// a kernel tap form one interval, so each row is zeros | copied (or added) run | zeros with no
// per-element bounds test; with stride 1 the run is a memcpy.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/fp32/conv.h"

namespace lowbit::kernels {
namespace {

// The dst positions q in [0, n) with 0 <= q·s + off < limit, as [lo, hi).
inline void valid_range(int64_t n, int64_t s, int64_t off, int64_t limit, int64_t* lo, int64_t* hi) {
  int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
  int64_t h = limit - off <= 0 ? 0 : (limit - off + s - 1) / s;
  l = std::min(l, n);
  h = std::clamp(h, l, n);
  *lo = l;
  *hi = h;
}

// One run of dst positions [p, p + n) that share (d, h) and start at column w0.
struct RowSpan {
  int64_t d, h, w0, n, offset;  // offset: p − p0
};

std::vector<RowSpan> row_spans(const std::array<int64_t, 3>& grid, int64_t p0, int64_t p1) {
  std::vector<RowSpan> spans;
  const int64_t W = grid[2], H = grid[1];
  int64_t p = p0;
  while (p < p1) {
    const int64_t w0 = p % W, r = p / W;
    const int64_t n = std::min(W - w0, p1 - p);
    spans.push_back({r / H, r % H, w0, n, p - p0});
    p += n;
  }
  return spans;
}

// Stride 1 along H and W with the output as wide as the input (e.g. 3×3, pad 1): along the
// flattened plane, dst position p reads src p + shift for one constant shift per kernel tap,
// so a col row is one memcpy; what wrapped around a row edge or fell outside the plane is
// zeroed afterwards (a few elements per row).
bool is_shift_copy(const ConvGeom& g) {
  return g.in[0] == 1 && g.out[0] == 1 && g.kernel[0] == 1 && g.stride[1] == 1 && g.stride[2] == 1 &&
         g.out[2] == g.in[2];
}

void im2col_shift_copy(const ConvGeom& g, const float* x, int64_t channels, int64_t p0, int64_t p1, float* col) {
  const int64_t np = p1 - p0, K = g.kernel_size(), plane = g.in_size();
  const int64_t IW = g.in[2], OW = g.out[2];
  const int64_t r0 = p0 / OW, r1 = (p1 + OW - 1) / OW;  // output rows touched
  for (int64_t c = 0; c < channels; ++c) {
    const float* xc = x + c * plane;
    int64_t k = 0;
    for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
      for (int64_t kw = 0; kw < g.kernel[2]; ++kw, ++k) {
        float* row = col + (c * K + k) * np;
        const int64_t off = kw * g.dilation[2] - g.pad[2];
        const int64_t shift = (kh * g.dilation[1] - g.pad[1]) * IW + off;
        // Positions whose flat source index lies inside the plane: [a, b).
        const int64_t a = std::clamp(-shift, p0, p1), b = std::clamp(plane - shift, a, p1);
        for (int64_t q = p0; q < a; ++q) row[q - p0] = 0.0f;
        std::memcpy(row + (a - p0), xc + a + shift, static_cast<size_t>(b - a) * sizeof(float));
        for (int64_t q = b; q < p1; ++q) row[q - p0] = 0.0f;
        // Columns whose source column left the row [0, IW): [0, lo) and [hi, OW).
        int64_t lo, hi;
        valid_range(OW, 1, off, IW, &lo, &hi);
        if (lo == 0 && hi == OW) continue;
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t base = r * OW;
          for (int64_t q = std::max(base, p0); q < std::min(base + lo, p1); ++q) row[q - p0] = 0.0f;
          for (int64_t q = std::max(base + hi, p0); q < std::min(base + OW, p1); ++q) row[q - p0] = 0.0f;
        }
      }
  }
}

}  // namespace

void im2col_f32(const ConvGeom& g, const float* x, int64_t channels, int64_t p0, int64_t p1, float* col) {
  if (is_shift_copy(g)) {
    im2col_shift_copy(g, x, channels, p0, p1, col);
    return;
  }
  const int64_t np = p1 - p0, K = g.kernel_size(), in_size = g.in_size();
  const int64_t ID = g.in[0], IH = g.in[1], IW = g.in[2], OW = g.out[2];
  const int64_t sw = g.stride[2];
  const std::vector<RowSpan> spans = row_spans(g.out, p0, p1);
  for (int64_t c = 0; c < channels; ++c) {
    const float* xc = x + c * in_size;
    int64_t k = 0;
    for (int64_t kd = 0; kd < g.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < g.kernel[2]; ++kw, ++k) {
          float* row = col + (c * K + k) * np;
          const int64_t off = kw * g.dilation[2] - g.pad[2];
          int64_t lo, hi;
          valid_range(OW, sw, off, IW, &lo, &hi);
          for (const RowSpan& s : spans) {
            float* dst = row + s.offset;
            const int64_t id = s.d * g.stride[0] - g.pad[0] + kd * g.dilation[0];
            const int64_t ih = s.h * g.stride[1] - g.pad[1] + kh * g.dilation[1];
            const int64_t a = std::clamp(lo, s.w0, s.w0 + s.n), b = std::clamp(hi, a, s.w0 + s.n);
            if (id < 0 || id >= ID || ih < 0 || ih >= IH || a == b) {
              std::memset(dst, 0, static_cast<size_t>(s.n) * sizeof(float));
              continue;
            }
            const float* src = xc + (id * IH + ih) * IW + off;
            std::memset(dst, 0, static_cast<size_t>(a - s.w0) * sizeof(float));
            float* d = dst - s.w0;
            if (sw == 1) {
              std::memcpy(d + a, src + a, static_cast<size_t>(b - a) * sizeof(float));
            } else {
              for (int64_t q = a; q < b; ++q) d[q] = src[q * sw];
            }
            std::memset(d + b, 0, static_cast<size_t>(s.w0 + s.n - b) * sizeof(float));
          }
        }
  }
}

void col2im_f32(const ConvGeom& g, const float* col, int64_t channels, int64_t p0, int64_t p1, float* y) {
  // dst grid: g.in (the transposed op's input); src grid: g.out.
  const int64_t np = p1 - p0, K = g.kernel_size(), out_size = g.out_size();
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2], IW = g.in[2];
  const int64_t sw = g.stride[2];
  const std::vector<RowSpan> spans = row_spans(g.in, p0, p1);
  for (int64_t c = 0; c < channels; ++c) {
    float* yc = y + c * out_size;
    int64_t k = 0;
    for (int64_t kd = 0; kd < g.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
        for (int64_t kw = 0; kw < g.kernel[2]; ++kw, ++k) {
          const float* row = col + (c * K + k) * np;
          const int64_t off = kw * g.dilation[2] - g.pad[2];
          int64_t lo, hi;
          valid_range(IW, sw, off, OW, &lo, &hi);
          for (const RowSpan& s : spans) {
            const int64_t od = s.d * g.stride[0] - g.pad[0] + kd * g.dilation[0];
            const int64_t oh = s.h * g.stride[1] - g.pad[1] + kh * g.dilation[1];
            if (od < 0 || od >= OD || oh < 0 || oh >= OH) continue;
            const int64_t a = std::clamp(lo, s.w0, s.w0 + s.n), b = std::clamp(hi, a, s.w0 + s.n);
            float* dst = yc + (od * OH + oh) * OW + off;
            const float* src = row + s.offset - s.w0;
            if (sw == 1) {
              for (int64_t q = a; q < b; ++q) dst[q] += src[q];
            } else {
              for (int64_t q = a; q < b; ++q) dst[q * sw] += src[q];
            }
          }
        }
  }
}

}  // namespace lowbit::kernels
