// ptq_job.cc: dataset opening and PTQ with progress, for the quantization commands.
#include "ptq_job.h"

#include "cli_util.h"
#include "data/open_dataset.h"
#include "quant/calibrate.h"

namespace lowbit::cli {

Result<std::unique_ptr<data::Dataset>> open_model_data(const ir::Graph& graph, const DataOptions& d) {
  LB_ASSIGN_OR_RETURN(data::Normalize norm, data::normalize_from_metadata(graph.metadata));
  data::DataSpec spec;
  spec.source = d.source;
  spec.labels = d.labels;
  spec.split = d.split;
  spec.preprocess = d.preprocess;
  spec.norm = norm;
  return data::open_dataset(spec);
}

Result<quant::QuantizedModel> run_ptq(const ir::Graph& graph, const quant::Recipe& recipe, const data::Dataset* calib,
                                      int64_t samples, int64_t batch, const std::string& what) {
  const int64_t total = calib ? (samples > 0 ? std::min(samples, calib->size()) : calib->size()) : 0;
  Progress progress(what, total);
  quant::CalibrationOptions opts;
  opts.samples = samples;
  opts.batch = batch;
  opts.progress = [&](int64_t done, int64_t) { progress.update(done); };
  Result<quant::QuantizedModel> m = quant::quantize_model(graph, recipe, calib, opts);
  progress.finish();
  return m;
}

}  // namespace lowbit::cli
