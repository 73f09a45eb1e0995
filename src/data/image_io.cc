// image_io.cc: the one translation unit holding the stb_image and stb_image_resize implementations.
#include "data/image_io.h"

#include <cstdio>
#include <memory>

#include "core/check.h"

// stb is third-party code: keep its warnings out of our -Wall -Wextra build.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wdouble-promotion"
#pragma GCC diagnostic ignored "-Wshadow"
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO  // we read files ourselves, with our own size limits and error messages
#define STBI_FAILURE_USERMSG
#include <stb_image.h>
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image_resize.h>
#pragma GCC diagnostic pop

namespace lowbit::data {

namespace {

constexpr long kMaxFileBytes = 1L << 30;        // 1 GiB of encoded image
constexpr int64_t kMaxPixels = int64_t{1} << 28;  // 256 Mpixel decoded

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

Result<std::vector<uint8_t>> read_file(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) return Status::errorf("{}: cannot open image", path);
  if (std::fseek(f.get(), 0, SEEK_END) != 0) return Status::errorf("{}: cannot seek", path);
  const long size = std::ftell(f.get());
  if (size < 0 || std::fseek(f.get(), 0, SEEK_SET) != 0) return Status::errorf("{}: cannot seek", path);
  if (size > kMaxFileBytes) return Status::errorf("{}: image file of {} bytes is over the 1 GiB limit", path, size);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  if (size > 0 && std::fread(bytes.data(), 1, bytes.size(), f.get()) != bytes.size())
    return Status::errorf("{}: read error", path);
  return bytes;
}

Result<ImageInfo> info_of(const std::string& path, const std::vector<uint8_t>& bytes) {
  int w = 0, h = 0, comp = 0;
  if (bytes.empty() || !stbi_info_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &comp))
    return Status::errorf("{}: corrupt or unsupported image ({})", path,
                          bytes.empty() ? "empty file" : stbi_failure_reason());
  if (w <= 0 || h <= 0 || int64_t{w} * h > kMaxPixels)
    return Status::errorf("{}: image size {}x{} is out of range", path, w, h);
  return ImageInfo{h, w, comp <= 2 ? 1 : 3};
}

}  // namespace

Result<ImageInfo> probe_image(const std::string& path) {
  LB_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path));
  return info_of(path, bytes);
}

Result<Image> load_image(const std::string& path, int channels) {
  if (channels != 0 && channels != 1 && channels != 3)
    return Status::errorf("{}: cannot convert an image to {} channels (1 or 3)", path, channels);
  LB_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_file(path));
  LB_ASSIGN_OR_RETURN(ImageInfo info, info_of(path, bytes));
  int w = 0, h = 0, comp = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> px(
      stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &comp, 0), stbi_image_free);
  if (!px) return Status::errorf("{}: corrupt image ({})", path, stbi_failure_reason());
  if (w != info.width || h != info.height || comp < 1 || comp > 4)
    return Status::errorf("{}: corrupt image (header and data disagree)", path);
  // Drop alpha here; gray <-> RGB in convert_channels().
  Image img;
  img.height = h;
  img.width = w;
  img.channels = comp <= 2 ? 1 : 3;
  const size_t pixels = static_cast<size_t>(w) * static_cast<size_t>(h);
  img.pixels.resize(pixels * static_cast<size_t>(img.channels));
  for (size_t i = 0; i < pixels; ++i)
    for (int c = 0; c < img.channels; ++c) img.pixels[i * img.channels + c] = px.get()[i * comp + c];
  return channels == 0 ? img : convert_channels(img, channels);
}

Image convert_channels(const Image& in, int channels) {
  LB_CHECK((in.channels == 1 || in.channels == 3) && (channels == 1 || channels == 3),
           "convert_channels: channels must be 1 or 3");
  if (in.channels == channels) return in;
  Image out;
  out.height = in.height;
  out.width = in.width;
  out.channels = channels;
  const size_t pixels = static_cast<size_t>(in.width) * static_cast<size_t>(in.height);
  out.pixels.resize(pixels * static_cast<size_t>(channels));
  if (channels == 1) {
    for (size_t i = 0; i < pixels; ++i) {
      const uint8_t* p = &in.pixels[3 * i];
      out.pixels[i] = static_cast<uint8_t>((uint32_t{p[0]} * 19595 + uint32_t{p[1]} * 38470 +
                                            uint32_t{p[2]} * 7471 + 0x8000) >> 16);
    }
  } else {
    for (size_t i = 0; i < pixels; ++i) out.pixels[3 * i] = out.pixels[3 * i + 1] = out.pixels[3 * i + 2] = in.pixels[i];
  }
  return out;
}

Result<Image> resize_image(const Image& in, int height, int width) {
  if (height == in.height && width == in.width) return in;
  if (height <= 0 || width <= 0 || int64_t{height} * width > kMaxPixels)
    return Status::errorf("resize to {}x{} is out of range", height, width);
  Image out;
  out.height = height;
  out.width = width;
  out.channels = in.channels;
  out.pixels.resize(static_cast<size_t>(height) * static_cast<size_t>(width) * static_cast<size_t>(in.channels));
  const int ok = stbir_resize_uint8_generic(in.pixels.data(), in.width, in.height, 0, out.pixels.data(), width, height,
                                            0, in.channels, STBIR_ALPHA_CHANNEL_NONE, 0, STBIR_EDGE_CLAMP,
                                            STBIR_FILTER_TRIANGLE, STBIR_COLORSPACE_LINEAR, nullptr);
  if (!ok) return Status::errorf("resize from {}x{} to {}x{} failed", in.height, in.width, height, width);
  return out;
}

}  // namespace lowbit::data
