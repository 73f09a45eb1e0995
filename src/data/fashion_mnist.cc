// fashion_mnist.cc: loads and validates the Fashion-MNIST IDX files, caches the decoded u8 images.
#include "data/fashion_mnist.h"

#include <filesystem>
#include <mutex>

#include "data/idx.h"

namespace lowbit::data {

namespace {

constexpr int64_t kSide = 28;
constexpr int64_t kPixels = kSide * kSide;
constexpr int64_t kClasses = 10;

struct Decoded {
  Tensor images;  // u8 [N, 28, 28]
  std::vector<int64_t> labels;
};

// Decoding the 60000-image train split takes a noticeable fraction of a second, so datasets
// opened from the same files share one copy while any of them lives.
std::mutex g_cache_mu;
std::map<std::string, std::weak_ptr<const Decoded>> g_cache;

Result<std::shared_ptr<const Decoded>> load(const std::string& images_path, const std::string& labels_path) {
  const std::string key = images_path + "\n" + labels_path;
  std::lock_guard<std::mutex> lock(g_cache_mu);
  if (auto it = g_cache.find(key); it != g_cache.end())
    if (std::shared_ptr<const Decoded> hit = it->second.lock()) return hit;

  LB_ASSIGN_OR_RETURN(Tensor images, read_idx(images_path));
  LB_ASSIGN_OR_RETURN(Tensor labels, read_idx(labels_path));
  if (images.dtype() != DType::kU8 || images.rank() != 3 || images.dim(1) != kSide || images.dim(2) != kSide)
    return Status::errorf("fashion-mnist: {}: expected u8 images [N,28,28], found {} {}", images_path,
                          dtype_name(images.dtype()), shape_str(images.shape()));
  if (labels.dtype() != DType::kU8 || labels.rank() != 1)
    return Status::errorf("fashion-mnist: {}: expected u8 labels [N], found {} {}", labels_path,
                          dtype_name(labels.dtype()), shape_str(labels.shape()));
  if (labels.dim(0) != images.dim(0))
    return Status::errorf("fashion-mnist: {} holds {} labels but {} holds {} images", labels_path, labels.dim(0),
                          images_path, images.dim(0));
  auto d = std::make_shared<Decoded>();
  d->images = std::move(images);
  d->labels.resize(static_cast<size_t>(labels.numel()));
  const uint8_t* l = labels.data<uint8_t>();
  for (int64_t i = 0; i < labels.numel(); ++i) {
    if (l[i] >= kClasses) return Status::errorf("fashion-mnist: {}: label {} at index {} is not in 0..9", labels_path, l[i], i);
    d->labels[static_cast<size_t>(i)] = l[i];
  }
  g_cache[key] = d;
  return std::shared_ptr<const Decoded>(std::move(d));
}

class FashionMnist final : public Dataset {
 public:
  FashionMnist(std::shared_ptr<const Decoded> data, std::string split, Normalize norm)
      : data_(std::move(data)), split_(std::move(split)), norm_(std::move(norm)) {}

  int64_t size() const override { return data_->images.dim(0); }
  Shape sample_shape() const override { return {1, kSide, kSide}; }
  bool has_labels() const override { return true; }
  std::string description() const override {
    return fmt::format("fashion-mnist:{} ({} samples [1,28,28], {})", split_, size(), norm_.str());
  }

  Status read(int64_t begin, int64_t count, Batch* out) const override {
    LB_ASSIGN_OR_RETURN(int64_t n, clip_range(size(), begin, count));
    LB_ASSIGN_OR_RETURN(out->x, Tensor::make(DType::kF32, {n, 1, kSide, kSide}));
    normalize_u8(data_->images.data<uint8_t>() + begin * kPixels, out->x.data<float>(), n * kPixels, 1, kPixels,
                 norm_);
    out->labels.assign(data_->labels.begin() + begin, data_->labels.begin() + begin + n);
    return Status::ok();
  }

 private:
  std::shared_ptr<const Decoded> data_;
  std::string split_;
  Normalize norm_;
};

}  // namespace

Result<std::unique_ptr<Dataset>> open_fashion_mnist(const std::string& split, const Normalize& norm,
                                                    const std::string& root) {
  std::string prefix;
  if (split == "train") prefix = "train";
  else if (split == "test") prefix = "t10k";
  else return Status::errorf("fashion-mnist: unknown split '{}' (expected train or test)", split);
  LB_TRY(norm.validate(1).with_context("fashion-mnist"));
  const std::string images = fmt::format("{}/{}-images-idx3-ubyte.gz", root, prefix);
  const std::string labels = fmt::format("{}/{}-labels-idx1-ubyte.gz", root, prefix);
  for (const std::string& p : {images, labels}) {
    std::error_code ec;
    if (!std::filesystem::exists(p, ec))
      return Status::errorf("fashion-mnist: {} not found (install the Debian package dataset-fashion-mnist)", p);
  }
  LB_ASSIGN_OR_RETURN(std::shared_ptr<const Decoded> data, load(images, labels));
  return std::unique_ptr<Dataset>(std::make_unique<FashionMnist>(std::move(data), split, norm));
}

}  // namespace lowbit::data
