// dataset_test.cc: normalization parsing and arithmetic, the batch loop, the NPY dataset, open_dataset dispatch.
#include "data/dataset.h"

#include <atomic>
#include <cmath>

#include "data/data_test_util.h"
#include "data/npy.h"
#include "data/npy_dataset.h"
#include "data/open_dataset.h"

namespace lowbit::data {
namespace {

using testing::contains;
using testing::TempDir;

TEST(DataNormalize, MatchesTheFloat32FormulaInOrder) {
  Normalize n;
  n.input_scale = 255.0f;
  n.mean = {0.485f, 0.456f, 0.406f};
  n.std_ = {0.229f, 0.224f, 0.225f};
  ASSERT_TRUE(n.validate(3).is_ok());
  // NCHW sample [3, 1, 2]: channel of element i is i / 2.
  const uint8_t px[6] = {0, 255, 17, 128, 200, 3};
  float out[6];
  normalize_u8(px, out, 6, 3, 2, n);
  for (int i = 0; i < 6; ++i) {
    const int c = i / 2;
    const float p = static_cast<float>(px[i]);
    const float want = (p / 255.0f - n.mean[c]) / n.std_[c];
    EXPECT_EQ(out[i], want) << i;
  }
  // Hand computation for pixel 255 in channel 0: (1 - 0.485) / 0.229 = 2.2489...
  EXPECT_NEAR(out[1], 2.248908f, 1e-5f);
  // NHWC: channel of element i is i % 3.
  normalize_u8(px, out, 6, 3, 1, n);
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(out[i], (static_cast<float>(px[i]) / 255.0f - n.mean[i % 3]) / n.std_[i % 3]) << i;
}

TEST(DataNormalize, ValidateChecksCountsAndValues) {
  Normalize n;
  EXPECT_TRUE(n.validate(1).is_ok());
  EXPECT_TRUE(n.validate(3).is_ok());
  n.mean = {0.1f, 0.2f, 0.3f};
  EXPECT_TRUE(n.validate(3).is_ok());
  Status s = n.validate(1);
  ASSERT_FALSE(s.is_ok());
  EXPECT_TRUE(contains(s.message(), "mean has 3 values")) << s.message();
  n.mean = {0};
  n.std_ = {0};
  EXPECT_FALSE(n.validate(1).is_ok());
  n.std_ = {1};
  n.input_scale = 0;
  EXPECT_FALSE(n.validate(1).is_ok());
}

TEST(DataNormalize, FromMetadata) {
  Result<Normalize> d = normalize_from_metadata({});
  ASSERT_TRUE(d.is_ok());
  EXPECT_EQ(d->input_scale, 255.0f);
  EXPECT_EQ(d->mean, std::vector<float>{0.0f});
  EXPECT_EQ(d->std_, std::vector<float>{1.0f});

  Result<Normalize> m = normalize_from_metadata(
      {{"lowbit.input_scale", "1"}, {"lowbit.mean", "0.485, 0.456,0.406"}, {"lowbit.std", "0.229;0.224;0.225"},
       {"other", "ignored"}});
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  EXPECT_EQ(m->input_scale, 1.0f);
  // Parsed as a double, then rounded to float, like torch.tensor(0.485, dtype=torch.float32).
  EXPECT_EQ(m->mean, (std::vector<float>{static_cast<float>(0.485), static_cast<float>(0.456), static_cast<float>(0.406)}));
  EXPECT_EQ(m->std_, (std::vector<float>{static_cast<float>(0.229), static_cast<float>(0.224), static_cast<float>(0.225)}));

  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"lowbit.mean", "abc"}, {"lowbit.mean", "0.5x"}, {"lowbit.std", ""}, {"lowbit.std", "0"},
           {"lowbit.input_scale", "1,2"}, {"lowbit.input_scale", "1e99"}, {"lowbit.mean", "0.1,,0.2"}}) {
    Result<Normalize> bad = normalize_from_metadata({{key, value}});
    ASSERT_FALSE(bad.is_ok()) << key << "=" << value;
    EXPECT_TRUE(contains(bad.status().message(), key)) << bad.status().message();
  }
}

