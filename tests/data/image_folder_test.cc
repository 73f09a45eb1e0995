// image_folder_test.cc: image folders written with stb_image_write: labels, ordering, channel
// conversion, resizing, normalization, layouts, corrupt files and preprocessing spec errors.
#include "data/image_folder.h"

#include <cstring>
#include <filesystem>
#include <thread>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include "data/data_test_util.h"
#include "data/open_dataset.h"

namespace lowbit::data {
namespace {

using testing::contains;
using testing::TempDir;
namespace fs = std::filesystem;

void write_png(const std::string& path, int w, int h, int c, const std::vector<uint8_t>& px) {
  fs::create_directories(fs::path(path).parent_path());
  ASSERT_EQ(px.size(), static_cast<size_t>(w * h * c));
  ASSERT_NE(stbi_write_png(path.c_str(), w, h, c, px.data(), w * c), 0) << path;
}

std::vector<uint8_t> constant(int w, int h, int c, uint8_t v) { return std::vector<uint8_t>(static_cast<size_t>(w * h * c), v); }

Preprocess pre_of(const std::string& spec) {
  Result<Preprocess> p = parse_preprocess(spec);
  EXPECT_TRUE(p.is_ok()) << spec << ": " << p.status().message();
  return p.is_ok() ? *p : Preprocess{};
}

TEST(DataImageFolder, ClassesFilesAndLabelsAreSorted) {
  TempDir dir;
  const std::string root = dir.file("imgs");
  write_png(root + "/dog/z.png", 2, 2, 1, constant(2, 2, 1, 30));
  write_png(root + "/cat/b.png", 2, 2, 1, constant(2, 2, 1, 20));
  write_png(root + "/cat/a.PNG", 2, 2, 1, constant(2, 2, 1, 10));
  write_png(root + "/ant/only.png", 2, 2, 1, constant(2, 2, 1, 0));
  write_png(root + "/.hidden/x.png", 2, 2, 1, constant(2, 2, 1, 99));
  testing::write_bytes(root + "/cat/notes.txt", std::string("not an image"));
  testing::write_bytes(root + "/README", std::string("top-level file"));
  Result<std::unique_ptr<ImageFolderDataset>> ds = open_image_folder(root, pre_of("scale=1"));
  ASSERT_TRUE(ds.is_ok()) << ds.status().message();
  EXPECT_EQ((*ds)->class_names(), (std::vector<std::string>{"ant", "cat", "dog"}));
  ASSERT_EQ((*ds)->size(), 4);
  EXPECT_TRUE((*ds)->has_labels());
  EXPECT_EQ((*ds)->sample_shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(fs::path((*ds)->file(1)).filename(), "a.PNG");
  Batch b;
  ASSERT_TRUE((*ds)->read(0, 4, &b).is_ok());
  EXPECT_EQ(b.labels, (std::vector<int64_t>{0, 1, 1, 2}));
  const float want[4] = {0, 10, 20, 30};  // scale=1, mean 0, std 1: raw pixel values
  for (int i = 0; i < 4; ++i)
    for (int p = 0; p < 4; ++p) EXPECT_EQ(b.x.data<float>()[i * 4 + p], want[i]) << i;
}

TEST(DataImageFolder, GrayNormalizationMatchesTheFormula) {
  TempDir dir;
  std::vector<uint8_t> px = {0, 1, 2, 127, 128, 200, 254, 255, 77, 13, 99, 180};
  write_png(dir.file("d/c/img.png"), 4, 3, 1, px);
  Result<std::unique_ptr<ImageFolderDataset>> ds =
      open_image_folder(dir.file("d"), pre_of("gray,scale=255,mean=0.286,std=0.353"));
  ASSERT_TRUE(ds.is_ok()) << ds.status().message();
  EXPECT_EQ((*ds)->sample_shape(), (Shape{1, 3, 4}));
  Batch b;
  ASSERT_TRUE((*ds)->read(0, 1, &b).is_ok());
  const float mean = static_cast<float>(0.286), stdv = static_cast<float>(0.353);
  for (size_t i = 0; i < px.size(); ++i)
    EXPECT_EQ(b.x.data<float>()[i], (static_cast<float>(px[i]) / 255.0f - mean) / stdv) << i;
  // Hand computation: pixel 255 -> (1 - 0.286) / 0.353 = 2.02266...
  EXPECT_NEAR(b.x.data<float>()[7], 2.022663f, 1e-5f);
}

TEST(DataImageFolder, RgbLayoutsNchwAndNhwc) {
  TempDir dir;
  const int w = 3, h = 2;
  std::vector<uint8_t> px(w * h * 3);
  for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>(i * 13 + 5);
  write_png(dir.file("d/k/img.png"), w, h, 3, px);
  const float mean[3] = {static_cast<float>(0.485), static_cast<float>(0.456), static_cast<float>(0.406)};
  const float stdv[3] = {static_cast<float>(0.229), static_cast<float>(0.224), static_cast<float>(0.225)};
  for (const std::string layout : {"nchw", "nhwc"}) {
    Result<std::unique_ptr<ImageFolderDataset>> ds = open_image_folder(
        dir.file("d"), pre_of("rgb,mean=0.485;0.456;0.406,std=0.229;0.224;0.225,layout=" + layout));
    ASSERT_TRUE(ds.is_ok()) << ds.status().message();
    const bool nchw = layout == "nchw";
    EXPECT_EQ((*ds)->sample_shape(), nchw ? (Shape{3, h, w}) : (Shape{h, w, 3}));
    Batch b;
    ASSERT_TRUE((*ds)->read(0, 1, &b).is_ok());
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) {
          const float p = px[static_cast<size_t>((y * w + x) * 3 + c)];
          const int idx = nchw ? c * h * w + y * w + x : (y * w + x) * 3 + c;
          EXPECT_EQ(b.x.data<float>()[idx], (p / 255.0f - mean[c]) / stdv[c]) << layout << y << x << c;
        }
  }
}

TEST(DataImageFolder, ChannelConversionFollowsPillow) {
  TempDir dir;
  // Pure red, green, blue and (10, 20, 30): Pillow's convert("L") gives 76, 150, 29 and 18.
  const std::vector<uint8_t> rgb = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
  write_png(dir.file("d/a/rgb.png"), 4, 1, 3, rgb);
  Result<std::unique_ptr<ImageFolderDataset>> gray = open_image_folder(dir.file("d"), pre_of("gray,scale=1"));
  ASSERT_TRUE(gray.is_ok()) << gray.status().message();
  EXPECT_EQ((*gray)->sample_shape(), (Shape{1, 1, 4}));
  Batch g;
  ASSERT_TRUE((*gray)->read(0, 1, &g).is_ok());
  const float want[4] = {76, 150, 29, 18};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(g.x.data<float>()[i], want[i]) << i;

  // A gray file read as rgb repeats the value; with no channel key, the first file decides (gray -> 1).
  write_png(dir.file("e/a/gray.png"), 2, 1, 1, {40, 200});
  Result<std::unique_ptr<ImageFolderDataset>> as_rgb = open_image_folder(dir.file("e"), pre_of("rgb,scale=1,layout=nhwc"));
  ASSERT_TRUE(as_rgb.is_ok()) << as_rgb.status().message();
  Batch r;
  ASSERT_TRUE((*as_rgb)->read(0, 1, &r).is_ok());
  const float rep[6] = {40, 40, 40, 200, 200, 200};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(r.x.data<float>()[i], rep[i]) << i;
  Result<std::unique_ptr<ImageFolderDataset>> native = open_image_folder(dir.file("e"), Preprocess{});
  ASSERT_TRUE(native.is_ok());
  EXPECT_EQ((*native)->sample_shape(), (Shape{1, 1, 2}));

  // RGBA drops alpha.
  write_png(dir.file("f/a/rgba.png"), 1, 1, 4, {1, 2, 3, 4});
  Result<std::unique_ptr<ImageFolderDataset>> rgba = open_image_folder(dir.file("f"), pre_of("scale=1,layout=nhwc"));
  ASSERT_TRUE(rgba.is_ok());
  EXPECT_EQ((*rgba)->sample_shape(), (Shape{1, 1, 3}));
  Batch a;
  ASSERT_TRUE((*rgba)->read(0, 1, &a).is_ok());
  EXPECT_EQ(a.x.data<float>()[0], 1.0f);
  EXPECT_EQ(a.x.data<float>()[1], 2.0f);
  EXPECT_EQ(a.x.data<float>()[2], 3.0f);
}

TEST(DataImageFolder, ResizeMixedSizesAndKeepsValues) {
  TempDir dir;
  // Left half 0, right half 200, 8x8 -> 4x4: outer columns stay pure, inner columns mix symmetrically.
  std::vector<uint8_t> split(64);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) split[static_cast<size_t>(y * 8 + x)] = x < 4 ? 0 : 200;
  write_png(dir.file("d/a/split.png"), 8, 8, 1, split);
  write_png(dir.file("d/b/const.png"), 5, 3, 1, constant(5, 3, 1, 100));
  // Without resize the sizes disagree: the read names the odd file.
  Result<std::unique_ptr<ImageFolderDataset>> keep = open_image_folder(dir.file("d"), pre_of("scale=1"));
  ASSERT_TRUE(keep.is_ok()) << keep.status().message();
  EXPECT_EQ((*keep)->sample_shape(), (Shape{1, 8, 8}));
  Batch k;
  Status st = (*keep)->read(0, 2, &k);
  ASSERT_FALSE(st.is_ok());
  EXPECT_TRUE(contains(st.message(), dir.file("d/b/const.png"))) << st.message();
  EXPECT_TRUE(contains(st.message(), "resize")) << st.message();

