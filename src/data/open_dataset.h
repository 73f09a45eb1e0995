// open_dataset.h: one entry point that turns a user's data source string into a Dataset.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "data/dataset.h"

namespace lowbit::data {

struct DataSpec {
  std::string source;      // "fashion-mnist", "fashion-mnist:train", "fashion-mnist:test", a .npy path, or a folder
  std::string labels;      // optional labels .npy (for a .npy source)
  std::string split = "test";  // Fashion-MNIST split when source does not name one
  std::string preprocess;  // parse_preprocess() spec; resize / channels / layout apply to folders only
  Normalize norm;          // model-provided normalization; the preprocess string's scale/mean/std override it
};

// Errors: unknown source kind, missing files, bad preprocess spec, plus whatever the source's
// opener reports (all naming the file or key).
Result<std::unique_ptr<Dataset>> open_dataset(const DataSpec& spec);

}  // namespace lowbit::data
