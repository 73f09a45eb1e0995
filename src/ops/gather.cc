// gather.cc: Gather(data, indices, axis) — picks slices of data along `axis`:
//   out[a..., i..., b...] = data[a..., indices[i...], b...]
// so out's shape is data.shape[:axis] + indices.shape + data.shape[axis+1:]. Indices are int32
// or int64, negative ones count from the end, and any index outside [−n, n) is an error.
#include <cstring>

#include "ops/axes.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

Status gather_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 2));
  const TensorInfo& data = c.inputs[0];
  const TensorInfo& idx = c.inputs[1];
  if (idx.dtype && !(dtype_bit(*idx.dtype) & kIndexDTypes))
    return Status::errorf("Gather indices must be int32 or int64, got {}", dtype_name(*idx.dtype));
  LB_ASSIGN_OR_RETURN(const int64_t axis_attr, c.attrs().get_int("axis", 0));
  std::optional<Shape> shape;
  if (data.shape) {
    const int64_t rank = static_cast<int64_t>(data.shape->size());
    LB_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(axis_attr, rank, "Gather axis"));
    if (idx.shape) {
      Shape s(data.shape->begin(), data.shape->begin() + axis);
      s.insert(s.end(), idx.shape->begin(), idx.shape->end());
      s.insert(s.end(), data.shape->begin() + axis + 1, data.shape->end());
      shape = std::move(s);
    }
  }
  set_output(c, 0, data.dtype, std::move(shape));
  return Status::ok();
}

Status gather_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 2));
  const Tensor& data = c.in(0);
  const Tensor& idx = c.in(1);
  if (!(dtype_bit(idx.dtype()) & kIndexDTypes))
    return Status::errorf("Gather indices must be int32 or int64, got {}", dtype_name(idx.dtype()));
  LB_ASSIGN_OR_RETURN(const int64_t axis_attr, c.attrs().get_int("axis", 0));
  LB_ASSIGN_OR_RETURN(const int64_t axis, normalize_axis(axis_attr, data.rank(), "Gather axis"));
  const size_t a = static_cast<size_t>(axis);
  const int64_t n = data.shape()[a];
  // Validate and normalize every index before touching the output.
  std::vector<int64_t> index(static_cast<size_t>(idx.numel()));
  for (int64_t i = 0; i < idx.numel(); ++i) {
    int64_t v = idx.dtype() == DType::kI64 ? idx.data<int64_t>()[i] : idx.data<int32_t>()[i];
    if (v < -n || v >= n)
      return Status::errorf("Gather index {} is out of range for axis {} of size {}", v, axis, n);
    index[static_cast<size_t>(i)] = v < 0 ? v + n : v;
  }
  Shape shape(data.shape().begin(), data.shape().begin() + axis);
  shape.insert(shape.end(), idx.shape().begin(), idx.shape().end());
  shape.insert(shape.end(), data.shape().begin() + axis + 1, data.shape().end());
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(data.dtype(), std::move(shape)));
  int64_t outer = 1, inner = 1;
  for (size_t d = 0; d < a; ++d) outer *= data.shape()[d];
  for (size_t d = a + 1; d < data.shape().size(); ++d) inner *= data.shape()[d];
  const int64_t esize = static_cast<int64_t>(dtype_size(data.dtype()));
  const int64_t chunk = inner * esize, m = idx.numel();
  const auto* src = static_cast<const uint8_t*>(data.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
  if (chunk > 0 && m > 0) {
    // One job per (outer, index) pair: a memcpy of `chunk` bytes.
    const int64_t grain = std::max<int64_t>(1, kElementwiseGrain * 4 / chunk);
    c.pool.parallel_for(outer * m, grain, [&](int64_t b, int64_t e) {
      for (int64_t j = b; j < e; ++j) {
        const int64_t o = j / m, k = j % m;
        std::memcpy(dst + j * chunk, src + (o * n + index[static_cast<size_t>(k)]) * chunk, static_cast<size_t>(chunk));
      }
    });
  }
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kGather{"Gather", 2, 2, gather_infer, gather_forward};

}  // namespace lowbit::ops
