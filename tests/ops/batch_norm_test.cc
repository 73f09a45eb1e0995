// batch_norm_test.cc: BatchNormalization (inference) against the ONNX formula on several ranks,
// and the refusals: training mode, statistics outputs, bad parameter shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "ops/nn_test_util.h"
#include "ops/op_test_util.h"

namespace lowbit::ops {
namespace {

using nn_testing::all_close;
using nn_testing::make_attrs;
using nn_testing::random_tensor;
using testing::run_op;

TEST(BatchNormOp, MatchesFormulaOnSeveralRanks) {
  std::mt19937 rng(41);
  for (const Shape& shape : {Shape{4, 3}, Shape{2, 3, 5}, Shape{2, 3, 4, 5}, Shape{1, 3, 2, 3, 4}, Shape{8, 16, 28, 28}}) {
    const int64_t C = shape[1];
    const Tensor x = random_tensor(shape, rng, -3.0f, 3.0f);
    const Tensor s = random_tensor({C}, rng), b = random_tensor({C}, rng), mean = random_tensor({C}, rng);
    const Tensor var = random_tensor({C}, rng, 0.1f, 2.0f);
    const float eps = 1e-3f;
    std::vector<float> want(static_cast<size_t>(x.numel()));
    const int64_t inner = x.numel() / (shape[0] * C);
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int64_t c = (i / inner) % C;
      want[static_cast<size_t>(i)] = static_cast<float>(
          (x.data<float>()[i] - mean.data<float>()[c]) / std::sqrt(static_cast<double>(var.data<float>()[c]) + eps) *
              s.data<float>()[c] +
          b.data<float>()[c]);
    }
    for (int64_t opset : {9, 14, 15}) {
      auto y = run_op("BatchNormalization", {x, s, b, mean, var}, make_attrs({{"epsilon", eps}}), 1, opset);
      ASSERT_TRUE(y.is_ok()) << y.status().message();
      EXPECT_TRUE(all_close((*y)[0], shape, want, 1e-5f)) << shape_str(shape);
    }
  }
}

TEST(BatchNormOp, RefusesTrainingAndBadShapes) {
  std::mt19937 rng(42);
  const Tensor x = random_tensor({2, 3, 4}, rng), p = random_tensor({3}, rng);
  auto y = run_op("BatchNormalization", {x, p, p, p, p}, make_attrs({{"training_mode", int64_t{1}}}), 1, 15);
  ASSERT_FALSE(y.is_ok());
  EXPECT_NE(y.status().message().find("training mode is not supported"), std::string::npos) << y.status().message();
  y = run_op("BatchNormalization", {x, p, p, p, p}, {}, 3, 14);  // running_mean / running_var requested
  ASSERT_FALSE(y.is_ok());
  EXPECT_NE(y.status().message().find("training mode is not supported"), std::string::npos) << y.status().message();
  y = run_op("BatchNormalization", {x, p, p, random_tensor({4}, rng), p});
  ASSERT_FALSE(y.is_ok());
  EXPECT_NE(y.status().message().find("input_mean"), std::string::npos) << y.status().message();
  y = run_op("BatchNormalization", {random_tensor({3}, rng), p, p, p, p});
  ASSERT_FALSE(y.is_ok());
  EXPECT_NE(y.status().message().find("rank >= 2"), std::string::npos) << y.status().message();
  y = run_op("BatchNormalization", {x, p, p, p, p}, make_attrs({{"spatial", int64_t{0}}}), 1, 9);
  ASSERT_FALSE(y.is_ok());
}

}  // namespace
}  // namespace lowbit::ops
