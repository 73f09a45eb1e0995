// engine.h: a model file opened for execution by engine name — what `lowbit run / eval / bench`
// and the benchmarks share:
//   fp32  an FP32 model run by the Session
//   sim   a quantized model's simulation (its QDQ graph in FP32: quant/simulate.h)
//   int   a quantized model compiled to an integer Program (compile.h)
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "exec/evaluate.h"
#include "ir/graph.h"
#include "runtime/program.h"

namespace lowbit::runtime {

struct Engine {
  std::string kind;        // "fp32", "sim" or "int"
  bool quantized = false;  // the file holds a quantized model
  exec::RunFn run;
  std::shared_ptr<const Program> program;  // "int" only: steps and per-node report
  const ir::Graph& graph() const { return *graph_; }  // inputs, outputs, metadata

  std::shared_ptr<const ir::Graph> graph_;
};

// Names the engines accept, for help texts: "int|sim|fp32".
inline constexpr std::string_view kEngineNames = "int|sim|fp32";

// Opens `path` with `engine` ("" picks int for a quantized model, fp32 otherwise). Errors name
// the file: unreadable or invalid models, an unknown engine, int / sim on an FP32 model, fp32
// on a quantized one.
Result<Engine> open_engine(const std::string& path, std::string_view engine);

}  // namespace lowbit::runtime
