// conv_util.cc: window attribute parsing and output-size arithmetic (see conv_util.h).
#include "ops/conv_util.h"

#include <algorithm>

#include <fmt/ranges.h>

#include "kernels/fp32/sgemm.h"

namespace lowbit::ops {
namespace {

Status check_range(const std::vector<int64_t>& v, std::string_view name, int64_t lo) {
  for (int64_t x : v)
    if (x < lo || x > kMaxWindowAttr)
      return Status::errorf("attribute '{}' has value {}, expected {} to {}", name, x, lo, kMaxWindowAttr);
  return Status::ok();
}

}  // namespace

Result<AutoPad> read_auto_pad(const ir::Attributes& a) {
  LB_ASSIGN_OR_RETURN(std::string s, a.get_string("auto_pad", std::string("NOTSET")));
  if (s == "NOTSET" || s.empty()) return AutoPad::kNotSet;
  if (s == "SAME_UPPER") return AutoPad::kSameUpper;
  if (s == "SAME_LOWER") return AutoPad::kSameLower;
  if (s == "VALID") return AutoPad::kValid;
  return Status::errorf("attribute 'auto_pad' has unknown value '{}'", s);
}

Result<WindowAttrs> read_window_attrs(const ir::Attributes& a, size_t rank,
                                      const std::optional<std::vector<int64_t>>& kernel_fallback,
                                      bool with_dilations, bool with_ceil_mode) {
  WindowAttrs w;
  if (a.has("kernel_shape")) {
    LB_ASSIGN_OR_RETURN(w.kernel, a.get_ints("kernel_shape"));
    if (w.kernel.size() != rank)
      return Status::errorf("attribute 'kernel_shape' has {} values, expected {} (one per spatial dim)",
                            w.kernel.size(), rank);
    LB_TRY(check_range(w.kernel, "kernel_shape", 1));
    if (kernel_fallback)
      for (size_t i = 0; i < rank; ++i)
        if ((*kernel_fallback)[i] >= 0 && (*kernel_fallback)[i] != w.kernel[i])
          return Status::errorf("attribute 'kernel_shape' [{}] disagrees with the weight's spatial dims [{}]",
                                fmt::join(w.kernel, ","), fmt::join(*kernel_fallback, ","));
  } else if (kernel_fallback) {
    w.kernel = *kernel_fallback;
    for (int64_t k : w.kernel)
      if (k == 0 || k > kMaxWindowAttr) return Status::errorf("weight has spatial size {}, expected >= 1", k);
  } else {
    return Status::error("required attribute 'kernel_shape' is missing");
  }
  LB_ASSIGN_OR_RETURN(w.stride, a.get_ints("strides", std::vector<int64_t>(rank, 1)));
  if (w.stride.empty()) w.stride.assign(rank, 1);
  if (w.stride.size() != rank)
    return Status::errorf("attribute 'strides' has {} values, expected {}", w.stride.size(), rank);
  LB_TRY(check_range(w.stride, "strides", 1));
  w.dilation.assign(rank, 1);
  if (with_dilations) {
    LB_ASSIGN_OR_RETURN(w.dilation, a.get_ints("dilations", std::vector<int64_t>(rank, 1)));
    if (w.dilation.empty()) w.dilation.assign(rank, 1);
    if (w.dilation.size() != rank)
      return Status::errorf("attribute 'dilations' has {} values, expected {}", w.dilation.size(), rank);
    LB_TRY(check_range(w.dilation, "dilations", 1));
  }
  LB_ASSIGN_OR_RETURN(w.pads, a.get_ints("pads", std::vector<int64_t>(2 * rank, 0)));
  if (w.pads.empty()) w.pads.assign(2 * rank, 0);
  if (w.pads.size() != 2 * rank)
    return Status::errorf("attribute 'pads' has {} values, expected {} (begin and end per spatial dim)",
                          w.pads.size(), 2 * rank);
  LB_TRY(check_range(w.pads, "pads", 0));
  LB_ASSIGN_OR_RETURN(w.auto_pad, read_auto_pad(a));
  if (with_ceil_mode) {
    LB_ASSIGN_OR_RETURN(int64_t c, a.get_int("ceil_mode", 0));
    w.ceil_mode = c != 0;
  }
  return w;
}

Result<WindowPlan> plan_window(const WindowAttrs& w, const std::vector<int64_t>& in) {
  const size_t rank = in.size();
  WindowPlan p;
  p.kernel = w.kernel;
  p.stride = w.stride;
  p.dilation = w.dilation;
  p.pad_begin.assign(rank, 0);
  p.pad_end.assign(rank, 0);
  p.out.assign(rank, -1);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t k = w.kernel[i], s = w.stride[i];
    const int64_t ek = k < 0 ? -1 : (k - 1) * w.dilation[i] + 1;  // effective (dilated) kernel
    if (w.auto_pad == AutoPad::kNotSet) {
      p.pad_begin[i] = w.pads[i];
      p.pad_end[i] = w.pads[i + rank];
    }
    if (in[i] < 0 || ek < 0) continue;
    if (in[i] == 0) return Status::errorf("spatial dim {} of the input is 0", i);
    switch (w.auto_pad) {
      case AutoPad::kSameUpper:
      case AutoPad::kSameLower: {
        const int64_t out = (in[i] + s - 1) / s;
        const int64_t total = std::max<int64_t>(0, (out - 1) * s + ek - in[i]);
        const int64_t small = total / 2, big = total - small;
        p.pad_begin[i] = w.auto_pad == AutoPad::kSameUpper ? small : big;
        p.pad_end[i] = w.auto_pad == AutoPad::kSameUpper ? big : small;
        p.out[i] = out;
        break;
      }
      case AutoPad::kValid:
      case AutoPad::kNotSet: {
        const int64_t padded = in[i] + p.pad_begin[i] + p.pad_end[i];
        if (padded < ek)
          return Status::errorf("kernel of size {} (dilated) is larger than the padded input ({}) along spatial dim {}",
                                ek, padded, i);
        int64_t out = (padded - ek) / s + 1;
        if (w.ceil_mode && w.auto_pad == AutoPad::kNotSet) {
          out = (padded - ek + s - 1) / s + 1;
          // The last window must start inside the input or the leading padding (PyTorch, ONNX >= 1.16).
          if ((out - 1) * s >= in[i] + p.pad_begin[i]) --out;
        }
        p.out[i] = out;
        break;
      }
    }
  }
  return p;
}

