// npy_dataset.h: a dataset from .npy files: inputs [N, ...] plus optional integer labels [N].
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "data/dataset.h"

namespace lowbit::data {

// inputs: f32 [N, ...] samples used as they are (already preprocessed), or u8 [N, ...] samples
// normalized with `norm`. With per-channel mean/std the channel axis is the first sample axis
// when its size matches (NCHW), else the last (NHWC). labels: "" or an integer .npy of shape
// [N] (or [N, 1]); its N must match.
Result<std::unique_ptr<Dataset>> open_npy_dataset(const std::string& inputs, const std::string& labels,
                                                  const Normalize& norm);

}  // namespace lowbit::data
