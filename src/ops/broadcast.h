// broadcast.h: numpy-style (ONNX "multidirectional") broadcasting — shape rules and an
// iteration plan that turns any broadcast into rows of a contiguous inner loop.
//
// Shapes are right-aligned; a dim of 1 stretches to the other's size. To iterate, each input
// gets a stride per output dim (0 where it is broadcast), then adjacent dims merge wherever every
// input allows it (stride[i] == stride[i+1] * dim[i+1]). After merging, the innermost stride of
// each input is 1 (it moves along its own last dims) or 0 (it is constant along the row), so a
// row is one of four simple loops: vector∘vector, vector∘scalar, scalar∘vector, scalar∘scalar.
// [N,C,H,W] + [1,C,1,1] becomes rows of H·W with a per-row scalar; [N,C] + [C] becomes N rows
// of vector∘vector.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {

// The broadcast of two known shapes; error naming both if a pair of dims differs and neither is 1.
Result<Shape> broadcast_shape(const Shape& a, const Shape& b);
// As broadcast_shape for partially known shapes (dims < 0 unknown): each output dim is as
// known as the inputs allow; error only where two known dims conflict.
Result<Shape> broadcast_shape_partial(const Shape& a, const Shape& b);

// Strides (in elements) for reading a contiguous tensor of `in` shape as if broadcast to `out`.
// `in` must broadcast to `out` (rank ≤ and each dim equal or 1).
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Rows of a merged broadcast iteration over K inputs.
template <size_t K>
struct BroadcastPlan {
  std::vector<int64_t> dims;                     // merged output dims, at least one
  std::array<std::vector<int64_t>, K> strides;   // per input, one per merged dim

  int64_t inner() const { return dims.back(); }
  int64_t rows() const {
    int64_t r = 1;
    for (size_t i = 0; i + 1 < dims.size(); ++i) r *= dims[i];
    return r;
  }
  int64_t inner_stride(size_t k) const { return strides[k].back(); }
};

// Builds the plan for reading `ins` (each broadcastable to `out`) over `out`.
template <size_t K>
BroadcastPlan<K> make_broadcast_plan(const Shape& out, const std::array<const Shape*, K>& ins) {
  BroadcastPlan<K> p;
  std::array<std::vector<int64_t>, K> full;
  for (size_t k = 0; k < K; ++k) full[k] = broadcast_strides(*ins[k], out);
  for (size_t d = 0; d < out.size(); ++d) {
    if (out[d] == 1) continue;  // size-1 dims never move
    bool merge = !p.dims.empty();
    for (size_t k = 0; k < K && merge; ++k) merge = p.strides[k].back() == full[k][d] * out[d];
    if (merge) {
      p.dims.back() *= out[d];
      for (size_t k = 0; k < K; ++k) p.strides[k].back() = full[k][d];
    } else {
      p.dims.push_back(out[d]);
      for (size_t k = 0; k < K; ++k) p.strides[k].push_back(full[k][d]);
    }
  }
  if (p.dims.empty()) {
    p.dims.push_back(1);
    for (size_t k = 0; k < K; ++k) p.strides[k].push_back(0);
  }
  return p;
}

// Calls fn(row, offsets) for rows [r0, r1) of the plan, where offsets[k] is the element offset
// of input k at the row's start (the output offset is row * inner()).
template <size_t K, typename Fn>
void for_each_broadcast_row(const BroadcastPlan<K>& p, int64_t r0, int64_t r1, Fn&& fn) {
  const size_t outer = p.dims.size() - 1;
  std::vector<int64_t> idx(outer, 0);
  std::array<int64_t, K> off{};
  int64_t rem = r0;
  for (size_t d = outer; d-- > 0;) {  // decompose r0 into an index over the outer dims
    idx[d] = rem % p.dims[d];
    rem /= p.dims[d];
    for (size_t k = 0; k < K; ++k) off[k] += idx[d] * p.strides[k][d];
  }
  for (int64_t r = r0; r < r1; ++r) {
    fn(r, off);
    for (size_t d = outer; d-- > 0;) {  // odometer step
      for (size_t k = 0; k < K; ++k) off[k] += p.strides[k][d];
      if (++idx[d] < p.dims[d]) break;
      for (size_t k = 0; k < K; ++k) off[k] -= p.strides[k][d] * p.dims[d];
      idx[d] = 0;
    }
  }
}

