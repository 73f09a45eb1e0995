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
