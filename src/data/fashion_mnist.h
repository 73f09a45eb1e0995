// fashion_mnist.h: Fashion-MNIST from Debian's dataset-fashion-mnist package (IDX, gzip).
//
// Samples are f32 [1, 28, 28], normalized per batch from the cached u8 images; labels 0..9
// (T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot).
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "data/dataset.h"

namespace lowbit::data {

inline constexpr const char* kFashionMnistRoot = "/usr/share/datasets/fashion-mnist";

// split: "train" (60000 samples) or "test" (10000). Decodes the files once per (root, split) while
// any dataset opened from them is alive. Missing files:
// "fashion-mnist: <path> not found (install the Debian package dataset-fashion-mnist)".
Result<std::unique_ptr<Dataset>> open_fashion_mnist(const std::string& split, const Normalize& norm,
                                                    const std::string& root = kFashionMnistRoot);

}  // namespace lowbit::data
