// pad.cc: Pad — constant, reflect, edge (and wrap) padding of any rank; negative pads crop.
// Opset < 11 reads attributes pads / value; opset >= 11 reads inputs pads (int64, begins then
// ends) and optional constant_value; opset >= 18 also accepts axes. Works on every dtype.
//
// Along a dim of size n with leading pad pb, output index o reads input i = o − pb, mapped
// into [0, n) by the mode: reflect mirrors about the edges without repeating them
// (−1 → 1, n → n − 2; pads longer than the dim keep bouncing, as numpy does), edge clamps, wrap is modulo n, constant reads the fill value.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "ops/op.h"

namespace lowbit::ops {
namespace {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

// Pads are bounded so in + begin + end cannot overflow.
constexpr int64_t kMaxPad = int64_t{1} << 40;

Result<PadMode> read_mode(const ir::Attributes& a) {
  LB_ASSIGN_OR_RETURN(std::string m, a.get_string("mode", std::string("constant")));
  if (m == "constant") return PadMode::kConstant;
  if (m == "reflect") return PadMode::kReflect;
  if (m == "edge") return PadMode::kEdge;
  if (m == "wrap") return PadMode::kWrap;
  return Status::errorf("attribute 'mode' has unknown value '{}'", m);
}

// Expands pads for the listed axes to 2·rank begins-then-ends.
Result<std::vector<int64_t>> full_pads(const std::vector<int64_t>& pads, size_t rank,
                                       const std::vector<int64_t>* axes) {
  if (!axes) {
    if (pads.size() != 2 * rank)
      return Status::errorf("pads has {} values, expected {} (begin and end per dim of a rank-{} input)", pads.size(),
                            2 * rank, rank);
    for (int64_t p : pads)
      if (p < -kMaxPad || p > kMaxPad) return Status::errorf("pad value {} is out of range", p);
    return pads;
  }
  if (pads.size() != 2 * axes->size())
    return Status::errorf("pads has {} values, expected {} (begin and end per axis)", pads.size(), 2 * axes->size());
  std::vector<int64_t> out(2 * rank, 0);
  const int64_t r = static_cast<int64_t>(rank);
  for (size_t i = 0; i < axes->size(); ++i) {
    int64_t ax = (*axes)[i];
    if (ax < -r || ax >= r) return Status::errorf("axis {} is out of range for rank {}", ax, rank);
    if (ax < 0) ax += r;
    const int64_t pb = pads[i], pe = pads[i + axes->size()];
    if (pb < -kMaxPad || pb > kMaxPad || pe < -kMaxPad || pe > kMaxPad)
      return Status::errorf("pad value {} is out of range", std::max(std::abs(pb), std::abs(pe)));
    out[static_cast<size_t>(ax)] = pb;
    out[static_cast<size_t>(ax) + rank] = pe;
  }
  return out;
}

// The pads (2·rank), or nullopt when they are a non-constant input (shape inference).
Result<std::optional<std::vector<int64_t>>> read_pads(int64_t opset, const ir::Attributes& a, size_t rank,
                                                      const Tensor* pads_input, bool pads_present,
                                                      const Tensor* axes_input) {
  if (opset < 11) {
    LB_ASSIGN_OR_RETURN(std::vector<int64_t> p, a.get_ints("pads"));
    LB_ASSIGN_OR_RETURN(std::vector<int64_t> f, full_pads(p, rank, nullptr));
    return std::optional<std::vector<int64_t>>(f);
  }
  if (!pads_present) return Status::error("input 'pads' is missing");
  if (!pads_input) return std::optional<std::vector<int64_t>>();
  if (pads_input->dtype() != DType::kI64 && pads_input->dtype() != DType::kI32)
    return Status::errorf("input 'pads' must be int64, got {}", dtype_name(pads_input->dtype()));
  if (pads_input->rank() > 1)
    return Status::errorf("input 'pads' has shape {}, expected 1-D", shape_str(pads_input->shape()));
  const std::vector<int64_t> p = pads_input->to_i64_vector();
  std::vector<int64_t> axes;
  if (axes_input) axes = axes_input->to_i64_vector();
  LB_ASSIGN_OR_RETURN(std::vector<int64_t> f, full_pads(p, rank, axes_input ? &axes : nullptr));
  return std::optional<std::vector<int64_t>>(f);
}

Result<Shape> padded_shape(const Shape& in, const std::vector<int64_t>& pads, PadMode mode) {
  const size_t r = in.size();
  Shape out(r);
  for (size_t d = 0; d < r; ++d) {
    const int64_t pb = pads[d], pe = pads[d + r];
    if (in[d] < 0) {
      out[d] = -1;
      continue;
    }
    out[d] = in[d] + pb + pe;
    if (out[d] < 0)
      return Status::errorf("pads {} and {} crop dim {} of size {} below zero", pb, pe, d, in[d]);
    if (mode != PadMode::kConstant && (pb > 0 || pe > 0) && in[d] == 0)
      return Status::errorf("cannot {}-pad dim {} of size 0", mode == PadMode::kEdge ? "edge" : "reflect", d);
  }
  return out;
}

// Input index read by output index o along a dim (size n, leading pad pb), or -1 for the fill value.
int64_t source_index(int64_t o, int64_t pb, int64_t n, PadMode mode) {
  int64_t i = o - pb;
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::kConstant: return -1;
    case PadMode::kEdge: return std::clamp<int64_t>(i, 0, n - 1);
    case PadMode::kWrap: return ((i % n) + n) % n;
    case PadMode::kReflect: {
      // numpy's reflect repeats with period 2(n − 1): ... 2 1 | 0 1 2 ... n−1 | n−2 ...
      if (n == 1) return 0;
      const int64_t period = 2 * (n - 1);
      i = std::abs(i) % period;
      return i < n ? i : period - i;
    }
  }
  return -1;
}

// The fill value in T, saturated (models are untrusted; an out-of-range cast is UB).
template <typename T>
T fill_value(double v) {
  if (std::is_same_v<T, bool>) return static_cast<T>(v != 0.0);
  if (std::is_floating_point_v<T>) return static_cast<T>(v);
  if (std::isnan(v)) return T{0};
  const double lo = static_cast<double>(std::numeric_limits<T>::lowest());
  const double hi = static_cast<double>(std::numeric_limits<T>::max());
  if (v <= lo) return std::numeric_limits<T>::lowest();
  if (v >= hi) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

template <typename T>
void pad_impl(const Tensor& x, Tensor& y, const std::vector<int64_t>& pads, PadMode mode, T value) {
  const Shape& in = x.shape();
  const Shape& out = y.shape();
  const size_t r = in.size();
  const T* xp = x.data<T>();
  T* yp = y.data<T>();
  if (r == 0) {
    yp[0] = xp[0];
    return;
  }
  // Per dim, the input index of each output index (-1: fill value).
  std::vector<std::vector<int64_t>> src(r);
  for (size_t d = 0; d < r; ++d) {
    src[d].resize(static_cast<size_t>(out[d]));
    for (int64_t o = 0; o < out[d]; ++o) src[d][static_cast<size_t>(o)] = source_index(o, pads[d], in[d], mode);
  }
  std::vector<int64_t> in_strides(r, 1);
  for (size_t d = r - 1; d-- > 0;) in_strides[d] = in_strides[d + 1] * in[d + 1];
  const int64_t W = out[r - 1];
  const std::vector<int64_t>& last = src[r - 1];
  // The run of output columns that copy the input unchanged: [j0, j1).
  const int64_t j0 = std::clamp<int64_t>(pads[r - 1], 0, W), j1 = std::clamp<int64_t>(pads[r - 1] + in[r - 1], j0, W);
  const int64_t rows = W > 0 ? y.numel() / W : 0;
  std::vector<int64_t> idx(r, 0);  // current output row's multi-index (last entry unused)
  for (int64_t row = 0; row < rows; ++row) {
    T* yr = yp + row * W;
    int64_t off = 0;
    bool fill = false;
    for (size_t d = 0; d + 1 < r; ++d) {
      const int64_t s = src[d][static_cast<size_t>(idx[d])];
      if (s < 0) {
        fill = true;
        break;
      }
      off += s * in_strides[d];
    }
    if (fill) {
      std::fill(yr, yr + W, value);
    } else {
      const T* xr = xp + off;
      for (int64_t j = 0; j < j0; ++j) yr[j] = last[static_cast<size_t>(j)] < 0 ? value : xr[last[static_cast<size_t>(j)]];
      if (j1 > j0) std::memcpy(yr + j0, xr + (j0 - pads[r - 1]), static_cast<size_t>(j1 - j0) * sizeof(T));
      for (int64_t j = j1; j < W; ++j) yr[j] = last[static_cast<size_t>(j)] < 0 ? value : xr[last[static_cast<size_t>(j)]];
    }
    for (size_t d = r - 1; d-- > 0;) {  // next row
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
}

Status pad_infer(InferCtx& c) {
  const TensorInfo& X = c.inputs[0];
  c.outputs[0].dtype = X.dtype;
  if (!X.shape) return Status::ok();
  LB_ASSIGN_OR_RETURN(PadMode mode, read_mode(c.attrs()));
  const TensorInfo* axes = c.has_input(3) ? &c.inputs[3] : nullptr;
  if (axes && !axes->value) {
    c.outputs[0].shape = Shape(X.shape->size(), -1);
    return Status::ok();
  }
  LB_ASSIGN_OR_RETURN(auto pads, read_pads(c.opset, c.attrs(), X.shape->size(), c.has_input(1) ? c.inputs[1].value : nullptr,
                                           c.has_input(1), axes ? axes->value : nullptr));
  if (!pads) {
    c.outputs[0].shape = Shape(X.shape->size(), -1);
    return Status::ok();
  }
  LB_ASSIGN_OR_RETURN(c.outputs[0].shape, padded_shape(*X.shape, *pads, mode));
  return Status::ok();
}

Status pad_forward(RunCtx& c) {
  const Tensor& x = c.in(0);
  LB_ASSIGN_OR_RETURN(PadMode mode, read_mode(c.attrs()));
  LB_ASSIGN_OR_RETURN(auto pads, read_pads(c.opset, c.attrs(), static_cast<size_t>(x.rank()),
                                           c.has_input(1) ? &c.in(1) : nullptr, c.has_input(1),
                                           c.has_input(3) ? &c.in(3) : nullptr));
  LB_ASSIGN_OR_RETURN(Shape out, padded_shape(x.shape(), *pads, mode));
  double value = 0.0;
  if (c.opset < 11) {
    LB_ASSIGN_OR_RETURN(float v, c.attrs().get_float("value", 0.0f));
    value = v;
  } else if (c.has_input(2) && c.in(2).numel() > 0) {
    value = c.in(2).at_f64(0);
  }
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(x.dtype(), out));
  if (y.numel() > 0) {
    switch (x.dtype()) {
      case DType::kF32: pad_impl<float>(x, y, *pads, mode, fill_value<float>(value)); break;
      case DType::kI8: pad_impl<int8_t>(x, y, *pads, mode, fill_value<int8_t>(value)); break;
      case DType::kU8: pad_impl<uint8_t>(x, y, *pads, mode, fill_value<uint8_t>(value)); break;
      case DType::kI32: pad_impl<int32_t>(x, y, *pads, mode, fill_value<int32_t>(value)); break;
      case DType::kI64: {
        // int64 fill values need not survive a trip through double.
        const bool exact = c.opset >= 11 && c.has_input(2) && c.in(2).numel() > 0;
        pad_impl<int64_t>(x, y, *pads, mode, exact ? c.in(2).at_i64(0) : fill_value<int64_t>(value));
        break;
      }
      case DType::kBool: pad_impl<bool>(x, y, *pads, mode, fill_value<bool>(value)); break;
    }
  }
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kPad{"Pad", 1, 4, pad_infer, pad_forward};

}  // namespace lowbit::ops
