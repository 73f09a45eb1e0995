// conv_step.cc: the integer Conv step on NHWC uint8 — im2col + int8 GEMM per group (no
// im2col for 1×1 stride-1 convolutions: the input already is the GEMM's A), or the NHWC
// depthwise kernel — with dyadic requantization straight into the NHWC output.
//
// Work is cut into chunks of whole images sized so one chunk's patches and accumulators stay
// in L2 (kConvChunkBytes). With several chunks and threads, each thread runs whole chunks start to
// finish (im2col, GEMM, requantize) with no barrier in between; a single chunk (batch 1)
// instead lets the GEMM split its own work over the pool.
#include <algorithm>

#include <fmt/format.h>

#include "kernels/int8/nhwc8.h"
#include "kernels/requant/requantize.h"
#include "runtime/scratch.h"
#include "runtime/steps.h"

namespace lowbit::runtime {
namespace {

class ConvStep final : public Step {
 public:
  explicit ConvStep(ConvSpec s) : s_(std::move(s)) {
    const kernels::Conv2dGeom& g = s_.geom;
    p_ = g.oh() * g.ow();
    ocg_ = s_.out_channels / s_.groups;
    cg_ = g.c / s_.groups;
    k_ = cg_ * g.kh * g.kw;
    direct_ = conv_reads_input_directly(g, s_.groups, s_.depthwise);
    const int64_t per_image = s_.depthwise ? g.h * g.w * g.c : p_ * ((direct_ ? 0 : k_) + 5 * ocg_);
    chunk_ = std::max<int64_t>(1, kConvChunkBytes / std::max<int64_t>(per_image, 1));
  }

  std::string describe() const override {
    const kernels::Conv2dGeom& g = s_.geom;
    const std::string kind = s_.depthwise ? "depthwise" : direct_ ? "gemm" : "im2col+gemm";
    const std::string isa = s_.depthwise ? "" : fmt::format(" ({})", kernels::isa_name(s_.packed[0].isa));
    return fmt::format("conv {}x{}/{} {}→{}{} {}{}", g.kh, g.kw, g.stride_h, g.c, s_.out_channels,
                       s_.groups > 1 && !s_.depthwise ? fmt::format(" g{}", s_.groups) : "", kind, isa);
  }

  Status run(Frame& f) const override {
    const Tensor& x = f.slots[static_cast<size_t>(inputs[0])];
    Tensor& y = f.slots[static_cast<size_t>(outputs[0])];
    const int64_t batch = x.dim(0);
    const int64_t chunks = (batch + chunk_ - 1) / chunk_;
    const uint8_t* xp = x.data<uint8_t>();
    uint8_t* yp = y.data<uint8_t>();
    auto run_chunk = [&](int64_t c, ThreadPool* pool) {
      const int64_t b0 = c * chunk_, b1 = std::min(batch, b0 + chunk_);
      if (s_.depthwise) {
        kernels::depthwise_nhwc_u8(xp, s_.geom, b0, b1, s_.x_zero, s_.dw_weights.data(), s_.bias.data(), s_.mult.data(),
                                   nmult(), s_.headroom, s_.out.zero, s_.out.lo, s_.out.hi, yp);
      } else {
        gemm_images(xp, b0, b1, yp, pool);
      }
    };
    if (s_.depthwise && chunks == 1 && f.pool && f.pool->num_threads() > 1) {
      // A small batch: split the output rows instead of the images.
      const int64_t rows = batch * s_.geom.oh();
      f.pool->parallel_for(rows, std::max<int64_t>(1, rows / (4 * f.pool->num_threads())), [&](int64_t r0, int64_t r1) {
        kernels::depthwise_nhwc_u8_rows(xp, s_.geom, r0, r1, s_.x_zero, s_.dw_weights.data(), s_.bias.data(),
                                        s_.mult.data(), nmult(), s_.headroom, s_.out.zero, s_.out.lo, s_.out.hi, yp);
      });
      return Status::ok();
    }
    if (chunks > 1 && f.pool && f.pool->num_threads() > 1) {
      f.pool->parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
        for (int64_t c = c0; c < c1; ++c) run_chunk(c, nullptr);
      });
    } else {
      for (int64_t c = 0; c < chunks; ++c) run_chunk(c, f.pool);
    }
    return Status::ok();
  }

 private:
  int64_t nmult() const { return static_cast<int64_t>(s_.mult.size()); }

  void gemm_images(const uint8_t* x, int64_t b0, int64_t b1, uint8_t* y, ThreadPool* pool) const {
    const kernels::Conv2dGeom& g = s_.geom;
    const int64_t images = b1 - b0, rows = images * p_, oc = s_.out_channels;
    const int64_t in_image = g.h * g.w * g.c;
    const int64_t col_bytes = direct_ ? 0 : round_up64(rows * k_), acc_bytes = round_up64(rows * ocg_ * 4);
    uint8_t* scratch = thread_scratch(col_bytes + acc_bytes + (s_.groups > 1 ? rows * ocg_ : 0));
    uint8_t* col = scratch;
    auto* acc = reinterpret_cast<int32_t*>(scratch + col_bytes);
    uint8_t* tmp = scratch + col_bytes + acc_bytes;
    uint8_t* out = y + b0 * p_ * oc;
    for (int64_t grp = 0; grp < s_.groups; ++grp) {
      const uint8_t* a = x + b0 * in_image;
      int64_t lda = g.c;
      if (!direct_) {
        for (int64_t b = 0; b < images; ++b)
          kernels::im2col_nhwc_u8(x + (b0 + b) * in_image, g.h, g.w, g.c, grp * cg_, cg_, g,
                                  static_cast<uint8_t>(s_.x_zero), col + b * p_ * k_, k_);
        a = col;
        lda = k_;
      }
      kernels::gemm_u8s8s32(a, rows, lda, s_.x_zero, s_.packed[static_cast<size_t>(grp)], s_.bias.data() + grp * ocg_,
                            acc, ocg_, pool);
      const DyadicMultiplier* m = nmult() == 1 ? s_.mult.data() : s_.mult.data() + grp * ocg_;
      const int64_t nm = nmult() == 1 ? 1 : ocg_;
      if (s_.groups == 1) {
        kernels::requantize_to_u8(acc, rows, ocg_, m, nm, s_.out.zero, s_.out.lo, s_.out.hi, out, s_.headroom);
        continue;
      }
      kernels::requantize_to_u8(acc, rows, ocg_, m, nm, s_.out.zero, s_.out.lo, s_.out.hi, tmp, s_.headroom);
      for (int64_t r = 0; r < rows; ++r) std::copy_n(tmp + r * ocg_, ocg_, out + r * oc + grp * ocg_);
    }
  }

  ConvSpec s_;
  int64_t p_ = 0, ocg_ = 0, cg_ = 0, k_ = 0, chunk_ = 1;
  bool direct_ = false;
};

}  // namespace

std::unique_ptr<Step> make_conv_step(ConvSpec spec) { return std::make_unique<ConvStep>(std::move(spec)); }

}  // namespace lowbit::runtime
