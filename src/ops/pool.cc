// pool.cc: MaxPool (optional Indices output, storage_order, dilations, ceil_mode; float32,
// uint8, int8), AveragePool (count_include_pad, ceil_mode) and GlobalAveragePool /
// GlobalMaxPool over [N, C, 1 to 3 spatial dims]. Output sizes follow conv_util.h (with
// ceil_mode the last window must start inside the input or the leading padding).
#include <algorithm>

#include "kernels/fp32/pool.h"
#include "ops/conv_util.h"
#include "ops/op.h"

namespace lowbit::ops {
namespace {

Status check_pool_rank(const Shape& x) {
  if (x.size() < 3 || x.size() > 5)
    return Status::errorf("input X has shape {}, expected rank 3 to 5 ([N, C, 1 to 3 spatial dims])", shape_str(x));
  return Status::ok();
}

Result<WindowPlan> plan_pool(const ir::Attributes& a, const Shape& x) {
  LB_TRY(check_pool_rank(x));
  LB_ASSIGN_OR_RETURN(WindowAttrs w, read_window_attrs(a, x.size() - 2, std::nullopt, true, true));
  return plan_window(w, spatial_dims(x));
}

Shape pool_out_shape(const Shape& x, const WindowPlan& p) {
  Shape out{x[0], x[1]};
  out.insert(out.end(), p.out.begin(), p.out.end());
  return out;
}

kernels::PoolGeom pool_geom(const Shape& x, const WindowPlan& p) {
  kernels::PoolGeom g;
  g.planes = x[0] * x[1];
  const size_t rank = x.size() - 2, lead = 3 - rank;
  for (size_t i = 0; i < rank; ++i) {
    g.in[lead + i] = x[2 + i];
    g.out[lead + i] = p.out[i];
    g.kernel[lead + i] = p.kernel[i];
    g.stride[lead + i] = p.stride[i];
    g.dilation[lead + i] = p.dilation[i];
    g.pad_begin[lead + i] = p.pad_begin[i];
    g.pad_end[lead + i] = p.pad_end[i];
  }
  return g;
}

bool is_max_pool_dtype(DType t) { return t == DType::kF32 || t == DType::kU8 || t == DType::kI8; }

Status max_pool_infer(InferCtx& c) {
  const TensorInfo& X = c.inputs[0];
  if (X.dtype && !is_max_pool_dtype(*X.dtype))
    return Status::errorf("input X must be float32, uint8 or int8, got {}", dtype_name(*X.dtype));
  c.outputs[0].dtype = X.dtype;
  if (c.outputs.size() > 1) c.outputs[1].dtype = DType::kI64;
  if (!X.shape) return Status::ok();
  LB_ASSIGN_OR_RETURN(WindowPlan p, plan_pool(c.attrs(), *X.shape));
  const Shape out = pool_out_shape(*X.shape, p);
  for (TensorInfo& o : c.outputs) o.shape = out;
  return Status::ok();
}

Status max_pool_forward(RunCtx& c) {
  const Tensor& x = c.in(0);
  if (!is_max_pool_dtype(x.dtype()))
    return Status::errorf("input X must be float32, uint8 or int8, got {}", dtype_name(x.dtype()));
  LB_ASSIGN_OR_RETURN(WindowPlan p, plan_pool(c.attrs(), x.shape()));
  LB_ASSIGN_OR_RETURN(int64_t storage_order, c.attrs().get_int("storage_order", 0));
  if (storage_order != 0 && storage_order != 1)
    return Status::errorf("attribute 'storage_order' is {}, expected 0 or 1", storage_order);
  const Shape out = pool_out_shape(x.shape(), p);
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(x.dtype(), out));
  const bool want_indices = c.node.outputs.size() > 1 && c.node.outputs[1] != ir::kNoValue;
  Tensor idx;
  if (want_indices) {
    LB_ASSIGN_OR_RETURN(idx, Tensor::make(DType::kI64, out));
  }
  int64_t* ip = want_indices ? idx.data<int64_t>() : nullptr;
  const kernels::PoolGeom g = pool_geom(x.shape(), p);
  if (y.numel() > 0) {
    switch (x.dtype()) {
      case DType::kU8:
        kernels::max_pool_u8(g, x.data<uint8_t>(), y.data<uint8_t>(), ip, storage_order == 1, &c.pool);
        break;
      case DType::kI8:
        kernels::max_pool_i8(g, x.data<int8_t>(), y.data<int8_t>(), ip, storage_order == 1, &c.pool);
        break;
      default:
        kernels::max_pool_f32(g, x.data<float>(), y.data<float>(), ip, storage_order == 1, &c.pool);
        break;
    }
  }
  c.outputs[0] = std::move(y);
  if (want_indices) c.outputs[1] = std::move(idx);
  return Status::ok();
}

Status avg_pool_infer(InferCtx& c) {
  const TensorInfo& X = c.inputs[0];
  if (X.dtype && *X.dtype != DType::kF32) return Status::errorf("input X must be float32, got {}", dtype_name(*X.dtype));
  c.outputs[0].dtype = DType::kF32;
  if (!X.shape) return Status::ok();
  LB_ASSIGN_OR_RETURN(WindowPlan p, plan_pool(c.attrs(), *X.shape));
  c.outputs[0].shape = pool_out_shape(*X.shape, p);
  return Status::ok();
}

Status avg_pool_forward(RunCtx& c) {
  const Tensor& x = c.in(0);
  LB_TRY(expect_f32(x, "input X"));
  LB_ASSIGN_OR_RETURN(WindowPlan p, plan_pool(c.attrs(), x.shape()));
  LB_ASSIGN_OR_RETURN(int64_t include_pad, c.attrs().get_int("count_include_pad", 0));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(DType::kF32, pool_out_shape(x.shape(), p)));
  if (y.numel() > 0)
    kernels::avg_pool_f32(pool_geom(x.shape(), p), x.data<float>(), y.data<float>(), include_pad != 0, &c.pool);
  c.outputs[0] = std::move(y);
  return Status::ok();
}

