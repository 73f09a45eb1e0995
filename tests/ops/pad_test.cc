// pad_test.cc: Pad — ONNX's documented examples, random problems against a naive coordinate
// map in every mode (negative pads crop), the opset-10 attribute form, other dtypes, axes, and
// rejected inputs.
#include <gtest/gtest.h>

#include <random>

#include "ops/nn_test_util.h"
#include "ops/op_test_util.h"

namespace lowbit::ops {
namespace {

using nn_testing::all_close;
using nn_testing::ints;
using nn_testing::make_attrs;
using nn_testing::random_tensor;
using testing::run_op;

Tensor i64(std::vector<int64_t> v) { return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v); }

TEST(PadOp, OnnxExamples) {
  const Tensor x = Tensor::from_vector<float>({3, 2}, {1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f});
  const Tensor pads = i64({0, 2, 0, 0});
  auto y = run_op("Pad", {x, pads}, make_attrs({{"mode", std::string("constant")}}), 1, 11);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {3, 4}, {0, 0, 1.0f, 1.2f, 0, 0, 2.3f, 3.4f, 0, 0, 4.5f, 5.7f}));
  y = run_op("Pad", {x, pads}, make_attrs({{"mode", std::string("reflect")}}), 1, 11);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {3, 4}, {1.0f, 1.2f, 1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f, 4.5f, 5.7f}));
  // Reflecting further than the dim bounces back and forth (numpy): [a b c] padded 5 left is b a b c b a b c.
  y = run_op("Pad", {Tensor::from_vector<float>({3}, {1, 2, 3}), i64({5, 0})}, make_attrs({{"mode", std::string("reflect")}}),
             1, 11);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {8}, {2, 1, 2, 3, 2, 1, 2, 3}));
  y = run_op("Pad", {x, pads}, make_attrs({{"mode", std::string("edge")}}), 1, 11);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {3, 4}, {1.0f, 1.0f, 1.0f, 1.2f, 2.3f, 2.3f, 2.3f, 3.4f, 4.5f, 4.5f, 4.5f, 5.7f}));
  // constant_value input, and the opset-10 attribute form.
  y = run_op("Pad", {x, i64({1, 0, 0, 0}), Tensor::scalar(9.5f)}, {}, 1, 13);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {4, 2}, {9.5f, 9.5f, 1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f}));
  y = run_op("Pad", {x}, make_attrs({{"pads", ints({1, 0, 0, 0})}, {"value", 9.5f}}), 1, 10);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {4, 2}, {9.5f, 9.5f, 1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f}));
}

// numpy-style index map for the naive reference.
int64_t map_index(int64_t i, int64_t n, const std::string& mode) {
  if (i >= 0 && i < n) return i;
  if (mode == "constant") return -1;
  if (mode == "edge") return i < 0 ? 0 : n - 1;
  // reflect (pads < n): one mirror step
  return i < 0 ? -i : 2 * (n - 1) - i;
}

TEST(PadOp, RandomProblemsMatchNaive) {
  std::mt19937 rng(71);
  struct Case {
    Shape x;
    std::vector<int64_t> pads;
  };
  const std::vector<Case> cases = {
      {{7}, {2, 3}},
      {{4, 5}, {1, 2, 3, 0}},
      {{2, 3, 4, 5}, {0, 0, 1, 2, 0, 0, 2, 1}},
      {{2, 3, 6, 5}, {0, 1, -1, 2, 1, 0, 2, -2}},  // negative pads crop
      {{3, 4, 5}, {2, 0, 1, 1, 3, 4}},
      {{1, 2, 8, 8}, {0, 0, 3, 3, 0, 0, 3, 3}},
  };
  for (const std::string mode : {"constant", "reflect", "edge"})
    for (const Case& c : cases) {
      const Tensor x = random_tensor(c.x, rng);
      const size_t r = c.x.size();
      Shape out(r);
      for (size_t d = 0; d < r; ++d) out[d] = c.x[d] + c.pads[d] + c.pads[d + r];
      int64_t total = 1;
      for (int64_t d : out) total *= d;
      std::vector<float> want;
      for (int64_t flat = 0; flat < total; ++flat) {
        int64_t rem = flat, off = 0, stride = 1;
        bool fill = false;
        for (size_t d = r; d-- > 0;) {
          const int64_t o = rem % out[d];
          rem /= out[d];
          const int64_t i = map_index(o - c.pads[d], c.x[d], mode);
          if (i < 0) fill = true;
          off += i * stride;
          stride *= c.x[d];
        }
        want.push_back(fill ? 0.25f : x.data<float>()[off]);
      }
      auto y = run_op("Pad", {x, i64(c.pads), Tensor::scalar(0.25f)}, make_attrs({{"mode", mode}}), 1, 13);
      ASSERT_TRUE(y.is_ok()) << y.status().message();
      EXPECT_TRUE(all_close((*y)[0], out, want)) << mode << " x=" << shape_str(c.x);
    }
}

TEST(PadOp, OtherDtypesAndAxes) {
  const Tensor x = Tensor::from_vector<int64_t>({2, 2}, {1, 2, 3, int64_t{1} << 40});
  auto y = run_op("Pad", {x, i64({0, 1, 0, 0}), Tensor::scalar<int64_t>(-7)}, {}, 1, 13);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  const int64_t* p = (*y)[0].data<int64_t>();
  EXPECT_EQ(std::vector<int64_t>(p, p + 6), (std::vector<int64_t>{-7, 1, 2, -7, 3, int64_t{1} << 40}));
  const Tensor u = Tensor::from_vector<uint8_t>({3}, {5, 6, 7});
  y = run_op("Pad", {u, i64({2, 1})}, make_attrs({{"mode", std::string("edge")}}), 1, 13);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  const uint8_t* q = (*y)[0].data<uint8_t>();
  EXPECT_EQ(std::vector<uint8_t>(q, q + 6), (std::vector<uint8_t>{5, 5, 5, 6, 7, 7}));
  // opset 18 axes: pad only the last axis.
  const Tensor f = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  y = run_op("Pad", {f, i64({1, 0}), Tensor(), i64({-1})}, {}, 1, 18);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_TRUE(all_close((*y)[0], {2, 3}, {0, 1, 2, 0, 3, 4}));
}

TEST(PadOp, RejectsBadInputs) {
  std::mt19937 rng(72);
  const Tensor x = random_tensor({2, 3}, rng);
  auto expect_error = [](const std::vector<Tensor>& in, ir::Attributes a, const std::string& needle, int64_t opset = 13) {
    auto y = run_op("Pad", in, std::move(a), 1, opset);
    ASSERT_FALSE(y.is_ok()) << needle;
    EXPECT_NE(y.status().message().find(needle), std::string::npos) << y.status().message();
  };
  expect_error({x, i64({1, 1})}, {}, "expected 4");
  expect_error({random_tensor({0, 3}, rng), i64({1, 0, 0, 0})}, make_attrs({{"mode", std::string("reflect")}}), "size 0");
  expect_error({x, i64({-2, 0, -1, 0})}, {}, "below zero");
  expect_error({x, i64({0, 0, 0, 0})}, make_attrs({{"mode", std::string("mirror")}}), "mode");
  expect_error({x}, {}, "pads");
  expect_error({x}, {}, "pads", 10);
  expect_error({x, i64({0, int64_t{1} << 50, 0, 0})}, {}, "out of range");
  expect_error({x, i64({0, int64_t{1} << 38, 0, int64_t{1} << 38})}, {}, "limit");
}

}  // namespace
}  // namespace lowbit::ops
