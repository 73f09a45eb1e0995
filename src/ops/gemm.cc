// gemm.cc: Gemm — Y = alpha · op(A) · op(B) + beta · C, op(X) = Xᵀ when transX, with the
// optional C unidirectionally broadcast to [M, N] (scalar, [N], [1, N], [M, 1], [M, N], ...).
#include <algorithm>

#include "kernels/fp32/sgemm.h"
#include "ops/conv_util.h"
#include "ops/op.h"

namespace lowbit::ops {
namespace {

struct GemmDims {
  int64_t m, n, k;
  bool trans_a, trans_b;
};

Result<GemmDims> gemm_dims(const ir::Attributes& a, const Shape& sa, const Shape& sb) {
  if (sa.size() != 2) return Status::errorf("input A has shape {}, expected rank 2", shape_str(sa));
  if (sb.size() != 2) return Status::errorf("input B has shape {}, expected rank 2", shape_str(sb));
  LB_ASSIGN_OR_RETURN(int64_t ta, a.get_int("transA", 0));
  LB_ASSIGN_OR_RETURN(int64_t tb, a.get_int("transB", 0));
  const int64_t m = ta ? sa[1] : sa[0], k = ta ? sa[0] : sa[1];
  const int64_t kb = tb ? sb[1] : sb[0], n = tb ? sb[0] : sb[1];
  if (k >= 0 && kb >= 0 && k != kb)
    return Status::errorf("op(A) {} and op(B) {} do not chain: inner dims {} and {} (transA={}, transB={})",
                          shape_str(sa), shape_str(sb), k, kb, ta, tb);
  return GemmDims{m, n, k >= 0 ? k : kb, ta != 0, tb != 0};
}

// C must broadcast to [m, n] (numpy rules, C only stretched).
Status check_c(const Shape& c, int64_t m, int64_t n) {
  if (c.size() > 2) return Status::errorf("input C has shape {}, expected rank <= 2", shape_str(c));
  const int64_t want[2] = {m, n};
  for (size_t i = 0; i < c.size(); ++i) {
    const int64_t d = c[i], t = want[2 - c.size() + i];
    if (d >= 0 && t >= 0 && d != 1 && d != t)
      return Status::errorf("input C has shape {}, which does not broadcast to [{}, {}]", shape_str(c), m, n);
  }
  return Status::ok();
}

Status gemm_infer(InferCtx& c) {
  for (size_t i = 0; i < c.num_inputs(); ++i)
    if (c.has_input(i) && c.inputs[i].dtype && *c.inputs[i].dtype != DType::kF32)
      return Status::errorf("input {} must be float32, got {}", i, dtype_name(*c.inputs[i].dtype));
  c.outputs[0].dtype = DType::kF32;
  const Shape sa = c.inputs[0].shape ? *c.inputs[0].shape : Shape{-1, -1};
  const Shape sb = c.inputs[1].shape ? *c.inputs[1].shape : Shape{-1, -1};
  LB_ASSIGN_OR_RETURN(GemmDims d, gemm_dims(c.attrs(), sa, sb));
  if (c.has_input(2) && c.inputs[2].shape) LB_TRY(check_c(*c.inputs[2].shape, d.m, d.n));
  c.outputs[0].shape = Shape{d.m, d.n};
  return Status::ok();
}

Status gemm_forward(RunCtx& c) {
  const Tensor& a = c.in(0);
  const Tensor& b = c.in(1);
  LB_TRY(expect_f32(a, "input A"));
  LB_TRY(expect_f32(b, "input B"));
  LB_ASSIGN_OR_RETURN(GemmDims d, gemm_dims(c.attrs(), a.shape(), b.shape()));
  LB_ASSIGN_OR_RETURN(float alpha, c.attrs().get_float("alpha", 1.0f));
  LB_ASSIGN_OR_RETURN(float beta, c.attrs().get_float("beta", 1.0f));
  for (int64_t v : {a.dim(0), a.dim(1), b.dim(0), b.dim(1)}) LB_TRY(expect_blas_size(v, "Gemm dimension"));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(DType::kF32, {d.m, d.n}));
  float* yp = y.data<float>();
  bool use_c = false;
  if (c.has_input(2)) {
    const Tensor& ct = c.in(2);
    LB_TRY(expect_f32(ct, "input C"));
    LB_TRY(check_c(ct.shape(), d.m, d.n));
    if (beta != 0.0f && ct.numel() > 0) {
      // y = beta · broadcast(C); the GEMM then accumulates onto it.
      const int64_t cm = ct.rank() == 2 ? ct.dim(0) : 1;
      const int64_t cn = ct.rank() >= 1 ? ct.dim(-1) : 1;
      const float* cp = ct.data<float>();
      for (int64_t i = 0; i < d.m; ++i) {
        const float* crow = cp + (cm == 1 ? 0 : i) * cn;
        float* yrow = yp + i * d.n;
        if (cn == 1) {
          std::fill(yrow, yrow + d.n, beta * crow[0]);
        } else {
          for (int64_t j = 0; j < d.n; ++j) yrow[j] = beta * crow[j];
        }
      }
      use_c = true;
    }
  }
  if (y.numel() > 0)
    kernels::sgemm(d.trans_a, d.trans_b, d.m, d.n, d.k, alpha, a.data<float>(), a.dim(1), b.data<float>(), b.dim(1),
                   use_c ? 1.0f : 0.0f, yp, d.n, &c.pool);
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kGemm{"Gemm", 2, 3, gemm_infer, gemm_forward};

}  // namespace lowbit::ops
