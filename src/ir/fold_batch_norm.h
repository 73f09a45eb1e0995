// fold_batch_norm.h: the graph pass that folds an inference BatchNormalization into the Conv
// or Gemm that feeds it, so quantization sees the weights the integer kernels will multiply.
//
// BN(y) = γ·(y − μ)/√(σ² + ε) + β. With f = γ/√(σ² + ε) per channel:
//   Conv: W'[o,…] = f[o]·W[o,…],  b'[o] = f[o]·(b[o] − μ[o]) + β[o]
//   Gemm (y = α·A·B + β_g·C, channel = column n): B' column n scaled by f[n] (row n when transB),
//        C'[n] = f[n]·(β_g·C[n] − μ[n]) + β[n], and β_g becomes 1.
// Computed in double, stored as float32.
#pragma once

#include "core/status.h"
#include "ir/graph.h"

namespace lowbit::ir {

// Folds every BatchNormalization whose input comes from a Conv or Gemm with constant weights
// (and bias, if any), when that output feeds only the BN and is not a graph output, and the BN
// parameters are constants. Weights shared with other nodes are copied, not changed in place.
// Returns how many BNs were folded. Keeps nodes in topological order; drops the folded BNs.
Result<int> fold_batch_norm(Graph& graph);

}  // namespace lowbit::ir
