// reduce.cc: ReduceSum, ReduceMean, ReduceMax, ReduceMin over a set of axes (f32, i8, u8, i32,
// i64).
//
// The axes are an attribute, or input 1 for ReduceSum from opset 13 (ReduceMean / ReduceMax /
// ReduceMin from 18). No axes, or an empty list, means all axes — unless noop_with_empty_axes=1
// (where the axes are an input), which returns the input unchanged. keepdims (default 1) keeps the
// reduced dims as 1s. Negative axes count from the end; a repeated axis is an error.
//
// Method: dims of size 1 are dropped and neighbouring dims of the same kind (kept / reduced)
// merged, leaving alternating groups. Each reduced group is then one pass over a
// [outer, r, inner] view: inner = 1 reduces contiguous runs, inner > 1 folds whole rows of
// length inner, which vectorizes. Sums accumulate in double for f32 and in wrapping 64-bit for
// integers; Mean divides the sum by the number of reduced elements at the end (integers
// truncate; an empty f32 mean is NaN as in numpy). Max over an empty set gives the lowest value, Min the highest.
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/elementwise/fast_math.h"
#include "ops/axes.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

enum class Reduce { kSum, kMean, kMax, kMin };

bool axes_are_input(Reduce kind, int64_t opset) { return kind == Reduce::kSum ? opset >= 13 : opset >= 18; }

struct ReduceAttrs {
  bool keepdims = true;
  bool noop_with_empty_axes = false;
};

Result<ReduceAttrs> reduce_attrs(const ir::Attributes& attrs) {
  ReduceAttrs r;
  LB_ASSIGN_OR_RETURN(const int64_t k, attrs.get_int("keepdims", 1));
  LB_ASSIGN_OR_RETURN(const int64_t n, attrs.get_int("noop_with_empty_axes", 0));
  r.keepdims = k != 0;
  r.noop_with_empty_axes = n != 0;
  return r;
}

// Output shape for input `in` reduced over the normalized `axes` (empty = all).
Shape reduced_shape(const Shape& in, const std::vector<int64_t>& axes, bool keepdims) {
  Shape out;
  for (size_t i = 0; i < in.size(); ++i) {
    const bool red = axes.empty() || std::find(axes.begin(), axes.end(), static_cast<int64_t>(i)) != axes.end();
    if (!red) {
      out.push_back(in[i]);
    } else if (keepdims) {
      out.push_back(1);
    }
  }
  return out;
}

template <Reduce kKind>
Status reduce_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const TensorInfo& x = c.inputs[0];
  if (x.dtype) LB_TRY(check_dtype(c.node.op_type, "input", *x.dtype, kNumericDTypes));
  LB_ASSIGN_OR_RETURN(const ReduceAttrs ra, reduce_attrs(c.attrs()));
  std::optional<std::vector<int64_t>> axes;  // nullopt: unknown
  bool from_input = axes_are_input(kKind, c.opset);
  if (!from_input) {
    LB_ASSIGN_OR_RETURN(axes, c.attrs().get_ints("axes", std::vector<int64_t>{}));
  } else if (!c.has_input(1)) {
    axes = std::vector<int64_t>{};
  } else if (const Tensor* t = const_input(c, 1)) {
    LB_ASSIGN_OR_RETURN(axes, read_int_list(*t, "axes"));
  }
  std::optional<Shape> shape;
  if (x.shape) {
    const int64_t rank = static_cast<int64_t>(x.shape->size());
    if (axes) {
      if (axes->empty() && from_input && ra.noop_with_empty_axes) {
        shape = x.shape;
      } else {
        LB_ASSIGN_OR_RETURN(std::vector<int64_t> ax, normalize_axes(*axes, rank, "axes"));
        shape = reduced_shape(*x.shape, ax, ra.keepdims);
      }
    } else if (ra.keepdims) {
      shape = unknown_dims(rank);
    }
  }
  set_output(c, 0, x.dtype, std::move(shape));
  return Status::ok();
}

