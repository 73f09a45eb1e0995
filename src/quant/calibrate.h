// calibrate.h: post-training quantization of an FP32 graph under a recipe — BatchNorm
// folding, placement, weight quantization, and streaming calibration of static activation
// ranges over a dataset. The result is a QuantizedModel.
#pragma once

#include <cstdint>
#include <functional>

#include "core/status.h"
#include "data/dataset.h"
#include "ir/graph.h"
#include "quant/quantized_model.h"
#include "quant/recipe.h"

namespace lowbit::quant {

struct CalibrationOptions {
  int64_t samples = 1000;  // calibration samples, from the start of the dataset (≤ 0: all)
  int64_t batch = 64;
  // Called after each batch with (samples done, samples total).
  std::function<void(int64_t, int64_t)> progress;
};

// `graph` is an FP32 graph prepared by exec::load_model / prepare_graph. `calib` may be null
// when the recipe needs no calibration (weights only, or every activation dynamic).
// Activation statistics are folded batch by batch into the observers (memory does not grow
// with the number of samples).
Result<QuantizedModel> quantize_model(ir::Graph graph, const Recipe& recipe, const data::Dataset* calib,
                                      const CalibrationOptions& options = {});

// The int32 bias q = round_half_even(b / (s_x·s_w[c])) (saturated) and its scales.
BiasQuant quantize_bias(const Tensor& bias, float input_scale, const std::vector<float>& weight_scales);

}  // namespace lowbit::quant
