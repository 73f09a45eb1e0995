// npy_dataset.cc: NPY-backed dataset (whole arrays in memory, batches copied or normalized).
#include "data/npy_dataset.h"

#include <cstring>

#include "data/npy.h"

namespace lowbit::data {

namespace {

class NpyDataset final : public Dataset {
 public:
  NpyDataset(std::string path, Tensor inputs, std::vector<int64_t> labels, bool has_labels, Normalize norm,
             int64_t channels, int64_t inner)
      : path_(std::move(path)),
        inputs_(std::move(inputs)),
        labels_(std::move(labels)),
        has_labels_(has_labels),
        norm_(std::move(norm)),
        channels_(channels),
        inner_(inner) {
    sample_ = Shape(inputs_.shape().begin() + 1, inputs_.shape().end());
    sample_numel_ = numel(sample_);
  }

  int64_t size() const override { return inputs_.dim(0); }
  Shape sample_shape() const override { return sample_; }
  bool has_labels() const override { return has_labels_; }
  std::string description() const override {
    return fmt::format("{} ({} samples {} {}{}{})", path_, size(), shape_str(sample_), dtype_name(inputs_.dtype()),
                       inputs_.dtype() == DType::kU8 ? ", " + norm_.str() : "", has_labels_ ? ", labeled" : "");
  }

  Status read(int64_t begin, int64_t count, Batch* out) const override {
    LB_ASSIGN_OR_RETURN(int64_t n, clip_range(size(), begin, count));
    Shape shape = sample_;
    shape.insert(shape.begin(), n);
    LB_ASSIGN_OR_RETURN(out->x, Tensor::make(DType::kF32, shape));
    const int64_t first = begin * sample_numel_, len = n * sample_numel_;
    if (inputs_.dtype() == DType::kF32) {
      if (len) std::memcpy(out->x.raw(), inputs_.data<float>() + first, static_cast<size_t>(len) * sizeof(float));
    } else {
      // Channel index counts from the start of the sample, so offset by whole samples only.
      normalize_u8(inputs_.data<uint8_t>() + first, out->x.data<float>(), len, channels_, inner_, norm_);
    }
    out->labels.clear();
    if (has_labels_) out->labels.assign(labels_.begin() + begin, labels_.begin() + begin + n);
    return Status::ok();
  }

 private:
  std::string path_;
  Tensor inputs_;
  std::vector<int64_t> labels_;
  bool has_labels_;
  Normalize norm_;
  int64_t channels_, inner_;
  Shape sample_;
  int64_t sample_numel_ = 0;
};

}  // namespace

Result<std::unique_ptr<Dataset>> open_npy_dataset(const std::string& inputs, const std::string& labels,
                                                  const Normalize& norm) {
  LB_ASSIGN_OR_RETURN(Tensor x, read_npy(inputs));
  if (x.rank() < 1) return Status::errorf("{}: inputs must have a sample axis [N, ...], found a scalar", inputs);
  if (x.dtype() != DType::kF32 && x.dtype() != DType::kU8)
    return Status::errorf("{}: inputs must be f32 (preprocessed) or u8 (raw pixels), found {}", inputs,
                          dtype_name(x.dtype()));
  // Channels for per-channel normalization of u8 inputs (see the header); 1 when it does not matter.
  int64_t channels = 1, inner = 1;
  if (x.dtype() == DType::kU8) {
    const size_t want = std::max(norm.mean.size(), norm.std_.size());
    if (want > 1) {
      const Shape& s = x.shape();
      if (s.size() >= 2 && s[1] == static_cast<int64_t>(want)) {
        channels = s[1];
        inner = numel(Shape(s.begin() + 2, s.end()));
      } else if (s.size() >= 2 && s.back() == static_cast<int64_t>(want)) {
        channels = s.back();
      } else {
        return Status::errorf("{}: normalization has {} channel values but samples {} have no axis of that size",
                              inputs, want, shape_str(Shape(s.begin() + 1, s.end())));
      }
    }
    LB_TRY(norm.validate(channels).with_context(inputs));
  }
  std::vector<int64_t> y;
  if (!labels.empty()) {
    LB_ASSIGN_OR_RETURN(Tensor l, read_npy(labels));
    if (l.dtype() == DType::kF32 || l.dtype() == DType::kBool)
      return Status::errorf("{}: labels must be integers, found {}", labels, dtype_name(l.dtype()));
    if (!(l.rank() == 1 || (l.rank() == 2 && l.dim(1) == 1)))
      return Status::errorf("{}: labels must have shape [N], found {}", labels, shape_str(l.shape()));
    if (l.dim(0) != x.dim(0))
      return Status::errorf("{} holds {} labels but {} holds {} samples", labels, l.dim(0), inputs, x.dim(0));
    y = l.to_i64_vector();
  }
  return std::unique_ptr<Dataset>(
      std::make_unique<NpyDataset>(inputs, std::move(x), std::move(y), !labels.empty(), norm, channels, inner));
}

}  // namespace lowbit::data
