// integer_linear.cc: scale / zero-point reading and the exact int32 conv and matmul cores of
// the integer ONNX ops (see integer_linear.h).
//
// Both cores widen the operands minus their zero points to int16 once (weights / B up front,
// activations in per-task blocks) and take int16 · int16 → int32 dot products, which the
// compiler turns into pmaddwd on any x86-64: plain loops, not a tuned kernel, but fast enough
// for running QOperator models as graphs and for conformance.
#include "ops/integer_linear.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/ranges.h>

namespace lowbit::ops {
namespace {

// Products per int32 partial sum: 32768 · 255 · 255 < 2^31 (integer_linear.h).
constexpr int64_t kDotChunk = 32768;

// Σ a[k] · b[k] over k < n, exact while it fits int32, else modulo 2^32.
inline int32_t dot_s16(const int16_t* __restrict a, const int16_t* __restrict b, int64_t n) {
  uint32_t total = 0;
  for (int64_t k0 = 0; k0 < n; k0 += kDotChunk) {
    const int64_t k1 = std::min(n, k0 + kDotChunk);
    int32_t s = 0;
    for (int64_t k = k0; k < k1; ++k) s += static_cast<int32_t>(a[k]) * static_cast<int32_t>(b[k]);
    total += static_cast<uint32_t>(s);
  }
  return static_cast<int32_t>(total);
}

// Error unless `count` int16 values are affordable (the widened copies of w / B and the
// per-task blocks; each is bounded by a tensor that exists, but a factor of two can still
// cross the ceiling).
Status check_scratch(std::string_view op, int64_t count) {
  if (count < 0 || static_cast<uint64_t>(count) > max_tensor_bytes() / sizeof(int16_t))
    return Status::errorf("{}: scratch of {} int16 values exceeds the tensor size limit", op, count);
  return Status::ok();
}

template <typename T>
void widen_minus(const T* src, int64_t n, int32_t zero, int16_t* dst) {
  for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<int16_t>(static_cast<int32_t>(src[i]) - zero);
}

template <typename F>
void visit_int8(DType t, F&& f) {
  if (t == DType::kI8) {
    f(int8_t{});
  } else {
    f(uint8_t{});
  }
}

}  // namespace

bool is_single(const Shape& s) { return s.size() <= 1 && numel(s) == 1; }

Result<std::vector<float>> read_scale(std::string_view op, std::string_view what, const Tensor& s, int64_t n) {
  if (s.dtype() != DType::kF32) return Status::errorf("{}: {} must be float32, got {}", op, what, dtype_name(s.dtype()));
  if (!is_single(s.shape()) && !(n >= 0 && s.rank() == 1 && s.dim(0) == n)) {
    if (n < 0) return Status::errorf("{}: {} has shape {}, expected a scalar", op, what, shape_str(s.shape()));
    return Status::errorf("{}: {} has shape {}, expected a scalar or [{}] (one per output channel)", op, what,
                          shape_str(s.shape()), n);
  }
  std::vector<float> v(s.data<float>(), s.data<float>() + s.numel());
  for (float x : v)
    if (!(x > 0.0f) || !std::isfinite(x)) return Status::errorf("{}: {} {} is not a positive finite number", op, what, x);
  return v;
}

Result<std::vector<int32_t>> read_zero_point(std::string_view op, std::string_view what, const Tensor* z, DType data,
                                             int64_t n) {
  if (!z) return std::vector<int32_t>{0};
  if (z->dtype() != data)
    return Status::errorf("{}: {} is {}, its tensor is {}", op, what, dtype_name(z->dtype()), dtype_name(data));
  if (!is_single(z->shape()) && !(n >= 0 && z->rank() == 1 && z->dim(0) == n)) {
    if (n < 0) return Status::errorf("{}: {} has shape {}, expected a scalar", op, what, shape_str(z->shape()));
    return Status::errorf("{}: {} has shape {}, expected a scalar or [{}] (one per output channel)", op, what,
                          shape_str(z->shape()), n);
  }
  std::vector<int32_t> v(static_cast<size_t>(z->numel()));
  for (int64_t i = 0; i < z->numel(); ++i) v[static_cast<size_t>(i)] = static_cast<int32_t>(z->at_i64(i));
  return v;
}

Status check_zero_dtype(std::string_view op, const InferCtx& c, size_t zi, size_t di, std::string_view what) {
  if (!c.has_input(zi) || !c.has_input(di) || !c.inputs[zi].dtype || !c.inputs[di].dtype) return Status::ok();
  if (*c.inputs[zi].dtype != *c.inputs[di].dtype)
    return Status::errorf("{}: {} is {}, its tensor is {}", op, what, dtype_name(*c.inputs[zi].dtype),
                          dtype_name(*c.inputs[di].dtype));
  return Status::ok();
}

Result<std::optional<DType>> infer_qlinear_dtype(std::string_view op, const InferCtx& c, size_t yi) {
  if (!c.has_input(yi) || !c.inputs[yi].dtype) return std::optional<DType>();
  LB_TRY(check_dtype(op, "y_zero_point", *c.inputs[yi].dtype, kInt8DTypes));
  return std::optional<DType>(*c.inputs[yi].dtype);
}

Status check_multiplier(std::string_view op, float m) {
  if (!std::isfinite(m))
    return Status::errorf("{}: the requantization multiplier (input scale · weight scale / output scale) overflows float32",
                          op);
  return Status::ok();
}

// --- Convolution ------------------------------------------------------------------------

Result<ConvSetup> int_conv_setup(std::string_view op, const ir::Attributes& a, const Shape& x, const Shape& w) {
  Result<ConvSetup> s = setup_conv(a, x, w);
  if (!s.is_ok()) return s.status().with_context(op);
  return s;
}

Result<Shape> infer_int_conv(std::string_view op, const InferCtx& c, size_t xi, size_t wi) {
  const TensorInfo& X = c.inputs[xi];
  const TensorInfo& W = c.inputs[wi];
  if (X.dtype) LB_TRY(check_dtype(op, "input x", *X.dtype, kInt8DTypes));
  if (W.dtype) LB_TRY(check_dtype(op, "weight w", *W.dtype, kInt8DTypes));
  if (!X.shape && !W.shape) return Shape{};
  const size_t rank = X.shape ? X.shape->size() : W.shape->size();
  const Shape x = X.shape ? *X.shape : Shape(rank, -1), w = W.shape ? *W.shape : Shape(rank, -1);
  LB_ASSIGN_OR_RETURN(ConvSetup s, int_conv_setup(op, c.attrs(), x, w));
  return s.out;
}

namespace {

// One image and group: col[(p − p0)·K + (c·Ks + k)] = x[c][src(p, k)] − x_zero, 0 for padding
// (the padded real value is 0, so its difference is 0), for output positions [p0, p1).
template <typename T>
void im2col_s16(const kernels::ConvGeom& g, const T* x, int64_t channels, int32_t x_zero, int64_t p0, int64_t p1,
                int16_t* col) {
  const int64_t OH = g.out[1], OW = g.out[2];
  const int64_t ID = g.in[0], IH = g.in[1], IW = g.in[2], I = g.in_size();
  for (int64_t p = p0; p < p1; ++p) {
    const int64_t od = p / (OH * OW), oh = p / OW % OH, ow = p % OW;
    int16_t* row = col + (p - p0) * channels * g.kernel_size();
    for (int64_t c = 0; c < channels; ++c) {
      const T* xc = x + c * I;
      for (int64_t kd = 0; kd < g.kernel[0]; ++kd) {
        const int64_t id = od * g.stride[0] - g.pad[0] + kd * g.dilation[0];
        const bool in_d = id >= 0 && id < ID;
        for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
          const int64_t ih = oh * g.stride[1] - g.pad[1] + kh * g.dilation[1];
          const bool in_dh = in_d && ih >= 0 && ih < IH;
          const int64_t roff = (id * IH + ih) * IW;
          for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
            const int64_t iw = ow * g.stride[2] - g.pad[2] + kw * g.dilation[2];
            *row++ = in_dh && iw >= 0 && iw < IW ? static_cast<int16_t>(static_cast<int32_t>(xc[roff + iw]) - x_zero) : 0;
          }
        }
      }
    }
  }
}

}  // namespace

