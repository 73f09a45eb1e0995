// dynamic_steps.cc: the steps of dynamically quantized activations (dynamic_steps.h) — the
// batch-wide DynamicQuantizeLinear, and Conv / Gemm on its uint8 output with int32 sums from
// the int8 kernels and an FP32 epilogue y = float(acc) · (s_x · s_w[c]) + b[c].
//
// The int8 kernels take the input zero point as an argument (gemm.h: the z · Σ_k W[n][k] term
// is subtracted at the end from the packed weights' row sums; im2col pads with z; the
// depthwise kernel skips padded taps), so a zero point known only per run costs nothing extra.
// Work is cut as in conv_step.cc / gemm_step.cc: chunks of whole images (row blocks for the
// GEMM) sized for L2, taken whole by the pool's threads when there are several.
#include "runtime/dynamic_steps.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <limits>

#include <fmt/format.h>

#include "kernels/elementwise/fast_math.h"
#include "kernels/int8/nhwc8.h"
#include "kernels/int8/quantize8.h"
#include "runtime/scratch.h"
#include "runtime/steps.h"

namespace lowbit::runtime {
namespace {

using kernels::max_f32;
using kernels::min_f32;

constexpr int64_t kElementGrain = 16384;
constexpr int64_t kBlockBytes = 256 * 1024;  // int32 accumulators of one GEMM row block

// Runs fn(i0, i1) over [0, n) in pieces of at least `grain`, over the pool when worthwhile.
void split(ThreadPool* pool, int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (pool && pool->num_threads() > 1 && n >= 2 * grain) pool->parallel_for(n, grain, fn);
  else if (n > 0) fn(0, n);
}

struct Range {
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
};

// Min and max of the finite values of x[0, n) (lo > hi when there are none). Sixteen
// independent lanes, non-finite values replaced by the neutral ±inf with bit masks, so the
// loop becomes SIMD min / max; min and max are exact, so the lane order does not matter.
Range finite_range(const float* x, int64_t n) {
  constexpr int kLanes = 16;
  float lo[kLanes], hi[kLanes];
  std::fill_n(lo, kLanes, std::numeric_limits<float>::infinity());
  std::fill_n(hi, kLanes, -std::numeric_limits<float>::infinity());
  auto take = [&](int j, float v) {
    const uint32_t b = std::bit_cast<uint32_t>(v);
    const uint32_t finite = 0u - static_cast<uint32_t>((b & 0x7f800000u) != 0x7f800000u);
    const float vl = std::bit_cast<float>((b & finite) | (0x7f800000u & ~finite));  // else +inf
    const float vh = std::bit_cast<float>((b & finite) | (0xff800000u & ~finite));  // else −inf
    lo[j] = vl < lo[j] ? vl : lo[j];
    hi[j] = vh > hi[j] ? vh : hi[j];
  };
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) take(j, x[i + j]);
  for (int j = 0; i < n; ++i, ++j) take(j, x[i]);
  Range r;
  for (int j = 0; j < kLanes; ++j) {
    r.lo = std::min(r.lo, lo[j]);
    r.hi = std::max(r.hi, hi[j]);
  }
  return r;
}

// The run-time input quantization a dynamic step reads from its slots 1 and 2.
struct RunScale {
  float scale;
  int32_t zero;
};

Result<RunScale> read_scale(const Frame& f, const Step& s) {
  const Tensor& sc = f.slots[static_cast<size_t>(s.inputs[1])];
  const Tensor& zp = f.slots[static_cast<size_t>(s.inputs[2])];
  if (sc.dtype() != DType::kF32 || sc.numel() != 1 || zp.dtype() != DType::kU8 || zp.numel() != 1)
    return Status::error("the input's run-time scale and zero point are not an f32 and a u8 scalar");
  return RunScale{sc.data<float>()[0], zp.data<uint8_t>()[0]};
}

// The epilogue of one run: y = float(acc) · m[c] + b[c], then clamped to [lo, hi] — ±inf
// when nothing is fused, which leaves every value (NaN and ±inf included) as it is, so the
// loops run without branches. m = s_x · s_w[c] in float, as ONNX Runtime's Mul of the two
// scales; b = 0 where the node has no bias (which can only turn a −0 into +0).
struct RunEpilogue {
  std::vector<float> m, b;  // [C]
  float lo, hi;

  RunEpilogue(const DynamicEpilogue& e, float sx, int64_t channels)
      : m(static_cast<size_t>(channels)), b(static_cast<size_t>(channels), 0.0f),
        lo(e.clamp ? e.lo : -INFINITY), hi(e.clamp ? e.hi : INFINITY) {
    for (size_t c = 0; c < m.size(); ++c) m[c] = sx * e.w_scale[e.w_scale.size() == 1 ? 0 : c];
    if (!e.bias.empty()) std::copy(e.bias.begin(), e.bias.end(), b.begin());
  }

