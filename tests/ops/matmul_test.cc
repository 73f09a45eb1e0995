// matmul_test.cc: the MatMul op — numpy semantics (1-D operands, broadcast batch dims) against
// a naive loop, shape inference on partial shapes, and rejected inputs.
#include <gtest/gtest.h>

#include <random>

#include "ops/nn_test_util.h"
#include "ops/op_test_util.h"

namespace lowbit::ops {
namespace {

using nn_testing::all_close;
using nn_testing::random_tensor;
using testing::run_op;

TEST(MatMulOp, HandExample) {
  const Tensor a = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  const Tensor b = Tensor::from_vector<float>({2, 2}, {5, 6, 7, 8});
  auto y = run_op("MatMul", {a, b});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {2, 2}, {19, 22, 43, 50}));
  // Vector · vector is a scalar; vector · matrix a vector.
  const Tensor v = Tensor::from_vector<float>({2}, {1, -1});
  y = run_op("MatMul", {v, v});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {}, {2}));
  y = run_op("MatMul", {v, b});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {2}, {-2, -2}));
  y = run_op("MatMul", {a, v});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {2}, {-1, -1}));
}

// Naive numpy matmul for shapes with rank >= 2 after the 1-D promotion done by the caller.
std::vector<float> naive(const Tensor& a, const Shape& as, const Tensor& b, const Shape& bs, const Shape& batch) {
  const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
  const size_t r = batch.size();
  int64_t nb = 1;
  for (int64_t d : batch) nb *= d;
  std::vector<float> y(static_cast<size_t>(nb * M * N));
  for (int64_t bi = 0; bi < nb; ++bi) {
    // Unravel bi over `batch`, then index each operand (1 where it broadcasts).
    std::vector<int64_t> idx(r);
    for (int64_t d = static_cast<int64_t>(r) - 1, rem = bi; d >= 0; --d) {
      idx[static_cast<size_t>(d)] = rem % batch[static_cast<size_t>(d)];
      rem /= batch[static_cast<size_t>(d)];
    }
    auto offset = [&](const Shape& s) {
      const size_t sr = s.size() - 2;
      int64_t off = 0;
      for (size_t d = 0; d < sr; ++d) {
        const int64_t i = s[d] == 1 ? 0 : idx[r - sr + d];
        off = off * s[d] + i;
      }
      return off * s[sr] * s[sr + 1];
    };
    const float* ap = a.data<float>() + offset(as);
    const float* bp = b.data<float>() + offset(bs);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double acc = 0.0;
        for (int64_t k = 0; k < K; ++k) acc += static_cast<double>(ap[i * K + k]) * bp[k * N + j];
        y[static_cast<size_t>((bi * M + i) * N + j)] = static_cast<float>(acc);
      }
  }
  return y;
}

TEST(MatMulOp, BroadcastBatchesMatchNaive) {
  std::mt19937 rng(31);
  struct Case {
    Shape a, b, out, batch;
  };
  const std::vector<Case> cases = {
      {{4, 3, 5}, {5, 6}, {4, 3, 6}, {4}},              // shared B: one stacked GEMM
      {{4, 3, 5}, {4, 5, 6}, {4, 3, 6}, {4}},
      {{1, 3, 5}, {4, 5, 6}, {4, 3, 6}, {4}},
      {{2, 1, 3, 5}, {3, 5, 2}, {2, 3, 3, 2}, {2, 3}},
      {{3, 5}, {2, 2, 5, 7}, {2, 2, 3, 7}, {2, 2}},
      {{7, 1, 17, 33}, {1, 5, 33, 65}, {7, 5, 17, 65}, {7, 5}},
      {{64, 128}, {128, 96}, {64, 96}, {}},
  };
  for (const Case& c : cases) {
    const Tensor a = random_tensor(c.a, rng), b = random_tensor(c.b, rng);
    auto y = run_op("MatMul", {a, b});
    ASSERT_TRUE(y.is_ok()) << y.status().message();
    EXPECT_TRUE(all_close((*y)[0], c.out, naive(a, c.a, b, c.b, c.batch))) << shape_str(c.a) << " x " << shape_str(c.b);
  }
  // 1-D operands against batched ones: [K] · [B, K, N] -> [B, N]; [B, M, K] · [K] -> [B, M].
  const Tensor v = random_tensor({5}, rng), bb = random_tensor({3, 5, 4}, rng);
  auto y = run_op("MatMul", {v, bb});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {3, 4}, naive(v, {1, 5}, bb, {3, 5, 4}, {3})));
  const Tensor ab = random_tensor({3, 4, 5}, rng);
  y = run_op("MatMul", {ab, v});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {3, 4}, naive(ab, {3, 4, 5}, v, {5, 1}, {3})));
}

TEST(MatMulOp, InferPartialShapes) {
  ir::Node node;
  node.op_type = "MatMul";
  TensorInfo a, b;
  a.shape = Shape{-1, 8, 16};
  b.shape = Shape{16, 4};
  InferCtx c{node, 13, {a, b}, std::vector<TensorInfo>(1)};
  ASSERT_TRUE(find_op("", "MatMul")->infer(c).is_ok());
  EXPECT_EQ(*c.outputs[0].shape, (Shape{-1, 8, 4}));
  c.inputs[0].shape = Shape{-1, 1, 8, 16};
  c.inputs[1].shape = Shape{3, 16, -1};
  ASSERT_TRUE(find_op("", "MatMul")->infer(c).is_ok());
  EXPECT_EQ(*c.outputs[0].shape, (Shape{-1, 3, 8, -1}));
}

TEST(MatMulOp, RejectsBadInputs) {
  std::mt19937 rng(32);
  auto expect_error = [](const Tensor& a, const Tensor& b, const std::string& needle) {
    auto y = run_op("MatMul", {a, b});
    ASSERT_FALSE(y.is_ok()) << needle;
    EXPECT_NE(y.status().message().find(needle), std::string::npos) << y.status().message();
  };
  expect_error(random_tensor({2, 3}, rng), random_tensor({4, 5}, rng), "inner dims");
  expect_error(random_tensor({3}, rng), random_tensor({4}, rng), "inner dims");
  expect_error(random_tensor({2, 2, 3}, rng), random_tensor({3, 3, 4}, rng), "broadcast");
  expect_error(Tensor::scalar(1.0f), random_tensor({1, 4}, rng), "rank >= 1");
  expect_error(Tensor::from_vector<int64_t>({1, 1}, {1}), Tensor::from_vector<int64_t>({1, 1}, {1}), "float32");
}

}  // namespace
}  // namespace lowbit::ops