Shape global_out_shape(const Shape& x) {
  Shape out = x;
  for (size_t i = 2; i < out.size(); ++i) out[i] = 1;
  return out;
}

Status global_pool_infer(InferCtx& c) {
  const TensorInfo& X = c.inputs[0];
  if (X.dtype && *X.dtype != DType::kF32) return Status::errorf("input X must be float32, got {}", dtype_name(*X.dtype));
  c.outputs[0].dtype = DType::kF32;
  if (!X.shape) return Status::ok();
  if (X.shape->size() < 3)
    return Status::errorf("input X has shape {}, expected rank >= 3 ([N, C, spatial...])", shape_str(*X.shape));
  c.outputs[0].shape = global_out_shape(*X.shape);
  return Status::ok();
}

template <bool kMax>
Status global_pool_forward(RunCtx& c) {
  const Tensor& x = c.in(0);
  LB_TRY(expect_f32(x, "input X"));
  if (x.rank() < 3)
    return Status::errorf("input X has shape {}, expected rank >= 3 ([N, C, spatial...])", shape_str(x.shape()));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(DType::kF32, global_out_shape(x.shape())));
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t size = planes > 0 ? x.numel() / planes : 0;
  if (planes > 0) {
    if (kMax) {
      kernels::global_max_pool_f32(planes, size, x.data<float>(), y.data<float>(), &c.pool);
    } else {
      kernels::global_avg_pool_f32(planes, size, x.data<float>(), y.data<float>(), &c.pool);
    }
  }
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kMaxPool{"MaxPool", 1, 1, max_pool_infer, max_pool_forward};
extern const OpDef kAveragePool{"AveragePool", 1, 1, avg_pool_infer, avg_pool_forward};
extern const OpDef kGlobalAveragePool{"GlobalAveragePool", 1, 1, global_pool_infer, global_pool_forward<false>};
extern const OpDef kGlobalMaxPool{"GlobalMaxPool", 1, 1, global_pool_infer, global_pool_forward<true>};

}  // namespace lowbit::ops