  Result<std::unique_ptr<ImageFolderDataset>> rs = open_image_folder(dir.file("d"), pre_of("resize=4x4,scale=1"));
  ASSERT_TRUE(rs.is_ok()) << rs.status().message();
  EXPECT_EQ((*rs)->sample_shape(), (Shape{1, 4, 4}));
  Batch b;
  ASSERT_TRUE((*rs)->read(0, 2, &b).is_ok());
  const float* s = b.x.data<float>();
  for (int y = 0; y < 4; ++y) {
    EXPECT_EQ(s[y * 4 + 0], 0.0f);
    EXPECT_EQ(s[y * 4 + 3], 200.0f);
    EXPECT_GT(s[y * 4 + 1], 0.0f);
    EXPECT_LT(s[y * 4 + 1], s[y * 4 + 2]);
    EXPECT_LT(s[y * 4 + 2], 200.0f);
    EXPECT_NEAR(s[y * 4 + 1] + s[y * 4 + 2], 200.0f, 1.0f);
  }
  for (int p = 0; p < 16; ++p) EXPECT_EQ(s[16 + p], 100.0f) << p;  // a constant image stays constant

  Result<std::unique_ptr<ImageFolderDataset>> up = open_image_folder(dir.file("d"), pre_of("resize=12x16,scale=1"));
  ASSERT_TRUE(up.is_ok());
  EXPECT_EQ((*up)->sample_shape(), (Shape{1, 12, 16}));
  ASSERT_TRUE((*up)->read(1, 1, &b).is_ok());
  for (int p = 0; p < 12 * 16; ++p) EXPECT_EQ(b.x.data<float>()[p], 100.0f) << p;
}

TEST(DataImageFolder, BmpAndJpegDecode) {
  TempDir dir;
  std::vector<uint8_t> px = {10, 20, 30, 40, 50, 60};
  fs::create_directories(dir.file("d/a"));
  ASSERT_NE(stbi_write_bmp(dir.file("d/a/x.bmp").c_str(), 2, 1, 3, px.data()), 0);
  ASSERT_NE(stbi_write_jpg(dir.file("d/a/y.jpg").c_str(), 8, 8, 1, constant(8, 8, 1, 128).data(), 100), 0);
  Result<std::unique_ptr<ImageFolderDataset>> ds =
      open_image_folder(dir.file("d"), pre_of("rgb,resize=1x2,scale=1,layout=nhwc"));
  ASSERT_TRUE(ds.is_ok()) << ds.status().message();
  ASSERT_EQ((*ds)->size(), 2);
  Batch b;
  ASSERT_TRUE((*ds)->read(0, 2, &b).is_ok());
  for (int i = 0; i < 6; ++i) EXPECT_EQ(b.x.data<float>()[i], static_cast<float>(px[static_cast<size_t>(i)])) << i;
  for (int i = 6; i < 12; ++i) EXPECT_NEAR(b.x.data<float>()[i], 128.0f, 2.0f) << i;
}

TEST(DataImageFolder, CorruptImagesAreErrorsNamingTheFile) {
  TempDir dir;
  write_png(dir.file("d/a/good.png"), 2, 2, 1, constant(2, 2, 1, 1));
  testing::write_bytes(dir.file("d/a/text.png"), std::string("this is not a png"));
  Result<std::unique_ptr<ImageFolderDataset>> ds = open_image_folder(dir.file("d"), Preprocess{});
  ASSERT_TRUE(ds.is_ok()) << ds.status().message();
  Batch b;
  ASSERT_TRUE((*ds)->read(0, 1, &b).is_ok());
  Status st = (*ds)->read(0, 2, &b);
  ASSERT_FALSE(st.is_ok());
  EXPECT_TRUE(contains(st.message(), dir.file("d/a/text.png"))) << st.message();

  // A noisy PNG cut in the middle of its compressed data.
  std::vector<uint8_t> noise(32 * 32 * 3);
  uint32_t s = 12345;
  for (uint8_t& v : noise) v = static_cast<uint8_t>((s = s * 1664525u + 1013904223u) >> 24);
  write_png(dir.file("e/a/full.png"), 32, 32, 3, noise);
  const std::vector<uint8_t> full = testing::read_bytes(dir.file("e/a/full.png"));
  testing::write_bytes(dir.file("e/a/full.png"), std::vector<uint8_t>(full.begin(), full.begin() + full.size() * 3 / 5));
  Result<std::unique_ptr<ImageFolderDataset>> cut = open_image_folder(dir.file("e"), Preprocess{});
  ASSERT_TRUE(cut.is_ok()) << cut.status().message();  // the header is intact
  st = (*cut)->read(0, 1, &b);
  ASSERT_FALSE(st.is_ok());
  EXPECT_TRUE(contains(st.message(), dir.file("e/a/full.png"))) << st.message();

  // A corrupt first image fails at open (its header is probed), also naming the file.
  fs::create_directories(dir.file("f/a"));
  fs::create_directories(dir.file("g/a"));
  testing::write_bytes(dir.file("f/a/0.png"), std::string("\x89PNG\r\n\x1a\n garbage"));
  Result<std::unique_ptr<ImageFolderDataset>> bad = open_image_folder(dir.file("f"), Preprocess{});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_TRUE(contains(bad.status().message(), dir.file("f/a/0.png"))) << bad.status().message();
  testing::write_bytes(dir.file("g/a/empty.png"), std::string());
  EXPECT_FALSE(open_image_folder(dir.file("g"), Preprocess{}).is_ok());
}

TEST(DataImageFolder, UnlabeledEmptyAndMissingFolders) {
  TempDir dir;
  write_png(dir.file("flat/1.png"), 2, 2, 1, constant(2, 2, 1, 1));
  write_png(dir.file("flat/2.png"), 2, 2, 1, constant(2, 2, 1, 2));
  Result<std::unique_ptr<ImageFolderDataset>> flat = open_image_folder(dir.file("flat"), Preprocess{});
  ASSERT_TRUE(flat.is_ok()) << flat.status().message();
  EXPECT_FALSE((*flat)->has_labels());
  EXPECT_EQ((*flat)->size(), 2);
  Batch b;
  ASSERT_TRUE((*flat)->read(0, 2, &b).is_ok());
  EXPECT_TRUE(b.labels.empty());

  fs::create_directories(dir.file("empty/a"));
  Result<std::unique_ptr<ImageFolderDataset>> empty = open_image_folder(dir.file("empty"), Preprocess{});
  ASSERT_FALSE(empty.is_ok());
  EXPECT_TRUE(contains(empty.status().message(), "no images")) << empty.status().message();
  EXPECT_FALSE(open_image_folder(dir.file("missing"), Preprocess{}).is_ok());

  // Three means for a gray folder.
  Result<std::unique_ptr<ImageFolderDataset>> three = open_image_folder(dir.file("flat"), pre_of("mean=0.1;0.2;0.3"));
  ASSERT_FALSE(three.is_ok());
  EXPECT_TRUE(contains(three.status().message(), "mean has 3 values")) << three.status().message();
}

TEST(DataImageFolder, OpenDatasetUsesThePreprocessSpec) {
  TempDir dir;
  write_png(dir.file("d/x/1.png"), 2, 2, 1, constant(2, 2, 1, 51));
  DataSpec spec;
  spec.source = dir.file("d");
  spec.norm.mean = {0.1f};
  spec.norm.std_ = {0.5f};
  spec.preprocess = "resize=3x3,mean=0.2";  // overrides the mean, keeps the model's std
  Result<std::unique_ptr<Dataset>> ds = open_dataset(spec);
  ASSERT_TRUE(ds.is_ok()) << ds.status().message();
  EXPECT_EQ((*ds)->sample_shape(), (Shape{1, 3, 3}));
  Batch b;
  ASSERT_TRUE((*ds)->read(0, 1, &b).is_ok());
  EXPECT_EQ(b.x.data<float>()[4], (51.0f / 255.0f - static_cast<float>(0.2)) / 0.5f);
  spec.labels = dir.file("labels.npy");
  EXPECT_FALSE(open_dataset(spec).is_ok());
}

TEST(DataImageFolder, ConcurrentReadsAgreeWithSerialReads) {
  TempDir dir;
  for (int i = 0; i < 8; ++i) {
    std::vector<uint8_t> px(6 * 5 * 3);
    for (size_t k = 0; k < px.size(); ++k) px[k] = static_cast<uint8_t>(k * 7 + i * 31);
    write_png(dir.file(fmt::format("d/c{}/{}.png", i % 3, i)), 6, 5, 3, px);
  }
  Result<std::unique_ptr<ImageFolderDataset>> ds = open_image_folder(dir.file("d"), pre_of("resize=4x4"));
  ASSERT_TRUE(ds.is_ok()) << ds.status().message();
  Batch serial;
  ASSERT_TRUE((*ds)->read(0, 8, &serial).is_ok());
  std::vector<Batch> got(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] { EXPECT_TRUE((*ds)->read(0, 8, &got[static_cast<size_t>(t)]).is_ok()); });
  for (std::thread& t : threads) t.join();
  for (const Batch& b : got) {
    ASSERT_EQ(b.x.numel(), serial.x.numel());
    EXPECT_EQ(std::memcmp(b.x.raw(), serial.x.raw(), serial.x.nbytes()), 0);
    EXPECT_EQ(b.labels, serial.labels);
  }
  // The prefetching loop delivers the same samples in order.
  int64_t offset = 0;
  ASSERT_TRUE(for_each_batch(**ds, 0, 3, [&](const Batch& b, int64_t done, int64_t) {
                const int64_t per = numel((*ds)->sample_shape());
                EXPECT_EQ(std::memcmp(b.x.raw(), serial.x.data<float>() + offset * per, b.x.nbytes()), 0);
                offset = done;
                return Status::ok();
              }).is_ok());
  EXPECT_EQ(offset, 8);
}