Result<Tensor> conv_integer(std::string_view op, const Tensor& x, int32_t x_zero, const Tensor& w,
                            const std::vector<int32_t>& w_zero, const int32_t* bias, const ConvSetup& s,
                            ThreadPool& pool) {
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(DType::kI32, s.out));
  if (y.numel() == 0) return y;
  const int64_t M = w.dim(0), G = s.group;
  const kernels::ConvGeom g = conv_geom(x.shape(), M, G, s.plan);
  const int64_t Cg = g.in_channels / G, Mg = M / G, K = Cg * g.kernel_size(), P = g.out_size();
  LB_CHECK(w.numel() == M * K, "conv_integer: weight shape disagrees with the setup");
  // Weights minus their zero points, [M][K].
  LB_TRY(check_scratch(op, w.numel()));
  std::vector<int16_t> wq(static_cast<size_t>(w.numel()));
  visit_int8(w.dtype(), [&](auto t) {
    using T = decltype(t);
    for (int64_t m = 0; m < M; ++m) widen_minus(w.data<T>() + m * K, K, param_at(w_zero, m), wq.data() + m * K);
  });
  // Output positions per task: a block of columns of ~128 KiB, so a weight row meets it in cache.
  const int64_t pb = std::clamp<int64_t>(65536 / std::max<int64_t>(K, 1), 16, 256);
  const int64_t blocks = (P + pb - 1) / pb;
  LB_TRY(check_scratch(op, std::min(pb, P) * K));
  int32_t* yp = y.data<int32_t>();
  visit_int8(x.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* xp = x.data<T>();
    pool.parallel_for(g.batch * G * blocks, 1, [&](int64_t t0, int64_t t1) {
      std::vector<int16_t> col(static_cast<size_t>(std::min(pb, P) * K));
      for (int64_t task = t0; task < t1; ++task) {
        const int64_t n = task / (G * blocks), gi = task / blocks % G, p0 = task % blocks * pb;
        const int64_t p1 = std::min(P, p0 + pb);
        im2col_s16(g, xp + (n * g.in_channels + gi * Cg) * g.in_size(), Cg, x_zero, p0, p1, col.data());
        for (int64_t m = gi * Mg; m < (gi + 1) * Mg; ++m) {
          const int16_t* wr = wq.data() + m * K;
          int32_t* yr = yp + (n * M + m) * P;
          const uint32_t b = bias ? static_cast<uint32_t>(bias[m]) : 0u;
          for (int64_t p = p0; p < p1; ++p)  // the bias adds modulo 2^32 like the sum
            yr[p] = static_cast<int32_t>(static_cast<uint32_t>(dot_s16(wr, col.data() + (p - p0) * K, K)) + b);
        }
      }
    });
  });
  return y;
}

