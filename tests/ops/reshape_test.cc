// reshape_test.cc: the view ops — Reshape, Flatten, Squeeze, Unsqueeze, Identity — and Dropout.
#include "tensor_op_test_util.h"

namespace lowbit::ops::testing {
namespace {

Tensor iota_f32(Shape s) {
  Tensor t = Tensor::zeros(DType::kF32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(i);
  return t;
}

Shape shape_of(const std::string& op, const std::vector<Tensor>& in, ir::Attributes a = {}, int64_t opset = 13) {
  return run1(op, in, std::move(a), opset).shape();
}

TEST(TensorOpsReshape, TargetRules) {
  const Tensor x = iota_f32({2, 3, 4});
  EXPECT_EQ(shape_of("Reshape", {x, i64_list({4, 2, 3})}), (Shape{4, 2, 3}));
  EXPECT_EQ(shape_of("Reshape", {x, i64_list({2, -1, 2})}), (Shape{2, 6, 2}));
  EXPECT_EQ(shape_of("Reshape", {x, i64_list({-1, 2, 3, 4})}), (Shape{1, 2, 3, 4}));
  EXPECT_EQ(shape_of("Reshape", {x, i64_list({2, 0, 1, -1})}), (Shape{2, 3, 1, 4}));
  EXPECT_EQ(shape_of("Reshape", {x, i64_list({24})}), (Shape{24}));
  // allowzero=1 (opset 14): 0 is a real zero dim.
  const Tensor empty = Tensor::zeros(DType::kF32, {0, 3, 4});
  EXPECT_EQ(shape_of("Reshape", {empty, i64_list({3, 4, 0})}, attrs({{"allowzero", int64_t{1}}}), 14), (Shape{3, 4, 0}));
  // The output is a view with the same values in order.
  const Tensor y = run1("Reshape", {x, i64_list({6, 4})});
  EXPECT_EQ(values<float>(y), values<float>(x));
  EXPECT_EQ(y.raw(), x.raw());  // shares storage
  // Any dtype.
  EXPECT_EQ(shape_of("Reshape", {i64_list({1, 2, 3, 4}), i64_list({2, 2})}), (Shape{2, 2}));
}

TEST(TensorOpsReshape, Errors) {
  const Tensor x = iota_f32({2, 3, 4});
  EXPECT_NE(run_error("Reshape", {x, i64_list({5, 5})}).find("cannot reshape"), std::string::npos);
  EXPECT_NE(run_error("Reshape", {x, i64_list({5, -1})}).find("-1"), std::string::npos);
  EXPECT_NE(run_error("Reshape", {x, i64_list({-1, -1})}).find("more than one"), std::string::npos);
  EXPECT_NE(run_error("Reshape", {x, i64_list({2, 3, 4, 0})}).find("rank"), std::string::npos);
  EXPECT_NE(run_error("Reshape", {x, i64_list({-2, 12})}).find("invalid"), std::string::npos);
  EXPECT_FALSE(run_op("Reshape", {x, i64_list({0, -1})}, attrs({{"allowzero", int64_t{1}}}), 1, 14).is_ok());
  EXPECT_FALSE(run_op("Reshape", {x, f32({2}, {6, 4})}).is_ok());
}

TEST(TensorOpsReshape, InferUsesConstantShape) {
  const Tensor spec = i64_list({0, -1});
  auto r = infer_only("Reshape", {info(DType::kF32, Shape{-1, 3, 4}), const_info(spec)});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(*(*r)[0].shape, (Shape{-1, -1}));
  auto k = infer_only("Reshape", {info(DType::kF32, Shape{8, 3, 4}), const_info(spec)});
  ASSERT_TRUE(k.is_ok());
  EXPECT_EQ(*(*k)[0].shape, (Shape{8, 12}));
  // Unknown shape values but known length: rank only.
  auto u = infer_only("Reshape", {info(DType::kF32, Shape{8, 3, 4}), info(DType::kI64, Shape{3})});
  ASSERT_TRUE(u.is_ok());
  EXPECT_EQ(*(*u)[0].shape, (Shape{-1, -1, -1}));
  EXPECT_FALSE(infer_only("Reshape", {info(DType::kF32, Shape{8, 3, 4}), const_info(i64_list({5}))}).is_ok());
}

TEST(TensorOpsFlatten, Axes) {
  const Tensor x = iota_f32({2, 3, 4, 5});
  EXPECT_EQ(shape_of("Flatten", {x}), (Shape{2, 60}));
  EXPECT_EQ(shape_of("Flatten", {x}, attrs({{"axis", int64_t{0}}})), (Shape{1, 120}));
  EXPECT_EQ(shape_of("Flatten", {x}, attrs({{"axis", int64_t{4}}})), (Shape{120, 1}));
  EXPECT_EQ(shape_of("Flatten", {x}, attrs({{"axis", int64_t{-1}}})), (Shape{24, 5}));
  EXPECT_EQ(shape_of("Flatten", {x}, attrs({{"axis", int64_t{-4}}})), (Shape{1, 120}));
  EXPECT_NE(run_error("Flatten", {x}, attrs({{"axis", int64_t{5}}})).find("out of range"), std::string::npos);
  EXPECT_FALSE(run_op("Flatten", {x}, attrs({{"axis", int64_t{-5}}})).is_ok());
  auto r = infer_only("Flatten", {info(DType::kF32, Shape{-1, 3, 4})});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*(*r)[0].shape, (Shape{-1, 12}));
}

TEST(TensorOpsSqueeze, OpsetForms) {
  const Tensor x = iota_f32({1, 3, 1, 5});
  EXPECT_EQ(shape_of("Squeeze", {x, i64_list({0})}), (Shape{3, 1, 5}));
  EXPECT_EQ(shape_of("Squeeze", {x, i64_list({-2})}), (Shape{1, 3, 5}));
  EXPECT_EQ(shape_of("Squeeze", {x}), (Shape{3, 5}));
  EXPECT_EQ(shape_of("Squeeze", {x}, attrs({{"axes", std::vector<int64_t>{0, 2}}}), 11), (Shape{3, 5}));
  EXPECT_EQ(shape_of("Squeeze", {x}, {}, 9), (Shape{3, 5}));
  EXPECT_NE(run_error("Squeeze", {x, i64_list({1})}).find("not 1"), std::string::npos);
  EXPECT_NE(run_error("Squeeze", {x, i64_list({4})}).find("out of range"), std::string::npos);
  EXPECT_NE(run_error("Squeeze", {x, i64_list({0, -4})}).find("more than once"), std::string::npos);
}

TEST(TensorOpsUnsqueeze, OpsetForms) {
  const Tensor x = iota_f32({3, 4, 5});
  EXPECT_EQ(shape_of("Unsqueeze", {x, i64_list({0})}), (Shape{1, 3, 4, 5}));
  EXPECT_EQ(shape_of("Unsqueeze", {x, i64_list({1, 4})}), (Shape{3, 1, 4, 5, 1}));
  EXPECT_EQ(shape_of("Unsqueeze", {x, i64_list({5, 4, 2})}), (Shape{3, 4, 1, 5, 1, 1}));
  EXPECT_EQ(shape_of("Unsqueeze", {x, i64_list({-1})}), (Shape{3, 4, 5, 1}));
  EXPECT_EQ(shape_of("Unsqueeze", {x}, attrs({{"axes", std::vector<int64_t>{3}}}), 11), (Shape{3, 4, 5, 1}));
  EXPECT_EQ(shape_of("Unsqueeze", {Tensor::scalar(1.f), i64_list({0})}), (Shape{1}));
  EXPECT_NE(run_error("Unsqueeze", {x, i64_list({6})}).find("out of range"), std::string::npos);
  EXPECT_NE(run_error("Unsqueeze", {x, i64_list({1, 1})}).find("more than once"), std::string::npos);
  EXPECT_FALSE(run_op("Unsqueeze", {x}, {}, 1, 11).is_ok());
  auto r = infer_only("Unsqueeze", {info(DType::kI64, Shape{-1}), const_info(i64_list({0}))});
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*(*r)[0].shape, (Shape{1, -1}));
}

TEST(TensorOpsIdentity, SharesInput) {
  const Tensor x = iota_f32({2, 2});
  const Tensor y = run1("Identity", {x});
  EXPECT_EQ(y.raw(), x.raw());
  EXPECT_EQ(y.shape(), x.shape());
}

TEST(TensorOpsDropout, InferenceIsIdentity) {
  const Tensor x = iota_f32({3, 4});
  auto out = run_ok("Dropout", {x, Tensor::scalar(0.3f)}, attrs({{"seed", int64_t{0}}}), 2, 13);
  EXPECT_EQ(values<float>(out[0]), values<float>(x));
  ASSERT_EQ(out[1].dtype(), DType::kBool);
  EXPECT_EQ(values<bool>(out[1]), std::vector<bool>(12, true));
  // Opset 7-9: ratio attribute, mask has the input's dtype.
  auto old = run_ok("Dropout", {x}, attrs({{"ratio", 0.2f}}), 2, 9);
  ASSERT_EQ(old[1].dtype(), DType::kF32);
  EXPECT_EQ(values<float>(old[1]), std::vector<float>(12, 1.f));
  EXPECT_EQ(values<float>(run1("Dropout", {x}, {}, 11)), values<float>(x));
  EXPECT_NE(run_error("Dropout", {i64_list({1})}).find("i64"), std::string::npos);
  // training_mode = true needs random masks (an error) unless the ratio is 0.
  EXPECT_NE(run_error("Dropout", {x, Tensor::scalar(0.5f), bools({}, {true})}).find("training_mode"),
            std::string::npos);
  EXPECT_NE(run_error("Dropout", {x, Tensor(), bools({}, {true})}).find("training_mode"), std::string::npos);
  EXPECT_EQ(values<float>(run1("Dropout", {x, Tensor::scalar(0.f), bools({}, {true})})), values<float>(x));
  EXPECT_EQ(values<float>(run1("Dropout", {x, Tensor::scalar(0.5f), bools({}, {false})})), values<float>(x));
}

}  // namespace
}  // namespace lowbit::ops::testing
