// quantize_linear_test.cc: ONNX QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear and
// the com.lowbit quantization ops against hand-computed values.
#include <gtest/gtest.h>

#include "ops/op_test_util.h"

namespace lowbit::ops {
namespace {

using testing::op_fails_with;
using testing::run_op;

template <typename T>
std::vector<T> values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.numel());
}

TEST(QuantizeLinear, PerTensorUint8RoundsHalfToEvenAndSaturates) {
  // x / 2 = {0, 0.5, 1.5, 2.5, -1, 300}; + z = 10 → {10, 10, 12, 12, 9, 255 (saturated)}
  const Tensor x = Tensor::from_vector<float>({6}, {0.f, 1.f, 3.f, 5.f, -2.f, 600.f});
  auto y = run_op("QuantizeLinear", {x, Tensor::scalar<float>(2.f), Tensor::scalar<uint8_t>(10)});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_EQ(values<uint8_t>((*y)[0]), (std::vector<uint8_t>{10, 10, 12, 12, 9, 255}));
}

TEST(QuantizeLinear, DefaultZeroPointIsUint8Zero) {
  auto y = run_op("QuantizeLinear", {Tensor::from_vector<float>({3}, {-1.f, 0.4f, 0.6f}), Tensor::scalar<float>(1.f)});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_EQ(values<uint8_t>((*y)[0]), (std::vector<uint8_t>{0, 0, 1}));
}

TEST(QuantizeLinear, PerAxisInt8) {
  // [2, 3] with scales per column (axis 1): column c uses s = {1, 2, 4}, z = {0, 1, -1}.
  const Tensor x = Tensor::from_vector<float>({2, 3}, {1.f, 2.f, 4.f, -300.f, 5.f, -6.f});
  ir::Attributes a;
  a.set("axis", int64_t{1});
  auto y = run_op("QuantizeLinear", {x, Tensor::from_vector<float>({3}, {1.f, 2.f, 4.f}),
                                     Tensor::from_vector<int8_t>({3}, {0, 1, -1})}, a);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  // 1/1=1; 2/2+1=2; 4/4-1=0; -300 → -128; 5/2=2.5→2 +1=3; -6/4=-1.5→-2 -1=-3
  EXPECT_EQ(values<int8_t>((*y)[0]), (std::vector<int8_t>{1, 2, 0, -128, 3, -3}));
}

TEST(DequantizeLinear, PerTensorAndInt32Bias) {
  auto y = run_op("DequantizeLinear", {Tensor::from_vector<uint8_t>({3}, {0, 10, 255}), Tensor::scalar<float>(0.5f),
                                       Tensor::scalar<uint8_t>(10)});
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_EQ(values<float>((*y)[0]), (std::vector<float>{-5.f, 0.f, 122.5f}));
  auto b = run_op("DequantizeLinear", {Tensor::from_vector<int32_t>({2}, {-1000, 7}), Tensor::from_vector<float>({2}, {0.25f, 2.f}),
                                       Tensor::from_vector<int32_t>({2}, {0, 0})}, [] {
                    ir::Attributes a;
                    a.set("axis", int64_t{0});
                    return a;
                  }());
  ASSERT_TRUE(b.is_ok()) << b.status().message();
  EXPECT_EQ(values<float>((*b)[0]), (std::vector<float>{-250.f, 14.f}));
}

TEST(DequantizeLinear, RejectsBadParameters) {
  const Tensor q = Tensor::from_vector<int8_t>({2}, {1, 2});
  EXPECT_TRUE(op_fails_with("DequantizeLinear", {q, Tensor::scalar<float>(0.f)}, {}, "not a positive finite"));
  EXPECT_TRUE(op_fails_with("DequantizeLinear", {q, Tensor::scalar<float>(1.f), Tensor::scalar<uint8_t>(0)}, {}, "zero point is u8"));
  ir::Attributes a;
  a.set("axis", int64_t{0});
  EXPECT_TRUE(op_fails_with("DequantizeLinear", {q, Tensor::from_vector<float>({3}, {1.f, 1.f, 1.f})}, a, "3 scales given"));
  EXPECT_TRUE(op_fails_with("DequantizeLinear",
                            {Tensor::from_vector<int32_t>({1}, {5}), Tensor::scalar<float>(1.f), Tensor::scalar<int32_t>(3)}, {},
                            "needs zero point 0"));
}

TEST(DynamicQuantizeLinear, MatchesOnnxFormula) {
  // min = -1, max = 2 → s = 3/255, z = round(1 / s) = round(85) = 85; x/s + z.
  const Tensor x = Tensor::from_vector<float>({4}, {-1.f, 0.f, 1.f, 2.f});
  auto y = run_op("DynamicQuantizeLinear", {x}, {}, 3);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_FLOAT_EQ((*y)[1].data<float>()[0], 3.f / 255.f);
  EXPECT_EQ((*y)[2].data<uint8_t>()[0], 85);
  EXPECT_EQ(values<uint8_t>((*y)[0]), (std::vector<uint8_t>{0, 85, 170, 255}));
}