  float apply(int32_t acc, float mc, float bc) const {
    return min_f32(max_f32(static_cast<float>(acc) * mc + bc, lo), hi);
  }

  // Rows of int32 sums acc [rows][n] (channels c0 … c0 + n) into y [rows][n].
  void rows(const int32_t* acc, int64_t rows, int64_t n, int64_t c0, float* y) const {
    const float* mc = m.data() + c0;
    const float* bc = b.data() + c0;
    for (int64_t r = 0; r < rows; ++r) {
      const int32_t* a = acc + r * n;
      float* yr = y + r * n;
      for (int64_t c = 0; c < n; ++c) yr[c] = apply(a[c], mc[c], bc[c]);
    }
  }
};

std::string act_suffix(const DynamicEpilogue& e) {
  if (!e.clamp) return "";
  return e.lo == 0.0f && e.hi == INFINITY ? " + relu" : " + clip";
}

class DynamicQuantizeStep final : public Step {
 public:
  explicit DynamicQuantizeStep(bool nhwc) : nhwc_(nhwc) {}
  bool per_sample() const override { return false; }  // the range spans the whole batch
  std::string describe() const override {
    return fmt::format("dynamic quantize (fp32 → u8{}, scale from the whole batch)", nhwc_ ? " NHWC" : "");
  }

  Status run(Frame& f) const override {
    const Tensor& x = f.slots[static_cast<size_t>(inputs[0])];
    if (x.dtype() != DType::kF32)
      return Status::errorf("dynamic quantize: input is {}, expected float32", dtype_name(x.dtype()));
    Tensor& q = f.slots[static_cast<size_t>(outputs[0])];
    if (q.numel() != x.numel()) return Status::errorf("dynamic quantize: {} elements into {}", x.numel(), q.numel());
    const float* xp = x.data<float>();
    const kernels::ScaleZero sz = dynamic_qparams(xp, x.numel(), f.pool);
    f.slots[static_cast<size_t>(outputs[1])].data<float>()[0] = sz.scale;
    f.slots[static_cast<size_t>(outputs[2])].data<uint8_t>()[0] = static_cast<uint8_t>(sz.zero_point);
    uint8_t* qp = q.data<uint8_t>();
    const bool transpose = nhwc_ && x.rank() == 4 && x.dim(1) > 1 && x.dim(2) * x.dim(3) > 1;
    if (!transpose) {
      split(f.pool, x.numel(), kElementGrain, [&](int64_t i0, int64_t i1) {
        kernels::quantize_u8(xp + i0, i1 - i0, sz.scale, sz.zero_point, 0, 255, qp + i0);
      });
      return Status::ok();
    }
    const int64_t c = x.dim(1), hw = x.dim(2) * x.dim(3), per = c * hw;
    split(f.pool, x.dim(0), 1, [&](int64_t i0, int64_t i1) {
      uint8_t* tmp = thread_scratch(per);
      for (int64_t i = i0; i < i1; ++i) {
        kernels::quantize_u8(xp + i * per, per, sz.scale, sz.zero_point, 0, 255, tmp);
        kernels::nchw_to_nhwc_u8(tmp, 1, c, hw, qp + i * per);
      }
    });
    return Status::ok();
  }

 private:
  bool nhwc_;
};

class DynamicConvStep final : public Step {
 public:
  explicit DynamicConvStep(DynamicConvSpec s) : s_(std::move(s)) {
    const kernels::Conv2dGeom& g = s_.geom;
    p_ = g.oh() * g.ow();
    ocg_ = s_.out_channels / s_.groups;
    cg_ = g.c / s_.groups;
    k_ = cg_ * g.kh * g.kw;
    direct_ = conv_reads_input_directly(g, s_.groups, s_.depthwise);
    const int64_t per_image = s_.depthwise ? p_ * g.c * 4 : p_ * ((direct_ ? 0 : k_) + 4 * ocg_);
    chunk_ = std::max<int64_t>(1, kConvChunkBytes / std::max<int64_t>(per_image, 1));
  }

  bool integer() const override { return false; }  // writes FP32, allocated here (FP32 readers may alias it)
  bool per_sample() const override { return false; }

  std::string describe() const override {
    const kernels::Conv2dGeom& g = s_.geom;
    const std::string kind = s_.depthwise ? "depthwise"
                             : direct_    ? fmt::format("gemm {}", kernels::isa_name(s_.packed[0].isa))
                                          : fmt::format("im2col+gemm {}", kernels::isa_name(s_.packed[0].isa));
    return fmt::format("conv {}x{}/{} {}→{}{} dynamic u8 ({}){}", g.kh, g.kw, g.stride_h, g.c, s_.out_channels,
                       s_.groups > 1 && !s_.depthwise ? fmt::format(" g{}", s_.groups) : "", kind,
                       act_suffix(s_.epilogue));
  }

