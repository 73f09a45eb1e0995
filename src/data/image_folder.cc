// image_folder.cc: preprocessing spec parsing and the image-folder dataset.
#include "data/image_folder.h"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include "data/image_io.h"

namespace lowbit::data {

namespace fs = std::filesystem;

namespace {

constexpr const char* kAllowedKeys = "resize=HxW, gray, rgb, channels=1|3, scale=S, mean=M[;M...], std=S[;S...], "
                                     "layout=nchw|nhwc";
constexpr int kMaxSide = 16384;

Result<int> parse_side(std::string_view s) {
  int v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || v < 1 || v > kMaxSide)
    return Status::error("bad size");
  return v;
}

bool is_image_file(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg" || ext == ".bmp";
}

bool is_hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

// Image files directly inside `dir`, sorted by name.
Result<std::vector<std::string>> list_images(const fs::path& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (is_hidden(it->path()) || !is_image_file(it->path())) continue;
    std::error_code ec2;
    if (it->is_regular_file(ec2)) files.push_back(it->path().string());
  }
  if (ec) return Status::errorf("{}: cannot list folder: {}", dir.string(), ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

class ImageFolder final : public ImageFolderDataset {
 public:
  ImageFolder(std::string root, std::vector<std::string> classes, std::vector<std::string> files,
              std::vector<int64_t> labels, Preprocess pre, int channels, int height, int width)
      : root_(std::move(root)),
        classes_(std::move(classes)),
        files_(std::move(files)),
        labels_(std::move(labels)),
        pre_(std::move(pre)),
        channels_(channels),
        height_(height),
        width_(width),
        nhwc_(pre_.layout == "nhwc") {}

  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  Shape sample_shape() const override {
    return nhwc_ ? Shape{height_, width_, channels_} : Shape{channels_, height_, width_};
  }
  bool has_labels() const override { return !classes_.empty(); }
  std::string description() const override {
    return fmt::format("image folder {} ({} images, {} classes, samples {} {}, {})", root_, size(), classes_.size(),
                       shape_str(sample_shape()), pre_.layout, pre_.norm.str());
  }
  const std::vector<std::string>& class_names() const override { return classes_; }
  const std::string& file(int64_t i) const override { return files_[static_cast<size_t>(i)]; }

  Status read(int64_t begin, int64_t count, Batch* out) const override {
    LB_ASSIGN_OR_RETURN(int64_t n, clip_range(size(), begin, count));
    Shape shape = sample_shape();
    shape.insert(shape.begin(), n);
    LB_ASSIGN_OR_RETURN(out->x, Tensor::make(DType::kF32, shape));
    const int64_t plane = int64_t{height_} * width_, sample = plane * channels_;
    for (int64_t i = 0; i < n; ++i) {
      const std::string& path = files_[static_cast<size_t>(begin + i)];
      LB_ASSIGN_OR_RETURN(Image img, load_image(path, channels_));
      if (pre_.resize_h > 0) {
        Result<Image> r = resize_image(img, height_, width_);
        if (!r.is_ok()) return r.status().with_context(path);
        img = std::move(r).value();
      } else if (img.height != height_ || img.width != width_) {
        return Status::errorf("{}: image is {}x{} but the dataset's images are {}x{} (add resize=HxW to the "
                              "preprocessing)", path, img.height, img.width, height_, width_);
      }
      float* dst = out->x.data<float>() + i * sample;
      // img is HWC: NHWC copies it in order, NCHW puts channel c at plane c.
      if (nhwc_ || channels_ == 1)
        normalize_u8(img.pixels.data(), dst, sample, channels_, 1, pre_.norm);
      else
        for (int64_t p = 0; p < plane; ++p)
          for (int c = 0; c < channels_; ++c)
            dst[c * plane + p] = pre_.norm.apply(static_cast<float>(img.pixels[static_cast<size_t>(p * channels_ + c)]), c);
    }
    out->labels.clear();
    if (has_labels()) out->labels.assign(labels_.begin() + begin, labels_.begin() + begin + n);
    return Status::ok();
  }

 private:
  std::string root_;
  std::vector<std::string> classes_, files_;
  std::vector<int64_t> labels_;
  Preprocess pre_;
  int channels_, height_, width_;
  bool nhwc_;
};

}  // namespace

Result<Preprocess> parse_preprocess(std::string_view spec, const Normalize& defaults) {
  Preprocess p;
  p.norm = defaults;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t end = std::min(spec.find(',', start), spec.size());
    std::string_view item = spec.substr(start, end - start);
    start = end + 1;
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    const bool has_value = eq != std::string_view::npos;
    if (key == "gray" || key == "grey" || key == "rgb") {
      if (has_value) return Status::errorf("preprocess: '{}' takes no value (write just '{}')", key, key);
      p.channels = key == "rgb" ? 3 : 1;
    } else if (key == "channels") {
      if (value == "1") p.channels = 1;
      else if (value == "3") p.channels = 3;
      else return Status::errorf("preprocess: channels='{}': allowed values are 1 and 3", value);
    } else if (key == "resize") {
      const size_t x = value.find_first_of("xX");
      Result<int> h = parse_side(value.substr(0, x));
      Result<int> w = x == std::string_view::npos ? h : parse_side(value.substr(x + 1));
      if (!h.is_ok() || !w.is_ok())
        return Status::errorf("preprocess: resize='{}': expected HxW (or N for NxN) with sides 1..{}, e.g. resize=28x28",
                              value, kMaxSide);
      p.resize_h = *h;
      p.resize_w = *w;
    } else if (key == "layout") {
      if (value != "nchw" && value != "nhwc")
        return Status::errorf("preprocess: layout='{}': allowed values are nchw and nhwc", value);
      p.layout = std::string(value);
    } else if (key == "scale" || key == "mean" || key == "std") {
      if (!has_value) return Status::errorf("preprocess: '{}' needs a value, e.g. {}=0.5", key, key);
      LB_ASSIGN_OR_RETURN(std::vector<float> v, parse_float_list(value, fmt::format("preprocess: {}", key)));
      if (key == "scale") {
        if (v.size() != 1 || v[0] == 0.0f)
          return Status::errorf("preprocess: scale='{}': expected one non-zero number, e.g. scale=255", value);
        p.norm.input_scale = v[0];
      } else if (key == "mean") {
        p.norm.mean = std::move(v);
      } else {
        for (float s : v)
          if (s == 0.0f) return Status::errorf("preprocess: std='{}': values must be non-zero", value);
        p.norm.std_ = std::move(v);
      }
    } else {
      return Status::errorf("preprocess: unknown key '{}' (allowed: {})", key, kAllowedKeys);
    }
  }
  return p;
}

