// gemm_test.cc: the Gemm op — a hand example, every transA / transB / alpha / beta / C-broadcast
// combination against a naive loop, shape inference, and rejected inputs.
#include <gtest/gtest.h>

#include <random>

#include "ops/nn_test_util.h"
#include "ops/op_test_util.h"

namespace lowbit::ops {
namespace {

using nn_testing::all_close;
using nn_testing::make_attrs;
using nn_testing::random_tensor;
using testing::run_op;

TEST(GemmOp, HandExample) {
  // [[1,2,3],[4,5,6]] · [[1,0],[0,1],[1,1]] = [[4,5],[10,11]]; + 0.5·[10, 20] with alpha 1.
  const Tensor a = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor b = Tensor::from_vector<float>({3, 2}, {1, 0, 0, 1, 1, 1});
  const Tensor c = Tensor::from_vector<float>({2}, {10, 20});
  auto y = run_op("Gemm", {a, b, c}, make_attrs({{"beta", 0.5f}}));
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {2, 2}, {9, 15, 15, 21}));
  y = run_op("Gemm", {a, b});  // C omitted (opset 11+)
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {2, 2}, {4, 5, 10, 11}));
}

TEST(GemmOp, AllAttributeCombinationsMatchNaive) {
  std::mt19937 rng(21);
  const int64_t M = 5, N = 7, K = 3;
  const std::vector<Shape> c_shapes = {{}, {1}, {N}, {1, N}, {M, 1}, {M, N}, {1, 1}};
  for (int64_t ta : {0, 1})
    for (int64_t tb : {0, 1})
      for (const Shape& cs : c_shapes) {
        const Tensor a = random_tensor(ta ? Shape{K, M} : Shape{M, K}, rng);
        const Tensor b = random_tensor(tb ? Shape{N, K} : Shape{K, N}, rng);
        const Tensor c = random_tensor(cs, rng);
        const float alpha = 0.75f, beta = -1.25f;
        std::vector<float> want(static_cast<size_t>(M * N));
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) {
            double acc = 0.0;
            for (int64_t k = 0; k < K; ++k) {
              const float av = ta ? a.data<float>()[k * M + i] : a.data<float>()[i * K + k];
              const float bv = tb ? b.data<float>()[j * K + k] : b.data<float>()[k * N + j];
              acc += static_cast<double>(av) * bv;
            }
            // numpy broadcasting of C by hand
            const int64_t ci = cs.size() == 2 && cs[0] == M ? i : 0;
            const int64_t cj = !cs.empty() && cs.back() == N ? j : 0;
            const int64_t cn = cs.empty() ? 1 : cs.back();
            want[static_cast<size_t>(i * N + j)] =
                static_cast<float>(alpha * acc + beta * c.data<float>()[ci * cn + cj]);
          }
        auto y = run_op("Gemm", {a, b, c},
                        make_attrs({{"transA", ta}, {"transB", tb}, {"alpha", alpha}, {"beta", beta}}));
        ASSERT_TRUE(y.is_ok()) << y.status().message();
        EXPECT_TRUE(all_close((*y)[0], {M, N}, want)) << "transA=" << ta << " transB=" << tb << " C=" << shape_str(cs);
      }
}

TEST(GemmOp, LargeThreadedProduct) {
  std::mt19937 rng(22);
  const Tensor a = random_tensor({64, 300}, rng), b = random_tensor({300, 257}, rng);
  std::vector<float> want(64 * 257);
  for (int i = 0; i < 64; ++i)
    for (int j = 0; j < 257; ++j) {
      double acc = 0.0;
      for (int k = 0; k < 300; ++k) acc += static_cast<double>(a.data<float>()[i * 300 + k]) * b.data<float>()[k * 257 + j];
      want[static_cast<size_t>(i * 257 + j)] = static_cast<float>(acc);
    }
  auto y = run_op("Gemm", {a, b});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {64, 257}, want));
}

TEST(GemmOp, RejectsBadInputs) {
  std::mt19937 rng(23);
  const Tensor a = random_tensor({2, 3}, rng), b = random_tensor({3, 4}, rng);
  auto expect_error = [](const std::vector<Tensor>& in, ir::Attributes at, const std::string& needle) {
    auto y = run_op("Gemm", in, std::move(at));
    ASSERT_FALSE(y.is_ok()) << needle;
    EXPECT_NE(y.status().message().find(needle), std::string::npos) << y.status().message();
  };
  expect_error({random_tensor({6}, rng), b}, {}, "rank 2");
  expect_error({a, random_tensor({2, 3, 4}, rng)}, {}, "rank 2");
  expect_error({a, random_tensor({4, 4}, rng)}, {}, "inner dims");
  expect_error({a, b}, make_attrs({{"transA", int64_t{1}}}), "inner dims");
  expect_error({a, b, random_tensor({2}, rng)}, {}, "broadcast");
  expect_error({a, b, random_tensor({3, 4}, rng)}, {}, "broadcast");
  expect_error({a, b, random_tensor({1, 2, 4}, rng)}, {}, "rank <= 2");
  expect_error({Tensor::from_vector<int32_t>({1, 1}, {1}), Tensor::from_vector<int32_t>({1, 1}, {1})}, {}, "float32");
}

}  // namespace
}  // namespace lowbit::ops
