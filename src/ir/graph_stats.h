// graph_stats.h: what `lowbit info` reports about a graph — op counts, parameters, MACs.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ir/graph.h"

namespace lowbit::ir {

struct GraphStats {
  std::map<std::string, int> op_counts;
  int64_t parameters = 0;       // elements of floating-point initializers
  int64_t parameter_bytes = 0;  // bytes of all initializers
  int64_t macs = 0;             // multiply-accumulates of Conv/ConvTranspose/Gemm/MatMul
  bool macs_complete = true;    // false when a counted node's shapes were not all known
};

// MACs use the shapes recorded on the values: run shape inference first, with dynamic dims
// fixed (e.g. batch = 1) to get MACs per sample.
//   Conv:          |Y| · (C_in / group) · Π kernel   = |Y| · W[1] · Π W[2:]
//   ConvTranspose: |X| · (C_out / group) · Π kernel  = |X| · W[1] · Π W[2:]
//   Gemm, MatMul:  |Y| · K
GraphStats graph_stats(const Graph& graph);

}  // namespace lowbit::ir