TEST(DataPreprocess, ParsesEveryKey) {
  Normalize model;
  model.mean = {0.5f};
  model.std_ = {0.25f};
  Result<Preprocess> p = parse_preprocess("resize=28x32, gray ,scale=1,layout=nhwc", model);
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  EXPECT_EQ(p->resize_h, 28);
  EXPECT_EQ(p->resize_w, 32);
  EXPECT_EQ(p->channels, 1);
  EXPECT_EQ(p->layout, "nhwc");
  EXPECT_EQ(p->norm.input_scale, 1.0f);
  EXPECT_EQ(p->norm.mean, std::vector<float>{0.5f});  // kept from the model
  EXPECT_EQ(p->norm.std_, std::vector<float>{0.25f});

  p = parse_preprocess("rgb,mean=0.485;0.456;0.406,std=0.229;0.224;0.225,resize=224");
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  EXPECT_EQ(p->channels, 3);
  EXPECT_EQ(p->resize_h, 224);
  EXPECT_EQ(p->resize_w, 224);
  EXPECT_EQ(p->layout, "nchw");
  EXPECT_EQ(p->norm.mean, (std::vector<float>{static_cast<float>(0.485), static_cast<float>(0.456), static_cast<float>(0.406)}));
  EXPECT_EQ(p->norm.std_.size(), 3u);

  p = parse_preprocess("");
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p->resize_h, 0);
  EXPECT_EQ(p->channels, 0);
  EXPECT_EQ(p->norm.input_scale, 255.0f);
  p = parse_preprocess("channels=3");
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p->channels, 3);
}