// An in-memory dataset: sample i is the scalar i; reads fail from `fail_at` on.
class Counting final : public Dataset {
 public:
  Counting(int64_t n, int64_t fail_at = -1) : n_(n), fail_at_(fail_at) {}
  int64_t size() const override { return n_; }
  Shape sample_shape() const override { return {1}; }
  bool has_labels() const override { return true; }
  std::string description() const override { return "counting"; }
  Status read(int64_t begin, int64_t count, Batch* out) const override {
    reads_++;
    LB_ASSIGN_OR_RETURN(int64_t n, clip_range(n_, begin, count));
    if (fail_at_ >= 0 && begin + n > fail_at_) return Status::errorf("read of {} failed", begin);
    out->x = Tensor::zeros(DType::kF32, {n, 1});
    out->labels.clear();
    for (int64_t i = 0; i < n; ++i) {
      out->x.data<float>()[i] = static_cast<float>(begin + i);
      out->labels.push_back(begin + i);
    }
    return Status::ok();
  }
  mutable std::atomic<int> reads_{0};

 private:
  int64_t n_, fail_at_;
};

TEST(DataBatches, VisitsEverySampleInOrder) {
  Counting ds(10);
  std::vector<int64_t> sizes, dones, seen;
  Status st = for_each_batch(ds, 0, 3, [&](const Batch& b, int64_t done, int64_t total) {
    EXPECT_EQ(total, 10);
    sizes.push_back(b.x.dim(0));
    dones.push_back(done);
    for (int64_t i = 0; i < b.x.dim(0); ++i) {
      seen.push_back(static_cast<int64_t>(b.x.data<float>()[i]));
      EXPECT_EQ(b.labels[static_cast<size_t>(i)], seen.back());
    }
    return Status::ok();
  });
  ASSERT_TRUE(st.is_ok()) << st.message();
  EXPECT_EQ(sizes, (std::vector<int64_t>{3, 3, 3, 1}));
  EXPECT_EQ(dones, (std::vector<int64_t>{3, 6, 9, 10}));
  ASSERT_EQ(seen.size(), 10u);
  for (int64_t i = 0; i < 10; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], i);
}

TEST(DataBatches, LimitErrorsAndEmpty) {
  Counting ds(10);
  std::vector<int64_t> sizes;
  ASSERT_TRUE(for_each_batch(ds, 5, 3, [&](const Batch& b, int64_t, int64_t total) {
                EXPECT_EQ(total, 5);
                sizes.push_back(b.x.dim(0));
                return Status::ok();
              }).is_ok());
  EXPECT_EQ(sizes, (std::vector<int64_t>{3, 2}));

  int calls = 0;
  Status stop = for_each_batch(ds, 0, 2, [&](const Batch&, int64_t done, int64_t) {
    ++calls;
    return done >= 4 ? Status::error("enough") : Status::ok();
  });
  ASSERT_FALSE(stop.is_ok());
  EXPECT_EQ(stop.message(), "enough");
  EXPECT_EQ(calls, 2);

  Counting failing(10, 7);
  int delivered = 0;
  Status rf = for_each_batch(failing, 0, 3, [&](const Batch& b, int64_t, int64_t) {
    delivered += static_cast<int>(b.x.dim(0));
    return Status::ok();
  });
  ASSERT_FALSE(rf.is_ok());
  EXPECT_TRUE(contains(rf.message(), "read of 6 failed")) << rf.message();
  EXPECT_EQ(delivered, 6);

  EXPECT_FALSE(for_each_batch(ds, 0, 0, [](const Batch&, int64_t, int64_t) { return Status::ok(); }).is_ok());
  Counting empty(0);
  int none = 0;
  EXPECT_TRUE(for_each_batch(empty, 0, 4, [&](const Batch&, int64_t, int64_t) {
                ++none;
                return Status::ok();
              }).is_ok());
  EXPECT_EQ(none, 0);
}

TEST(DataBatches, ClipRange) {
  EXPECT_EQ(*clip_range(10, 8, 5), 2);
  EXPECT_EQ(*clip_range(10, 10, 5), 0);
  EXPECT_FALSE(clip_range(10, 11, 1).is_ok());
  EXPECT_FALSE(clip_range(10, -1, 1).is_ok());
  EXPECT_FALSE(clip_range(10, 0, -1).is_ok());
}

