// qlinear_conv.cc: ONNX QLinearConv (opset 10+) — Conv on quantized tensors, requantized to the
// output's scale and zero point:
//   acc[n, m, o] = Σ_{c in group(m), k} (x[n, c, src(o, k)] − x_zero) · (w[m, c, k] − w_zero[m]) + B[m]
//   y = saturate(round_half_even(acc · x_scale · w_scale[m] / y_scale) + y_zero)
// Inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point, B (optional
// int32 [M]). x and w are u8 or i8 (independently), each zero point has its tensor's dtype, y has
// y_zero_point's (u8 or i8). x and y parameters are per tensor; w's per tensor or per output
// channel (scale and zero point independently). The multiplier x_scale · w_scale / y_scale is
// float32 and the product double, as in ONNX's reference (integer_linear.h: requantize).
// Attributes as Conv's.
#include <algorithm>
#include <limits>

#include "ops/integer_linear.h"
#include "ops/op.h"
#include "ops/tensor_op_util.h"

namespace lowbit::ops {
namespace {

constexpr std::string_view kOp = "QLinearConv";

Status qlinear_conv_infer(InferCtx& c) {
  LB_TRY(require_inputs(c, 8));
  LB_ASSIGN_OR_RETURN(Shape out, infer_int_conv(kOp, c, 0, 3));
  LB_TRY(check_zero_dtype(kOp, c, 2, 0, "x_zero_point"));
  LB_TRY(check_zero_dtype(kOp, c, 5, 3, "w_zero_point"));
  LB_ASSIGN_OR_RETURN(std::optional<DType> dt, infer_qlinear_dtype(kOp, c, 7));
  if (c.has_input(8)) {
    if (c.inputs[8].dtype) LB_TRY(check_dtype(kOp, "bias B", *c.inputs[8].dtype, dtype_bit(DType::kI32)));
    const int64_t m = out.empty() ? -1 : out[1];
    const std::optional<Shape>& b = c.inputs[8].shape;
    if (b && b->size() != 1)
      return Status::errorf("{}: bias B has shape {}, expected 1-D (one per output channel)", kOp, shape_str(*b));
    if (b && m >= 0 && (*b)[0] >= 0 && (*b)[0] != m)
      return Status::errorf("{}: bias B has shape {}, expected [{}]", kOp, shape_str(*b), m);
  }
  c.outputs[0].dtype = dt;
  if (!out.empty()) c.outputs[0].shape = std::move(out);
  return Status::ok();
}

template <typename T>
void requantize_planes(const int32_t* acc, int64_t planes, int64_t M, int64_t P, const std::vector<float>& mult,
                       int32_t zero, T* y, ThreadPool& pool) {
  const int32_t lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  pool.parallel_for(planes, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(P, 1)), [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const float m = mult[static_cast<size_t>(q % M)];
      for (int64_t i = q * P; i < (q + 1) * P; ++i) y[i] = static_cast<T>(requantize(acc[i], m, zero, lo, hi));
    }
  });
}

Status qlinear_conv_forward(RunCtx& c) {
  LB_TRY(require_inputs(c, 8));
  const Tensor& x = c.in(0);
  const Tensor& w = c.in(3);
  LB_TRY(check_dtype(kOp, "input x", x.dtype(), kInt8DTypes));
  LB_TRY(check_dtype(kOp, "weight w", w.dtype(), kInt8DTypes));
  LB_TRY(check_dtype(kOp, "y_zero_point", c.in(7).dtype(), kInt8DTypes));
  const DType out = c.in(7).dtype();
  LB_ASSIGN_OR_RETURN(ConvSetup s, int_conv_setup(kOp, c.attrs(), x.shape(), w.shape()));
  const int64_t M = w.dim(0);
  LB_ASSIGN_OR_RETURN(std::vector<float> xs, read_scale(kOp, "x_scale", c.in(1), -1));
  LB_ASSIGN_OR_RETURN(std::vector<int32_t> xz, read_zero_point(kOp, "x_zero_point", &c.in(2), x.dtype(), -1));
  LB_ASSIGN_OR_RETURN(std::vector<float> ws, read_scale(kOp, "w_scale", c.in(4), M));
  LB_ASSIGN_OR_RETURN(std::vector<int32_t> wz, read_zero_point(kOp, "w_zero_point", &c.in(5), w.dtype(), M));
  LB_ASSIGN_OR_RETURN(std::vector<float> ys, read_scale(kOp, "y_scale", c.in(6), -1));
  LB_ASSIGN_OR_RETURN(std::vector<int32_t> yz, read_zero_point(kOp, "y_zero_point", &c.in(7), out, -1));
  const int32_t* bias = nullptr;
  if (c.has_input(8)) {
    const Tensor& b = c.in(8);
    LB_TRY(check_dtype(kOp, "bias B", b.dtype(), dtype_bit(DType::kI32)));
    if (b.rank() != 1 || b.dim(0) != M)
      return Status::errorf("{}: bias B has shape {}, expected [{}]", kOp, shape_str(b.shape()), M);
    bias = b.data<int32_t>();
  }
  std::vector<float> mult(static_cast<size_t>(M));
  for (int64_t m = 0; m < M; ++m) {
    mult[static_cast<size_t>(m)] = xs[0] * param_at(ws, m) / ys[0];  // ONNX's order, in float32
    LB_TRY(check_multiplier(kOp, mult[static_cast<size_t>(m)]));
  }
  LB_ASSIGN_OR_RETURN(Tensor acc, conv_integer(kOp, x, xz[0], w, wz, bias, s, c.pool));
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make_uninit(out, acc.shape()));
  if (y.numel() > 0) {
    const int64_t planes = acc.dim(0) * M, P = acc.numel() / planes;
    if (out == DType::kU8)
      requantize_planes(acc.data<int32_t>(), planes, M, P, mult, yz[0], y.data<uint8_t>(), c.pool);
    else
      requantize_planes(acc.data<int32_t>(), planes, M, P, mult, yz[0], y.data<int8_t>(), c.pool);
  }
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kQLinearConv{"QLinearConv", 8, 9, qlinear_conv_infer, qlinear_conv_forward};

}  // namespace lowbit::ops
