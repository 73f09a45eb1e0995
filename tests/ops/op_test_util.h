// op_test_util.h: run one op on concrete tensors, for op unit tests.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/thread_pool.h"
#include "ops/op.h"

namespace lowbit::ops::testing {

// Runs op `op_type` with `attrs` on `inputs` (an undefined Tensor stands for an omitted
// optional input), producing `num_outputs` outputs. Also checks that infer, given the same
// inputs as constants' shapes, predicts the shapes and dtypes forward produced.
inline Result<std::vector<Tensor>> run_op(const std::string& op_type, const std::vector<Tensor>& inputs,
                                          ir::Attributes attrs = {}, size_t num_outputs = 1,
                                          int64_t opset = 13, std::string_view domain = "") {
  const OpDef* op = find_op(domain, op_type);
  if (!op) return Status::errorf("op {} is not registered", op_type);
  ir::Node node;
  node.name = "test_" + op_type;
  node.op_type = op_type;
  node.domain = std::string(domain);
  node.attrs = std::move(attrs);
  for (size_t i = 0; i < inputs.size(); ++i) node.inputs.push_back(inputs[i].defined() ? static_cast<int>(i) : ir::kNoValue);
  for (size_t i = 0; i < num_outputs; ++i) node.outputs.push_back(static_cast<int>(inputs.size() + i));

  InferCtx ic{node, opset, {}, std::vector<TensorInfo>(num_outputs)};
  for (const Tensor& t : inputs) {
    TensorInfo info;
    if (t.defined()) {
      info.dtype = t.dtype();
      info.shape = t.shape();
    } else {
      info.present = false;
    }
    ic.inputs.push_back(info);
  }
  LB_TRY(op->infer(ic).with_context("infer"));

  RunCtx rc{node, opset, {}, std::vector<Tensor>(num_outputs), ThreadPool::global()};
  for (const Tensor& t : inputs) rc.inputs.push_back(t.defined() ? &t : nullptr);
  LB_TRY(op->forward(rc));
  for (size_t i = 0; i < num_outputs; ++i) {
    const Tensor& y = rc.outputs[i];
    if (!y.defined()) continue;
    const TensorInfo& p = ic.outputs[i];
    if (p.dtype && *p.dtype != y.dtype())
      return Status::errorf("infer predicted dtype {} for output {}, forward gave {}", dtype_name(*p.dtype), i,
                            dtype_name(y.dtype()));
    if (p.shape) {
      bool ok = p.shape->size() == y.shape().size();
      for (size_t d = 0; ok && d < y.shape().size(); ++d) ok = (*p.shape)[d] < 0 || (*p.shape)[d] == y.shape()[d];
      if (!ok)
        return Status::errorf("infer predicted shape {} for output {}, forward gave {}", shape_str(*p.shape), i,
                              shape_str(y.shape()));
    }
  }
  return std::move(rc.outputs);
}

// Succeeds when running `op_type` on `inputs` fails with a message containing `needle`.
inline ::testing::AssertionResult op_fails_with(const std::string& op_type, const std::vector<Tensor>& inputs,
                                                ir::Attributes attrs, const std::string& needle) {
  Result<std::vector<Tensor>> y = run_op(op_type, inputs, std::move(attrs));
  if (y.is_ok()) return ::testing::AssertionFailure() << op_type << " succeeded; expected an error containing '" << needle << "'";
  if (y.status().message().find(needle) == std::string::npos)
    return ::testing::AssertionFailure() << op_type << " failed with '" << y.status().message() << "', expected '"
                                         << needle << "'";
  return ::testing::AssertionSuccess();
}

}  // namespace lowbit::ops::testing