Result<std::unique_ptr<ImageFolderDataset>> open_image_folder(const std::string& root, const Preprocess& pre) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return Status::errorf("{}: not a folder", root);
  if (pre.layout != "nchw" && pre.layout != "nhwc")
    return Status::errorf("{}: layout '{}' is not nchw or nhwc", root, pre.layout);
  if (pre.channels != 0 && pre.channels != 1 && pre.channels != 3)
    return Status::errorf("{}: channels {} is not 1 or 3", root, pre.channels);
  if ((pre.resize_h > 0) != (pre.resize_w > 0) || pre.resize_h < 0 || pre.resize_w < 0)
    return Status::errorf("{}: resize {}x{} needs both sides positive (or both 0)", root, pre.resize_h, pre.resize_w);

  std::vector<std::string> classes;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (!is_hidden(it->path()) && it->is_directory(ec2)) classes.push_back(it->path().filename().string());
  }
  if (ec) return Status::errorf("{}: cannot list folder: {}", root, ec.message());
  std::sort(classes.begin(), classes.end());

  std::vector<std::string> files;
  std::vector<int64_t> labels;
  if (classes.empty()) {
    LB_ASSIGN_OR_RETURN(files, list_images(root));
  } else {
    for (size_t c = 0; c < classes.size(); ++c) {
      LB_ASSIGN_OR_RETURN(std::vector<std::string> f, list_images(fs::path(root) / classes[c]));
      files.insert(files.end(), f.begin(), f.end());
      labels.insert(labels.end(), f.size(), static_cast<int64_t>(c));
    }
  }
  if (files.empty()) return Status::errorf("{}: no images (*.png, *.jpg, *.jpeg, *.bmp) found", root);

  LB_ASSIGN_OR_RETURN(ImageInfo first, probe_image(files[0]));
  const int channels = pre.channels ? pre.channels : first.channels;
  const int height = pre.resize_h ? pre.resize_h : first.height;
  const int width = pre.resize_w ? pre.resize_w : first.width;
  LB_TRY(pre.norm.validate(channels).with_context(root));
  return std::unique_ptr<ImageFolderDataset>(std::make_unique<ImageFolder>(
      root, std::move(classes), std::move(files), std::move(labels), pre, channels, height, width));
}

}  // namespace lowbit::data
