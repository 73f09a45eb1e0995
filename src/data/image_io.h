// image_io.h: decoding image files (stb_image), channel conversion and resizing (stb_image_resize).
//
// Pixels are u8, row-major HWC. Channel conversion follows Pillow, which the training scripts
// use, so gray inputs match Image.convert("L") exactly:
//   L = (R·19595 + G·38470 + B·7471 + 2^15) >> 16     (ITU-R 601-2 luma in 16-bit fixed point)
// and alpha is dropped (RGBA -> RGB, LA -> L); gray -> RGB repeats the value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace lowbit::data {

struct Image {
  int height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;  // height * width * channels
};

struct ImageInfo {
  int height = 0, width = 0;
  int channels = 0;  // 1 for gray / gray+alpha files, 3 for RGB / RGBA
};

// Reads the header of an image file. Errors name the file.
Result<ImageInfo> probe_image(const std::string& path);

// Decodes a PNG / JPEG / BMP (anything stb_image reads) to `channels` (1 or 3; 0 = 1 for gray
// files, 3 for color files). Corrupt, unreadable or oversized images are errors naming the file.
Result<Image> load_image(const std::string& path, int channels);

// Converts between 1 and 3 channels (Pillow's formulas above); a no-op when they agree.
Image convert_channels(const Image& in, int channels);

// Resizes with a triangle (bilinear) filter that widens when shrinking, clamped edges, in linear
// u8 space; a copy when the size already matches.
Result<Image> resize_image(const Image& in, int height, int width);

}  // namespace lowbit::data
