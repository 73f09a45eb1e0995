// registry.cc: the table of supported ops. Each family lists its ops in an .inc file
// (one LB_OP(OpType, kSymbol) line per op); the OpDef lives in the op's own file.
#include <algorithm>

#include "ops/op.h"

namespace lowbit::ops {

#define LB_OP(type, sym) extern const OpDef sym;
#include "ops/nn_ops.inc"
#include "ops/tensor_ops.inc"
#include "ops/quant_ops.inc"
#include "ops/lowbit_ops.inc"
#undef LB_OP

namespace {

const OpDef* const kAllOps[] = {
#define LB_OP(type, sym) &sym,
#include "ops/nn_ops.inc"
#include "ops/tensor_ops.inc"
#include "ops/quant_ops.inc"
#undef LB_OP
    nullptr,  // keeps the array non-empty
};

const OpDef* const kLowbitOps[] = {
#define LB_OP(type, sym) &sym,
#include "ops/lowbit_ops.inc"
#undef LB_OP
};

}  // namespace

const OpDef* find_op(std::string_view domain, std::string_view op_type) {
  if (domain == kLowbitDomain) {
    for (const OpDef* op : kLowbitOps)
      if (op->op_type == op_type) return op;
    return nullptr;
  }
  if (!domain.empty() && domain != "ai.onnx") return nullptr;
  for (const OpDef* op : kAllOps)
    if (op && op->op_type == op_type) return op;
  return nullptr;
}

std::vector<std::string_view> supported_op_types() {
  std::vector<std::string_view> v;
  for (const OpDef* op : kAllOps)
    if (op) v.push_back(op->op_type);
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace lowbit::ops
