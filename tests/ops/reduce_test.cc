// reduce_test.cc: ReduceSum / ReduceMean / ReduceMax / ReduceMin against a naive reference over every axis
// subset, with keepdims, negative axes, empty axes, noop_with_empty_axes and both opset forms.
#include <cmath>
#include <limits>

#include "tensor_op_test_util.h"

namespace lowbit::ops::testing {
namespace {

enum class Kind { kSum, kMean, kMax, kMin };

// Naive reduction of x over the axis mask `red` (bit d set: reduce dim d), keepdims shape.
Tensor ref_reduce(const Tensor& x, unsigned red, Kind kind, bool keepdims) {
  Shape keep, out;
  for (size_t d = 0; d < x.shape().size(); ++d) {
    const bool r = (red >> d) & 1u;
    keep.push_back(r ? 1 : x.shape()[d]);
    if (!r || keepdims) out.push_back(r ? 1 : x.shape()[d]);
  }
  std::vector<double> acc(static_cast<size_t>(numel(keep)), kind == Kind::kMax ? -INFINITY : kind == Kind::kMin ? INFINITY : 0.0);
  std::vector<int64_t> cnt(acc.size(), 0);
  for (int64_t i = 0; i < x.numel(); ++i) {
    auto idx = unravel(i, x.shape());
    int64_t o = 0;
    for (size_t d = 0; d < idx.size(); ++d) o = o * keep[d] + (((red >> d) & 1u) ? 0 : idx[d]);
    const double v = x.at_f64(i);
    double& a = acc[static_cast<size_t>(o)];
    a = kind == Kind::kMax ? std::max(a, v) : kind == Kind::kMin ? std::min(a, v) : a + v;
    ++cnt[static_cast<size_t>(o)];
  }
  Tensor y = Tensor::zeros(DType::kF32, out);
  for (size_t i = 0; i < acc.size(); ++i)
    y.data<float>()[i] = static_cast<float>(kind == Kind::kMean ? acc[i] / static_cast<double>(cnt[i]) : acc[i]);
  return y;
}

std::vector<int64_t> mask_axes(unsigned red, size_t rank, bool negative) {
  std::vector<int64_t> axes;
  for (size_t d = 0; d < rank; ++d)
    if ((red >> d) & 1u) axes.push_back(negative ? static_cast<int64_t>(d) - static_cast<int64_t>(rank) : static_cast<int64_t>(d));
  return axes;
}

TEST(TensorOpsReduce, EveryAxisSubsetMatchesReference) {
  std::mt19937 rng(21);
  for (const Shape& shape : {Shape{3, 4, 5}, Shape{2, 1, 6, 7}, Shape{64, 3, 9, 9}}) {
    const Tensor x = random_f32(shape, rng);
    const size_t r = shape.size();
    for (unsigned red = 1; red < (1u << r); ++red)
      for (bool keepdims : {true, false}) {
        const std::vector<int64_t> axes = mask_axes(red, r, red % 2 == 0);
        SCOPED_TRACE(shape_str(shape) + " axes " + shape_str(axes) + (keepdims ? " keep" : ""));
        const int64_t kd = keepdims ? 1 : 0;
        expect_close(run1("ReduceSum", {x, i64_list(axes)}, attrs({{"keepdims", kd}})), ref_reduce(x, red, Kind::kSum, keepdims),
                     1e-4f, 1e-5f);
        expect_close(run1("ReduceMean", {x}, attrs({{"axes", axes}, {"keepdims", kd}})),
                     ref_reduce(x, red, Kind::kMean, keepdims), 1e-5f, 1e-5f);
        expect_close(run1("ReduceMax", {x}, attrs({{"axes", axes}, {"keepdims", kd}})),
                     ref_reduce(x, red, Kind::kMax, keepdims), 0.f, 0.f);
        expect_close(run1("ReduceMin", {x}, attrs({{"axes", axes}, {"keepdims", kd}})),
                     ref_reduce(x, red, Kind::kMin, keepdims), 0.f, 0.f);
      }
  }
}

TEST(TensorOpsReduce, EmptyAxesAndOpsetForms) {
  const Tensor x = f32({3, 2, 2}, {5, 1, 20, 2, 30, 1, 40, 2, 55, 1, 60, 2});
  // No axes: all; keepdims default 1.
  expect_close(run1("ReduceSum", {x}), f32({1, 1, 1}, {219}));
  expect_close(run1("ReduceSum", {x, i64_list({})}), f32({1, 1, 1}, {219}));
  expect_close(run1("ReduceMean", {x}), f32({1, 1, 1}, {18.25f}));
  expect_close(run1("ReduceMax", {x}, attrs({{"keepdims", int64_t{0}}})), Tensor::scalar(60.f));
  // noop_with_empty_axes (ReduceSum-13): identity.
  expect_close(run1("ReduceSum", {x, i64_list({})}, attrs({{"noop_with_empty_axes", int64_t{1}}})), x);
  expect_close(run1("ReduceSum", {x}, attrs({{"noop_with_empty_axes", int64_t{1}}})), x);
  // ReduceSum before opset 13: axes attribute.
  expect_close(run1("ReduceSum", {x}, attrs({{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{0}}}), 11),
               f32({3, 2}, {25, 3, 70, 3, 115, 3}));
  expect_close(run1("ReduceMean", {x}, attrs({{"axes", std::vector<int64_t>{-2}}}), 11), f32({3, 1, 2}, {12.5f, 1.5f, 35, 1.5f, 57.5f, 1.5f}));
}

TEST(TensorOpsReduce, IntegersAndLongRows) {
  const Tensor xi = i64({2, 3}, {1, 2, 3, 4, 5, 7});
  EXPECT_EQ(values<int64_t>(run1("ReduceSum", {xi, i64_list({1})}, attrs({{"keepdims", int64_t{0}}}))),
            (std::vector<int64_t>{6, 16}));
  EXPECT_EQ(values<int64_t>(run1("ReduceMean", {xi}, attrs({{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{0}}}))),
            (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(values<int64_t>(run1("ReduceMax", {xi}, attrs({{"axes", std::vector<int64_t>{0}}, {"keepdims", int64_t{0}}}))),
            (std::vector<int64_t>{4, 5, 7}));
  // A long row of ones: the double accumulator keeps the f32 sum exact.
  Tensor ones = Tensor::zeros(DType::kF32, {1 << 22});
  std::fill_n(ones.data<float>(), ones.numel(), 1.f);
  EXPECT_EQ(run1("ReduceSum", {ones}).data<float>()[0], static_cast<float>(1 << 22));
  EXPECT_EQ(run1("ReduceMean", {ones}).data<float>()[0], 1.f);
  // Empty reductions: sum 0, mean NaN, max lowest.
  const Tensor e = Tensor::zeros(DType::kF32, {2, 0});
  expect_close(run1("ReduceSum", {e, i64_list({1})}), f32({2, 1}, {0, 0}));
  EXPECT_TRUE(std::isnan(run1("ReduceMean", {e}, attrs({{"axes", std::vector<int64_t>{1}}})).data<float>()[0]));
  EXPECT_EQ(run1("ReduceMax", {e}, attrs({{"axes", std::vector<int64_t>{1}}})).data<float>()[0], -INFINITY);
  EXPECT_EQ(run1("ReduceMin", {e}, attrs({{"axes", std::vector<int64_t>{1}}})).data<float>()[0], INFINITY);
  EXPECT_EQ(values<int64_t>(run1("ReduceMin", {xi}, attrs({{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t{0}}}))),
            (std::vector<int64_t>{1, 4}));
  // NaN propagates through Max and Min.
  EXPECT_TRUE(std::isnan(run1("ReduceMax", {f32({3}, {1, NAN, 2})}).data<float>()[0]));
  EXPECT_TRUE(std::isnan(run1("ReduceMin", {f32({3}, {1, NAN, 2})}).data<float>()[0]));
}

TEST(TensorOpsReduce, Errors) {
  const Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_NE(run_error("ReduceSum", {x, i64_list({2})}).find("out of range"), std::string::npos);
  EXPECT_NE(run_error("ReduceMean", {x}, attrs({{"axes", std::vector<int64_t>{0, -2}}})).find("more than once"),
            std::string::npos);
  EXPECT_NE(run_error("ReduceMax", {bools({1}, {true})}).find("bool"), std::string::npos);
  auto r = infer_only("ReduceMean", {info(DType::kF32, Shape{-1, 3, 7, 7})}, attrs({{"axes", std::vector<int64_t>{2, 3}}}));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*(*r)[0].shape, (Shape{-1, 3, 1, 1}));
  auto u = infer_only("ReduceSum", {info(DType::kF32, Shape{4, 3}), info(DType::kI64, Shape{1})},
                      attrs({{"keepdims", int64_t{0}}}));
  ASSERT_TRUE(u.is_ok());
  EXPECT_FALSE((*u)[0].shape.has_value());
}

}  // namespace
}  // namespace lowbit::ops::testing