TEST(DataPreprocess, ErrorsNameTheKeyAndTheAllowedValues) {
  struct Case {
    const char* spec;
    std::vector<const char*> expect;
  };
  const std::vector<Case> cases = {
      {"resize=abc", {"resize='abc'", "HxW"}},
      {"resize=0x5", {"resize", "HxW"}},
      {"resize=28x", {"resize", "HxW"}},
      {"resize=99999x2", {"resize", "HxW"}},
      {"layout=chw", {"layout='chw'", "nchw and nhwc"}},
      {"channels=2", {"channels='2'", "1 and 3"}},
      {"gray=1", {"gray", "no value"}},
      {"mean=abc", {"mean", "not a number"}},
      {"std=0", {"std", "non-zero"}},
      {"scale", {"scale", "needs a value"}},
      {"scale=1;2", {"scale", "one non-zero number"}},
      {"size=28", {"unknown key 'size'", "resize=HxW", "layout=nchw|nhwc"}},
  };
  for (const Case& c : cases) {
    Result<Preprocess> p = parse_preprocess(c.spec);
    ASSERT_FALSE(p.is_ok()) << c.spec;
    for (const char* e : c.expect) EXPECT_TRUE(contains(p.status().message(), e)) << c.spec << ": " << p.status().message();
  }
}

}  // namespace
}  // namespace lowbit::data
