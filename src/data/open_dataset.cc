// open_dataset.cc: dispatch from a DataSpec to the Fashion-MNIST, NPY or image-folder opener.
#include "data/open_dataset.h"

#include <filesystem>

#include "data/fashion_mnist.h"
#include "data/image_folder.h"
#include "data/npy_dataset.h"

namespace lowbit::data {

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// resize / channels / layout shape image decoding; other sources only take scale, mean and std.
Status only_normalization(const Preprocess& p, const std::string& source) {
  const Preprocess d;
  if (p.resize_h != d.resize_h || p.resize_w != d.resize_w || p.channels != d.channels || p.layout != d.layout)
    return Status::errorf("{}: preprocess keys resize, gray, rgb, channels and layout apply to image folders only "
                          "(use scale, mean and std)", source);
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<Dataset>> open_dataset(const DataSpec& spec) {
  LB_ASSIGN_OR_RETURN(Preprocess pre, parse_preprocess(spec.preprocess, spec.norm));
  const std::string& src = spec.source;
  if (src.empty()) return Status::error("no data source given (fashion-mnist[:train|:test], a .npy file or a folder)");

  if (src == "fashion-mnist" || src.rfind("fashion-mnist:", 0) == 0) {
    LB_TRY(only_normalization(pre, src));
    if (!spec.labels.empty()) return Status::errorf("{}: has its own labels; drop the labels file {}", src, spec.labels);
    const std::string split = src == "fashion-mnist" ? spec.split : src.substr(std::string("fashion-mnist:").size());
    return open_fashion_mnist(split, pre.norm);
  }

  std::error_code ec;
  if (std::filesystem::is_directory(src, ec)) {
    if (!spec.labels.empty())
      return Status::errorf("{}: an image folder takes its labels from class folders; drop the labels file {}", src,
                            spec.labels);
    LB_ASSIGN_OR_RETURN(std::unique_ptr<ImageFolderDataset> d, open_image_folder(src, pre));
    return std::unique_ptr<Dataset>(std::move(d));
  }
  if (ends_with(src, ".npy") || ends_with(src, ".npy.gz")) {
    LB_TRY(only_normalization(pre, src));
    if (!std::filesystem::exists(src, ec)) return Status::errorf("{}: not found", src);
    return open_npy_dataset(src, spec.labels, pre.norm);
  }
  if (!std::filesystem::exists(src, ec)) return Status::errorf("{}: not found", src);
  return Status::errorf("{}: unknown data source (expected fashion-mnist[:train|:test], a .npy file or a folder of "
                        "class folders)", src);
}

}  // namespace lowbit::data
