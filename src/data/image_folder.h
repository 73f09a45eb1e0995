// image_folder.h: a dataset of image files, root/<class_name>/*.{png,jpg,jpeg,bmp}, and the
// preprocessing spec that turns them into model inputs.
//
// Classes are the sub-folders of root sorted by name (byte order), label = index in that order
// (torchvision's ImageFolder convention); files in each class folder are sorted by name. A root
// with no sub-folders but images of its own is an unlabeled dataset. Images decode on each read.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "data/dataset.h"

namespace lowbit::data {

struct Preprocess {
  int resize_h = 0, resize_w = 0;  // 0 = keep (all images must then share a size)
  int channels = 0;                // 1 gray, 3 rgb; 0 = from the first image
  std::string layout = "nchw";     // samples [C,H,W] ("nchw") or [H,W,C] ("nhwc")
  Normalize norm;
};

// Parses "resize=28x28,gray,scale=255,mean=0.286,std=0.353,layout=nchw". Items, separated by ',':
//   resize=HxW (or resize=N for NxN)   gray | rgb | channels=1|3   scale=S
//   mean=M or mean=M0;M1;M2            std=S or std=S0;S1;S2       layout=nchw|nhwc
// Keys not given keep `defaults` (the model's normalization) and the Preprocess defaults. An
// unknown key or bad value is an error naming the key and the allowed values.
Result<Preprocess> parse_preprocess(std::string_view spec, const Normalize& defaults = {});

class ImageFolderDataset : public Dataset {
 public:
  // Class names in label order (empty for an unlabeled folder).
  virtual const std::vector<std::string>& class_names() const = 0;
  // The image file behind sample i.
  virtual const std::string& file(int64_t i) const = 0;
};

// Lists the folder and probes the first image for the channel count and (without resize) the
// sample size; each read decodes, converts, resizes and normalizes its images. A corrupt image
// or one whose size differs from the first (without resize) fails the read, naming the file.
Result<std::unique_ptr<ImageFolderDataset>> open_image_folder(const std::string& root, const Preprocess& pre);

}  // namespace lowbit::data
