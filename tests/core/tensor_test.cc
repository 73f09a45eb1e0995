// tensor_test.cc: Tensor allocation, size checks and views.
#include "core/tensor.h"

#include <cmath>
#include <cstdlib>

#include <gtest/gtest.h>

namespace lowbit {
namespace {

TEST(Tensor, MakeIsZeroedAndAligned) {
  Result<Tensor> t = Tensor::make(DType::kF32, {2, 3, 5});
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(t->numel(), 30);
  EXPECT_EQ(t->nbytes(), 120u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t->raw()) % Tensor::kAlignment, 0u);
  for (int64_t i = 0; i < t->numel(); ++i) EXPECT_EQ(t->data<float>()[i], 0.0f);
}

TEST(Tensor, RejectsNegativeAndOverflowingShapes) {
  Result<Tensor> neg = Tensor::make(DType::kF32, {2, -1});
  ASSERT_FALSE(neg.is_ok());
  EXPECT_NE(neg.status().message().find("negative"), std::string::npos);
  Result<Tensor> huge = Tensor::make(DType::kF32, {int64_t{1} << 40, int64_t{1} << 40});
  ASSERT_FALSE(huge.is_ok());
  EXPECT_NE(huge.status().message().find("overflows"), std::string::npos);
  Result<Tensor> big = Tensor::make(DType::kI64, {int64_t{1} << 20, int64_t{1} << 20});
  ASSERT_FALSE(big.is_ok());
  EXPECT_NE(big.status().message().find("limit"), std::string::npos);
}

TEST(Tensor, UninitIsPoisonedWhenAskedAndMakeIsZeroed) {
  Tensor::set_poison_uninit(true);
  Result<Tensor> u = Tensor::make_uninit(DType::kF32, {3, 7});
  ASSERT_TRUE(u.is_ok());
  for (int64_t i = 0; i < u->numel(); ++i) EXPECT_TRUE(std::isnan(u->data<float>()[i])) << i;
  Result<Tensor> z = Tensor::make(DType::kF32, {3, 7});  // make() zeroes even with poisoning on
  for (int64_t i = 0; i < z->numel(); ++i) EXPECT_EQ(z->data<float>()[i], 0.0f) << i;
  Tensor::set_poison_uninit(std::getenv("LOWBIT_POISON_UNINIT") != nullptr);
}

TEST(Tensor, ReshapedSharesStorage) {
  Tensor a = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  Tensor b = a.reshaped({4});
  b.data<float>()[3] = 9;
  EXPECT_EQ(a.data<float>()[3], 9);
  Tensor c = a.clone();
  c.data<float>()[0] = 7;
  EXPECT_EQ(a.data<float>()[0], 1);
  EXPECT_EQ(shape_str({-1, 3}), "[?,3]");
}

}  // namespace
}  // namespace lowbit