// Accumulator type: double for f32 sums, int64 for integer sums, the element type for Max.
template <Reduce kKind, typename T>
using AccOf = std::conditional_t<kKind == Reduce::kMax || kKind == Reduce::kMin, T, std::conditional_t<std::is_floating_point_v<T>, double, int64_t>>;

template <Reduce kKind, typename Acc>
Acc reduce_init() {
  if constexpr (kKind == Reduce::kMax) {
    if constexpr (std::is_floating_point_v<Acc>) return -std::numeric_limits<Acc>::infinity();
    return std::numeric_limits<Acc>::lowest();
  }
  if constexpr (kKind == Reduce::kMin) {
    if constexpr (std::is_floating_point_v<Acc>) return std::numeric_limits<Acc>::infinity();
    return std::numeric_limits<Acc>::max();
  }
  return Acc{0};
}

// a ∘ b: sum (integers wrap) or NaN-propagating max / min.
template <Reduce kKind, typename Acc>
Acc combine(Acc a, Acc b) {
  if constexpr (kKind == Reduce::kMax) {
    if constexpr (std::is_same_v<Acc, float>) {
      return kernels::select_f32((b > a) | (b != b), b, a);  // branch-free, so it vectorizes
    } else {
      return b > a ? b : a;
    }
  } else if constexpr (kKind == Reduce::kMin) {
    if constexpr (std::is_same_v<Acc, float>) {
      return kernels::select_f32((b < a) | (b != b), b, a);
    } else {
      return b < a ? b : a;
    }
  } else if constexpr (std::is_integral_v<Acc>) {
    return static_cast<Acc>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  } else {
    return a + b;
  }
}

// One pass: out[o, j] = ∘_k in[o, k, j] for a [outer, r, inner] view.
template <Reduce kKind, typename Acc, typename In>
void reduce_pass(const In* in, Acc* out, int64_t outer, int64_t r, int64_t inner, ThreadPool& pool) {
  const int64_t work = std::max<int64_t>(1, r * inner);
  pool.parallel_for(outer, std::max<int64_t>(1, kElementwiseGrain / work), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const In* base = in + o * r * inner;
      Acc* orow = out + o * inner;
      if (inner == 1) {
        // Eight independent lanes so the adds pipeline (and vectorize) without reassociating.
        Acc lane[8];
        std::fill_n(lane, 8, reduce_init<kKind, Acc>());
        int64_t k = 0;
        for (; k + 8 <= r; k += 8)
          for (int j = 0; j < 8; ++j) lane[j] = combine<kKind, Acc>(lane[j], static_cast<Acc>(base[k + j]));
        Acc a = reduce_init<kKind, Acc>();
        for (; k < r; ++k) a = combine<kKind, Acc>(a, static_cast<Acc>(base[k]));
        for (int j = 0; j < 8; ++j) a = combine<kKind, Acc>(a, lane[j]);
        orow[0] = a;
      } else {
        std::fill_n(orow, inner, reduce_init<kKind, Acc>());
        for (int64_t k = 0; k < r; ++k) {
          const In* row = base + k * inner;
          for (int64_t j = 0; j < inner; ++j) orow[j] = combine<kKind, Acc>(orow[j], static_cast<Acc>(row[j]));
        }
      }
    }
  });
}

