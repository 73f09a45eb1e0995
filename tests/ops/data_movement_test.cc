// data_movement_test.cc: Transpose, Concat, Split, Slice, Gather, Expand and Tile against hand
// values and naive multi-index references, for several dtypes.
#include <limits>

#include "tensor_op_test_util.h"

namespace lowbit::ops::testing {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

Tensor iota_f32(Shape s) {
  Tensor t = Tensor::zeros(DType::kF32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(i);
  return t;
}

int64_t ravel(const std::vector<int64_t>& idx, const Shape& shape) {
  int64_t f = 0;
  for (size_t d = 0; d < shape.size(); ++d) f = f * shape[d] + idx[d];
  return f;
}

TEST(TensorOpsTranspose, AllPermutationsMatchReference) {
  const Tensor x = iota_f32({2, 3, 4});
  std::vector<int64_t> perm = {0, 1, 2};
  do {
    const Tensor y = run1("Transpose", {x}, attrs({{"perm", perm}}));
    ASSERT_EQ(y.shape(), (Shape{x.dim(static_cast<int>(perm[0])), x.dim(static_cast<int>(perm[1])), x.dim(static_cast<int>(perm[2]))}));
    for (int64_t i = 0; i < y.numel(); ++i) {
      const auto oi = unravel(i, y.shape());
      std::vector<int64_t> ii(3);
      for (size_t k = 0; k < 3; ++k) ii[static_cast<size_t>(perm[k])] = oi[k];
      ASSERT_EQ(y.data<float>()[i], x.data<float>()[ravel(ii, x.shape())]);
    }
  } while (std::next_permutation(perm.begin(), perm.end()));
  // Default reverses the dims.
  EXPECT_EQ(run1("Transpose", {x}).shape(), (Shape{4, 3, 2}));
}

TEST(TensorOpsTranspose, LargeBlockedAndIntegerDtypes) {
  // Big enough for the blocked path: NCHW → NHWC at 2×67×45×33, int64 and uint8.
  std::mt19937 rng(2);
  const Tensor x = random_int<int64_t>({2, 67, 45, 33}, rng, -1000, 1000);
  const std::vector<int64_t> perm = {0, 2, 3, 1};
  for (const Tensor& in : {x, run1("Cast", {x}, attrs({{"to", int64_t{2}}}))}) {
    const Tensor y = run1("Transpose", {in}, attrs({{"perm", perm}}));
    ASSERT_EQ(y.shape(), (Shape{2, 45, 33, 67}));
    for (int64_t i = 0; i < y.numel(); ++i) {
      const auto oi = unravel(i, y.shape());
      const std::vector<int64_t> ii = {oi[0], oi[3], oi[1], oi[2]};
      ASSERT_EQ(y.at_i64(i), in.at_i64(ravel(ii, in.shape()))) << i;
    }
  }
  const Tensor m = random_f32({300, 200}, rng);
  const Tensor t = run1("Transpose", {m});
  for (int64_t r = 0; r < 200; ++r)
    for (int64_t c = 0; c < 300; ++c) ASSERT_EQ(t.data<float>()[r * 300 + c], m.data<float>()[c * 200 + r]);
}

TEST(TensorOpsTranspose, Errors) {
  const Tensor x = iota_f32({2, 3});
  EXPECT_NE(run_error("Transpose", {x}, attrs({{"perm", std::vector<int64_t>{0, 0}}})).find("permutation"),
            std::string::npos);
  EXPECT_NE(run_error("Transpose", {x}, attrs({{"perm", std::vector<int64_t>{0, 1, 2}}})).find("rank"),
            std::string::npos);
  EXPECT_FALSE(run_op("Transpose", {x}, attrs({{"perm", std::vector<int64_t>{0, 2}}})).is_ok());
}

TEST(TensorOpsConcat, AxesAndDtypes) {
  const Tensor a = f32({2, 2}, {1, 2, 3, 4}), b = f32({2, 1}, {5, 6});
  expect_close(run1("Concat", {a, b}, attrs({{"axis", int64_t{1}}})), f32({2, 3}, {1, 2, 5, 3, 4, 6}));
  expect_close(run1("Concat", {a, b}, attrs({{"axis", int64_t{-1}}})), f32({2, 3}, {1, 2, 5, 3, 4, 6}));
  expect_close(run1("Concat", {a, a}, attrs({{"axis", int64_t{0}}})), f32({4, 2}, {1, 2, 3, 4, 1, 2, 3, 4}));
  EXPECT_EQ(values<int64_t>(run1("Concat", {i64_list({64}), i64_list({-1}), i64_list({})}, attrs({{"axis", int64_t{0}}}))),
            (std::vector<int64_t>{64, -1}));
  // Random 3-D against a reference along the middle axis.
  std::mt19937 rng(4);
  const Tensor p = random_f32({3, 2, 5}, rng), q = random_f32({3, 4, 5}, rng);
  const Tensor y = run1("Concat", {p, q}, attrs({{"axis", int64_t{1}}}));
  ASSERT_EQ(y.shape(), (Shape{3, 6, 5}));
  for (int64_t i = 0; i < y.numel(); ++i) {
    auto idx = unravel(i, y.shape());
    float want;
    if (idx[1] < 2) {
      want = p.data<float>()[ravel(idx, p.shape())];
    } else {
      idx[1] -= 2;
      want = q.data<float>()[ravel(idx, q.shape())];
    }
    ASSERT_EQ(y.data<float>()[i], want);
  }
}

TEST(TensorOpsConcat, Errors) {
  const Tensor a = f32({2, 2}, {1, 2, 3, 4});
  EXPECT_NE(run_error("Concat", {a, f32({2}, {1, 2})}, attrs({{"axis", int64_t{0}}})).find("rank"), std::string::npos);
  EXPECT_NE(run_error("Concat", {a, f32({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9})}, attrs({{"axis", int64_t{0}}})).find("differ"),
            std::string::npos);
  EXPECT_NE(run_error("Concat", {a, a}, attrs({{"axis", int64_t{2}}})).find("out of range"), std::string::npos);
  EXPECT_NE(run_error("Concat", {a, a}).find("axis"), std::string::npos);
  EXPECT_NE(run_error("Concat", {a, i64({2, 2}, {1, 2, 3, 4})}, attrs({{"axis", int64_t{0}}})).find("dtypes"),
            std::string::npos);
  EXPECT_FALSE(infer_only("Concat", {info(DType::kF32, Shape{2, 2}), info(DType::kF32, Shape{2})},
                          attrs({{"axis", int64_t{0}}}))
                   .is_ok());
  auto r = infer_only("Concat", {info(DType::kF32, Shape{-1, 2}), info(DType::kF32, Shape{3, 5})},
                      attrs({{"axis", int64_t{1}}}));
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*(*r)[0].shape, (Shape{3, 7}));
}

TEST(TensorOpsSplit, OpsetForms) {
  const Tensor x = f32({2, 6}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  auto eq = run_ok("Split", {x}, attrs({{"axis", int64_t{1}}}), 3);
  expect_close(eq[0], f32({2, 2}, {0, 1, 6, 7}));
  expect_close(eq[2], f32({2, 2}, {4, 5, 10, 11}));
  auto var = run_ok("Split", {x, i64_list({2, 4})}, attrs({{"axis", int64_t{-1}}}), 2);
  expect_close(var[0], f32({2, 2}, {0, 1, 6, 7}));
  expect_close(var[1], f32({2, 4}, {2, 3, 4, 5, 8, 9, 10, 11}));
  auto old = run_ok("Split", {x}, attrs({{"axis", int64_t{1}}, {"split", std::vector<int64_t>{1, 5}}}), 2, 11);
  expect_close(old[0], f32({2, 1}, {0, 6}));
  auto rows = run_ok("Split", {x}, {}, 2);
  expect_close(rows[1], f32({1, 6}, {6, 7, 8, 9, 10, 11}));
  auto zeros = run_ok("Split", {Tensor::zeros(DType::kF32, {0}), i64_list({0, 0, 0})}, {}, 3);
  EXPECT_EQ(zeros[2].shape(), (Shape{0}));
}

TEST(TensorOpsSplit, Errors) {
  const Tensor x = f32({2, 6}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
  EXPECT_NE(run_error("Split", {x}, attrs({{"axis", int64_t{1}}}), 4).find("equal parts"), std::string::npos);
  // Opset 18 allows a smaller last part: 5 into 3 is 2, 2, 1; 6 into 4 (2, 2, 2, 0) stays an error.
  auto uneven = run_ok("Split", {f32({5}, {0, 1, 2, 3, 4})}, attrs({{"num_outputs", int64_t{3}}}), 3, 18);
  expect_close(uneven[2], f32({1}, {4}));
  EXPECT_FALSE(run_op("Split", {x}, attrs({{"axis", int64_t{1}}}), 4, 18).is_ok());
  EXPECT_NE(run_error("Split", {x, i64_list({2, 3})}, attrs({{"axis", int64_t{1}}}), 2).find("sum to"), std::string::npos);
  EXPECT_NE(run_error("Split", {x, i64_list({2, 4})}, attrs({{"axis", int64_t{1}}}), 3).find("sizes for"), std::string::npos);
  EXPECT_NE(run_error("Split", {x, i64_list({-1, 7})}, attrs({{"axis", int64_t{1}}}), 2).find("negative"), std::string::npos);
  EXPECT_NE(run_error("Split", {x}, attrs({{"axis", int64_t{2}}}), 2).find("out of range"), std::string::npos);
}

// Naive slice reference for one axis list.
Tensor naive_slice(const Tensor& x, const std::vector<int64_t>& starts, const std::vector<int64_t>& ends,
                   const std::vector<int64_t>& axes, const std::vector<int64_t>& steps) {
  std::vector<std::vector<int64_t>> picks(x.shape().size());
  for (size_t d = 0; d < picks.size(); ++d)
    for (int64_t i = 0; i < x.shape()[d]; ++i) picks[d].push_back(i);
  for (size_t k = 0; k < axes.size(); ++k) {
    const int64_t n = x.dim(static_cast<int>(axes[k]));
    int64_t s = starts[k] < 0 ? starts[k] + n : starts[k], e = ends[k] < 0 ? ends[k] + n : ends[k];
    std::vector<int64_t> p;
    if (steps[k] > 0) {
      s = std::clamp<int64_t>(s, 0, n);
      e = std::clamp<int64_t>(e, 0, n);
      for (int64_t i = s; i < e;) {
        p.push_back(i);
        if (e - i <= steps[k]) break;  // the next step would pass the end (and may overflow)
        i += steps[k];
      }
    } else {
      s = std::clamp<int64_t>(s, 0, n - 1);
      e = std::clamp<int64_t>(e, -1, n - 1);
      const uint64_t mag = uint64_t{0} - static_cast<uint64_t>(steps[k]);
      for (int64_t i = s; i > e;) {
        p.push_back(i);
        if (static_cast<uint64_t>(i - e) <= mag) break;
        i -= static_cast<int64_t>(mag);
      }
    }
    picks[static_cast<size_t>(axes[k])] = p;
  }
  Shape out;
  for (const auto& p : picks) out.push_back(static_cast<int64_t>(p.size()));
  Tensor y = Tensor::zeros(DType::kF32, out);
  for (int64_t i = 0; i < y.numel(); ++i) {
    auto idx = unravel(i, out);
    for (size_t d = 0; d < idx.size(); ++d) idx[d] = picks[d][static_cast<size_t>(idx[d])];
    y.data<float>()[i] = x.data<float>()[ravel(idx, x.shape())];
  }
  return y;
}

TEST(TensorOpsSlice, MatchesNumpyRules) {
  const Tensor x = iota_f32({20, 10, 5});
  struct Case {
    std::vector<int64_t> starts, ends, axes, steps;
  };
  const Case cases[] = {
      {{0, 0}, {3, 10}, {0, 1}, {1, 1}},
      {{1}, {1000}, {1}, {1}},
      {{0}, {-1}, {1}, {1}},
      {{20, 10, 4}, {0, 0, 1}, {0, 1, 2}, {-1, -3, -2}},
      {{1000}, {1000}, {1}, {1}},
      {{-1}, {kMin}, {1}, {-1}},           // whole axis reversed
      {{0}, {kMax}, {2}, {3}},
      {{2}, {kMax}, {-1}, {kMax}},         // huge step: one element
      {{9}, {0}, {1}, {kMin}},             // INT64_MIN step: one element
      {{-100}, {100}, {0}, {7}},
      {{5}, {2}, {0}, {1}},                // empty
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(shape_str(c.starts) + shape_str(c.ends) + shape_str(c.axes) + shape_str(c.steps));
    const Tensor y = run1("Slice", {x, i64_list(c.starts), i64_list(c.ends), i64_list(c.axes), i64_list(c.steps)});
    std::vector<int64_t> axes = c.axes;
    for (int64_t& a : axes) a = a < 0 ? a + 3 : a;
    expect_close(y, naive_slice(x, c.starts, c.ends, axes, c.steps));
  }
}

TEST(TensorOpsSlice, OptionalInputsAndOpsetForms) {
  const Tensor x = iota_f32({20, 10, 5});
  EXPECT_EQ(run1("Slice", {x, i64_list({0, 0, 3}), i64_list({20, 10, 4})}).shape(), (Shape{20, 10, 1}));
  EXPECT_EQ(run1("Slice", {x, i64_list({0, 0, 3}), i64_list({20, 10, 4}), i64_list({0, -2, -1})}).shape(),
            (Shape{20, 10, 1}));
  // int32 starts/ends
  EXPECT_EQ(run1("Slice", {x, i32({1}, {2}), i32({1}, {5})}).shape(), (Shape{3, 10, 5}));
  // Opset 9: attributes.
  const Tensor y = run1("Slice", {x}, attrs({{"starts", std::vector<int64_t>{1, 0}}, {"ends", std::vector<int64_t>{2, 3}},
                                            {"axes", std::vector<int64_t>{0, 2}}}), 9);
  expect_close(y, naive_slice(x, {1, 0}, {2, 3}, {0, 2}, {1, 1}));
  // int64 data
  EXPECT_EQ(values<int64_t>(run1("Slice", {i64_list({1, 2, 3, 4}), i64_list({-1}), i64_list({kMin}), i64_list({0}),
                                           i64_list({-2})})),
            (std::vector<int64_t>{4, 2}));
}

TEST(TensorOpsSlice, Errors) {
  const Tensor x = iota_f32({4, 4});
  EXPECT_NE(run_error("Slice", {x, i64_list({0}), i64_list({2}), i64_list({0}), i64_list({0})}).find("step"),
            std::string::npos);
  EXPECT_NE(run_error("Slice", {x, i64_list({0}), i64_list({2}), i64_list({2})}).find("out of range"), std::string::npos);
  EXPECT_NE(run_error("Slice", {x, i64_list({0, 0}), i64_list({2})}).find("ends"), std::string::npos);
  EXPECT_NE(run_error("Slice", {x, i64_list({0, 0}), i64_list({2, 2}), i64_list({1, -1})}).find("more than once"),
            std::string::npos);
  EXPECT_FALSE(run_op("Slice", {x, f32({1}, {0}), i64_list({2})}).is_ok());
  EXPECT_FALSE(run_op("Slice", {x, i64_list({0}), i64_list({2})}, {}, 1, 9).is_ok());  // opset 9 needs attributes
}

TEST(TensorOpsSlice, InferWithConstants) {
  const Tensor s = i64_list({1}), e = i64_list({kMax}), a = i64_list({1});
  auto r = infer_only("Slice", {info(DType::kF32, Shape{-1, 10}), const_info(s), const_info(e), const_info(a)});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(*(*r)[0].shape, (Shape{-1, 9}));
  auto u = infer_only("Slice", {info(DType::kF32, Shape{4, 10}), info(DType::kI64, Shape{1}), const_info(e)});
  ASSERT_TRUE(u.is_ok());
  EXPECT_EQ(*(*u)[0].shape, (Shape{-1, -1}));
}

TEST(TensorOpsGather, AxesAndNegativeIndices) {
  const Tensor x = iota_f32({5, 4, 3});
  const Tensor idx = i64_list({0, -1, 3});
  for (int64_t axis : {0, 1, -1, -3}) {
    const int64_t a = axis < 0 ? axis + 3 : axis;
    if (a == 2) continue;  // index 3 out of range for dim 3; tested below
    const Tensor y = run1("Gather", {x, idx}, attrs({{"axis", axis}}));
    Shape want_shape = x.shape();
    want_shape[static_cast<size_t>(a)] = 3;
    ASSERT_EQ(y.shape(), want_shape);
    for (int64_t i = 0; i < y.numel(); ++i) {
      auto oi = unravel(i, y.shape());
      int64_t v = idx.data<int64_t>()[oi[static_cast<size_t>(a)]];
      oi[static_cast<size_t>(a)] = v < 0 ? v + x.dim(static_cast<int>(a)) : v;
      ASSERT_EQ(y.data<float>()[i], x.data<float>()[ravel(oi, x.shape())]);
    }
  }
  // 2-D indices, int32 indices, scalar index (drops the axis).
  EXPECT_EQ(run1("Gather", {x, i64({1, 2}, {0, 2})}, attrs({{"axis", int64_t{1}}})).shape(), (Shape{5, 1, 2, 3}));
  expect_close(run1("Gather", {f32({3}, {10, 20, 30}), i32({2}, {2, -3})}), f32({2}, {30, 10}));
  EXPECT_EQ(values<int64_t>(run1("Gather", {i64_list({64, 3, 32}), Tensor::scalar<int64_t>(0)})),
            (std::vector<int64_t>{64}));
  EXPECT_EQ(run1("Gather", {i64_list({64, 3, 32}), Tensor::scalar<int64_t>(0)}).shape(), Shape{});
}

TEST(TensorOpsGather, Errors) {
  const Tensor x = iota_f32({5, 4});
  EXPECT_NE(run_error("Gather", {x, i64_list({5})}).find("out of range"), std::string::npos);
  EXPECT_NE(run_error("Gather", {x, i64_list({-6})}).find("out of range"), std::string::npos);
  EXPECT_NE(run_error("Gather", {x, f32({1}, {0})}).find("int"), std::string::npos);
  EXPECT_NE(run_error("Gather", {x, i64_list({0})}, attrs({{"axis", int64_t{2}}})).find("out of range"),
            std::string::npos);
}

TEST(TensorOpsExpand, BidirectionalBroadcast) {
  const Tensor x = f32({3, 1}, {1, 2, 3});
  expect_close(run1("Expand", {x, i64_list({2, 1, 6})}), [] {
    std::vector<float> v;
    for (int r = 0; r < 2; ++r)
      for (float e : {1.f, 2.f, 3.f})
        for (int c = 0; c < 6; ++c) v.push_back(e);
    return f32({2, 3, 6}, v);
  }());
  expect_close(run1("Expand", {x, i64_list({3, 4})}), f32({3, 4}, {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}));
  // A 1 in the target keeps the input's dim.
  EXPECT_EQ(run1("Expand", {x, i64_list({1, 1})}).shape(), (Shape{3, 1}));
  EXPECT_EQ(values<bool>(run1("Expand", {bools({}, {true}), i64_list({2})})), (std::vector<bool>{true, true}));
  EXPECT_NE(run_error("Expand", {x, i64_list({2, 2})}).find("broadcast"), std::string::npos);
  EXPECT_NE(run_error("Expand", {x, i64_list({-1, 1})}).find("negative"), std::string::npos);
}

TEST(TensorOpsTile, MatchesReference) {
  std::mt19937 rng(9);
  const Tensor x = random_f32({2, 3, 4}, rng);
  const std::vector<int64_t> reps = {2, 1, 3};
  const Tensor y = run1("Tile", {x, i64_list(reps)});
  ASSERT_EQ(y.shape(), (Shape{4, 3, 12}));
  for (int64_t i = 0; i < y.numel(); ++i) {
    auto idx = unravel(i, y.shape());
    for (size_t d = 0; d < 3; ++d) idx[d] %= x.shape()[d];
    ASSERT_EQ(y.data<float>()[i], x.data<float>()[ravel(idx, x.shape())]);
  }
  expect_close(run1("Tile", {f32({2, 2}, {0, 1, 2, 3}), i64_list({2, 2})}),
               f32({4, 4}, {0, 1, 0, 1, 2, 3, 2, 3, 0, 1, 0, 1, 2, 3, 2, 3}));
  EXPECT_EQ(run1("Tile", {x, i64_list({0, 1, 1})}).shape(), (Shape{0, 3, 4}));
  EXPECT_NE(run_error("Tile", {x, i64_list({2, 2})}).find("repeats"), std::string::npos);
  EXPECT_NE(run_error("Tile", {x, i64_list({1, -1, 1})}).find("negative"), std::string::npos);
}

}  // namespace
}  // namespace lowbit::ops::testing