// --- Matrix multiplication --------------------------------------------------------------

Result<MatMulPlan> plan_int_matmul(std::string_view op, const Shape& a, const Shape& b) {
  Result<MatMulPlan> p = plan_matmul(a, b);
  if (!p.is_ok()) return p.status().with_context(op);
  return p;
}

namespace {

// Where a per-row (A) / per-column (B) parameter of shape `ps` reads its values for an
// operand of shape `shape` (see read_mat_scale); v is left empty.
template <typename T>
Result<MatParam<T>> mat_param_layout(std::string_view op, std::string_view what, const Shape& ps, const Shape& shape,
                                     bool of_a, bool allow_nd) {
  MatParam<T> p;
  const size_t r = shape.size();
  const int64_t count = r == 1 ? 1 : of_a ? shape[r - 2] : shape[r - 1];
  if (is_single(ps)) return p;
  if (ps.size() == 1 && ps[0] == count) {
    p.stride = 1;
    return p;
  }
  Shape nd = shape;
  if (r >= 2) nd[of_a ? r - 1 : r - 2] = 1;
  if (allow_nd && r >= 2 && ps == nd) {
    p.stride = 1;
    p.batch_stride = count;
    return p;
  }
  const char* per = of_a ? "one per row of A" : "one per column of B";
  if (allow_nd && r >= 2)
    return Status::errorf("{}: {} has shape {}, expected a scalar, [{}] ({}) or {}", op, what, shape_str(ps), count, per,
                          shape_str(nd));
  return Status::errorf("{}: {} has shape {}, expected a scalar or [{}] ({})", op, what, shape_str(ps), count, per);
}

}  // namespace

Result<MatParam<float>> read_mat_scale(std::string_view op, std::string_view what, const Tensor& s, const Shape& shape,
                                       bool of_a, bool allow_nd) {
  if (s.dtype() != DType::kF32) return Status::errorf("{}: {} must be float32, got {}", op, what, dtype_name(s.dtype()));
  LB_ASSIGN_OR_RETURN(MatParam<float> p, mat_param_layout<float>(op, what, s.shape(), shape, of_a, allow_nd));
  p.v.assign(s.data<float>(), s.data<float>() + s.numel());
  for (float x : p.v)
    if (!(x > 0.0f) || !std::isfinite(x)) return Status::errorf("{}: {} {} is not a positive finite number", op, what, x);
  return p;
}

