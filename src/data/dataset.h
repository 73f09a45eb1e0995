// dataset.h: the Dataset interface every data source implements, input normalization, batching.
//
// The data layer knows nothing about models: a model's normalization arrives as a Normalize
// (see normalize_from_metadata) and datasets apply it while filling batches.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace lowbit::data {

struct Batch {
  Tensor x;                     // f32 [n, ...sample_shape]
  std::vector<int64_t> labels;  // n entries when the dataset has labels, else empty
};

class Dataset {
 public:
  virtual ~Dataset();
  virtual int64_t size() const = 0;
  virtual Shape sample_shape() const = 0;
  virtual bool has_labels() const = 0;
  virtual std::string description() const = 0;
  // Fills a batch of samples [begin, begin+count) (count clipped to size). Thread-safe for reads.
  virtual Status read(int64_t begin, int64_t count, Batch* out) const = 0;
};

// x = (pixel / input_scale - mean[c]) / std[c], evaluated in float32 in exactly that order, which
// is what PyTorch computes for ToTensor() + Normalize(mean, std) ((p / 255.0f - mean) / std with
// float32 tensors), so our inputs match the training code bit for bit. mean / std hold one value
// for all channels or one per channel.
struct Normalize {
  float input_scale = 255.0f;
  std::vector<float> mean{0}, std_{1};

  // Checks a finite non-zero scale, finite means, finite non-zero stds, and that mean and std
  // each hold 1 or `channels` values.
  Status validate(int64_t channels) const;
  float apply(float pixel, int64_t c) const {
    const float m = mean.size() == 1 ? mean[0] : mean[static_cast<size_t>(c)];
    const float s = std_.size() == 1 ? std_[0] : std_[static_cast<size_t>(c)];
    return (pixel / input_scale - m) / s;
  }
  std::string str() const;  // "scale=255,mean=0.286,std=0.353"
};

// Reads "lowbit.input_scale", "lowbit.mean", "lowbit.std" (lists separated by ',' or ';');
// missing keys keep the defaults (255, 0, 1). Non-numeric or non-finite values are errors.
Result<Normalize> normalize_from_metadata(const std::map<std::string, std::string>& metadata);

// Parses "0.485,0.456;0.406" into floats (each as a double rounded to float, like Python's
// float32(0.485)); `what` names the value in errors.
Result<std::vector<float>> parse_float_list(std::string_view text, std::string_view what);

// Normalizes n u8 values; the channel of element i is (i / inner) % channels (inner = H*W for
// NCHW samples, 1 for NHWC). The caller has validated `norm` for `channels`.
void normalize_u8(const uint8_t* in, float* out, int64_t n, int64_t channels, int64_t inner, const Normalize& norm);

// Checks [begin, begin+count) against a dataset of `size` samples and returns the clipped count.
Result<int64_t> clip_range(int64_t size, int64_t begin, int64_t count);

// Reads the first min(limit, size) samples (limit <= 0: all) in order, `batch` at a time, and
// calls fn(batch, done, total) with done = samples delivered including this batch. The next batch
// is read on a second thread while fn runs. Stops at the first error from a read or from fn.
Status for_each_batch(const Dataset& dataset, int64_t limit, int64_t batch,
                      const std::function<Status(const Batch&, int64_t done, int64_t total)>& fn);

}  // namespace lowbit::data
