// shape_ops_test.cc: Shape, ConstantOfShape, Range and Cast.
#include <cmath>
#include <limits>

#include "tensor_op_test_util.h"

namespace lowbit::ops::testing {
namespace {

TEST(TensorOpsShape, StartEnd) {
  const Tensor x = Tensor::zeros(DType::kF32, {3, 4, 5});
  const Tensor s = run1("Shape", {x});
  ASSERT_EQ(s.dtype(), DType::kI64);
  EXPECT_EQ(values<int64_t>(s), (std::vector<int64_t>{3, 4, 5}));
  auto shape15 = [&](ir::Attributes a) { return values<int64_t>(run1("Shape", {x}, std::move(a), 15)); };
  EXPECT_EQ(shape15(attrs({{"start", int64_t{1}}})), (std::vector<int64_t>{4, 5}));
  EXPECT_EQ(shape15(attrs({{"end", int64_t{-1}}})), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(shape15(attrs({{"start", int64_t{-1}}})), (std::vector<int64_t>{5}));
  EXPECT_EQ(shape15(attrs({{"start", int64_t{-10}}, {"end", int64_t{10}}})), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(shape15(attrs({{"start", int64_t{2}}, {"end", int64_t{1}}})), (std::vector<int64_t>{}));
  // Before opset 15 the attributes do not exist.
  EXPECT_EQ(values<int64_t>(run1("Shape", {x}, attrs({{"start", int64_t{1}}}), 13)), (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(values<int64_t>(run1("Shape", {bools({}, {true})})), (std::vector<int64_t>{}));
}

TEST(TensorOpsShape, InferGivesInt64VectorOfRank) {
  auto r = infer_only("Shape", {info(DType::kF32, Shape{-1, 3, 224, 224})});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*(*r)[0].dtype, DType::kI64);
  EXPECT_EQ(*(*r)[0].shape, (Shape{4}));
  auto u = infer_only("Shape", {info(DType::kF32, std::nullopt)});
  ASSERT_TRUE(u.is_ok());
  EXPECT_EQ(*(*u)[0].dtype, DType::kI64);
  EXPECT_EQ(*(*u)[0].shape, (Shape{-1}));
  auto p = infer_only("Shape", {info(DType::kF32, Shape{-1, 3, 224, 224})}, attrs({{"start", int64_t{-2}}}), 1, 15);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(*(*p)[0].shape, (Shape{2}));
}

TEST(TensorOpsConstantOfShape, ValueAndDefault) {
  const Tensor z = run1("ConstantOfShape", {i64_list({2, 3})}, {}, 9);
  ASSERT_EQ(z.dtype(), DType::kF32);
  EXPECT_EQ(values<float>(z), std::vector<float>(6, 0.f));
  const Tensor ones = run1("ConstantOfShape", {i64_list({4, 3, 2})}, attrs({{"value", f32({1}, {1.f})}}), 9);
  EXPECT_EQ(ones.shape(), (Shape{4, 3, 2}));
  EXPECT_EQ(values<float>(ones), std::vector<float>(24, 1.f));
  const Tensor iz = run1("ConstantOfShape", {i64_list({0})}, attrs({{"value", i32({1}, {7})}}), 9);
  EXPECT_EQ(iz.dtype(), DType::kI32);
  EXPECT_EQ(iz.shape(), (Shape{0}));
  EXPECT_EQ(values<int64_t>(run1("ConstantOfShape", {i64_list({2})}, attrs({{"value", i64_list({-3})}}))),
            (std::vector<int64_t>{-3, -3}));
  EXPECT_EQ(run1("ConstantOfShape", {i64_list({})}).shape(), Shape{});  // empty shape: a scalar
  EXPECT_NE(run_error("ConstantOfShape", {i64_list({2, -1})}).find("negative"), std::string::npos);
  EXPECT_NE(run_error("ConstantOfShape", {i64_list({2})}, attrs({{"value", f32({2}, {1, 2})}})).find("one element"),
            std::string::npos);
  EXPECT_FALSE(run_op("ConstantOfShape", {i64_list({int64_t{1} << 40, int64_t{1} << 40})}).is_ok());
  const Tensor shape = i64_list({5, 7});
  auto r = infer_only("ConstantOfShape", {const_info(shape)});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*(*r)[0].shape, (Shape{5, 7}));
}

TEST(TensorOpsRange, Counts) {
  expect_close(run1("Range", {Tensor::scalar(1.f), Tensor::scalar(5.f), Tensor::scalar(2.f)}, {}, 11), f32({2}, {1, 3}));
  EXPECT_EQ(values<int32_t>(run1("Range", {Tensor::scalar<int32_t>(10), Tensor::scalar<int32_t>(6), Tensor::scalar<int32_t>(-3)}, {}, 11)),
            (std::vector<int32_t>{10, 7}));
  EXPECT_EQ(values<int64_t>(run1("Range", {Tensor::scalar<int64_t>(0), Tensor::scalar<int64_t>(5), Tensor::scalar<int64_t>(1)}, {}, 11)),
            (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(run1("Range", {Tensor::scalar<int64_t>(5), Tensor::scalar<int64_t>(0), Tensor::scalar<int64_t>(1)}, {}, 11).shape(),
            (Shape{0}));
  const int32_t lo = std::numeric_limits<int32_t>::min(), hi = std::numeric_limits<int32_t>::max();
  const Tensor wide = run1("Range", {Tensor::scalar<int32_t>(lo), Tensor::scalar<int32_t>(hi), Tensor::scalar<int32_t>(hi)}, {}, 11);
  EXPECT_EQ(values<int32_t>(wide), (std::vector<int32_t>{lo, -1, hi - 1}));
  EXPECT_NE(run_error("Range", {Tensor::scalar(1.f), Tensor::scalar(5.f), Tensor::scalar(0.f)}, {}, 1, 11).find("delta"),
            std::string::npos);
  EXPECT_FALSE(run_op("Range", {Tensor::scalar(1.f), Tensor::scalar<int64_t>(5), Tensor::scalar(1.f)}, {}, 1, 11).is_ok());
  EXPECT_FALSE(run_op("Range", {Tensor::scalar(0.f), Tensor::scalar(1e30f), Tensor::scalar(1.f)}, {}, 1, 11).is_ok());
  const Tensor s = Tensor::scalar<int64_t>(0), l = Tensor::scalar<int64_t>(10), d = Tensor::scalar<int64_t>(3);
  auto r = infer_only("Range", {const_info(s), const_info(l), const_info(d)}, {}, 1, 11);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*(*r)[0].shape, (Shape{4}));
}

TEST(TensorOpsCast, NumpyAstypeSemantics) {
  auto cast = [](const Tensor& x, int64_t to) { return run1("Cast", {x}, attrs({{"to", to}})); };
  const Tensor x = f32({7}, {-2.7f, -0.5f, 0.f, 0.5f, 2.7f, 300.f, -1.f});
  EXPECT_EQ(values<int32_t>(cast(x, 6)), (std::vector<int32_t>{-2, 0, 0, 0, 2, 300, -1}));
  EXPECT_EQ(values<int64_t>(cast(x, 7)), (std::vector<int64_t>{-2, 0, 0, 0, 2, 300, -1}));
  EXPECT_EQ(values<int8_t>(cast(x, 3)), (std::vector<int8_t>{-2, 0, 0, 0, 2, 44, -1}));      // 300 wraps to 44
  EXPECT_EQ(values<uint8_t>(cast(x, 2)), (std::vector<uint8_t>{254, 0, 0, 0, 2, 44, 255}));  // as numpy on x86
  EXPECT_EQ(values<bool>(cast(x, 9)), (std::vector<bool>{true, true, false, true, true, true, true}));
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(values<int32_t>(cast(f32({3}, {inf, -inf, std::nanf("")}), 6)),
            (std::vector<int32_t>{std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::min(), 0}));
  expect_close(cast(i64_list({-3, 1 << 20}), 1), f32({2}, {-3.f, 1048576.f}));
  EXPECT_EQ(values<uint8_t>(cast(i32({2}, {-1, 256}), 2)), (std::vector<uint8_t>{255, 0}));
  EXPECT_EQ(values<float>(cast(bools({2}, {true, false}), 1)), (std::vector<float>{1, 0}));
  EXPECT_EQ(values<int64_t>(cast(i32({1}, {-5}), 7)), (std::vector<int64_t>{-5}));
  const Tensor same = cast(x, 1);
  EXPECT_EQ(values<float>(same), values<float>(x));
  EXPECT_NE(same.raw(), x.raw());
}

TEST(TensorOpsCast, DoubleAndHalfTargetsStayF32) {
  // Values from numpy: x.astype(float16).astype(float32); 1.00048828125 is a tie rounding to even.
  const Tensor x = f32({9}, {1.f, 0.1f, 65519.f, 65520.f, 70000.f, 1e-8f, 3e-5f, -2.5e-4f, 1.00048828125f});
  const Tensor h = run1("Cast", {x}, attrs({{"to", int64_t{10}}}));
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(values<float>(h), (std::vector<float>{1.f, 0.0999755859375f, 65504.f, inf, inf, 0.f,
                                                  2.9981136322021484e-05f, -0.00025010108947753906f, 1.f}));
  EXPECT_EQ(values<float>(run1("Cast", {x}, attrs({{"to", int64_t{11}}}))), values<float>(x));
  expect_close(run1("Cast", {i64_list({2049})}, attrs({{"to", int64_t{10}}})), f32({1}, {2048.f}));
}

TEST(TensorOpsCast, UnsupportedTargets) {
  const Tensor x = f32({1}, {1});
  EXPECT_NE(run_error("Cast", {x}, attrs({{"to", int64_t{16}}})).find("BFLOAT16"), std::string::npos);
  EXPECT_NE(run_error("Cast", {x}, attrs({{"to", int64_t{8}}})).find("STRING"), std::string::npos);
  EXPECT_NE(run_error("Cast", {x}, attrs({{"to", int64_t{99}}})).find("99"), std::string::npos);
  EXPECT_NE(run_error("Cast", {x}).find("'to'"), std::string::npos);
  auto r = infer_only("Cast", {info(DType::kF32, Shape{-1, 2})}, attrs({{"to", int64_t{7}}}));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*(*r)[0].dtype, DType::kI64);
  EXPECT_EQ(*(*r)[0].shape, (Shape{-1, 2}));
}

}  // namespace
}  // namespace lowbit::ops::testing