// Runs fn over every row of the plan, splitting rows across the pool so a chunk holds about
// kElementwiseGrain elements.
template <size_t K, typename Fn>
void parallel_broadcast_rows(const BroadcastPlan<K>& p, ThreadPool& pool, Fn&& fn) {
  const int64_t inner = p.inner();
  if (inner == 0) return;
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / inner);
  pool.parallel_for(p.rows(), grain, [&](int64_t r0, int64_t r1) { for_each_broadcast_row(p, r0, r1, fn); });
}

// out = op(a, b) elementwise with broadcasting; out is allocated by the caller with the
// broadcast shape. A, B, O are the element types of a, b, out. Lambdas copy pointers and sizes
// into locals: a store through a byte-typed `out` may otherwise alias captured variables, and
// the reloads stop the loops from vectorizing.
template <typename A, typename B, typename O, typename Op>
void broadcast_binary(const Tensor& a, const Tensor& b, Tensor& out, ThreadPool& pool, Op op) {
  const A* const pa = static_cast<const A*>(a.raw());
  const B* const pb = static_cast<const B*>(b.raw());
  O* const po = static_cast<O*>(out.raw());
  const int64_t n = out.numel();
  if (n == 0) return;
  if (a.numel() == n && b.numel() == n) {  // same shape (up to leading 1s): one flat loop
    pool.parallel_for(n, kElementwiseGrain, [pa, pb, po, op](int64_t s, int64_t e) {
      const A* x = pa;
      const B* y = pb;
      O* o = po;
      for (int64_t i = s; i < e; ++i) o[i] = op(x[i], y[i]);
    });
    return;
  }
  if (b.numel() == 1 && a.numel() == n) {
    pool.parallel_for(n, kElementwiseGrain, [pa, pb, po, op](int64_t s, int64_t e) {
      const A* x = pa;
      const B y = pb[0];
      O* o = po;
      for (int64_t i = s; i < e; ++i) o[i] = op(x[i], y);
    });
    return;
  }
  if (a.numel() == 1 && b.numel() == n) {
    pool.parallel_for(n, kElementwiseGrain, [pa, pb, po, op](int64_t s, int64_t e) {
      const A x = pa[0];
      const B* y = pb;
      O* o = po;
      for (int64_t i = s; i < e; ++i) o[i] = op(x, y[i]);
    });
    return;
  }
  const BroadcastPlan<2> p = make_broadcast_plan<2>(out.shape(), {&a.shape(), &b.shape()});
  const int64_t inner = p.inner();
  const bool va = p.inner_stride(0) != 0, vb = p.inner_stride(1) != 0;
  parallel_broadcast_rows(p, pool, [pa, pb, po, op, inner, va, vb](int64_t r, const std::array<int64_t, 2>& off) {
    const int64_t m = inner;
    const A* x = pa + off[0];
    const B* y = pb + off[1];
    O* o = po + r * m;
    if (va && vb) {
      for (int64_t i = 0; i < m; ++i) o[i] = op(x[i], y[i]);
    } else if (va) {
      const B yv = *y;
      for (int64_t i = 0; i < m; ++i) o[i] = op(x[i], yv);
    } else if (vb) {
      const A xv = *x;
      for (int64_t i = 0; i < m; ++i) o[i] = op(xv, y[i]);
    } else {
      const O v = op(*x, *y);
      for (int64_t i = 0; i < m; ++i) o[i] = v;
    }
  });
}

}  // namespace lowbit::ops
