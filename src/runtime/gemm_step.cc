// gemm_step.cc: the integer Gemm / MatMul step — x [M, K] uint8 times the packed int8 weight,
// int32 bias, dyadic requantization per output channel, straight into the [M, N] output.
//
// Rows are cut into blocks that the pool's threads take whole (GEMM and requantization of a
// block back to back, in the thread's own scratch); a product too small to split runs as one
// block with the GEMM splitting its column panels over the pool.
#include <algorithm>

#include <fmt/format.h>

#include "kernels/requant/requantize.h"
#include "runtime/scratch.h"
#include "runtime/steps.h"

namespace lowbit::runtime {
namespace {

constexpr int64_t kBlockBytes = 256 * 1024;  // int32 accumulators of one row block

class GemmStep final : public Step {
 public:
  explicit GemmStep(GemmSpec s) : s_(std::move(s)) {
    block_rows_ = std::max<int64_t>(16, kBlockBytes / (4 * std::max<int64_t>(s_.packed.n, 1)));
  }

  std::string describe() const override {
    return fmt::format("gemm {}→{} ({})", s_.packed.k, s_.packed.n, kernels::isa_name(s_.packed.isa));
  }

  Status run(Frame& f) const override {
    const Tensor& x = f.slots[static_cast<size_t>(inputs[0])];
    Tensor& y = f.slots[static_cast<size_t>(outputs[0])];
    const int64_t k = s_.packed.k, n = s_.packed.n;
    const int64_t m = k > 0 ? x.numel() / k : 0;
    const uint8_t* xp = x.data<uint8_t>();
    uint8_t* yp = y.data<uint8_t>();
    const int64_t nmult = static_cast<int64_t>(s_.mult.size());
    auto block = [&](int64_t r0, int64_t r1, ThreadPool* pool) {
      auto* acc = reinterpret_cast<int32_t*>(thread_scratch((r1 - r0) * n * 4));
      kernels::gemm_u8s8s32(xp + r0 * k, r1 - r0, k, s_.x_zero, s_.packed, s_.bias.data(), acc, n, pool);
      kernels::requantize_to_u8(acc, r1 - r0, n, s_.mult.data(), nmult, s_.out.zero, s_.out.lo, s_.out.hi, yp + r0 * n,
                                s_.headroom);
    };
    const int64_t blocks = (m + block_rows_ - 1) / block_rows_;
    if (blocks > 1 && f.pool && f.pool->num_threads() > 1) {
      f.pool->parallel_for(blocks, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) block(b * block_rows_, std::min(m, (b + 1) * block_rows_), nullptr);
      });
    } else {
      for (int64_t b = 0; b < blocks; ++b) block(b * block_rows_, std::min(m, (b + 1) * block_rows_), f.pool);
    }
    return Status::ok();
  }

 private:
  GemmSpec s_;
  int64_t block_rows_ = 16;
};

}  // namespace

std::unique_ptr<Step> make_gemm_step(GemmSpec spec) { return std::make_unique<GemmStep>(std::move(spec)); }

}  // namespace lowbit::runtime