TEST(DataNpyDataset, F32InputsPassThroughWithLabels) {
  TempDir dir;
  std::vector<float> xs(5 * 2 * 2);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = 0.25f * static_cast<float>(i) - 1.0f;
  ASSERT_TRUE(write_npy(Tensor::from_vector<float>({5, 2, 2}, xs), dir.file("x.npy")).is_ok());
  ASSERT_TRUE(write_npy(Tensor::from_vector<int64_t>({5}, {4, 3, 2, 1, 0}), dir.file("y.npy")).is_ok());
  Result<std::unique_ptr<Dataset>> ds = open_npy_dataset(dir.file("x.npy"), dir.file("y.npy"), Normalize{});
  ASSERT_TRUE(ds.is_ok()) << ds.status().message();
  EXPECT_EQ((*ds)->size(), 5);
  EXPECT_EQ((*ds)->sample_shape(), (Shape{2, 2}));
  EXPECT_TRUE((*ds)->has_labels());
  Batch b;
  ASSERT_TRUE((*ds)->read(3, 10, &b).is_ok());
  ASSERT_EQ(b.x.shape(), (Shape{2, 2, 2}));
  for (int i = 0; i < 8; ++i) EXPECT_EQ(b.x.data<float>()[i], xs[12 + i]);
  EXPECT_EQ(b.labels, (std::vector<int64_t>{1, 0}));
  EXPECT_FALSE((*ds)->read(6, 1, &b).is_ok());
}

TEST(DataNpyDataset, U8InputsAreNormalizedPerChannel) {
  TempDir dir;
  // [2, 3, 1, 2] NCHW u8 and the same pixels as [2, 1, 2, 3] NHWC.
  std::vector<uint8_t> nchw(12), nhwc(12);
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 2; ++p) {
        const uint8_t v = static_cast<uint8_t>(n * 100 + c * 30 + p * 7);
        nchw[n * 6 + c * 2 + p] = v;
        nhwc[n * 6 + p * 3 + c] = v;
      }
  ASSERT_TRUE(write_npy(Tensor::from_vector<uint8_t>({2, 3, 1, 2}, nchw), dir.file("nchw.npy")).is_ok());
  ASSERT_TRUE(write_npy(Tensor::from_vector<uint8_t>({2, 1, 2, 3}, nhwc), dir.file("nhwc.npy")).is_ok());
  Normalize norm;
  norm.mean = {0.5f, 0.25f, 0.125f};
  norm.std_ = {0.5f, 2.0f, 4.0f};
  for (const char* name : {"nchw.npy", "nhwc.npy"}) {
    const bool is_nchw = std::string(name) == "nchw.npy";
    Result<std::unique_ptr<Dataset>> ds = open_npy_dataset(dir.file(name), "", norm);
    ASSERT_TRUE(ds.is_ok()) << ds.status().message();
    EXPECT_FALSE((*ds)->has_labels());
    Batch b;
    ASSERT_TRUE((*ds)->read(0, 2, &b).is_ok());
    const std::vector<uint8_t>& src = is_nchw ? nchw : nhwc;
    for (int i = 0; i < 12; ++i) {
      const int c = is_nchw ? (i % 6) / 2 : i % 3;
      EXPECT_EQ(b.x.data<float>()[i], (static_cast<float>(src[i]) / 255.0f - norm.mean[c]) / norm.std_[c]) << name << i;
    }
    // The second sample alone: channels count from the start of each sample.
    Batch one;
    ASSERT_TRUE((*ds)->read(1, 1, &one).is_ok());
    for (int i = 0; i < 6; ++i) EXPECT_EQ(one.x.data<float>()[i], b.x.data<float>()[6 + i]);
  }
  Normalize four;
  four.mean = {0, 0, 0, 0};
  Result<std::unique_ptr<Dataset>> bad = open_npy_dataset(dir.file("nchw.npy"), "", four);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_TRUE(contains(bad.status().message(), "4 channel values")) << bad.status().message();
}

