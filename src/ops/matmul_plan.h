// matmul_plan.h: the shapes of a numpy-style MatMul — a 1-D A is a row [1, K], a 1-D B a
// column [K, 1] (the added dim is dropped from the result), leading (batch) dims broadcast.
// Shared by MatMul, MatMulInteger and QLinearMatMul.
#pragma once

#include "core/status.h"
#include "core/tensor.h"

namespace lowbit::ops {

struct MatMulPlan {
  Shape out;         // result shape
  Shape batch;       // broadcast batch dims
  Shape a_batch, b_batch;  // each operand's batch dims, left-padded with 1 to batch.size()
  int64_t m = -1, n = -1, k = -1;
};

// Shapes may hold unknown dims (< 0).
Result<MatMulPlan> plan_matmul(const Shape& a, const Shape& b);

}  // namespace lowbit::ops
