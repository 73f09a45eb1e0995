// conv_transpose.cc: ConvTranspose — the adjoint of Conv, 1-D to 3-D, with groups, strides,
// dilations, pads / auto_pad, output_padding, output_shape and an optional bias.
//
//   y[n, m, i·stride − pad_begin + k·dilation] += w[c, m mod (M/group), k] · x[n, c, i]
//
// Output size per spatial dim: full = stride·(in − 1) + output_padding + (kernel − 1)·dilation + 1.
// Without output_shape (and auto_pad NOTSET / VALID): out = full − pad_begin − pad_end.
// With output_shape (or SAME_*, where output_shape = in·stride) the pads are derived from
// total = full − out as in ONNX's reference: SAME_UPPER puts floor(total/2) first, the other
// modes ceil(total/2) first. total < 0 (output larger than full) leaves zeros (plus bias) at
// the end, which is what ONNX's test_convtranspose_output_shape expects.
#include <algorithm>

#include "ops/conv_util.h"
#include "ops/op.h"

namespace lowbit::ops {
namespace {

struct ConvTransposeSetup {
  WindowPlan plan;
  int64_t group = 1;
  Shape out;
};

int64_t floor_div2(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

Result<ConvTransposeSetup> setup(const ir::Attributes& a, const Shape& x, const Shape& w) {
  if (x.size() < 3 || x.size() > 5)
    return Status::errorf("input X has shape {}, expected rank 3 to 5 ([N, C, 1 to 3 spatial dims])", shape_str(x));
  if (w.size() != x.size())
    return Status::errorf("weight W has shape {}, expected rank {} like X {}", shape_str(w), x.size(), shape_str(x));
  ConvTransposeSetup s;
  LB_ASSIGN_OR_RETURN(s.group, a.get_int("group", 1));
  if (s.group < 1 || s.group > kMaxWindowAttr) return Status::errorf("attribute 'group' is {}, expected >= 1", s.group);
  const int64_t C = x[1];
  if (C >= 0 && w[0] >= 0 && w[0] != C)
    return Status::errorf("input X has {} channels but weight W {} has {}", C, shape_str(w), w[0]);
  if (C >= 0 && C % s.group != 0) return Status::errorf("group {} does not divide the {} input channels", s.group, C);
  const size_t rank = x.size() - 2;
  LB_ASSIGN_OR_RETURN(WindowAttrs wa, read_window_attrs(a, rank, spatial_dims(w), true, false));
  LB_ASSIGN_OR_RETURN(std::vector<int64_t> out_pad, a.get_ints("output_padding", std::vector<int64_t>(rank, 0)));
  if (out_pad.empty()) out_pad.assign(rank, 0);
  if (out_pad.size() != rank)
    return Status::errorf("attribute 'output_padding' has {} values, expected {}", out_pad.size(), rank);
  for (int64_t v : out_pad)
    if (v < 0 || v > kMaxWindowAttr) return Status::errorf("attribute 'output_padding' has value {}", v);
  std::optional<std::vector<int64_t>> out_shape;
  if (a.has("output_shape")) {
    LB_ASSIGN_OR_RETURN(std::vector<int64_t> os, a.get_ints("output_shape"));
    if (os.size() == rank + 2) os.erase(os.begin(), os.begin() + 2);  // some writers include N and C
    if (os.size() != rank)
      return Status::errorf("attribute 'output_shape' has {} values, expected {}", os.size(), rank);
    for (int64_t v : os)
      if (v < 1 || v > (int64_t{1} << 40)) return Status::errorf("attribute 'output_shape' has value {}", v);
    out_shape = os;
  }
  WindowPlan& p = s.plan;
  p.kernel = wa.kernel;
  p.stride = wa.stride;
  p.dilation = wa.dilation;
  p.pad_begin.assign(rank, 0);
  p.pad_end.assign(rank, 0);
  p.out.assign(rank, -1);
  const bool same = wa.auto_pad == AutoPad::kSameUpper || wa.auto_pad == AutoPad::kSameLower;
  for (size_t i = 0; i < rank; ++i) {
    if (wa.auto_pad == AutoPad::kNotSet) {
      p.pad_begin[i] = wa.pads[i];
      p.pad_end[i] = wa.pads[i + rank];
    }
    const int64_t in = x[2 + i], k = wa.kernel[i];
    if (out_shape) p.out[i] = (*out_shape)[i];
    if (in < 0 || k < 0) continue;
    if (in == 0) return Status::errorf("spatial dim {} of the input is 0", i);
    const int64_t full = wa.stride[i] * (in - 1) + out_pad[i] + (k - 1) * wa.dilation[i] + 1;
    if (out_shape || same) {
      const int64_t out = out_shape ? (*out_shape)[i] : in * wa.stride[i];
      const int64_t total = full - out, half = floor_div2(total);
      p.pad_begin[i] = wa.auto_pad == AutoPad::kSameUpper ? half : total - half;
      p.pad_end[i] = total - p.pad_begin[i];
      p.out[i] = out;
    } else {
      p.out[i] = full - p.pad_begin[i] - p.pad_end[i];
      if (p.out[i] < 1)
        return Status::errorf("pads {} + {} leave no output along spatial dim {} (full size {})", p.pad_begin[i],
                              p.pad_end[i], i, full);
    }
  }
  s.out = {x[0], w[1] >= 0 ? w[1] * s.group : -1};
  s.out.insert(s.out.end(), p.out.begin(), p.out.end());
  return s;
}

Status conv_transpose_infer(InferCtx& c) {
  LB_ASSIGN_OR_RETURN(auto xw, conv_infer_inputs(c));
  if (!xw) return Status::ok();
  const auto& [x, w] = *xw;
  LB_ASSIGN_OR_RETURN(ConvTransposeSetup s, setup(c.attrs(), x, w));
  c.outputs[0].shape = s.out;
  return Status::ok();
}

Status conv_transpose_forward(RunCtx& c) {
  const Tensor& x = c.in(0);
  const Tensor& w = c.in(1);
  LB_TRY(expect_f32(x, "input X"));
  LB_TRY(expect_f32(w, "weight W"));
  LB_ASSIGN_OR_RETURN(ConvTransposeSetup s, setup(c.attrs(), x.shape(), w.shape()));
  const int64_t M = s.out[1];
  const float* bias = nullptr;
  if (c.has_input(2)) {
    const Tensor& b = c.in(2);
    LB_TRY(expect_f32(b, "bias B"));
    if (b.rank() != 1 || b.dim(0) != M)
      return Status::errorf("bias B has shape {}, expected [{}]", shape_str(b.shape()), M);
    bias = b.data<float>();
  }
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(DType::kF32, s.out));
  const kernels::ConvGeom g = conv_geom(x.shape(), M, s.group, s.plan);
  LB_TRY(expect_blas_size(w.numel() / std::max<int64_t>(w.dim(0), 1), "weight row length"));
  LB_TRY(expect_blas_size(g.in_size(), "input spatial size"));
  LB_TRY(expect_blas_size(x.dim(1), "input channels"));
  if (y.numel() > 0) kernels::conv_transpose_f32(g, x.data<float>(), w.data<float>(), bias, y.data<float>(), &c.pool);
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kConvTranspose{"ConvTranspose", 2, 3, conv_transpose_infer, conv_transpose_forward};

}  // namespace lowbit::ops
