// tensor_ops_hostile_test.cc: extreme shape-like values (0, ±1, INT64_MIN/MAX, 2^40, ...) fed to
// the ops that take them from untrusted models must give a result or an error, never a crash,
// an overflow or an allocation over the tensor size limit (run under the asan-ubsan build to
// catch the first two).
#include <limits>

#include "tensor_op_test_util.h"

namespace lowbit::ops::testing {
namespace {

int64_t wild(std::mt19937& rng) {
  static constexpr int64_t kMax = std::numeric_limits<int64_t>::max(), kMin = std::numeric_limits<int64_t>::min();
  static constexpr int64_t kValues[] = {0, 1, -1, 2, -2, 3, 5, 100, -100, kMax, kMin, kMax - 1, kMin + 1,
                                        int64_t{1} << 40, -(int64_t{1} << 40)};
  return kValues[rng() % std::size(kValues)];
}

Tensor wild_list(std::mt19937& rng, size_t n) {
  std::vector<int64_t> v(n);
  for (int64_t& x : v) x = wild(rng);
  return i64_list(v);
}

TEST(TensorOpsHostile, RunNeverCrashes) {
  std::mt19937 rng(123);
  const Tensor x = random_f32({3, 4, 5}, rng);
  int ok = 0, failed = 0;
  auto note = [&](const Result<std::vector<Tensor>>& r) {
    if (r.is_ok()) {
      for (const Tensor& t : *r) EXPECT_LE(t.nbytes(), max_tensor_bytes());
      ++ok;
    } else {
      EXPECT_FALSE(r.status().message().empty());
      ++failed;
    }
  };
  for (int it = 0; it < 300; ++it) {
    const size_t n = rng() % 4;
    note(run_op("Slice", {x, wild_list(rng, n), wild_list(rng, n), wild_list(rng, n), wild_list(rng, n)}));
    note(run_op("Reshape", {x, wild_list(rng, rng() % 5)}, attrs({{"allowzero", int64_t(rng() % 2)}}), 1, 14));
    note(run_op("Gather", {x, wild_list(rng, n)}, attrs({{"axis", wild(rng)}})));
    note(run_op("Squeeze", {x, wild_list(rng, n)}));
    note(run_op("Unsqueeze", {x, wild_list(rng, n)}));
    note(run_op("Tile", {x, wild_list(rng, 3)}));
    note(run_op("Expand", {x, wild_list(rng, n)}));
    note(run_op("ConstantOfShape", {wild_list(rng, n)}));
    note(run_op("Range", {Tensor::scalar(wild(rng)), Tensor::scalar(wild(rng)), Tensor::scalar(wild(rng))}, {}, 1, 11));
    note(run_op("Split", {x, wild_list(rng, n)}, attrs({{"axis", wild(rng)}}), std::max<size_t>(n, 1)));
    note(run_op("Concat", {x, x}, attrs({{"axis", wild(rng)}})));
    note(run_op("Transpose", {x}, attrs({{"perm", std::vector<int64_t>{wild(rng), wild(rng), wild(rng)}}})));
    note(run_op("Flatten", {x}, attrs({{"axis", wild(rng)}})));
    note(run_op("Softmax", {x}, attrs({{"axis", wild(rng)}}), 1, rng() % 2 ? 11 : 13));
    note(run_op("ReduceSum", {x, wild_list(rng, n)}, attrs({{"keepdims", wild(rng)}})));
    note(run_op("Shape", {x}, attrs({{"start", wild(rng)}, {"end", wild(rng)}}), 1, 15));
    note(run_op("Cast", {x}, attrs({{"to", wild(rng)}})));
    note(run_op("Div", {wild_list(rng, 3), wild_list(rng, 3)}));
    note(run_op("Pow", {wild_list(rng, 3), wild_list(rng, 3)}));
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(failed, 0);
}

TEST(TensorOpsHostile, InferNeverCrashes) {
  std::mt19937 rng(7);
  const char* const kOps[] = {"Reshape", "Slice", "Tile", "Expand", "Squeeze", "Unsqueeze", "ConstantOfShape", "Split"};
  for (int it = 0; it < 2000; ++it) {
    const size_t n = rng() % 4;
    const std::string op = kOps[rng() % std::size(kOps)];
    const Shape xs = {rng() % 2 ? -1 : 3, 4, rng() % 3 ? 5 : -1};  // partly unknown dims
    const Tensor a = wild_list(rng, n), b = wild_list(rng, n), c = wild_list(rng, n), d = wild_list(rng, n);
    std::vector<TensorInfo> in;
    if (op == "ConstantOfShape") {
      in = {const_info(a)};
    } else if (op == "Slice") {
      in = {info(DType::kF32, xs), const_info(a), const_info(b), const_info(c), const_info(d)};
    } else {
      in = {info(DType::kF32, xs), const_info(a)};
    }
    const Result<std::vector<TensorInfo>> r =
        infer_only(op, in, attrs({{"axis", wild(rng)}}), op == "Split" ? std::max<size_t>(n, 1) : 1);
    if (!r.is_ok()) {
      EXPECT_FALSE(r.status().message().empty());
    }
  }
}

}  // namespace
}  // namespace lowbit::ops::testing