template <Reduce kKind, typename T>
Status reduce_typed(const Tensor& x, const std::vector<int64_t>& axes, Tensor& y, ThreadPool& pool) {
  using Acc = AccOf<kKind, T>;
  // Groups of merged dims: (size, reduced?), size-1 dims dropped.
  std::vector<std::pair<int64_t, bool>> groups;
  int64_t count = 1;  // elements reduced into each output
  for (int d = 0; d < x.rank(); ++d) {
    const bool red = axes.empty() || std::find(axes.begin(), axes.end(), d) != axes.end();
    const int64_t n = x.dim(d);
    if (red) count *= n;
    if (n == 1) continue;
    if (!groups.empty() && groups.back().second == red) {
      groups.back().first *= n;
    } else {
      groups.emplace_back(n, red);
    }
  }
  const int64_t out_n = y.numel();
  std::vector<Acc> cur, next;
  const T* src = static_cast<const T*>(x.raw());
  int64_t total = x.numel();  // elements in the current buffer
  bool first = true;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (!groups[g].second) continue;
    int64_t outer = 1, inner = 1;
    for (size_t i = 0; i < g; ++i) outer *= groups[i].first;
    for (size_t i = g + 1; i < groups.size(); ++i) inner *= groups[i].first;
    const int64_t r = groups[g].first;
    next.assign(static_cast<size_t>(outer * inner), Acc{});
    if (first) {
      reduce_pass<kKind, Acc, T>(src, next.data(), outer, r, inner, pool);
    } else {
      reduce_pass<kKind, Acc, Acc>(cur.data(), next.data(), outer, r, inner, pool);
    }
    cur.swap(next);
    first = false;
    groups[g].first = 1;  // reduced: later passes see a size-1 group
    total = outer * inner;
  }
  T* out = static_cast<T*>(y.raw());
  if (first) {  // every reduced dim has size 1 (count = 1): the values pass through
    LB_CHECK(total == out_n, "reduce: output size mismatch");
    std::copy_n(src, out_n, out);
    return Status::ok();
  }
  LB_CHECK(static_cast<int64_t>(cur.size()) == out_n, "reduce: output size mismatch");
  for (int64_t i = 0; i < out_n; ++i) {
    const Acc a = cur[static_cast<size_t>(i)];
    if constexpr (kKind == Reduce::kMean) {
      if constexpr (std::is_floating_point_v<T>) {
        out[i] = static_cast<T>(a / static_cast<double>(count));
      } else {
        out[i] = count == 0 ? T{0} : static_cast<T>(a / count);
      }
    } else {
      out[i] = static_cast<T>(a);
    }
  }
  return Status::ok();
}

template <Reduce kKind>
Status reduce_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const Tensor& x = c.in(0);
  LB_TRY(check_dtype(c.node.op_type, "input", x.dtype(), kNumericDTypes));
  LB_ASSIGN_OR_RETURN(const ReduceAttrs ra, reduce_attrs(c.attrs()));
  std::vector<int64_t> axes;
  const bool from_input = axes_are_input(kKind, c.opset);
  if (!from_input) {
    LB_ASSIGN_OR_RETURN(axes, c.attrs().get_ints("axes", std::vector<int64_t>{}));
  } else if (c.has_input(1)) {
    LB_ASSIGN_OR_RETURN(axes, read_int_list(c.in(1), "axes"));
  }
  if (axes.empty() && from_input && ra.noop_with_empty_axes) {
    c.outputs[0] = x.clone();
    return Status::ok();
  }
  LB_ASSIGN_OR_RETURN(axes, normalize_axes(axes, x.rank(), "axes"));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(x.dtype(), reduced_shape(x.shape(), axes, ra.keepdims)));
  Status st = visit_numeric(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    return reduce_typed<kKind, T>(x, axes, y, c.pool);
  });
  LB_TRY(st);
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kReduceSum{"ReduceSum", 1, 2, reduce_infer<Reduce::kSum>, reduce_forward<Reduce::kSum>};
extern const OpDef kReduceMean{"ReduceMean", 1, 2, reduce_infer<Reduce::kMean>, reduce_forward<Reduce::kMean>};
extern const OpDef kReduceMax{"ReduceMax", 1, 2, reduce_infer<Reduce::kMax>, reduce_forward<Reduce::kMax>};
extern const OpDef kReduceMin{"ReduceMin", 1, 2, reduce_infer<Reduce::kMin>, reduce_forward<Reduce::kMin>};

}  // namespace lowbit::ops
