// binary_test.cc: broadcasting arithmetic (Add, Sub, Mul, Div, Pow, Equal), variadic Max/Min
// and Where, against hand values and a naive index-by-index broadcasting reference.
#include <cmath>
#include <functional>
#include <limits>
#include <type_traits>

#include "ops/broadcast.h"
#include "tensor_op_test_util.h"

namespace lowbit::ops::testing {
namespace {

// Naive reference: out[i] = f(a[src_a(i)], b[src_b(i)]) over the broadcast shape.
template <typename T, typename O = T>
Tensor naive_binary(const Tensor& a, const Tensor& b, const Shape& out_shape,
                    const std::type_identity_t<std::function<O(T, T)>>& f) {
  Tensor out = Tensor::zeros(DTypeOf<O>::value, out_shape);
  for (int64_t i = 0; i < out.numel(); ++i) {
    const std::vector<int64_t> idx = unravel(i, out_shape);
    out.data<O>()[i] = f(a.data<T>()[broadcast_source(idx, a.shape())], b.data<T>()[broadcast_source(idx, b.shape())]);
  }
  return out;
}

TEST(TensorOpsBroadcast, ShapeRules) {
  EXPECT_EQ(*broadcast_shape({2, 1, 4}, {3, 1}), (Shape{2, 3, 4}));
  EXPECT_EQ(*broadcast_shape({}, {3}), (Shape{3}));
  EXPECT_EQ(*broadcast_shape({5, 0}, {1}), (Shape{5, 0}));
  EXPECT_FALSE(broadcast_shape({2, 3}, {4}).is_ok());
  EXPECT_FALSE(broadcast_shape({0}, {2}).is_ok());
  EXPECT_EQ(*broadcast_shape_partial({-1, 3}, {4, 1}), (Shape{4, 3}));
  EXPECT_EQ(*broadcast_shape_partial({-1, 1}, {-1, 5}), (Shape{-1, 5}));
  EXPECT_EQ(*broadcast_shape_partial({1}, {-1}), (Shape{-1}));
  EXPECT_FALSE(broadcast_shape_partial({2, -1}, {3, 1}).is_ok());
}

TEST(TensorOpsBinary, HandComputed) {
  const Tensor a = f32({2, 2}, {1, 2, 3, 4});
  const Tensor b = f32({2}, {10, 20});
  expect_close(run1("Add", {a, b}), f32({2, 2}, {11, 22, 13, 24}));
  expect_close(run1("Sub", {a, b}), f32({2, 2}, {-9, -18, -7, -16}));
  expect_close(run1("Mul", {a, b}), f32({2, 2}, {10, 40, 30, 80}));
  expect_close(run1("Div", {a, b}), f32({2, 2}, {0.1f, 0.1f, 0.3f, 0.2f}));
  expect_close(run1("Pow", {a, Tensor::scalar(2.f)}), f32({2, 2}, {1, 4, 9, 16}));
  expect_close(run1("Pow", {f32({3}, {4, 9, 2}), f32({3}, {0.5f, 0.5f, -1.f})}), f32({3}, {2, 3, 0.5f}));
  const Tensor eq = run1("Equal", {a, f32({2, 1}, {2, 3})});
  ASSERT_EQ(eq.dtype(), DType::kBool);
  EXPECT_EQ(values<bool>(eq), (std::vector<bool>{false, true, true, false}));
}

// Random shapes in every broadcasting pattern the fast paths distinguish.
TEST(TensorOpsBinary, BroadcastingMatchesNaiveReference) {
  std::mt19937 rng(7);
  const std::vector<std::pair<Shape, Shape>> shapes = {
      {{2, 1, 4}, {3, 1}},       {{3, 4, 5}, {3, 4, 5}},  {{3, 4, 5}, {}},        {{1}, {3, 4, 5}},
      {{3, 4, 5}, {5}},          {{4, 1}, {1, 6}},        {{2, 3, 4, 5}, {1, 3, 1, 1}},
      {{2, 3, 4, 5}, {2, 1, 4, 1}}, {{64, 300}, {300}},   {{8, 1, 1, 70}, {1, 33, 70}},
      {{2, 0, 3}, {1, 3}},       {{5, 1}, {1, 1}},        {{1, 1}, {5, 7}}};
  using F = std::function<float(float, float)>;
  const std::vector<std::pair<const char*, F>> ops = {
      {"Add", [](float x, float y) { return x + y; }},
      {"Sub", [](float x, float y) { return x - y; }},
      {"Mul", [](float x, float y) { return x * y; }},
      {"Div", [](float x, float y) { return x / y; }},
      {"Max", [](float x, float y) { return std::max(x, y); }},
      {"Min", [](float x, float y) { return std::min(x, y); }}};
  for (const auto& [sa, sb] : shapes) {
    const Tensor a = random_f32(sa, rng), b = random_f32(sb, rng, 0.5f, 3.f);
    const Shape out = *broadcast_shape(sa, sb);
    for (const auto& [op, f] : ops) {
      SCOPED_TRACE(std::string(op) + " " + shape_str(sa) + " " + shape_str(sb));
      expect_close(run1(op, {a, b}), naive_binary<float>(a, b, out, f));
      expect_close(run1(op, {b, a}), naive_binary<float>(b, a, out, [&](float x, float y) { return f(x, y); }));
    }
    SCOPED_TRACE("Pow " + shape_str(sa) + " " + shape_str(sb));
    const Tensor base = random_f32(sa, rng, 0.1f, 3.f);
    expect_close(run1("Pow", {base, b}),
                 naive_binary<float>(base, b, out, [](float x, float y) { return std::pow(x, y); }), 1e-5f, 1e-5f);
  }
}

TEST(TensorOpsBinary, Int64ShapeArithmetic) {
  // The pattern exporters emit for dynamic reshapes: Shape → Gather → Mul / Div / Concat.
  const Tensor dims = i64_list({64, 3, 32, 32});
  const Tensor c = i64_list({1, 1, 2, 2});
  EXPECT_EQ(values<int64_t>(run1("Mul", {dims, c})), (std::vector<int64_t>{64, 3, 64, 64}));
  EXPECT_EQ(values<int64_t>(run1("Div", {dims, Tensor::scalar<int64_t>(2)})), (std::vector<int64_t>{32, 1, 16, 16}));
  EXPECT_EQ(values<int64_t>(run1("Sub", {dims, Tensor::scalar<int64_t>(1)})), (std::vector<int64_t>{63, 2, 31, 31}));
  EXPECT_EQ(values<int64_t>(run1("Add", {dims, c})), (std::vector<int64_t>{65, 4, 34, 34}));
  // Integer Div truncates toward zero (C / ONNX Runtime semantics).
  EXPECT_EQ(values<int64_t>(run1("Div", {i64_list({7, -7, 7, -7}), i64_list({2, 2, -2, -2})})),
            (std::vector<int64_t>{3, -3, -3, 3}));
  EXPECT_EQ(values<int32_t>(run1("Div", {i32({1}, {std::numeric_limits<int32_t>::min()}), i32({1}, {-1})})),
            (std::vector<int32_t>{std::numeric_limits<int32_t>::min()}));
  // Wrap-around like numpy.
  EXPECT_EQ(values<int32_t>(run1("Add", {i32({1}, {std::numeric_limits<int32_t>::max()}), i32({1}, {1})})),
            (std::vector<int32_t>{std::numeric_limits<int32_t>::min()}));
  const Tensor u8a = Tensor::from_vector<uint8_t>({2}, {250, 3}), u8b = Tensor::from_vector<uint8_t>({2}, {10, 2});
  EXPECT_EQ(values<uint8_t>(run1("Add", {u8a, u8b})), (std::vector<uint8_t>{4, 5}));
  EXPECT_EQ(values<uint8_t>(run1("Div", {u8a, u8b})), (std::vector<uint8_t>{25, 1}));
  EXPECT_EQ(values<int64_t>(run1("Max", {dims, Tensor::scalar<int64_t>(16)})), (std::vector<int64_t>{64, 16, 32, 32}));
  EXPECT_EQ(values<int32_t>(run1("Min", {i32({2}, {5, -5}), i32({1}, {0})})), (std::vector<int32_t>{0, -5}));
  EXPECT_EQ(values<bool>(run1("Equal", {dims, Tensor::scalar<int64_t>(32)})), (std::vector<bool>{false, false, true, true}));
}

TEST(TensorOpsBinary, RandomIntegersMatchReference) {
  std::mt19937 rng(3);
  const Tensor a = random_int<int32_t>({4, 1, 6}, rng, -1000, 1000);
  const Tensor b = random_int<int32_t>({5, 1}, rng, 1, 50);
  const Shape out{4, 5, 6};
  EXPECT_EQ(values<int32_t>(run1("Add", {a, b})),
            values<int32_t>(naive_binary<int32_t>(a, b, out, [](int32_t x, int32_t y) { return x + y; })));
  EXPECT_EQ(values<int32_t>(run1("Mul", {a, b})),
            values<int32_t>(naive_binary<int32_t>(a, b, out, [](int32_t x, int32_t y) { return x * y; })));
  EXPECT_EQ(values<int32_t>(run1("Div", {a, b})),
            values<int32_t>(naive_binary<int32_t>(a, b, out, [](int32_t x, int32_t y) { return x / y; })));
}

TEST(TensorOpsBinary, PowMixedDtypes) {
  // Output dtype is the base's (opset 12+): int base with float exponent, float base with int exponent.
  EXPECT_EQ(values<int64_t>(run1("Pow", {i64_list({1, 2, 3}), f32({3}, {4, 5, 6})})), (std::vector<int64_t>{1, 32, 729}));
  EXPECT_EQ(values<int32_t>(run1("Pow", {i32({3}, {1, 2, 3}), i32({3}, {4, 5, 6})})), (std::vector<int32_t>{1, 32, 729}));
  expect_close(run1("Pow", {f32({3}, {1, 2, 3}), i64_list({4, 5, 6})}), f32({3}, {1, 32, 729}));
  expect_close(run1("Pow", {f32({2}, {2, 3}), Tensor::scalar<int32_t>(3)}), f32({2}, {8, 27}));
  EXPECT_EQ(values<int64_t>(run1("Pow", {i64_list({2, -2, 5}), i64_list({-1, 3, 0})})), (std::vector<int64_t>{0, -8, 1}));
}

TEST(TensorOpsBinary, Errors) {
  const Tensor a = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  EXPECT_NE(run_error("Add", {a, f32({4}, {1, 2, 3, 4})}).find("broadcast"), std::string::npos);
  EXPECT_NE(run_error("Mul", {a, i64_list({1, 2, 3})}).find("different dtypes"), std::string::npos);
  EXPECT_NE(run_error("Div", {i64_list({4, 5}), i64_list({2, 0})}).find("division by zero"), std::string::npos);
  EXPECT_NE(run_error("Add", {bools({1}, {true}), bools({1}, {true})}).find("bool"),
            std::string::npos);
  EXPECT_NE(run_error("Add", {a, Tensor()}).find("missing"), std::string::npos);
  EXPECT_FALSE(run_op("Max", {a, i32({1}, {1})}).is_ok());
}

TEST(TensorOpsMinMax, Variadic) {
  const Tensor a = f32({3}, {3, 2, 1}), b = f32({3}, {1, 4, 4}), c = f32({3}, {2, 5, 0});
  expect_close(run1("Max", {a, b, c}), f32({3}, {3, 5, 4}));
  expect_close(run1("Min", {a, b, c}), f32({3}, {1, 2, 0}));
  expect_close(run1("Max", {a}), a);
  // Broadcasting across three inputs: [2,1] , [3] , [] → [2,3]
  expect_close(run1("Max", {f32({2, 1}, {0, 10}), f32({3}, {-1, 5, 20}), Tensor::scalar(1.f)}),
               f32({2, 3}, {1, 5, 20, 10, 10, 20}));
  const float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(run1("Max", {f32({1}, {nan}), f32({1}, {1})}).data<float>()[0]));
  EXPECT_TRUE(std::isnan(run1("Min", {f32({1}, {1}), f32({1}, {nan})}).data<float>()[0]));
}

TEST(TensorOpsWhere, BroadcastsThreeInputs) {
  const Tensor cond = bools({2, 2}, {true, false, true, true});
  expect_close(run1("Where", {cond, f32({2, 2}, {1, 2, 3, 4}), f32({2, 2}, {9, 8, 7, 6})}), f32({2, 2}, {1, 8, 3, 4}));
  EXPECT_EQ(values<int64_t>(run1("Where", {cond, i64({2, 2}, {1, 2, 3, 4}), Tensor::scalar<int64_t>(0)})),
            (std::vector<int64_t>{1, 0, 3, 4}));
  std::mt19937 rng(5);
  Tensor c = Tensor::zeros(DType::kBool, {4, 1, 5});
  for (int64_t i = 0; i < c.numel(); ++i) c.data<bool>()[i] = (rng() & 1) != 0;
  const Tensor x = random_f32({3, 1}, rng), y = random_f32({1, 3, 5}, rng);
  const Tensor got = run1("Where", {c, x, y});
  ASSERT_EQ(got.shape(), (Shape{4, 3, 5}));
  for (int64_t i = 0; i < got.numel(); ++i) {
    const auto idx = unravel(i, got.shape());
    const float want = c.data<bool>()[broadcast_source(idx, c.shape())] ? x.data<float>()[broadcast_source(idx, x.shape())]
                                                                        : y.data<float>()[broadcast_source(idx, y.shape())];
    ASSERT_EQ(got.data<float>()[i], want) << i;
  }
  EXPECT_NE(run_error("Where", {f32({1}, {1}), x, y}).find("bool"), std::string::npos);
  EXPECT_NE(run_error("Where", {cond, f32({1}, {1}), i64_list({1})}).find("dtypes"), std::string::npos);
}

TEST(TensorOpsBinary, InferPartialShapes) {
  auto r = infer_only("Add", {info(DType::kF32, Shape{-1, 3, 1}), info(DType::kF32, Shape{4})});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(*(*r)[0].shape, (Shape{-1, 3, 4}));
  auto e = infer_only("Equal", {info(DType::kI64, Shape{2}), info(DType::kI64, std::nullopt)});
  ASSERT_TRUE(e.is_ok());
  EXPECT_EQ(*(*e)[0].dtype, DType::kBool);
  EXPECT_FALSE((*e)[0].shape.has_value());
  EXPECT_FALSE(infer_only("Mul", {info(DType::kF32, Shape{2, 3}), info(DType::kF32, Shape{4})}).is_ok());
}

}  // namespace
}  // namespace lowbit::ops::testing