TEST(DataNpyDataset, MismatchedOrBadFilesAreErrors) {
  TempDir dir;
  ASSERT_TRUE(write_npy(Tensor::from_vector<float>({3, 2}, {1, 2, 3, 4, 5, 6}), dir.file("x.npy")).is_ok());
  ASSERT_TRUE(write_npy(Tensor::from_vector<int32_t>({2}, {0, 1}), dir.file("y2.npy")).is_ok());
  ASSERT_TRUE(write_npy(Tensor::from_vector<float>({3}, {0, 1, 2}), dir.file("yf.npy")).is_ok());
  ASSERT_TRUE(write_npy(Tensor::from_vector<int32_t>({3, 2}, {0, 1, 2, 3, 4, 5}), dir.file("y32.npy")).is_ok());
  ASSERT_TRUE(write_npy(Tensor::from_vector<int32_t>({3}, {0, 1, 2}), dir.file("xi.npy")).is_ok());
  ASSERT_TRUE(write_npy(Tensor::from_vector<uint8_t>({3, 1}, {7, 8, 9}), dir.file("y31.npy")).is_ok());
  Result<std::unique_ptr<Dataset>> r = open_npy_dataset(dir.file("x.npy"), dir.file("y2.npy"), {});
  ASSERT_FALSE(r.is_ok());
  EXPECT_TRUE(contains(r.status().message(), "holds 2 labels")) << r.status().message();
  r = open_npy_dataset(dir.file("x.npy"), dir.file("yf.npy"), {});
  ASSERT_FALSE(r.is_ok());
  EXPECT_TRUE(contains(r.status().message(), "integers")) << r.status().message();
  r = open_npy_dataset(dir.file("x.npy"), dir.file("y32.npy"), {});
  ASSERT_FALSE(r.is_ok());
  EXPECT_TRUE(contains(r.status().message(), "shape [N]")) << r.status().message();
  r = open_npy_dataset(dir.file("xi.npy"), "", {});
  ASSERT_FALSE(r.is_ok());
  EXPECT_TRUE(contains(r.status().message(), "f32")) << r.status().message();
  r = open_npy_dataset(dir.file("x.npy"), dir.file("y31.npy"), {});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  Batch b;
  ASSERT_TRUE((*r)->read(0, 3, &b).is_ok());
  EXPECT_EQ(b.labels, (std::vector<int64_t>{7, 8, 9}));
}

TEST(DataOpenDataset, DispatchesNpyAndRejectsBadSpecs) {
  TempDir dir;
  ASSERT_TRUE(write_npy(Tensor::from_vector<uint8_t>({2, 1, 2}, {0, 51, 102, 255}), dir.file("x.npy")).is_ok());
  ASSERT_TRUE(write_npy(Tensor::from_vector<int64_t>({2}, {1, 0}), dir.file("y.npy")).is_ok());
  DataSpec spec;
  spec.source = dir.file("x.npy");
  spec.labels = dir.file("y.npy");
  spec.norm.mean = {0.5f};
  spec.preprocess = "std=0.25";  // overrides the model's std, keeps its mean
  Result<std::unique_ptr<Dataset>> ds = open_dataset(spec);
  ASSERT_TRUE(ds.is_ok()) << ds.status().message();
  Batch b;
  ASSERT_TRUE((*ds)->read(0, 2, &b).is_ok());
  const uint8_t px[4] = {0, 51, 102, 255};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(b.x.data<float>()[i], (static_cast<float>(px[i]) / 255.0f - 0.5f) / 0.25f);
  EXPECT_EQ(b.labels, (std::vector<int64_t>{1, 0}));

  spec.preprocess = "resize=4x4";
  Result<std::unique_ptr<Dataset>> r = open_dataset(spec);
  ASSERT_FALSE(r.is_ok());
  EXPECT_TRUE(contains(r.status().message(), "image folders only")) << r.status().message();

  DataSpec missing;
  missing.source = dir.file("nope.npy");
  r = open_dataset(missing);
  ASSERT_FALSE(r.is_ok());
  EXPECT_TRUE(contains(r.status().message(), "not found")) << r.status().message();

  testing::write_bytes(dir.file("data.csv"), std::string("1,2\n"));
  DataSpec csv;
  csv.source = dir.file("data.csv");
  r = open_dataset(csv);
  ASSERT_FALSE(r.is_ok());
  EXPECT_TRUE(contains(r.status().message(), "unknown data source")) << r.status().message();

  DataSpec empty;
  EXPECT_FALSE(open_dataset(empty).is_ok());

  DataSpec bad_pre;
  bad_pre.source = dir.file("x.npy");
  bad_pre.preprocess = "mean=zero";
  r = open_dataset(bad_pre);
  ASSERT_FALSE(r.is_ok());
  EXPECT_TRUE(contains(r.status().message(), "mean")) << r.status().message();
}

}  // namespace
}  // namespace lowbit::data
