// concat_split.cc: Concat (join inputs along an axis) and Split (cut one input into parts
// along an axis). Any dtype; both are row copies: viewing a tensor as [outer, dim(axis)·inner],
// each input (or output) owns a contiguous byte range of every outer row.
//
// Split's sizes are the `split` attribute before opset 13 and the optional input 1 from 13;
// without them the axis is cut into equal parts, one per output (opset 18: the last part may be
// smaller; its num_outputs attribute always equals the node's output count, so it is not read).
#include <cstring>
#include <limits>
#include <numeric>

#include "ops/axes.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

// Product of dims [b, e) of a concrete shape.
int64_t dims_product(const Shape& s, size_t b, size_t e) {
  int64_t p = 1;
  for (size_t i = b; i < e; ++i) p *= s[i];
  return p;
}

Status concat_infer(InferCtx& c) {
  if (c.num_inputs() == 0) return Status::error("Concat needs at least one input");
  LB_TRY(require_inputs(c, c.num_inputs()));
  LB_ASSIGN_OR_RETURN(const int64_t axis_attr, c.attrs().get_int("axis"));
  std::optional<DType> dtype;
  for (const TensorInfo& in : c.inputs) {
    if (!in.dtype) continue;
    if (dtype && *dtype != *in.dtype)
      return Status::errorf("Concat inputs have different dtypes {} and {}", dtype_name(*dtype), dtype_name(*in.dtype));
    dtype = in.dtype;
  }
  std::optional<Shape> shape;
  for (const TensorInfo& in : c.inputs) {
    if (!in.shape) continue;
    if (!shape) {
      shape = *in.shape;
    } else if (shape->size() != in.shape->size()) {
      return Status::errorf("Concat inputs have different ranks: {} and {}", shape_str(*shape), shape_str(*in.shape));
    }
  }
  if (shape) {
    const int64_t rank = static_cast<int64_t>(shape->size());
    LB_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(axis_attr, rank, "Concat axis"));
    bool all_known = true;
    int64_t sum = 0;
    Shape out = *shape;
    for (const TensorInfo& in : c.inputs) {
      if (!in.shape) {
        all_known = false;
        continue;
      }
      for (int64_t d = 0; d < rank; ++d) {
        const int64_t v = (*in.shape)[static_cast<size_t>(d)];
        int64_t& o = out[static_cast<size_t>(d)];
        if (d == axis) {
          if (v < 0) all_known = false; else sum += v;
        } else if (o < 0) {
          o = v;
        } else if (v >= 0 && v != o) {
          return Status::errorf("Concat inputs differ in dim {} (not the axis): {} vs {}", d, o, v);
        }
      }
    }
    out[static_cast<size_t>(axis)] = all_known ? sum : -1;
    shape = std::move(out);
  }
  set_output(c, 0, dtype, std::move(shape));
  return Status::ok();
}

Status concat_forward(RunCtx& c) {
  if (c.num_inputs() == 0) return Status::error("Concat needs at least one input");
  LB_TRY(require_inputs(c, c.num_inputs()));
  LB_ASSIGN_OR_RETURN(const int64_t axis_attr, c.attrs().get_int("axis"));
  const Tensor& first = c.in(0);
  LB_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(axis_attr, first.rank(), "Concat axis"));
  Shape out_shape = first.shape();
  int64_t sum = 0;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    const Tensor& t = c.in(i);
    if (t.dtype() != first.dtype())
      return Status::errorf("Concat inputs have different dtypes {} and {}", dtype_name(first.dtype()),
                            dtype_name(t.dtype()));
    if (t.rank() != first.rank())
      return Status::errorf("Concat inputs have different ranks: {} and {}", shape_str(first.shape()),
                            shape_str(t.shape()));
    for (int d = 0; d < t.rank(); ++d)
      if (d != axis && t.dim(d) != first.dim(d))
        return Status::errorf("Concat inputs {} and {} differ in dim {} (not the axis)", shape_str(first.shape()),
                              shape_str(t.shape()), d);
    sum += t.dim(static_cast<int>(axis));
  }
  out_shape[static_cast<size_t>(axis)] = sum;
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(first.dtype(), out_shape));
  const size_t a = static_cast<size_t>(axis);
  const int64_t outer = dims_product(out_shape, 0, a);
  const int64_t inner_bytes = dims_product(out_shape, a + 1, out_shape.size()) *
                              static_cast<int64_t>(dtype_size(first.dtype()));
  const int64_t row_bytes = sum * inner_bytes;
  if (y.nbytes() > 0) {
    auto* out = static_cast<uint8_t*>(y.raw());
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain * 4 / std::max<int64_t>(1, row_bytes));
    c.pool.parallel_for(outer, grain, [&](int64_t b, int64_t e) {
      for (int64_t o = b; o < e; ++o) {
        int64_t off = o * row_bytes;
        for (size_t i = 0; i < c.num_inputs(); ++i) {
          const int64_t chunk = c.in(i).dim(static_cast<int>(axis)) * inner_bytes;
          if (chunk) std::memcpy(out + off, static_cast<const uint8_t*>(c.in(i).raw()) + o * chunk, static_cast<size_t>(chunk));
          off += chunk;
        }
      }
    });
  }
  c.outputs[0] = std::move(y);
  return Status::ok();
}

// The split sizes, when given (attribute before opset 13, input 1 from 13); `values` stays
// empty with `given` false when not given. In infer, an unknown input leaves `known` false.
struct SplitSizes {
  bool given = false;
  bool known = false;
  std::vector<int64_t> values;
};

