// unary_test.cc: activations, elementwise math and Clip against hand values and std:: references.
#include <cmath>
#include <functional>
#include <limits>

#include "tensor_op_test_util.h"

namespace lowbit::ops::testing {
namespace {

const float kNaN = std::numeric_limits<float>::quiet_NaN();

TEST(TensorOpsUnary, HandComputedActivations) {
  const Tensor x = f32({5}, {-2.f, -0.5f, 0.f, 0.5f, 3.f});
  expect_close(run1("Relu", {x}), f32({5}, {0, 0, 0, 0.5f, 3}));
  expect_close(run1("LeakyRelu", {x}), f32({5}, {-0.02f, -0.005f, 0, 0.5f, 3}));
  expect_close(run1("LeakyRelu", {x}, attrs({{"alpha", 0.5f}})), f32({5}, {-1, -0.25f, 0, 0.5f, 3}));
  // HardSigmoid defaults alpha 0.2, beta 0.5: clamp(0.2x + 0.5, 0, 1)
  expect_close(run1("HardSigmoid", {x}), f32({5}, {0.1f, 0.4f, 0.5f, 0.6f, 1.f}));
  expect_close(run1("HardSigmoid", {x}, attrs({{"alpha", 0.5f}, {"beta", 0.6f}})),
               f32({5}, {0.f, 0.35f, 0.6f, 0.85f, 1.f}));
  // HardSwish: x · clamp(x/6 + 1/2, 0, 1)
  expect_close(run1("HardSwish", {f32({4}, {-4, -1, 1, 4})}), f32({4}, {0, -1.f / 3, 2.f / 3, 4}));
  expect_close(run1("Sigmoid", {f32({3}, {0, 100, -100})}), f32({3}, {0.5f, 1.f, 0.f}));
  expect_close(run1("Neg", {x}), f32({5}, {2, 0.5f, 0, -0.5f, -3}));
  expect_close(run1("Abs", {x}), f32({5}, {2, 0.5f, 0, 0.5f, 3}));
  expect_close(run1("Sqrt", {f32({3}, {0, 4, 9})}), f32({3}, {0, 2, 3}));
  // Round: halves go to the even neighbour.
  expect_close(run1("Round", {f32({8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, 2.4f, -2.6f, 7.f})}),
               f32({8}, {0, 2, 2, -0.f, -2, 2, -3, 7}));
  expect_close(run1("Reciprocal", {f32({2}, {-4, 2})}), f32({2}, {-0.25f, 0.5f}));
}

TEST(TensorOpsUnary, MatchesStdOnRandomData) {
  std::mt19937 rng(1);
  const Tensor x = random_f32({3, 70001}, rng, -6.f, 6.f);  // > one parallel chunk
  struct Case {
    const char* op;
    std::function<double(double)> ref;
  };
  const Case cases[] = {
      {"Sigmoid", [](double v) { return 1.0 / (1.0 + std::exp(-v)); }},
      {"Tanh", [](double v) { return std::tanh(v); }},
      {"Erf", [](double v) { return std::erf(v); }},
      {"Exp", [](double v) { return std::exp(v); }},
      {"Relu", [](double v) { return v > 0 ? v : 0; }},
      {"HardSwish", [](double v) { return v * std::clamp(v / 6 + 0.5, 0.0, 1.0); }},
  };
  for (const Case& c : cases) {
    const Tensor y = run1(c.op, {x});
    ASSERT_EQ(y.shape(), x.shape());
    for (int64_t i = 0; i < x.numel(); i += 7) {
      const double want = c.ref(x.data<float>()[i]);
      ASSERT_NEAR(y.data<float>()[i], want, 2e-6 + 2e-6 * std::fabs(want)) << c.op << " at " << i;
    }
  }
  const Tensor pos = random_f32({1000}, rng, 0.01f, 50.f);
  const Tensor l = run1("Log", {pos}), s = run1("Sqrt", {pos});
  for (int64_t i = 0; i < pos.numel(); ++i) {
    EXPECT_NEAR(l.data<float>()[i], std::log(pos.data<float>()[i]), 1e-5);
    EXPECT_NEAR(s.data<float>()[i], std::sqrt(pos.data<float>()[i]), 1e-5);
  }
}

TEST(TensorOpsUnary, NanPropagates) {
  const Tensor x = f32({1}, {kNaN});
  for (const char* op : {"Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Clip"})
    EXPECT_TRUE(std::isnan(run1(op, {x}).data<float>()[0])) << op;
}

TEST(TensorOpsUnary, IntegerNegAbs) {
  const Tensor x = i64({4}, {-5, 0, 7, std::numeric_limits<int64_t>::min()});
  EXPECT_EQ(values<int64_t>(run1("Neg", {x})), (std::vector<int64_t>{5, 0, -7, std::numeric_limits<int64_t>::min()}));
  EXPECT_EQ(values<int64_t>(run1("Abs", {x})), (std::vector<int64_t>{5, 0, 7, std::numeric_limits<int64_t>::min()}));
  EXPECT_EQ(values<int32_t>(run1("Abs", {i32({2}, {-3, 3})})), (std::vector<int32_t>{3, 3}));
  const Tensor u = Tensor::from_vector<uint8_t>({2}, {0, 200});
  EXPECT_EQ(values<uint8_t>(run1("Abs", {u})), (std::vector<uint8_t>{0, 200}));
}

TEST(TensorOpsUnary, RejectsUnsupportedDtypes) {
  const Tensor xi = i32({2}, {1, 2});
  for (const char* op : {"Relu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Exp", "Log", "HardSwish"}) {
    const std::string msg = run_error(op, {xi});
    EXPECT_NE(msg.find("i32"), std::string::npos) << op << ": " << msg;
  }
  EXPECT_NE(run_error("Neg", {Tensor::from_vector<uint8_t>({1}, {1})}).find("u8"), std::string::npos);
  EXPECT_NE(run_error("Abs", {bools({1}, {true})}).find("bool"), std::string::npos);
}

TEST(TensorOpsUnary, LeakyReluRejectsBadAttribute) {
  EXPECT_NE(run_error("LeakyRelu", {f32({1}, {1})}, attrs({{"alpha", std::string("x")}})).find("alpha"),
            std::string::npos);
}

TEST(TensorOpsClip, InputsFromOpset11) {
  const Tensor x = f32({5}, {-6, -1, 0, 2, 6});
  expect_close(run1("Clip", {x, Tensor::scalar(-5.f), Tensor::scalar(5.f)}), f32({5}, {-5, -1, 0, 2, 5}));
  // Only max: input 1 omitted.
  expect_close(run1("Clip", {x, Tensor(), Tensor::scalar(0.f)}), f32({5}, {-6, -1, 0, 0, 0}));
  expect_close(run1("Clip", {x, Tensor::scalar(0.f)}), f32({5}, {0, 0, 0, 2, 6}));
  expect_close(run1("Clip", {x}), x);
  // min > max gives max everywhere (numpy.clip)
  expect_close(run1("Clip", {x, Tensor::scalar(3.f), Tensor::scalar(1.f)}), f32({5}, {1, 1, 1, 1, 1}));
  // Integer clip (opset 12+)
  const Tensor xi = Tensor::from_vector<int8_t>({3}, {-100, 5, 100});
  EXPECT_EQ(values<int8_t>(run1("Clip", {xi, Tensor::scalar<int8_t>(-10), Tensor::scalar<int8_t>(10)})),
            (std::vector<int8_t>{-10, 5, 10}));
}

TEST(TensorOpsClip, AttributesBeforeOpset11) {
  const Tensor x = f32({4}, {-6, 0, 0.5f, 6});
  expect_close(run1("Clip", {x}, attrs({{"min", 0.f}, {"max", 1.f}}), 9), f32({4}, {0, 0, 0.5f, 1}));
  expect_close(run1("Clip", {x}, attrs({{"max", 1.f}}), 6), f32({4}, {-6, 0, 0.5f, 1}));
  expect_close(run1("Clip", {x}, {}, 9), x);
}

TEST(TensorOpsClip, Errors) {
  const Tensor x = f32({2}, {1, 2});
  EXPECT_NE(run_error("Clip", {x, Tensor::scalar<int64_t>(0)}).find("i64"), std::string::npos);
  EXPECT_NE(run_error("Clip", {x, f32({2}, {0, 1})}).find("scalar"), std::string::npos);
  EXPECT_NE(run_error("Clip", {i32({1}, {1})}, {}, 1, 9).find("i32"), std::string::npos);
}

}  // namespace
}  // namespace lowbit::ops::testing
