// softmax_test.cc: Softmax and LogSoftmax in both opset forms against a double-precision reference.
#include <cmath>

#include "tensor_op_test_util.h"

namespace lowbit::ops::testing {
namespace {

// Reference: normalize over dims [a0, a1) of x (the coerced 2-D form when a1 = rank).
Tensor ref_softmax(const Tensor& x, size_t a0, size_t a1, bool log) {
  int64_t outer = 1, n = 1, inner = 1;
  for (size_t i = 0; i < x.shape().size(); ++i) (i < a0 ? outer : (i < a1 ? n : inner)) *= x.shape()[i];
  Tensor y = Tensor::zeros(DType::kF32, x.shape());
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      auto at = [&](int64_t k) { return (o * n + k) * inner + j; };
      double m = -INFINITY, s = 0;
      for (int64_t k = 0; k < n; ++k) m = std::max(m, double(px[at(k)]));
      for (int64_t k = 0; k < n; ++k) s += std::exp(double(px[at(k)]) - m);
      for (int64_t k = 0; k < n; ++k)
        py[at(k)] = float(log ? double(px[at(k)]) - m - std::log(s) : std::exp(double(px[at(k)]) - m) / s);
    }
  return y;
}

TEST(TensorOpsSoftmax, HandComputed) {
  const Tensor x = f32({1, 3}, {-1, 0, 1});
  // e^-1, e^0, e^1 over their sum 4.08616
  expect_close(run1("Softmax", {x}), f32({1, 3}, {0.09003057f, 0.24472847f, 0.66524096f}));
  expect_close(run1("LogSoftmax", {x}), f32({1, 3}, {-2.40760596f, -1.40760596f, -0.40760596f}), 1e-6f);
  // Large inputs do not overflow.
  expect_close(run1("Softmax", {f32({1, 4}, {10000, 10001, 10002, 10003})}),
               f32({1, 4}, {0.0320586f, 0.08714432f, 0.23688284f, 0.64391428f}));
}

TEST(TensorOpsSoftmax, AxesOpset13) {
  std::mt19937 rng(11);
  for (const Shape& shape : {Shape{3, 4, 5}, Shape{2, 300, 7}, Shape{64, 1000}, Shape{1, 3, 600}}) {
    const Tensor x = random_f32(shape, rng, -8.f, 8.f);
    const int64_t r = static_cast<int64_t>(shape.size());
    for (int64_t axis = -r; axis < r; ++axis) {
      const size_t a = static_cast<size_t>(axis < 0 ? axis + r : axis);
      SCOPED_TRACE(shape_str(shape) + " axis " + std::to_string(axis));
      expect_close(run1("Softmax", {x}, attrs({{"axis", axis}})), ref_softmax(x, a, a + 1, false), 1e-6f, 1e-5f);
      expect_close(run1("LogSoftmax", {x}, attrs({{"axis", axis}})), ref_softmax(x, a, a + 1, true), 1e-5f, 1e-5f);
    }
    // Default axis is -1.
    expect_close(run1("Softmax", {x}), ref_softmax(x, shape.size() - 1, shape.size(), false), 1e-6f, 1e-5f);
  }
}

TEST(TensorOpsSoftmax, CoercedTo2DBeforeOpset13) {
  std::mt19937 rng(12);
  const Tensor x = random_f32({3, 4, 5}, rng);
  // Default axis 1: each of the 3 rows of 20 sums to one.
  expect_close(run1("Softmax", {x}, {}, 11), ref_softmax(x, 1, 3, false), 1e-6f, 1e-5f);
  expect_close(run1("Softmax", {x}, attrs({{"axis", int64_t{0}}}), 11), ref_softmax(x, 0, 3, false), 1e-6f, 1e-5f);
  expect_close(run1("LogSoftmax", {x}, attrs({{"axis", int64_t{-1}}}), 9), ref_softmax(x, 2, 3, true), 1e-5f, 1e-5f);
  expect_close(run1("LogSoftmax", {x}, attrs({{"axis", int64_t{2}}}), 9), ref_softmax(x, 2, 3, true), 1e-5f, 1e-5f);
}

TEST(TensorOpsSoftmax, Errors) {
  const Tensor x = f32({2, 2}, {1, 2, 3, 4});
  EXPECT_NE(run_error("Softmax", {x}, attrs({{"axis", int64_t{2}}})).find("out of range"), std::string::npos);
  EXPECT_NE(run_error("Softmax", {x}, attrs({{"axis", int64_t{-3}}})).find("out of range"), std::string::npos);
  EXPECT_NE(run_error("LogSoftmax", {i64({2}, {1, 2})}).find("i64"), std::string::npos);
  EXPECT_FALSE(infer_only("Softmax", {info(DType::kF32, Shape{2, 2})}, attrs({{"axis", int64_t{5}}})).is_ok());
}

}  // namespace
}  // namespace lowbit::ops::testing
