// program.h: runtime::Program — a QuantizedModel compiled for execution (compile.h): a flat
// list of steps over numbered value slots. Integer steps (int8 Conv / Gemm / MatMul, residual
// Add, pooling, Concat, requantizing views) read and write uint8 tensors; FP32 steps run the
// remaining ops of the simulation graph between its DequantizeLinear and QuantizeLinear nodes,
// so a program computes what the simulation computes, with integers wherever it can.
//
// Memory. Every value an integer step writes lives in one arena, planned per batch size from
// the values' lifetimes (memory_plan.h) and reused across runs; FP32 steps allocate their own
// outputs as the Session does. Views (Flatten / Reshape of an integer value) share their
// source's bytes, so their source stays live as long as they do.
//
// Slices. When every step is per-sample, a large batch runs as slices of a few images, each
// through the whole program with its own arena small enough to stay in L2, the slices spread
// over the thread pool: activations never leave the cache between layers and the threads
// never wait for each other between steps. Outputs are the slices' outputs, concatenated.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "ir/graph.h"

namespace lowbit::runtime {

// What a step reads and writes while it runs: one tensor per value slot.
struct Frame {
  std::vector<Tensor> slots;
  ThreadPool* pool = nullptr;  // nullptr: single-threaded
};

class Step {
 public:
  virtual ~Step() = default;
  // Computes the outputs from the inputs in `f`. Integer steps find their outputs already
  // allocated (arena views of the planned shape); views and FP32 steps assign them.
  virtual Status run(Frame& f) const = 0;
  // One line for `lowbit info`: the kernel and its shape, e.g. "conv 3x3/1 16→16 im2col+gemm (avx512vnni)".
  virtual std::string describe() const = 0;
  virtual bool integer() const { return true; }
  // A view's output aliases its input's bytes (no arena slot of its own).
  virtual bool is_view() const { return false; }
  // Whether each sample of the batch is computed from the same sample of the inputs alone,
  // so the program may run the batch in slices (Program::run).
  virtual bool per_sample() const { return true; }

  std::string node;     // the graph node it runs (the head node for fused patterns)
  std::string op_type;
  std::vector<int> inputs, outputs;  // value slots
};

// How each node of the model runs, for `lowbit info` and the docs.
struct NodeReport {
  std::string node;
  std::string op_type;
  bool integer = false;
  std::string detail;  // the kernel, "fused into 'conv1'", or why it falls back to FP32
};

class Program {
 public:
  Program() = default;
  Program(Program&&) noexcept;
  Program& operator=(Program&&) noexcept;
  ~Program();

  // Runs on one tensor per graph input; returns the graph outputs (FP32 logits for a
  // classifier). Safe to call from several threads; concurrent calls use separate arenas.
  // With `step_seconds`, adds each step's wall time to it (resized to steps().size()): the
  // profile `lowbit bench --profile` prints.
  Result<std::vector<Tensor>> run(const std::vector<Tensor>& inputs, std::vector<double>* step_seconds = nullptr) const;

  const ir::Graph& graph() const { return graph_; }
  const std::vector<std::unique_ptr<Step>>& steps() const { return steps_; }
  const std::vector<NodeReport>& report() const { return report_; }
  // Number of compute nodes that run integer-only / in FP32 (Quantize / Dequantize excluded).
  int64_t integer_nodes() const;
  int64_t fp32_nodes() const;
  // Arena bytes for one run at `batch` (0 when nothing is planned yet for it).
  int64_t arena_bytes(int64_t batch) const;
  // The images per slice a batch of `batch` runs in (batch itself when it runs whole).
  int64_t slice_size(int64_t batch) const;
  std::string isa;  // the instruction set the integer kernels were packed for

 private:
  friend class ProgramBuilder;
  struct Plan;  // arena offsets for one batch size

  Result<std::shared_ptr<const Plan>> plan_for(int64_t batch) const;
  // One pass over the steps on inputs whose batch fits one plan; `pool` for the steps' own
  // threads (nullptr inside a slice).
  Result<std::vector<Tensor>> run_whole(const std::vector<Tensor>& inputs, ThreadPool* pool,
                                        std::vector<double>* step_seconds) const;
  std::shared_ptr<uint8_t> take_arena(int64_t bytes) const;
  void return_arena(std::shared_ptr<uint8_t> arena, int64_t bytes) const;

  ir::Graph graph_;  // the simulation graph the slots index (value i = slot i)
  std::vector<std::unique_ptr<Step>> steps_;
  std::vector<NodeReport> report_;
  std::vector<bool> in_arena_;       // per slot: written by an integer (non-view) step
  std::vector<int> view_root_;       // per slot: the slot whose bytes a view shares, else itself
  std::vector<int> last_use_;        // per slot: last step reading it (counting its views' readers)
  std::vector<int> producer_step_;   // per slot: the step writing it, -1 for inputs and constants
  std::vector<bool> is_output_;
  bool sliceable_ = false;           // every step per-sample, inputs and outputs batch-major
  int64_t bytes_per_sample_ = 0;     // arena bytes per image (a plan at batch 1), for slice sizes

  mutable std::mutex mu_;
  mutable std::vector<std::shared_ptr<const Plan>> plans_;  // by batch size, a few kept
  mutable std::vector<std::pair<std::shared_ptr<uint8_t>, int64_t>> free_arenas_;  // idle, with sizes
};

// Assembles a Program (used by compile.cc; tests build small programs with it directly).
class ProgramBuilder {
 public:
  explicit ProgramBuilder(ir::Graph graph) { program_.graph_ = std::move(graph); }
  ir::Graph& graph() { return program_.graph_; }
  void add_step(std::unique_ptr<Step> step) { program_.steps_.push_back(std::move(step)); }
  void add_report(NodeReport r) { program_.report_.push_back(std::move(r)); }
  // Drops steps whose outputs nothing needs, then fixes slots' lifetimes and arena membership.
  Result<Program> finish(std::string isa);

 private:
  Program program_;
};

}  // namespace lowbit::runtime