ir::Attributes grid(int64_t bits, bool is_signed, bool narrow) {
  ir::Attributes a;
  a.set("bits", bits);
  a.set("signed", int64_t{is_signed});
  a.set("narrow", int64_t{narrow});
  return a;
}

TEST(LowbitQuantizeLinear, FourBitNarrowSaturatesAtSeven) {
  const Tensor x = Tensor::from_vector<float>({5}, {-100.f, -7.4f, 0.5f, 6.5f, 100.f});
  auto y = run_op("QuantizeLinear", {x, Tensor::scalar<float>(1.f), Tensor::scalar<int8_t>(0)}, grid(4, true, true), 1, 13,
                  kLowbitDomain);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_EQ(values<int8_t>((*y)[0]), (std::vector<int8_t>{-7, -7, 0, 6, 7}));  // 6.5 ties to even
}

TEST(LowbitQuantizeLinear, BlocksAlongTheReduction) {
  // A [2, 4] weight, channel axis 0, blocks of 2: slots (c, block) = 4 scales.
  const Tensor x = Tensor::from_vector<float>({2, 4}, {1.f, 2.f, 30.f, 40.f, -1.f, -2.f, 3.f, 4.f});
  ir::Attributes a = grid(8, true, true);
  a.set("axis", int64_t{0});
  a.set("block", int64_t{2});
  auto y = run_op("QuantizeLinear", {x, Tensor::from_vector<float>({4}, {1.f, 10.f, 1.f, 0.5f}),
                                     Tensor::from_vector<int32_t>({4}, {0, 0, 0, 0})}, a, 1, 13, kLowbitDomain);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_EQ(values<int8_t>((*y)[0]), (std::vector<int8_t>{1, 2, 3, 4, -1, -2, 6, 8}));
  auto d = run_op("DequantizeLinear", {(*y)[0], Tensor::from_vector<float>({4}, {1.f, 10.f, 1.f, 0.5f}),
                                       Tensor::from_vector<int32_t>({4}, {0, 0, 0, 0})}, a, 1, 13, kLowbitDomain);
  ASSERT_TRUE(d.is_ok()) << d.status().message();
  EXPECT_EQ(values<float>((*d)[0]), (std::vector<float>{1.f, 2.f, 30.f, 40.f, -1.f, -2.f, 3.f, 4.f}));
}

TEST(LowbitQuantizeLinear, RejectsBadAttributes) {
  const Tensor x = Tensor::from_vector<float>({2}, {1.f, 2.f});
  ir::Attributes a = grid(1, false, false);
  auto y = run_op("QuantizeLinear", {x, Tensor::scalar<float>(1.f), Tensor::scalar<uint8_t>(0)}, a, 1, 13, kLowbitDomain);
  ASSERT_FALSE(y.is_ok());
  EXPECT_NE(y.status().message().find("bits must be in [2, 16]"), std::string::npos);
  a = grid(4, false, false);
  a.set("rounding", std::string("up"));
  y = run_op("QuantizeLinear", {x, Tensor::scalar<float>(1.f), Tensor::scalar<uint8_t>(0)}, a, 1, 13, kLowbitDomain);
  ASSERT_FALSE(y.is_ok());
  EXPECT_NE(y.status().message().find("rounding 'up'"), std::string::npos);
  y = run_op("QuantizeLinear", {x, Tensor::scalar<float>(1.f), Tensor::scalar<uint8_t>(16)}, grid(4, false, false), 1, 13,
             kLowbitDomain);
  ASSERT_FALSE(y.is_ok());
  EXPECT_NE(y.status().message().find("zero point 16 is outside [0, 15]"), std::string::npos);
}

TEST(LowbitDynamicFakeQuant, PerRowRangesComeFromEachRow) {
  // Row 0 in [0, 15] → u4 s = 1, exact integers; row 1 in [0, 30] → s = 2, 3 → 4 (1.5 → 2), 5 → 6 (2.5 → 2? no: 2.5 → 2 → 4).
  const Tensor x = Tensor::from_vector<float>({2, 3}, {0.f, 7.f, 15.f, 3.f, 5.f, 30.f});
  ir::Attributes a = grid(4, false, false);
  a.set("axis", int64_t{0});
  auto y = run_op("DynamicFakeQuant", {x}, a, 1, 13, kLowbitDomain);
  ASSERT_TRUE(y.is_ok()) << y.status().message();
  EXPECT_EQ(values<float>((*y)[0]), (std::vector<float>{0.f, 7.f, 15.f, 4.f, 4.f, 30.f}));
}

}  // namespace
}  // namespace lowbit::ops
