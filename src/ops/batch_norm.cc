// batch_norm.cc: BatchNormalization in inference form, opsets 9 to 17:
//   y[n, c, ...] = (x[n, c, ...] − mean[c]) / sqrt(var[c] + epsilon) · scale[c] + B[c]
// computed as y = a[c]·x + b[c]. Training (training_mode = 1, opset 14+) and the optional
// statistics outputs (running / saved mean and var), which only training produces, are refused.
#include <cmath>
#include <vector>

#include "ops/conv_util.h"
#include "ops/op.h"

namespace lowbit::ops {
namespace {

constexpr const char* kInputNames[] = {"X", "scale", "B", "input_mean", "input_var"};

Status check_mode(const ir::Node& node, const ir::Attributes& a) {
  LB_ASSIGN_OR_RETURN(int64_t training, a.get_int("training_mode", 0));
  if (training != 0) return Status::error("training mode is not supported (training_mode = 1)");
  LB_ASSIGN_OR_RETURN(int64_t spatial, a.get_int("spatial", 1));
  if (spatial != 1) return Status::error("spatial = 0 (per-activation statistics) is not supported");
  for (size_t i = 1; i < node.outputs.size(); ++i)
    if (node.outputs[i] != ir::kNoValue)
      return Status::errorf("training mode is not supported (output {} asks for batch statistics)", i);
  return Status::ok();
}

Status batch_norm_infer(InferCtx& c) {
  LB_TRY(check_mode(c.node, c.attrs()));
  for (size_t i = 0; i < c.num_inputs(); ++i)
    if (c.inputs[i].dtype && *c.inputs[i].dtype != DType::kF32)
      return Status::errorf("input {} must be float32, got {}", i, dtype_name(*c.inputs[i].dtype));
  c.outputs[0].dtype = DType::kF32;
  if (!c.inputs[0].shape) return Status::ok();
  const Shape& x = *c.inputs[0].shape;
  if (x.size() < 2) return Status::errorf("input X has shape {}, expected rank >= 2 ([N, C, ...])", shape_str(x));
  for (size_t i = 1; i < 5 && i < c.num_inputs(); ++i) {
    if (!c.inputs[i].shape) continue;
    const Shape& s = *c.inputs[i].shape;
    if (s.size() != 1 || (s[0] >= 0 && x[1] >= 0 && s[0] != x[1]))
      return Status::errorf("input {} has shape {}, expected [{}] (one per channel)", kInputNames[i], shape_str(s), x[1]);
  }
  c.outputs[0].shape = x;
  return Status::ok();
}

Status batch_norm_forward(RunCtx& c) {
  LB_TRY(check_mode(c.node, c.attrs()));
  const Tensor& x = c.in(0);
  LB_TRY(expect_f32(x, "input X"));
  if (x.rank() < 2)
    return Status::errorf("input X has shape {}, expected rank >= 2 ([N, C, ...])", shape_str(x.shape()));
  const int64_t N = x.dim(0), C = x.dim(1), inner = C > 0 && N > 0 ? x.numel() / (N * C) : 0;
  for (size_t i = 1; i < 5; ++i) {
    if (!c.has_input(i)) return Status::errorf("input {} ({}) is missing", i, kInputNames[i]);
    const Tensor& t = c.in(i);
    LB_TRY(expect_f32(t, kInputNames[i]));
    if (t.rank() != 1 || t.dim(0) != C)
      return Status::errorf("input {} has shape {}, expected [{}] (one per channel)", kInputNames[i],
                            shape_str(t.shape()), C);
  }
  LB_ASSIGN_OR_RETURN(float eps, c.attrs().get_float("epsilon", 1e-5f));
  const float* scale = c.in(1).data<float>();
  const float* bias = c.in(2).data<float>();
  const float* mean = c.in(3).data<float>();
  const float* var = c.in(4).data<float>();
  std::vector<float> a(static_cast<size_t>(C)), b(static_cast<size_t>(C));
  for (int64_t ch = 0; ch < C; ++ch) {
    const float inv = 1.0f / std::sqrt(var[ch] + eps);
    a[static_cast<size_t>(ch)] = scale[ch] * inv;
    b[static_cast<size_t>(ch)] = bias[ch] - mean[ch] * scale[ch] * inv;
  }
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(DType::kF32, x.shape()));
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  auto run = [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const float av = a[static_cast<size_t>(p % C)], bv = b[static_cast<size_t>(p % C)];
      const float* xr = xp + p * inner;
      float* yr = yp + p * inner;
      for (int64_t i = 0; i < inner; ++i) yr[i] = av * xr[i] + bv;
    }
  };
  const int64_t planes = N * C;
  if (x.numel() >= (int64_t{1} << 16)) {
    c.pool.parallel_for(planes, std::max<int64_t>(1, 8192 / std::max<int64_t>(inner, 1)), run);
  } else {
    run(0, planes);
  }
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kBatchNormalization{"BatchNormalization", 5, 5, batch_norm_infer, batch_norm_forward};

}  // namespace lowbit::ops
