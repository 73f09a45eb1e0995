// identity.cc: Identity and inference-mode Dropout, which pass their input through unchanged.
//
// Identity's output shares the input's storage. Dropout runs at inference: the output is the
// input whatever the ratio, and the optional mask output is all true — bool from opset 10, the
// input's dtype (ones) before, as the spec says. training_mode = true (opset 12+) asks for random
// masks, which a pure forward cannot give: it is an error unless the ratio is 0 (then training
// mode is the identity too).
#include <algorithm>

#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

Status identity_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 1));
  set_output(c, 0, c.inputs[0].dtype, c.inputs[0].shape);
  return Status::ok();
}

Status identity_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 1));
  c.outputs[0] = c.in(0);
  return Status::ok();
}

std::optional<DType> dropout_mask_dtype(int64_t opset, std::optional<DType> x) {
  return opset < 10 ? x : std::optional<DType>(DType::kBool);
}

Status dropout_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const TensorInfo& x = c.inputs[0];
  if (x.dtype) LB_TRY(check_dtype("Dropout", "input", *x.dtype, kFloatDTypes));
  if (c.has_input(1) && c.inputs[1].dtype && *c.inputs[1].dtype != DType::kF32)
    return Status::errorf("Dropout ratio must be f32, got {}", dtype_name(*c.inputs[1].dtype));
  if (c.has_input(2) && c.inputs[2].dtype && *c.inputs[2].dtype != DType::kBool)
    return Status::errorf("Dropout training_mode must be bool, got {}", dtype_name(*c.inputs[2].dtype));
  set_output(c, 0, x.dtype, x.shape);
  set_output(c, 1, dropout_mask_dtype(c.opset, x.dtype), x.shape);
  return Status::ok();
}

Status dropout_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const Tensor& x = c.in(0);
  LB_TRY(check_dtype("Dropout", "input", x.dtype(), kFloatDTypes));
  if (c.opset < 12) {
    LB_ASSIGN_OR_RETURN(const float ratio, c.attrs().get_float("ratio", 0.5f));
    (void)ratio;  // read only to reject a malformed attribute
  } else {
    float ratio = 0.5f;
    if (c.has_input(1)) {
      const Tensor& r = c.in(1);
      if (r.dtype() != DType::kF32 || r.numel() != 1)
        return Status::errorf("Dropout ratio must be an f32 scalar, got {} of shape {}", dtype_name(r.dtype()),
                              shape_str(r.shape()));
      ratio = r.data<float>()[0];
    }
    if (c.has_input(2)) {
      const Tensor& t = c.in(2);
      if (t.dtype() != DType::kBool || t.numel() != 1)
        return Status::errorf("Dropout training_mode must be a bool scalar, got {} of shape {}",
                              dtype_name(t.dtype()), shape_str(t.shape()));
      if (static_cast<const uint8_t*>(t.raw())[0] != 0 && ratio != 0.f)
        return Status::errorf("Dropout with training_mode = true and ratio {} needs random masks, which lowbit "
                              "does not implement (export the model in eval mode)", ratio);
    }
  }
  c.outputs[0] = x;
  if (wants_output(c.node, 1) && c.outputs.size() > 1) {
    const DType mask_dtype = *dropout_mask_dtype(c.opset, x.dtype());
    LB_ASSIGN_OR_RETURN(Tensor mask, Tensor::make(mask_dtype, x.shape()));
    if (mask_dtype == DType::kBool) {
      std::fill_n(mask.data<bool>(), mask.numel(), true);
    } else {
      std::fill_n(mask.data<float>(), mask.numel(), 1.f);
    }
    c.outputs[1] = std::move(mask);
  }
  return Status::ok();
}

}  // namespace

extern const OpDef kIdentity{"Identity", 1, 1, identity_infer, identity_forward};
extern const OpDef kDropout{"Dropout", 1, 3, dropout_infer, dropout_forward};

}  // namespace lowbit::ops