Result<MatParam<int32_t>> read_mat_zero_point(std::string_view op, std::string_view what, const Tensor* z,
                                              const Tensor& data, bool of_a, bool allow_nd) {
  if (!z) return MatParam<int32_t>{{0}, 0, 0};
  if (z->dtype() != data.dtype())
    return Status::errorf("{}: {} is {}, its tensor is {}", op, what, dtype_name(z->dtype()), dtype_name(data.dtype()));
  LB_ASSIGN_OR_RETURN(MatParam<int32_t> p, mat_param_layout<int32_t>(op, what, z->shape(), data.shape(), of_a, allow_nd));
  p.v.resize(static_cast<size_t>(z->numel()));
  for (int64_t i = 0; i < z->numel(); ++i) p.v[static_cast<size_t>(i)] = static_cast<int32_t>(z->at_i64(i));
  return p;
}

MatMulBatches matmul_batches(const MatMulPlan& p) {
  // Batch-count strides of each operand over the broadcast dims (0 where it broadcasts).
  const size_t r = p.batch.size();
  std::vector<int64_t> sa(r), sb(r);
  for (size_t i = r, ea = 1, eb = 1; i-- > 0;) {
    sa[i] = p.a_batch[i] == 1 ? 0 : static_cast<int64_t>(ea);
    sb[i] = p.b_batch[i] == 1 ? 0 : static_cast<int64_t>(eb);
    ea *= static_cast<size_t>(p.a_batch[i]);
    eb *= static_cast<size_t>(p.b_batch[i]);
  }
  const int64_t batches = numel(p.batch);
  MatMulBatches mb;
  mb.a.resize(static_cast<size_t>(batches));
  mb.b.resize(static_cast<size_t>(batches));
  for (int64_t bi = 0; bi < batches; ++bi) {
    int64_t ia = 0, ib = 0;
    for (size_t d = r, rem = static_cast<size_t>(bi); d-- > 0;) {
      const int64_t idx = static_cast<int64_t>(rem % static_cast<size_t>(p.batch[d]));
      rem /= static_cast<size_t>(p.batch[d]);
      ia += idx * sa[d];
      ib += idx * sb[d];
    }
    mb.a[static_cast<size_t>(bi)] = ia;
    mb.b[static_cast<size_t>(bi)] = ib;
  }
  return mb;
}

Result<Tensor> matmul_integer(std::string_view op, const Tensor& a, const MatParam<int32_t>& a_zero, const Tensor& b,
                              const MatParam<int32_t>& b_zero, const MatMulPlan& p, ThreadPool& pool) {
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(DType::kI32, p.out));
  if (y.numel() == 0) return y;
  const int64_t M = p.m, N = p.n, K = p.k;
  const MatMulBatches mb = matmul_batches(p);
  const int64_t b_batches = numel(p.b_batch);
  // B minus its zero points, transposed: bq[batch][col][k], so each output is a contiguous dot.
  LB_TRY(check_scratch(op, b.numel()));
  std::vector<int16_t> bq(static_cast<size_t>(b.numel()));
  visit_int8(b.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* bp = b.data<T>();
    for (int64_t bb = 0; bb < b_batches; ++bb)
      for (int64_t k = 0; k < K; ++k)
        for (int64_t c = 0; c < N; ++c)
          bq[static_cast<size_t>((bb * N + c) * K + k)] = static_cast<int16_t>(
              static_cast<int32_t>(bp[(bb * K + k) * N + c]) - b_zero.at(bb, c));
  });
  // Rows per task: each column of B is read from cache once per block of rows.
  constexpr int64_t kRows = 16;
  const int64_t rb = std::min(kRows, M), blocks = (M + rb - 1) / rb;
  LB_TRY(check_scratch(op, rb * K));
  int32_t* yp = y.data<int32_t>();
  visit_int8(a.dtype(), [&](auto t) {
    using T = decltype(t);
    const T* ap = a.data<T>();
    pool.parallel_for(static_cast<int64_t>(mb.a.size()) * blocks, 1, [&](int64_t t0, int64_t t1) {
      std::vector<int16_t> aq(static_cast<size_t>(rb * K));
      for (int64_t task = t0; task < t1; ++task) {
        const int64_t bi = task / blocks, r0 = task % blocks * rb, r1 = std::min(M, r0 + rb);
        const int64_t ia = mb.a[static_cast<size_t>(bi)], ib = mb.b[static_cast<size_t>(bi)];
        for (int64_t r = r0; r < r1; ++r) widen_minus(ap + (ia * M + r) * K, K, a_zero.at(ia, r), aq.data() + (r - r0) * K);
        const int16_t* bcols = bq.data() + ib * N * K;
        int32_t* yb = yp + bi * M * N;
        for (int64_t c = 0; c < N; ++c)
          for (int64_t r = r0; r < r1; ++r) yb[r * N + c] = dot_s16(aq.data() + (r - r0) * K, bcols + c * K, K);
      }
    });
  });
  return y;
}

}  // namespace lowbit::ops
