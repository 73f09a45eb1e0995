// tensor_op_util.cc: dtype checks and shape-like input reading for the tensor ops.
#include "ops/tensor_op_util.h"

namespace lowbit::ops {

std::string dtype_set_str(DTypeSet set) {
  std::string s;
  for (DType t : {DType::kF32, DType::kI8, DType::kU8, DType::kI32, DType::kI64, DType::kBool}) {
    if (!(set & dtype_bit(t))) continue;
    if (!s.empty()) s += ", ";
    s += dtype_name(t);
  }
  return s;
}

Status check_dtype(std::string_view op, std::string_view what, DType t, DTypeSet allowed) {
  if (allowed & dtype_bit(t)) return Status::ok();
  return Status::errorf("{} does not support {} of dtype {} (supported: {})", op, what, dtype_name(t),
                        dtype_set_str(allowed));
}

Result<std::vector<int64_t>> read_int_list(const Tensor& t, std::string_view what) {
  if (t.dtype() != DType::kI64 && t.dtype() != DType::kI32)
    return Status::errorf("{} must be int64 or int32, got {}", what, dtype_name(t.dtype()));
  if (t.rank() > 1) return Status::errorf("{} must be a 1-D tensor, got shape {}", what, shape_str(t.shape()));
  return t.to_i64_vector();
}

namespace {

template <typename Ctx>
Status require_inputs_impl(const Ctx& c, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (!c.has_input(i)) return Status::errorf("{} needs input {}, which is missing", c.node.op_type, i);
  return Status::ok();
}

}  // namespace

Status require_inputs(const InferCtx& c, size_t n) { return require_inputs_impl(c, n); }
Status require_inputs(const RunCtx& c, size_t n) { return require_inputs_impl(c, n); }

}  // namespace lowbit::ops
