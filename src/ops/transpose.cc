// transpose.cc: Transpose, out[i_0..i_{r-1}] with out dim k = in dim perm[k] (perm defaults to
// reversing the dims). Any dtype; the copy is a strided gather (strided_copy.h).
#include <algorithm>

#include "ops/op.h"
#include "ops/strided_copy.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

// The permutation for a rank-`rank` input: the attribute, checked, or the reversal.
Result<std::vector<int64_t>> transpose_perm(const ir::Attributes& attrs, int64_t rank) {
  std::vector<int64_t> perm;
  if (attrs.has("perm")) {
    LB_ASSIGN_OR_RETURN(perm, attrs.get_ints("perm"));
    if (static_cast<int64_t>(perm.size()) != rank)
      return Status::errorf("Transpose perm {} has {} entries for an input of rank {}", shape_str(perm), perm.size(),
                            rank);
    std::vector<bool> seen(perm.size(), false);
    for (int64_t p : perm) {
      if (p < 0 || p >= rank || seen[static_cast<size_t>(p)])
        return Status::errorf("Transpose perm {} is not a permutation of 0..{}", shape_str(perm), rank - 1);
      seen[static_cast<size_t>(p)] = true;
    }
  } else {
    for (int64_t i = rank; i-- > 0;) perm.push_back(i);
  }
  return perm;
}

Status transpose_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const TensorInfo& x = c.inputs[0];
  std::optional<Shape> shape;
  if (x.shape) {
    LB_ASSIGN_OR_RETURN(std::vector<int64_t> perm, transpose_perm(c.attrs(), static_cast<int64_t>(x.shape->size())));
    Shape s(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) s[i] = (*x.shape)[static_cast<size_t>(perm[i])];
    shape = std::move(s);
  } else if (c.attrs().has("perm")) {
    LB_ASSIGN_OR_RETURN(std::vector<int64_t> perm, c.attrs().get_ints("perm"));
    shape = unknown_dims(static_cast<int64_t>(perm.size()));
  }
  set_output(c, 0, x.dtype, std::move(shape));
  return Status::ok();
}

Status transpose_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const Tensor& x = c.in(0);
  LB_ASSIGN_OR_RETURN(std::vector<int64_t> perm, transpose_perm(c.attrs(), x.rank()));
  const std::vector<int64_t> in_strides = contiguous_strides(x.shape());
  Shape shape(perm.size());
  std::vector<int64_t> strides(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    shape[i] = x.shape()[static_cast<size_t>(perm[i])];
    strides[i] = in_strides[static_cast<size_t>(perm[i])];
  }
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(x.dtype(), shape));
  strided_copy(y.raw(), x.raw(), x.dtype(), shape, strides, 0, c.pool);
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kTranspose{"Transpose", 1, 1, transpose_infer, transpose_forward};

}  // namespace lowbit::ops
