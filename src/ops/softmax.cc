// softmax.cc: Softmax and LogSoftmax (f32).
//
//   softmax(x)_k = e^(x_k − m) / Σ_j e^(x_j − m),   log_softmax(x)_k = x_k − m − log Σ_j e^(x_j − m)
// with m = max_j x_j, so no exponent overflows. Before opset 13 the input is coerced to 2-D at
// `axis` (default 1) and each row [d_axis·…·d_last] is normalized; from opset 13 only dim
// `axis` (default −1) is. Either way the data is [outer, n, inner] normalized over n: inner = 1
// (the last-axis case) runs along contiguous rows, inner > 1 along columns in blocks. exp is
// kernels::exp_f32 (≤ 1 ulp, vectorizes).
#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/elementwise/fast_math.h"
#include "ops/axes.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

struct SoftmaxLayout {
  int64_t outer = 1, n = 1, inner = 1;
};

Result<SoftmaxLayout> softmax_layout(const ir::Attributes& attrs, int64_t opset, const Shape& shape) {
  const int64_t rank = static_cast<int64_t>(shape.size());
  LB_ASSIGN_OR_RETURN(const int64_t axis_attr, attrs.get_int("axis", opset < 13 ? 1 : -1));
  SoftmaxLayout l;
  if (opset < 13) {
    LB_ASSIGN_OR_RETURN(const int64_t axis, normalize_split_point(axis_attr, rank, "softmax axis"));
    for (int64_t i = 0; i < rank; ++i) (i < axis ? l.outer : l.n) *= shape[static_cast<size_t>(i)];
  } else {
    LB_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(axis_attr, rank, "softmax axis"));
    for (int64_t i = 0; i < rank; ++i)
      (i < axis ? l.outer : (i == axis ? l.n : l.inner)) *= shape[static_cast<size_t>(i)];
  }
  return l;
}

Status softmax_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const TensorInfo& x = c.inputs[0];
  if (x.dtype) LB_TRY(check_dtype(c.node.op_type, "input", *x.dtype, kFloatDTypes));
  if (x.shape) {
    Shape probe(x.shape->size(), 1);  // validates the axis against the rank only
    LB_TRY(softmax_layout(c.attrs(), c.opset, probe).status());
  }
  set_output(c, 0, x.dtype, x.shape);
  return Status::ok();
}

// One contiguous row of n values. The max and the sum run in 8 independent lanes (a serial
// float reduction cannot vectorize without reassociation); exp is the vectorizable exp_f32.
template <bool kLog>
void softmax_row(const float* x, float* y, int64_t n) {
  float lane[8];
  std::fill_n(lane, 8, -std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lane[j] = kernels::select_f32(x[i + j] > lane[j], x[i + j], lane[j]);
  float m = -std::numeric_limits<float>::infinity();
  for (; i < n; ++i) m = x[i] > m ? x[i] : m;
  for (int j = 0; j < 8; ++j) m = lane[j] > m ? lane[j] : m;
  // A NaN is skipped by the max but turns its e^(x − m) and so the whole row into NaN, as in numpy.
  for (int64_t k = 0; k < n; ++k) y[k] = kernels::exp_f32(x[k] - m);
  std::fill_n(lane, 8, 0.f);
  for (i = 0; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) lane[j] += y[i + j];
  float sum = 0.f;
  for (; i < n; ++i) sum += y[i];
  for (int j = 0; j < 8; ++j) sum += lane[j];
  if constexpr (kLog) {
    const float shift = m + std::log(sum);
    for (int64_t k = 0; k < n; ++k) y[k] = x[k] - shift;
  } else {
    const float inv = 1.f / sum;
    for (int64_t k = 0; k < n; ++k) y[k] *= inv;
  }
}

constexpr int64_t kColumnBlock = 256;

// Columns [j0, j1) (j1 − j0 ≤ kColumnBlock) of one [n, inner] slab, normalized down each column.
template <bool kLog>
void softmax_columns(const float* x, float* y, int64_t n, int64_t inner, int64_t j0, int64_t j1) {
  float m[kColumnBlock], s[kColumnBlock];
  const int64_t w = j1 - j0;
  std::fill_n(m, w, -std::numeric_limits<float>::infinity());
  std::fill_n(s, w, 0.f);
  for (int64_t k = 0; k < n; ++k) {
    const float* r = x + k * inner + j0;
    for (int64_t j = 0; j < w; ++j) m[j] = kernels::select_f32(r[j] > m[j], r[j], m[j]);
  }
  for (int64_t k = 0; k < n; ++k) {
    const float* r = x + k * inner + j0;
    float* o = y + k * inner + j0;
    for (int64_t j = 0; j < w; ++j) {
      const float e = kernels::exp_f32(r[j] - m[j]);
      s[j] += e;
      if constexpr (!kLog) o[j] = e;
    }
  }
  if constexpr (kLog) {
    for (int64_t j = 0; j < w; ++j) s[j] = m[j] + std::log(s[j]);  // the shift per column
    for (int64_t k = 0; k < n; ++k) {
      const float* r = x + k * inner + j0;
      float* o = y + k * inner + j0;
      for (int64_t j = 0; j < w; ++j) o[j] = r[j] - s[j];
    }
  } else {
    for (int64_t j = 0; j < w; ++j) s[j] = 1.f / s[j];
    for (int64_t k = 0; k < n; ++k) {
      float* o = y + k * inner + j0;
      for (int64_t j = 0; j < w; ++j) o[j] *= s[j];
    }
  }
}

template <bool kLog>
Status softmax_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const Tensor& x = c.in(0);
  LB_TRY(check_dtype(c.node.op_type, "input", x.dtype(), kFloatDTypes));
  LB_ASSIGN_OR_RETURN(const SoftmaxLayout l, softmax_layout(c.attrs(), c.opset, x.shape()));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(x.dtype(), x.shape()));
  const float* px = x.data<float>();
  float* py = y.data<float>();
  if (y.numel() > 0) {
    if (l.inner == 1) {
      c.pool.parallel_for(l.outer, std::max<int64_t>(1, kElementwiseGrain / l.n), [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) softmax_row<kLog>(px + r * l.n, py + r * l.n, l.n);
      });
    } else {
      // Work units: (outer slab, block of columns).
      const int64_t blocks = (l.inner + kColumnBlock - 1) / kColumnBlock;
      const int64_t unit = l.n * std::min(l.inner, kColumnBlock);
      c.pool.parallel_for(l.outer * blocks, std::max<int64_t>(1, kElementwiseGrain / unit), [&](int64_t b, int64_t e) {
        for (int64_t u = b; u < e; ++u) {
          const int64_t o = u / blocks, j0 = (u % blocks) * kColumnBlock;
          const int64_t slab = o * l.n * l.inner;
          softmax_columns<kLog>(px + slab, py + slab, l.n, l.inner, j0, std::min(l.inner, j0 + kColumnBlock));
        }
      });
    }
  }
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kSoftmax{"Softmax", 1, 1, softmax_infer, softmax_forward<false>};
extern const OpDef kLogSoftmax{"LogSoftmax", 1, 1, softmax_infer, softmax_forward<true>};

}  // namespace lowbit::ops
