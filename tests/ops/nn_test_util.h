// nn_test_util.h: random tensors, tolerant comparison and naive convolution references
// shared by the nn op tests (tests/ops) and the FP32 kernel tests (tests/kernels).
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <random>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ir/attribute.h"

namespace lowbit::nn_testing {

inline Tensor random_tensor(Shape shape, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t = Tensor::zeros(DType::kF32, std::move(shape));
  std::uniform_real_distribution<float> dist(lo, hi);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(rng);
  return t;
}

inline std::vector<float> random_vector(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& f : v) f = dist(rng);
  return v;
}

// |got − want| <= tol · (1 + |want|) everywhere, and the shapes agree.
inline ::testing::AssertionResult all_close(const Tensor& got, const Shape& want_shape, const std::vector<float>& want,
                                            float tol = 1e-4f) {
  if (got.shape() != want_shape)
    return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << " != " << shape_str(want_shape);
  if (static_cast<size_t>(got.numel()) != want.size())
    return ::testing::AssertionFailure() << "element count " << got.numel() << " != " << want.size();
  const float* g = got.data<float>();
  for (size_t i = 0; i < want.size(); ++i)
    if (!(std::abs(g[i] - want[i]) <= tol * (1.0f + std::abs(want[i]))))
      return ::testing::AssertionFailure() << "element " << i << ": got " << g[i] << ", want " << want[i];
  return ::testing::AssertionSuccess();
}

inline ::testing::AssertionResult all_close(const float* got, const std::vector<float>& want, float tol = 1e-4f) {
  for (size_t i = 0; i < want.size(); ++i)
    if (!(std::abs(got[i] - want[i]) <= tol * (1.0f + std::abs(want[i]))))
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << ", want " << want[i];
  return ::testing::AssertionSuccess();
}

inline ir::Attributes make_attrs(std::initializer_list<std::pair<std::string, ir::AttrValue>> list) {
  ir::Attributes a;
  for (const auto& [name, value] : list) a.set(name, value);
  return a;
}

inline std::vector<int64_t> ints(std::initializer_list<int64_t> v) { return std::vector<int64_t>(v); }

inline std::vector<float> to_vector(const Tensor& t) {
  const float* p = t.data<float>();
  return std::vector<float>(p, p + t.numel());
}

// A convolution problem in three spatial dims (leading 1s for 1-D / 2-D), written out
// independently of the kernels' ConvGeom.
struct RefConv {
  int64_t n = 1, c = 1, m = 1, groups = 1;
  std::array<int64_t, 3> in{1, 1, 1}, out{1, 1, 1}, k{1, 1, 1}, s{1, 1, 1}, d{1, 1, 1}, p{0, 0, 0};
};

// y[n,m,o] = b[m] + Σ_{c,k} w[m,c,k] · x[n, g·Cg + c, o·s − p + k·d] (zero outside): 8 loops.
inline std::vector<float> ref_conv(const RefConv& r, const float* x, const float* w, const float* b) {
  const int64_t cg = r.c / r.groups, mg = r.m / r.groups;
  const int64_t in_sz = r.in[0] * r.in[1] * r.in[2], out_sz = r.out[0] * r.out[1] * r.out[2];
  const int64_t k_sz = r.k[0] * r.k[1] * r.k[2];
  std::vector<float> y(static_cast<size_t>(r.n * r.m * out_sz));
  for (int64_t n = 0; n < r.n; ++n)
    for (int64_t m = 0; m < r.m; ++m) {
      const int64_t g = m / mg;
      for (int64_t o0 = 0; o0 < r.out[0]; ++o0)
        for (int64_t o1 = 0; o1 < r.out[1]; ++o1)
          for (int64_t o2 = 0; o2 < r.out[2]; ++o2) {
            double acc = b ? b[m] : 0.0;
            for (int64_t c = 0; c < cg; ++c)
              for (int64_t k0 = 0; k0 < r.k[0]; ++k0)
                for (int64_t k1 = 0; k1 < r.k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < r.k[2]; ++k2) {
                    const int64_t i0 = o0 * r.s[0] - r.p[0] + k0 * r.d[0];
                    const int64_t i1 = o1 * r.s[1] - r.p[1] + k1 * r.d[1];
                    const int64_t i2 = o2 * r.s[2] - r.p[2] + k2 * r.d[2];
                    if (i0 < 0 || i0 >= r.in[0] || i1 < 0 || i1 >= r.in[1] || i2 < 0 || i2 >= r.in[2]) continue;
                    const float xv = x[(n * r.c + g * cg + c) * in_sz + (i0 * r.in[1] + i1) * r.in[2] + i2];
                    const float wv = w[(m * cg + c) * k_sz + (k0 * r.k[1] + k1) * r.k[2] + k2];
                    acc += static_cast<double>(xv) * wv;
                  }
            y[static_cast<size_t>((n * r.m + m) * out_sz + (o0 * r.out[1] + o1) * r.out[2] + o2)] =
                static_cast<float>(acc);
          }
    }
  return y;
}

