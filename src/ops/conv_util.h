// conv_util.h: attribute parsing and output-size arithmetic shared by Conv, ConvTranspose and
// the pooling ops (kernel_shape, strides, dilations, pads, auto_pad, ceil_mode).
//
// Shapes may be partial (dims < 0 unknown) so that shape inference and forward share one
// code path: an output dim whose inputs are unknown comes out as -1.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ir/attribute.h"
#include "kernels/fp32/conv.h"
#include "ops/op.h"

namespace lowbit::ops {

enum class AutoPad { kNotSet, kSameUpper, kSameLower, kValid };

// Largest stride / dilation / pad / kernel accepted from a model: keeps all size arithmetic
// far from int64 overflow.
inline constexpr int64_t kMaxWindowAttr = int64_t{1} << 31;

// Per spatial dim, window attributes resolved against the input size.
struct WindowPlan {
  std::vector<int64_t> kernel, stride, dilation, pad_begin, pad_end, out;  // out: -1 if unknown
};

// Attributes of a windowed op before the input size is known.
struct WindowAttrs {
  std::vector<int64_t> kernel, stride, dilation, pads;  // pads: all begins, then all ends
  AutoPad auto_pad = AutoPad::kNotSet;
  bool ceil_mode = false;
};

// Reads auto_pad ("NOTSET" when absent; errors on anything else unknown).
Result<AutoPad> read_auto_pad(const ir::Attributes& a);

// Reads strides, dilations (when `with_dilations`), pads, auto_pad and ceil_mode for `rank`
// spatial dims. `kernel` is kernel_shape when given, else `kernel_fallback` (from the weight;
// an entry < 0 is unknown); kernel_shape and a known fallback must agree.
Result<WindowAttrs> read_window_attrs(const ir::Attributes& a, size_t rank,
                                      const std::optional<std::vector<int64_t>>& kernel_fallback,
                                      bool with_dilations, bool with_ceil_mode);

// Output size and padding of a Conv / pool window along the spatial dims `in` (-1 unknown).
// Errors when a known input is smaller than the (padded) kernel.
Result<WindowPlan> plan_window(const WindowAttrs& w, const std::vector<int64_t>& in);

// ConvGeom for a rank-3/4/5 input [N, C, spatial...] (spatial dims padded to three in front).
kernels::ConvGeom conv_geom(const Shape& x, int64_t out_channels, int64_t groups, const WindowPlan& p);

// "Conv: input X must be float32" style checks shared by the ops.
Status expect_f32(const Tensor& t, std::string_view what);
// Errors unless every dim of `shape` fits OpenBLAS's 32-bit sizes when used in a GEMM.
Status expect_blas_size(int64_t value, std::string_view what);

// Spatial dims of a partial shape (everything after N and C).
std::vector<int64_t> spatial_dims(const Shape& s);

// Conv's attributes (auto_pad, dilations, group, kernel_shape, pads, strides) against x
// [N, C, spatial...] and w [M, C/group, kernel...] of known ranks, dims possibly unknown (< 0):
// the window plan, the group and the output shape [N, M, spatial out...]. Shared by Conv,
// ConvInteger and QLinearConv. Channel checks divide rather than multiply: a declared shape
// may hold dims near 2^63.
struct ConvSetup {
  WindowPlan plan;
  int64_t group = 1;
  Shape out;
};
Result<ConvSetup> setup_conv(const ir::Attributes& a, const Shape& x, const Shape& w);

// The common start of Conv and ConvTranspose shape inference: X and W must be float32 (the
// output is), and each shape of unknown rank takes the other's rank with unknown dims. Returns
// {x, w}, or nullopt when neither rank is known.
Result<std::optional<std::pair<Shape, Shape>>> conv_infer_inputs(InferCtx& c);

}  // namespace lowbit::ops
