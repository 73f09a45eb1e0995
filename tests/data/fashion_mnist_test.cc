// fashion_mnist_test.cc: the installed Fashion-MNIST: sizes, class balance, labels and normalization
// checked against an independent zlib decode of the raw files.
#include "data/fashion_mnist.h"

#include <filesystem>

#include "data/data_test_util.h"
#include "data/open_dataset.h"

namespace lowbit::data {
namespace {

using testing::contains;

bool installed() {
  return std::filesystem::exists(std::string(kFashionMnistRoot) + "/t10k-images-idx3-ubyte.gz") &&
         std::filesystem::exists(std::string(kFashionMnistRoot) + "/train-images-idx3-ubyte.gz");
}

// The set-up script installs the dataset, so its absence is a failure, not a skip.
#define REQUIRE_FASHION_MNIST() \
  ASSERT_TRUE(installed()) << "dataset-fashion-mnist is not installed (scripts/setup.sh installs it)"

std::vector<int64_t> class_counts(const Dataset& ds) {
  std::vector<int64_t> counts(10, 0);
  Status st = for_each_batch(ds, 0, 4096, [&](const Batch& b, int64_t, int64_t) {
    EXPECT_EQ(static_cast<int64_t>(b.labels.size()), b.x.dim(0));
    for (int64_t l : b.labels) {
      EXPECT_TRUE(l >= 0 && l < 10) << l;
      if (l >= 0 && l < 10) counts[static_cast<size_t>(l)]++;
    }
    return Status::ok();
  });
  EXPECT_TRUE(st.is_ok()) << st.message();
  return counts;
}

TEST(DataFashionMnist, TestSplitIsBalanced) {
  REQUIRE_FASHION_MNIST();
  Result<std::unique_ptr<Dataset>> ds = open_fashion_mnist("test", Normalize{});
  ASSERT_TRUE(ds.is_ok()) << ds.status().message();
  EXPECT_EQ((*ds)->size(), 10000);
  EXPECT_EQ((*ds)->sample_shape(), (Shape{1, 28, 28}));
  EXPECT_TRUE((*ds)->has_labels());
  EXPECT_EQ(class_counts(**ds), std::vector<int64_t>(10, 1000));
}

TEST(DataFashionMnist, TrainSplitIsBalanced) {
  REQUIRE_FASHION_MNIST();
  DataSpec spec;
  spec.source = "fashion-mnist:train";
  Result<std::unique_ptr<Dataset>> ds = open_dataset(spec);
  ASSERT_TRUE(ds.is_ok()) << ds.status().message();
  EXPECT_EQ((*ds)->size(), 60000);
  EXPECT_EQ(class_counts(**ds), std::vector<int64_t>(10, 6000));
}

TEST(DataFashionMnist, PixelsAndLabelsMatchTheRawFiles) {
  REQUIRE_FASHION_MNIST();
  // Independent decode: zlib's gzread, 16-byte image header, 8-byte label header.
  const std::vector<uint8_t> images = testing::gunzip_file(std::string(kFashionMnistRoot) + "/t10k-images-idx3-ubyte.gz");
  const std::vector<uint8_t> labels = testing::gunzip_file(std::string(kFashionMnistRoot) + "/t10k-labels-idx1-ubyte.gz");
  ASSERT_EQ(images.size(), 16u + 10000u * 784u);
  ASSERT_EQ(labels.size(), 8u + 10000u);

  Normalize norm;
  norm.mean = {0.2860f};
  norm.std_ = {0.3530f};
  DataSpec spec;
  spec.source = "fashion-mnist";  // spec.split defaults to "test"
  spec.norm = norm;
  Result<std::unique_ptr<Dataset>> ds = open_dataset(spec);
  ASSERT_TRUE(ds.is_ok()) << ds.status().message();
  ASSERT_EQ((*ds)->size(), 10000);

  Batch b;
  const int64_t begin = 9990;
  ASSERT_TRUE((*ds)->read(begin, 100, &b).is_ok());  // clipped to the last 10
  ASSERT_EQ(b.x.shape(), (Shape{10, 1, 28, 28}));
  for (int64_t i = 0; i < 10; ++i) {
    EXPECT_EQ(b.labels[static_cast<size_t>(i)], labels[static_cast<size_t>(8 + begin + i)]);
    for (int64_t p = 0; p < 784; ++p) {
      const float px = images[static_cast<size_t>(16 + (begin + i) * 784 + p)];
      ASSERT_EQ(b.x.data<float>()[i * 784 + p], (px / 255.0f - 0.2860f) / 0.3530f) << i << "," << p;
    }
  }
  // Hand computation on known pixels of sample 9990: background 0 -> -0.286/0.353 = -0.81019...,
  // and its brightest pixel.
  int64_t brightest = 0, dark = -1;
  for (int64_t p = 0; p < 784; ++p) {
    const uint8_t px = images[static_cast<size_t>(16 + begin * 784 + p)];
    if (px > images[static_cast<size_t>(16 + begin * 784 + brightest)]) brightest = p;
    if (px == 0 && dark < 0) dark = p;
  }
  ASSERT_GE(dark, 0);
  EXPECT_NEAR(b.x.data<float>()[dark], -0.810198f, 1e-5f);
  const double v = images[static_cast<size_t>(16 + begin * 784 + brightest)];
  EXPECT_NEAR(b.x.data<float>()[brightest], (v / 255.0 - 0.286) / 0.353, 1e-5);

  // The first test labels, read through the dataset, agree with the raw file.
  Batch head;
  ASSERT_TRUE((*ds)->read(0, 5, &head).is_ok());
  for (int i = 0; i < 5; ++i) EXPECT_EQ(head.labels[static_cast<size_t>(i)], labels[static_cast<size_t>(8 + i)]);
}

TEST(DataFashionMnist, MissingFilesAndBadSplitsAreErrors) {
  Result<std::unique_ptr<Dataset>> r = open_fashion_mnist("test", Normalize{}, "/nonexistent/fmnist");
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().message(),
            "fashion-mnist: /nonexistent/fmnist/t10k-images-idx3-ubyte.gz not found (install the Debian package "
            "dataset-fashion-mnist)");
  r = open_fashion_mnist("val", Normalize{});
  ASSERT_FALSE(r.is_ok());
  EXPECT_TRUE(contains(r.status().message(), "unknown split 'val'")) << r.status().message();
  DataSpec spec;
  spec.source = "fashion-mnist:validation";
  r = open_dataset(spec);
  ASSERT_FALSE(r.is_ok());
  EXPECT_TRUE(contains(r.status().message(), "unknown split 'validation'")) << r.status().message();
  spec.source = "fashion-mnist";
  spec.split = "dev";
  EXPECT_FALSE(open_dataset(spec).is_ok());
  Normalize three;
  three.mean = {0.1f, 0.2f, 0.3f};
  r = open_fashion_mnist("test", three);
  ASSERT_FALSE(r.is_ok());
  EXPECT_TRUE(contains(r.status().message(), "mean has 3 values")) << r.status().message();
}

TEST(DataFashionMnist, DatasetsShareTheDecodedImages) {
  REQUIRE_FASHION_MNIST();
  Normalize a;
  Normalize b;
  b.mean = {0.5f};
  Result<std::unique_ptr<Dataset>> da = open_fashion_mnist("test", a);
  Result<std::unique_ptr<Dataset>> db = open_fashion_mnist("test", b);
  ASSERT_TRUE(da.is_ok() && db.is_ok());
  Batch ba, bb;
  ASSERT_TRUE((*da)->read(7, 1, &ba).is_ok());
  ASSERT_TRUE((*db)->read(7, 1, &bb).is_ok());
  // Each keeps its own normalization: x_a = p / 255, x_b = p / 255 - 0.5.
  for (int p = 0; p < 784; ++p) EXPECT_EQ(bb.x.data<float>()[p], ba.x.data<float>()[p] - 0.5f);
}

}  // namespace
}  // namespace lowbit::data
