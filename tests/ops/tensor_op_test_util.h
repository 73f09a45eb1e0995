// tensor_op_test_util.h: helpers for the tensor-op tests — building tensors and attributes,
// running one op (through op_test_util.h's run_op), naive index arithmetic for references,
// and running only `infer` with constant inputs.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "ops/op.h"
#include "ops/op_test_util.h"

namespace lowbit::ops::testing {

inline Tensor f32(Shape s, std::vector<float> v) { return Tensor::from_vector<float>(std::move(s), v); }
inline Tensor i64(Shape s, std::vector<int64_t> v) { return Tensor::from_vector<int64_t>(std::move(s), v); }
inline Tensor i32(Shape s, std::vector<int32_t> v) { return Tensor::from_vector<int32_t>(std::move(s), v); }
// Bool tensors (Tensor::from_vector<bool> cannot work: std::vector<bool> has no data()).
inline Tensor bools(Shape s, std::vector<bool> v) {
  Tensor t = Tensor::zeros(DType::kBool, std::move(s));
  for (size_t i = 0; i < v.size(); ++i) t.data<bool>()[i] = v[i];
  return t;
}
inline Tensor i64_list(std::vector<int64_t> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return i64({n}, std::move(v));
}

template <typename T>
std::vector<T> values(const Tensor& t) {
  const T* p = t.data<T>();
  return std::vector<T>(p, p + t.numel());
}

inline Tensor random_f32(Shape s, std::mt19937& rng, float lo = -3.f, float hi = 3.f) {
  Tensor t = Tensor::zeros(DType::kF32, std::move(s));
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

template <typename T>
Tensor random_int(Shape s, std::mt19937& rng, int64_t lo, int64_t hi) {
  Tensor t = Tensor::zeros(DTypeOf<T>::value, std::move(s));
  std::uniform_int_distribution<int64_t> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<T>()[i] = static_cast<T>(d(rng));
  return t;
}

// Attributes from a list of (name, value) pairs.
inline ir::Attributes attrs(std::initializer_list<std::pair<std::string, ir::AttrValue>> list) {
  ir::Attributes a;
  for (const auto& [k, v] : list) a.set(k, v);
  return a;
}

// Runs an op expected to succeed; returns its outputs (empty after a test failure).
inline std::vector<Tensor> run_ok(const std::string& op, const std::vector<Tensor>& in, ir::Attributes a = {},
                                  size_t num_outputs = 1, int64_t opset = 13) {
  Result<std::vector<Tensor>> r = run_op(op, in, std::move(a), num_outputs, opset);
  EXPECT_TRUE(r.is_ok()) << op << ": " << r.status().message();
  if (!r.is_ok()) return std::vector<Tensor>(num_outputs);
  return std::move(r).value();
}

inline Tensor run1(const std::string& op, const std::vector<Tensor>& in, ir::Attributes a = {}, int64_t opset = 13) {
  return run_ok(op, in, std::move(a), 1, opset)[0];
}

// The error message of a run expected to fail ("" and a test failure if it succeeded).
inline std::string run_error(const std::string& op, const std::vector<Tensor>& in, ir::Attributes a = {},
                             size_t num_outputs = 1, int64_t opset = 13) {
  Result<std::vector<Tensor>> r = run_op(op, in, std::move(a), num_outputs, opset);
  EXPECT_FALSE(r.is_ok()) << op << " was expected to fail";
  return r.is_ok() ? std::string() : r.status().message();
}

// Element-wise comparison with an absolute + relative tolerance; NaNs must match NaNs.
inline void expect_close(const Tensor& got, const Tensor& want, float atol = 1e-6f, float rtol = 1e-5f) {
  ASSERT_EQ(got.dtype(), want.dtype());
  ASSERT_EQ(got.shape(), want.shape()) << shape_str(got.shape()) << " vs " << shape_str(want.shape());
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = got.at_f64(i), w = want.at_f64(i);
    if (std::isnan(w)) {
      EXPECT_TRUE(std::isnan(g)) << "at " << i;
      continue;
    }
    ASSERT_NEAR(g, w, atol + rtol * std::fabs(w)) << "at flat index " << i;
  }
}

// Multi-index of flat index i in `shape` (row-major).
inline std::vector<int64_t> unravel(int64_t i, const Shape& shape) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = i % shape[d];
    i /= shape[d];
  }
  return idx;
}

// Flat index in `shape` of the output multi-index `out_idx` read with numpy broadcasting
// (right-aligned, size-1 dims pinned to 0).
inline int64_t broadcast_source(const std::vector<int64_t>& out_idx, const Shape& shape) {
  int64_t flat = 0;
  const size_t off = out_idx.size() - shape.size();
  for (size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + (shape[d] == 1 ? 0 : out_idx[d + off]);
  return flat;
}

// Runs only the op's infer with the given input infos (values may be set); returns the outputs.
inline Result<std::vector<TensorInfo>> infer_only(const std::string& op_type, std::vector<TensorInfo> inputs,
                                                  ir::Attributes a = {}, size_t num_outputs = 1,
                                                  int64_t opset = 13) {
  const OpDef* op = find_op("", op_type);
  if (!op) return Status::errorf("op {} is not registered", op_type);
  ir::Node node;
  node.op_type = op_type;
  node.attrs = std::move(a);
  for (size_t i = 0; i < inputs.size(); ++i) node.inputs.push_back(inputs[i].present ? static_cast<int>(i) : -1);
  for (size_t i = 0; i < num_outputs; ++i) node.outputs.push_back(static_cast<int>(inputs.size() + i));
  InferCtx ic{node, opset, std::move(inputs), std::vector<TensorInfo>(num_outputs)};
  LB_TRY(op->infer(ic));
  return ic.outputs;
}

inline TensorInfo info(std::optional<DType> dtype, std::optional<Shape> shape, const Tensor* value = nullptr) {
  TensorInfo t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.value = value;
  return t;
}
inline TensorInfo const_info(const Tensor& v) { return info(v.dtype(), v.shape(), &v); }

}  // namespace lowbit::ops::testing