// Transposed: x [n, c, in], w [c, m/groups, k], y [n, m, out];
// y[n, g·Mg + j, i·s − p + k·d] += x[n, c, i] · w[c, j, k] for c in group g.
inline std::vector<float> ref_conv_transpose(const RefConv& r, const float* x, const float* w, const float* b) {
  const int64_t cg = r.c / r.groups, mg = r.m / r.groups;
  const int64_t in_sz = r.in[0] * r.in[1] * r.in[2], out_sz = r.out[0] * r.out[1] * r.out[2];
  const int64_t k_sz = r.k[0] * r.k[1] * r.k[2];
  std::vector<double> acc(static_cast<size_t>(r.n * r.m * out_sz), 0.0);
  for (int64_t n = 0; n < r.n; ++n)
    for (int64_t c = 0; c < r.c; ++c) {
      const int64_t g = c / cg;
      for (int64_t i0 = 0; i0 < r.in[0]; ++i0)
        for (int64_t i1 = 0; i1 < r.in[1]; ++i1)
          for (int64_t i2 = 0; i2 < r.in[2]; ++i2) {
            const float xv = x[(n * r.c + c) * in_sz + (i0 * r.in[1] + i1) * r.in[2] + i2];
            for (int64_t j = 0; j < mg; ++j)
              for (int64_t k0 = 0; k0 < r.k[0]; ++k0)
                for (int64_t k1 = 0; k1 < r.k[1]; ++k1)
                  for (int64_t k2 = 0; k2 < r.k[2]; ++k2) {
                    const int64_t o0 = i0 * r.s[0] - r.p[0] + k0 * r.d[0];
                    const int64_t o1 = i1 * r.s[1] - r.p[1] + k1 * r.d[1];
                    const int64_t o2 = i2 * r.s[2] - r.p[2] + k2 * r.d[2];
                    if (o0 < 0 || o0 >= r.out[0] || o1 < 0 || o1 >= r.out[1] || o2 < 0 || o2 >= r.out[2]) continue;
                    const float wv = w[(c * mg + j) * k_sz + (k0 * r.k[1] + k1) * r.k[2] + k2];
                    acc[static_cast<size_t>((n * r.m + g * mg + j) * out_sz + (o0 * r.out[1] + o1) * r.out[2] + o2)] +=
                        static_cast<double>(xv) * wv;
                  }
          }
    }
  std::vector<float> y(acc.size());
  for (int64_t n = 0; n < r.n; ++n)
    for (int64_t m = 0; m < r.m; ++m)
      for (int64_t o = 0; o < out_sz; ++o) {
        const size_t i = static_cast<size_t>((n * r.m + m) * out_sz + o);
        y[i] = static_cast<float>(acc[i] + (b ? b[m] : 0.0));
      }
  return y;
}

}  // namespace lowbit::nn_testing
