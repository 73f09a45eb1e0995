// ptq_job.h: what `quantize`, `compare` and `inspect` share — opening a data source with the
// model's normalization, and post-training quantization with a progress line.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "data/dataset.h"
#include "ir/graph.h"
#include "quant/quantized_model.h"
#include "quant/recipe.h"

namespace lowbit::cli {

struct DataOptions {
  std::string source;
  std::string labels;
  std::string split;  // for built-in datasets when the source names none
  std::string preprocess;
};

// Opens `d` normalized as the model's metadata says (the preprocess string overrides it).
Result<std::unique_ptr<data::Dataset>> open_model_data(const ir::Graph& graph, const DataOptions& d);

// Calibrates and quantizes `graph` under `recipe` on the first `samples` samples of `calib`
// (a null dataset for recipes that need none), showing a progress line labelled `what`.
Result<quant::QuantizedModel> run_ptq(const ir::Graph& graph, const quant::Recipe& recipe, const data::Dataset* calib,
                                      int64_t samples, int64_t batch, const std::string& what);

}  // namespace lowbit::cli