kernels::ConvGeom conv_geom(const Shape& x, int64_t out_channels, int64_t groups, const WindowPlan& p) {
  kernels::ConvGeom g;
  g.batch = x[0];
  g.in_channels = x[1];
  g.out_channels = out_channels;
  g.groups = groups;
  const size_t rank = x.size() - 2, lead = 3 - rank;
  for (size_t i = 0; i < rank; ++i) {
    g.in[lead + i] = x[2 + i];
    g.out[lead + i] = p.out[i];
    g.kernel[lead + i] = p.kernel[i];
    g.stride[lead + i] = p.stride[i];
    g.dilation[lead + i] = p.dilation[i];
    g.pad[lead + i] = p.pad_begin[i];
  }
  return g;
}

Status expect_f32(const Tensor& t, std::string_view what) {
  if (t.dtype() != DType::kF32) return Status::errorf("{} must be float32, got {}", what, dtype_name(t.dtype()));
  return Status::ok();
}

Status expect_blas_size(int64_t value, std::string_view what) {
  if (value > kernels::kMaxBlasDim)
    return Status::errorf("{} ({}) exceeds the GEMM size limit {}", what, value, kernels::kMaxBlasDim);
  return Status::ok();
}

std::vector<int64_t> spatial_dims(const Shape& s) {
  return s.size() > 2 ? std::vector<int64_t>(s.begin() + 2, s.end()) : std::vector<int64_t>{};
}

Result<std::optional<std::pair<Shape, Shape>>> conv_infer_inputs(InferCtx& c) {
  const TensorInfo& X = c.inputs[0];
  const TensorInfo& W = c.inputs[1];
  for (const TensorInfo* t : {&X, &W})
    if (t->dtype && *t->dtype != DType::kF32)
      return Status::errorf("inputs must be float32, got {}", dtype_name(*t->dtype));
  c.outputs[0].dtype = DType::kF32;
  if (!X.shape && !W.shape) return std::optional<std::pair<Shape, Shape>>();
  const size_t rank = X.shape ? X.shape->size() : W.shape->size();
  return std::optional<std::pair<Shape, Shape>>(
      std::pair<Shape, Shape>(X.shape ? *X.shape : Shape(rank, -1), W.shape ? *W.shape : Shape(rank, -1)));
}

Result<ConvSetup> setup_conv(const ir::Attributes& a, const Shape& x, const Shape& w) {
  if (x.size() < 3 || x.size() > 5)
    return Status::errorf("input X has shape {}, expected rank 3 to 5 ([N, C, 1 to 3 spatial dims])", shape_str(x));
  if (w.size() != x.size())
    return Status::errorf("weight W has shape {}, expected rank {} like X {}", shape_str(w), x.size(), shape_str(x));
  ConvSetup s;
  LB_ASSIGN_OR_RETURN(s.group, a.get_int("group", 1));
  if (s.group < 1 || s.group > kMaxWindowAttr) return Status::errorf("attribute 'group' is {}, expected >= 1", s.group);
  const int64_t C = x[1], M = w[0], Cg = w[1];
  if (C >= 0 && C % s.group != 0) return Status::errorf("group {} does not divide the {} input channels", s.group, C);
  if (C >= 0 && Cg >= 0 && Cg != C / s.group)
    return Status::errorf("weight W {} has {} input channels per group, X has {} channels in {} groups of {}",
                          shape_str(w), Cg, C, s.group, C / s.group);
  if (M >= 0 && M % s.group != 0)
    return Status::errorf("group {} does not divide the {} output channels of W", s.group, M);
  const size_t rank = x.size() - 2;
  LB_ASSIGN_OR_RETURN(WindowAttrs wa, read_window_attrs(a, rank, spatial_dims(w), true, false));
  LB_ASSIGN_OR_RETURN(s.plan, plan_window(wa, spatial_dims(x)));
  s.out = {x[0], M};
  s.out.insert(s.out.end(), s.plan.out.begin(), s.plan.out.end());
  return s;
}

}  // namespace lowbit::ops