  Status run(Frame& f) const override {
    const Tensor& x = f.slots[static_cast<size_t>(inputs[0])];
    LB_ASSIGN_OR_RETURN(const RunScale rs, read_scale(f, *this));
    const kernels::Conv2dGeom& g = s_.geom;
    const int64_t batch = x.rank() > 0 ? x.dim(0) : 0;
    if (x.dtype() != DType::kU8 || x.numel() != batch * g.c * g.h * g.w)
      return Status::errorf("dynamic conv: input {} does not hold {}x{}x{} images", shape_str(x.shape()), g.c, g.h, g.w);
    LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(DType::kF32, Shape{batch, s_.out_channels, g.oh(), g.ow()}));
    const RunEpilogue m(s_.epilogue, rs.scale, s_.out_channels);
    const uint8_t* xp = x.data<uint8_t>();
    float* yp = y.data<float>();
    const int64_t chunks = (batch + chunk_ - 1) / chunk_;
    auto run_chunk = [&](int64_t c, ThreadPool* pool) {
      const int64_t b0 = c * chunk_, b1 = std::min(batch, b0 + chunk_);
      if (s_.depthwise) depthwise_images(xp, b0, b1, rs.zero, m, yp, pool);
      else gemm_images(xp, b0, b1, rs.zero, m, yp, pool);
    };
    if (chunks > 1 && f.pool && f.pool->num_threads() > 1) {
      f.pool->parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) run_chunk(c, nullptr);
      });
    } else {
      for (int64_t c = 0; c < chunks; ++c) run_chunk(c, f.pool);
    }
    f.slots[static_cast<size_t>(outputs[0])] = std::move(y);
    return Status::ok();
  }

 private:
  // Images [b0, b1) of NCHW x through the int32 depthwise kernel; its NCHW sums are the output's order.
  void depthwise_images(const uint8_t* x, int64_t b0, int64_t b1, int32_t zero, const RunEpilogue& e, float* y,
                        ThreadPool* pool) const {
    kernels::Conv2dGeom g = s_.geom;
    g.n = b1 - b0;
    const int64_t c = g.c;
    auto* acc = reinterpret_cast<int32_t*>(thread_scratch(g.n * c * p_ * 4));
    kernels::depthwise_u8s8s32(x + b0 * c * g.h * g.w, g, zero, s_.dw_weights.data(), nullptr, acc, pool);
    for (int64_t plane = 0; plane < g.n * c; ++plane) {
      const int64_t ch = plane % c;
      const float mc = e.m[static_cast<size_t>(ch)], bc = e.b[static_cast<size_t>(ch)];
      const int32_t* a = acc + plane * p_;
      float* yo = y + (b0 * c + plane) * p_;
      for (int64_t i = 0; i < p_; ++i) yo[i] = e.apply(a[i], mc, bc);
    }
  }

  // Images [b0, b1) of NHWC x: per group im2col (or x itself) → int8 GEMM with the run's zero
  // point → [pixel][channel] sums → floats in place → transposed into the NCHW output in tiles
  // of kTile pixels (the tile's reads stay in L1).
  void gemm_images(const uint8_t* x, int64_t b0, int64_t b1, int32_t zero, const RunEpilogue& e, float* y,
                   ThreadPool* pool) const {
    constexpr int64_t kTile = 64;
    const kernels::Conv2dGeom& g = s_.geom;
    const int64_t images = b1 - b0, rows = images * p_, oc = s_.out_channels;
    const int64_t in_image = g.h * g.w * g.c;
    const int64_t col_bytes = direct_ ? 0 : round_up64(rows * k_);
    const int64_t acc_bytes = round_up64(rows * ocg_ * 4);
    uint8_t* scratch = thread_scratch(col_bytes + acc_bytes + kTile * ocg_ * 4);
    uint8_t* col = scratch;
    auto* acc = reinterpret_cast<int32_t*>(scratch + col_bytes);
    auto* tile = reinterpret_cast<float*>(scratch + col_bytes + acc_bytes);
    for (int64_t grp = 0; grp < s_.groups; ++grp) {
      const uint8_t* a = x + b0 * in_image;
      int64_t lda = g.c;
      if (!direct_) {
        for (int64_t b = 0; b < images; ++b)
          kernels::im2col_nhwc_u8(x + (b0 + b) * in_image, g.h, g.w, g.c, grp * cg_, cg_, g, static_cast<uint8_t>(zero),
                                  col + b * p_ * k_, k_);
        a = col;
        lda = k_;
      }
      kernels::gemm_u8s8s32(a, rows, lda, zero, s_.packed[static_cast<size_t>(grp)], nullptr, acc, ocg_, pool);
      for (int64_t b = 0; b < images; ++b)
        for (int64_t p0 = 0; p0 < p_; p0 += kTile) {
          const int64_t len = std::min(p_, p0 + kTile) - p0;
          e.rows(acc + (b * p_ + p0) * ocg_, len, ocg_, grp * ocg_, tile);
          for (int64_t o = 0; o < ocg_; ++o) {
            float* dst = y + ((b0 + b) * oc + grp * ocg_ + o) * p_ + p0;
            for (int64_t i = 0; i < len; ++i) dst[i] = tile[i * ocg_ + o];
          }
        }
    }
  }

  DynamicConvSpec s_;
  int64_t p_ = 0, ocg_ = 0, cg_ = 0, k_ = 0, chunk_ = 1;
  bool direct_ = false;
};

