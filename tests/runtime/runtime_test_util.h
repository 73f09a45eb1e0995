// runtime_test_util.h: what the runtime tests share — in-memory samples as a Dataset (for
// calibration and inputs) and seeded random tensors.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>

#include "core/tensor.h"
#include "data/dataset.h"

namespace lowbit::runtime::testing {

// Samples held in memory (calibration and test inputs).
class TensorDataset final : public data::Dataset {
 public:
  explicit TensorDataset(Tensor x) : x_(std::move(x)) {}
  int64_t size() const override { return x_.dim(0); }
  Shape sample_shape() const override { return Shape(x_.shape().begin() + 1, x_.shape().end()); }
  bool has_labels() const override { return false; }
  std::string description() const override { return "random"; }
  Status read(int64_t begin, int64_t count, data::Batch* out) const override {
    const int64_t n = std::min(count, size() - begin);
    const int64_t per = x_.numel() / size();
    Shape s = x_.shape();
    s[0] = n;
    out->x = Tensor::zeros(DType::kF32, s);
    std::copy_n(x_.data<float>() + begin * per, n * per, out->x.data<float>());
    out->labels.clear();
    return Status::ok();
  }

 private:
  Tensor x_;
};

// Normal(0, scale) values from a fixed seed.
inline Tensor random_tensor(Shape shape, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  Tensor t = Tensor::zeros(DType::kF32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

}  // namespace lowbit::runtime::testing
