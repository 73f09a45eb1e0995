// session.h: Session runs an FP32 ir::Graph on concrete inputs, node by node in topological order.
//
// Intermediate tensors are released right after their last reader, so peak memory is the
// live set, not the whole graph. A ValueHook sees every value as it is produced — this is
// how observers collect calibration statistics without the Session knowing about them.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "ir/graph.h"
#include "ops/op.h"

namespace lowbit::exec {

// Called with (value index, tensor) for each value a node produces, in execution order.
using ValueHook = std::function<void(int value, const Tensor& tensor)>;

class Session {
 public:
  // Prepares `graph` (which must be topologically sorted, e.g. by load_model) for execution;
  // fails listing every unsupported op if any node has no implementation.
  static Result<Session> create(ir::Graph graph);

  const ir::Graph& graph() const { return graph_; }

  // Runs with one tensor per graph input (in graph().inputs order); returns the graph outputs.
  // Input dtypes and known dims are checked: a mismatch is an error naming the input.
  Result<std::vector<Tensor>> run(const std::vector<Tensor>& inputs, const ValueHook& hook = nullptr) const;

 private:
  explicit Session(ir::Graph graph);

  ir::Graph graph_;
  std::vector<const ops::OpDef*> op_of_node_;
  std::vector<int> last_use_;     // per value: index of the last node reading it, -1 if none
  std::vector<bool> is_output_;   // per value
};

// Checks one input tensor against what the graph declares for value `v`.
Status check_input(const ir::Graph& graph, int v, const Tensor& t);

}  // namespace lowbit::exec