Result<SplitSizes> split_sizes(const ir::Attributes& attrs, int64_t opset, const Tensor* input, bool input_present) {
  SplitSizes s;
  if (opset < 13) {
    if (!attrs.has("split")) return s;
    LB_ASSIGN_OR_RETURN(s.values, attrs.get_ints("split"));
    s.given = s.known = true;
    return s;
  }
  if (!input_present) return s;
  s.given = true;
  if (input) {
    LB_ASSIGN_OR_RETURN(s.values, read_int_list(*input, "Split split"));
    s.known = true;
  }
  return s;
}

// The sizes of the parts for a dim of `dim` (< 0 unknown) into `n` outputs. Without sizes the
// parts are equal; from opset 18 an uneven dim gives ceil(dim / n) per part and a smaller last one.
Result<std::vector<int64_t>> split_parts(const SplitSizes& s, int64_t dim, size_t n, int64_t opset) {
  if (n == 0) return Status::error("Split has no outputs");
  if (s.given && !s.known) return std::vector<int64_t>(n, -1);
  if (s.given) {
    if (s.values.size() != n)
      return Status::errorf("Split has {} sizes for {} outputs", s.values.size(), n);
    int64_t sum = 0;
    for (int64_t v : s.values) {
      if (v < 0) return Status::errorf("Split sizes {} include a negative size", shape_str(s.values));
      if (v > std::numeric_limits<int64_t>::max() - sum)
        return Status::errorf("Split sizes {} overflow", shape_str(s.values));
      sum += v;
    }
    if (dim >= 0 && sum != dim)
      return Status::errorf("Split sizes {} sum to {}, but the axis has {}", shape_str(s.values), sum, dim);
    return s.values;
  }
  if (dim < 0) return std::vector<int64_t>(n, -1);
  const int64_t parts = static_cast<int64_t>(n);
  if (dim % parts == 0) return std::vector<int64_t>(n, dim / parts);
  const int64_t chunk = (dim + parts - 1) / parts, last = dim - chunk * (parts - 1);
  if (opset < 18 || last <= 0)
    return Status::errorf("Split cannot cut an axis of {} into {} equal parts", dim, n);
  std::vector<int64_t> v(n, chunk);
  v.back() = last;
  return v;
}

Status split_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const TensorInfo& x = c.inputs[0];
  LB_ASSIGN_OR_RETURN(const int64_t axis_attr, c.attrs().get_int("axis", 0));
  LB_ASSIGN_OR_RETURN(SplitSizes sizes, split_sizes(c.attrs(), c.opset, const_input(c, 1), c.has_input(1)));
  if (!x.shape) {
    for (size_t i = 0; i < c.outputs.size(); ++i) set_output(c, i, x.dtype, std::nullopt);
    return Status::ok();
  }
  LB_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(axis_attr, static_cast<int64_t>(x.shape->size()), "Split axis"));
  LB_ASSIGN_OR_RETURN(std::vector<int64_t> parts,
                      split_parts(sizes, (*x.shape)[static_cast<size_t>(axis)], c.outputs.size(), c.opset));
  for (size_t i = 0; i < c.outputs.size(); ++i) {
    Shape s = *x.shape;
    s[static_cast<size_t>(axis)] = parts[i];
    set_output(c, i, x.dtype, std::move(s));
  }
  return Status::ok();
}

Status split_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 1));
  const Tensor& x = c.in(0);
  LB_ASSIGN_OR_RETURN(const int64_t axis_attr, c.attrs().get_int("axis", 0));
  LB_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(axis_attr, x.rank(), "Split axis"));
  LB_ASSIGN_OR_RETURN(SplitSizes sizes,
                      split_sizes(c.attrs(), c.opset, c.has_input(1) ? &c.in(1) : nullptr, c.has_input(1)));
  const size_t a = static_cast<size_t>(axis);
  LB_ASSIGN_OR_RETURN(std::vector<int64_t> parts, split_parts(sizes, x.shape()[a], c.outputs.size(), c.opset));
  const int64_t outer = dims_product(x.shape(), 0, a);
  const int64_t inner_bytes = dims_product(x.shape(), a + 1, x.shape().size()) * static_cast<int64_t>(dtype_size(x.dtype()));
  const int64_t row_bytes = x.shape()[a] * inner_bytes;
  const auto* in = static_cast<const uint8_t*>(x.raw());
  int64_t start = 0;  // byte offset of part i within a row
  for (size_t i = 0; i < parts.size(); ++i) {
    const int64_t chunk = parts[i] * inner_bytes;
    if (wants_output(c.node, i)) {
      Shape s = x.shape();
      s[a] = parts[i];
      LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(x.dtype(), std::move(s)));
      auto* out = static_cast<uint8_t*>(y.raw());
      if (chunk > 0) {
        const int64_t grain = std::max<int64_t>(1, kElementwiseGrain * 4 / chunk);
        c.pool.parallel_for(outer, grain, [&](int64_t b, int64_t e) {
          for (int64_t o = b; o < e; ++o)
            std::memcpy(out + o * chunk, in + o * row_bytes + start, static_cast<size_t>(chunk));
        });
      }
      c.outputs[i] = std::move(y);
    }
    start += chunk;
  }
  return Status::ok();
}

}  // namespace

extern const OpDef kConcat{"Concat", 1, -1, concat_infer, concat_forward};
extern const OpDef kSplit{"Split", 1, 2, split_infer, split_forward};

}  // namespace lowbit::ops
