// conv.cc: Conv — 1-D, 2-D and 3-D convolution over [N, C, spatial...] with groups, strides,
// dilations, pads / auto_pad and an optional bias (same semantics in every opset up to 17).
//
//   y[n, m, o] = b[m] + Σ_{c in group(m), k} w[m, c, k] · x[n, c, o·stride − pad_begin + k·dilation]
//
// where x reads 0 outside the input. The work is done by kernels::conv_f32.
#include <string>

#include "ops/conv_util.h"
#include "ops/op.h"

namespace lowbit::ops {
namespace {

struct ConvSetup {
  WindowPlan plan;
  int64_t group = 1;
  Shape out;
};

// x and w have known ranks; their dims may be unknown (< 0).
Result<ConvSetup> setup_conv(const ir::Attributes& a, const Shape& x, const Shape& w) {
  if (x.size() < 3 || x.size() > 5)
    return Status::errorf("input X has shape {}, expected rank 3 to 5 ([N, C, 1 to 3 spatial dims])", shape_str(x));
  if (w.size() != x.size())
    return Status::errorf("weight W has shape {}, expected rank {} like X {}", shape_str(w), x.size(), shape_str(x));
  ConvSetup s;
  LB_ASSIGN_OR_RETURN(s.group, a.get_int("group", 1));
  if (s.group < 1 || s.group > kMaxWindowAttr) return Status::errorf("attribute 'group' is {}, expected >= 1", s.group);
  const int64_t C = x[1], M = w[0], Cg = w[1];
  if (C >= 0 && Cg >= 0 && Cg * s.group != C)
    return Status::errorf("input X has {} channels but weight W {} with group {} expects {}", C, shape_str(w),
                          s.group, Cg * s.group);
  if (C >= 0 && C % s.group != 0)
    return Status::errorf("group {} does not divide the {} input channels", s.group, C);
  if (M >= 0 && M % s.group != 0)
    return Status::errorf("group {} does not divide the {} output channels of W", s.group, M);
  const size_t rank = x.size() - 2;
  LB_ASSIGN_OR_RETURN(WindowAttrs wa, read_window_attrs(a, rank, spatial_dims(w), true, false));
  LB_ASSIGN_OR_RETURN(s.plan, plan_window(wa, spatial_dims(x)));
  s.out = {x[0], M};
  s.out.insert(s.out.end(), s.plan.out.begin(), s.plan.out.end());
  return s;
}

Status conv_infer(InferCtx& c) {
  LB_ASSIGN_OR_RETURN(auto xw, conv_infer_inputs(c));
  if (!xw) return Status::ok();
  const auto& [x, w] = *xw;
  LB_ASSIGN_OR_RETURN(ConvSetup s, setup_conv(c.attrs(), x, w));
  if (c.has_input(2) && c.inputs[2].shape && s.out[1] >= 0) {
    const Shape& b = *c.inputs[2].shape;
    if (b.size() != 1 || (b[0] >= 0 && b[0] != s.out[1]))
      return Status::errorf("bias B has shape {}, expected [{}]", shape_str(b), s.out[1]);
  }
  c.outputs[0].shape = s.out;
  return Status::ok();
}

Status conv_forward(RunCtx& c) {
  const Tensor& x = c.in(0);
  const Tensor& w = c.in(1);
  LB_TRY(expect_f32(x, "input X"));
  LB_TRY(expect_f32(w, "weight W"));
  LB_ASSIGN_OR_RETURN(ConvSetup s, setup_conv(c.attrs(), x.shape(), w.shape()));
  const float* bias = nullptr;
  if (c.has_input(2)) {
    const Tensor& b = c.in(2);
    LB_TRY(expect_f32(b, "bias B"));
    if (b.rank() != 1 || b.dim(0) != w.dim(0))
      return Status::errorf("bias B has shape {}, expected [{}]", shape_str(b.shape()), w.dim(0));
    bias = b.data<float>();
  }
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(DType::kF32, s.out));  // GEMM with beta 0 / depthwise write all
  const kernels::ConvGeom g = conv_geom(x.shape(), w.dim(0), s.group, s.plan);
  LB_TRY(expect_blas_size(w.numel() / std::max<int64_t>(w.dim(0), 1), "weight row length"));
  LB_TRY(expect_blas_size(g.in_size(), "input spatial size"));
  LB_TRY(expect_blas_size(g.out_size(), "output spatial size"));
  LB_TRY(expect_blas_size(w.dim(0), "output channels"));
  if (y.numel() > 0) kernels::conv_f32(g, x.data<float>(), w.data<float>(), bias, y.data<float>(), &c.pool);
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kConv{"Conv", 2, 3, conv_infer, conv_forward};

}  // namespace lowbit::ops