class DynamicGemmStep final : public Step {
 public:
  explicit DynamicGemmStep(DynamicGemmSpec s) : s_(std::move(s)) {
    block_rows_ = std::max<int64_t>(16, kBlockBytes / (4 * std::max<int64_t>(s_.packed.n, 1)));
  }

  bool integer() const override { return false; }
  bool per_sample() const override { return false; }

  std::string describe() const override {
    return fmt::format("gemm {}→{} dynamic u8 ({}){}", s_.packed.k, s_.packed.n, kernels::isa_name(s_.packed.isa),
                       act_suffix(s_.epilogue));
  }

  Status run(Frame& f) const override {
    const Tensor& x = f.slots[static_cast<size_t>(inputs[0])];
    LB_ASSIGN_OR_RETURN(const RunScale rs, read_scale(f, *this));
    const int64_t k = s_.packed.k, n = s_.packed.n;
    if (x.dtype() != DType::kU8 || x.rank() < 1 || x.dim(-1) != k)
      return Status::errorf("dynamic gemm: input {} does not have {} columns", shape_str(x.shape()), k);
    const int64_t rows = k > 0 ? x.numel() / k : 0;
    Shape ys = x.shape();
    ys.back() = n;
    LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(DType::kF32, std::move(ys)));
    const RunEpilogue e(s_.epilogue, rs.scale, n);
    const uint8_t* xp = x.data<uint8_t>();
    float* yp = y.data<float>();
    auto block = [&](int64_t r0, int64_t r1, ThreadPool* pool) {
      auto* acc = reinterpret_cast<int32_t*>(thread_scratch((r1 - r0) * n * 4));
      kernels::gemm_u8s8s32(xp + r0 * k, r1 - r0, k, rs.zero, s_.packed, nullptr, acc, n, pool);
      e.rows(acc, r1 - r0, n, 0, yp + r0 * n);
    };
    const int64_t blocks = (rows + block_rows_ - 1) / block_rows_;
    if (blocks > 1 && f.pool && f.pool->num_threads() > 1) {
      f.pool->parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) block(b * block_rows_, std::min(rows, (b + 1) * block_rows_), nullptr);
      });
    } else {
      for (int64_t b = 0; b < blocks; ++b) block(b * block_rows_, std::min(rows, (b + 1) * block_rows_), f.pool);
    }
    f.slots[static_cast<size_t>(outputs[0])] = std::move(y);
    return Status::ok();
  }

 private:
  DynamicGemmSpec s_;
  int64_t block_rows_ = 16;
};

}  // namespace

kernels::ScaleZero dynamic_qparams(const float* x, int64_t n, ThreadPool* pool) {
  Range r;
  if (pool && pool->num_threads() > 1 && n >= 2 * kElementGrain) {
    const int64_t pieces = (n + kElementGrain - 1) / kElementGrain;
    std::vector<Range> part(static_cast<size_t>(pieces));
    pool->parallel_for(pieces, 1, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t i0 = p * kElementGrain;
        part[static_cast<size_t>(p)] = finite_range(x + i0, std::min(n, i0 + kElementGrain) - i0);
      }
    });
    for (const Range& p : part) {
      r.lo = std::min(r.lo, p.lo);
      r.hi = std::max(r.hi, p.hi);
    }
  } else {
    r = finite_range(x, n);
  }
  if (r.lo > r.hi) r = Range{0.0f, 0.0f};  // no finite value (ops::min_max's answer)
  return kernels::choose_qparams(r.lo, r.hi, kernels::QuantRange{0, 255}, /*symmetric=*/false);
}

std::unique_ptr<Step> make_dynamic_quantize_step(bool nhwc) { return std::make_unique<DynamicQuantizeStep>(nhwc); }
std::unique_ptr<Step> make_dynamic_conv_step(DynamicConvSpec spec) {
  return std::make_unique<DynamicConvStep>(std::move(spec));
}
std::unique_ptr<Step> make_dynamic_gemm_step(DynamicGemmSpec spec) {
  return std::make_unique<DynamicGemmStep>(std::move(spec));
}

}  // namespace lowbit::runtime
