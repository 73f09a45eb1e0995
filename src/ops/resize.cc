// resize.cc: Resize (opset 10: X, scales; opsets 11-17: X, roi, scales, sizes) and the older
// Upsample (opset 7-9) — nearest, linear and cubic interpolation over any rank.
//
// Each output coordinate x along a dim maps back to a coordinate x' of the input
// (coordinate_transformation_mode; scale = out/in when sizes are given, else the given scale):
//   half_pixel          x' = (x + 0.5) / scale − 0.5
//   pytorch_half_pixel  x' = out > 1 ? (x + 0.5) / scale − 0.5 : 0
//   align_corners       x' = x · (in − 1) / (L − 1), L = in · scale (the resized length, not
//                       rounded: ONNX's reference and test data use it so), 0 when L == 1
//   asymmetric          x' = x / scale
//   tf_half_pixel_for_nn x' = (x + 0.5) / scale
//   tf_crop_and_resize  x' = roi_start·(in − 1) + x·(roi_end − roi_start)·(in − 1)/(L − 1)
//                       (L == 1: the roi centre); outside [0, in − 1] gives extrapolation_value
// and x' becomes taps (input index, weight): nearest picks one index by nearest_mode; linear
// weighs floor(x') and floor(x') + 1 by 1 − t and t (t = x' − floor(x')); cubic weighs
// floor(x') − 1 … floor(x') + 2 by Keys' kernel with a = cubic_coeff_a (exclude_outside drops
// taps outside the input and renormalizes). Indices are clamped to the input (edge padding).
// The output is Σ over tap combinations of Π weights · x[indices], evaluated row by row.
// Opset 10 Resize and Upsample use asymmetric coordinates and ONNX Runtime's legacy nearest
// rule (ceil when downsampling, floor otherwise).
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "ops/op.h"

namespace lowbit::ops {
namespace {

enum class Mode { kNearest, kLinear, kCubic };
enum class Coord { kHalfPixel, kPytorchHalfPixel, kAlignCorners, kAsymmetric, kTfHalfPixelForNN, kTfCropAndResize };
enum class Nearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kLegacy };

struct ResizeParams {
  Mode mode = Mode::kNearest;
  Coord coord = Coord::kHalfPixel;
  Nearest nearest = Nearest::kRoundPreferFloor;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  float extrapolation = 0.0f;
};

// Largest output dim accepted before Tensor::make judges the total (keeps arithmetic exact).
constexpr double kMaxOutDim = 4.0e15;

bool is_upsample(const ir::Node& n) { return n.op_type == "Upsample"; }

Result<ResizeParams> read_params(const ir::Node& node, int64_t opset) {
  const ir::Attributes& a = node.attrs;
  ResizeParams p;
  LB_ASSIGN_OR_RETURN(std::string mode, a.get_string("mode", std::string("nearest")));
  if (mode == "nearest") {
    p.mode = Mode::kNearest;
  } else if (mode == "linear" || mode == "bilinear" || mode == "trilinear") {
    p.mode = Mode::kLinear;
  } else if (mode == "cubic" && !is_upsample(node) && opset >= 11) {
    p.mode = Mode::kCubic;
  } else {
    return Status::errorf("unsupported mode '{}'", mode);
  }
  if (is_upsample(node) || opset < 11) {  // before coordinate_transformation_mode existed
    p.coord = Coord::kAsymmetric;
    p.nearest = Nearest::kLegacy;
    return p;
  }
  LB_ASSIGN_OR_RETURN(std::string coord, a.get_string("coordinate_transformation_mode", std::string("half_pixel")));
  if (coord == "half_pixel") {
    p.coord = Coord::kHalfPixel;
  } else if (coord == "pytorch_half_pixel") {
    p.coord = Coord::kPytorchHalfPixel;
  } else if (coord == "align_corners") {
    p.coord = Coord::kAlignCorners;
  } else if (coord == "asymmetric") {
    p.coord = Coord::kAsymmetric;
  } else if (coord == "tf_half_pixel_for_nn") {
    p.coord = Coord::kTfHalfPixelForNN;
  } else if (coord == "tf_crop_and_resize") {
    p.coord = Coord::kTfCropAndResize;
  } else {
    return Status::errorf("unsupported coordinate_transformation_mode '{}'", coord);
  }
  LB_ASSIGN_OR_RETURN(std::string nearest, a.get_string("nearest_mode", std::string("round_prefer_floor")));
  if (nearest == "round_prefer_floor") {
    p.nearest = Nearest::kRoundPreferFloor;
  } else if (nearest == "round_prefer_ceil") {
    p.nearest = Nearest::kRoundPreferCeil;
  } else if (nearest == "floor") {
    p.nearest = Nearest::kFloor;
  } else if (nearest == "ceil") {
    p.nearest = Nearest::kCeil;
  } else {
    return Status::errorf("unsupported nearest_mode '{}'", nearest);
  }
  LB_ASSIGN_OR_RETURN(float ca, a.get_float("cubic_coeff_a", -0.75f));
  p.cubic_a = ca;
  LB_ASSIGN_OR_RETURN(int64_t ex, a.get_int("exclude_outside", 0));
  p.exclude_outside = ex != 0;
  LB_ASSIGN_OR_RETURN(p.extrapolation, a.get_float("extrapolation_value", 0.0f));
  LB_ASSIGN_OR_RETURN(int64_t antialias, a.get_int("antialias", 0));
  if (antialias != 0) return Status::error("antialias is not supported");
  if (a.has("axes")) return Status::error("attribute 'axes' (opset 18) is not supported");
  return p;
}

// Output sizes, and per dim the scale and resized length used by the coordinate mapping.
struct Target {
  Shape out;
  std::vector<double> scale, length;
};

Result<Target> target_from_scales(const Shape& in, const std::vector<double>& scales) {
  if (scales.size() != in.size())
    return Status::errorf("scales has {} values, expected {} (the input rank)", scales.size(), in.size());
  Target t;
  for (size_t d = 0; d < in.size(); ++d) {
    const double s = scales[d];
    if (!std::isfinite(s) || s <= 0.0) return Status::errorf("scale {} for dim {} is not a positive number", s, d);
    if (in[d] < 0) {
      t.out.push_back(-1);
    } else {
      const double len = static_cast<double>(in[d]) * s;
      if (len >= kMaxOutDim) return Status::errorf("scale {} makes dim {} of size {} too large", s, d, in[d]);
      t.out.push_back(static_cast<int64_t>(std::floor(len)));
    }
    t.scale.push_back(s);
    t.length.push_back(in[d] < 0 ? -1.0 : static_cast<double>(in[d]) * s);
  }
  return t;
}

Result<Target> target_from_sizes(const Shape& in, const std::vector<int64_t>& sizes) {
  if (sizes.size() != in.size())
    return Status::errorf("sizes has {} values, expected {} (the input rank)", sizes.size(), in.size());
  Target t;
  for (size_t d = 0; d < in.size(); ++d) {
    const int64_t s = sizes[d];
    if (s < 0 || static_cast<double>(s) >= kMaxOutDim) return Status::errorf("size {} for dim {} is out of range", s, d);
    if (in[d] == 0 && s > 0) return Status::errorf("cannot resize dim {} of size 0 to {}", d, s);
    t.out.push_back(s);
    t.scale.push_back(in[d] > 0 ? static_cast<double>(s) / static_cast<double>(in[d]) : 1.0);
    t.length.push_back(static_cast<double>(s));
  }
  return t;
}

std::vector<double> to_f64(const Tensor& t) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (int64_t i = 0; i < t.numel(); ++i) v[static_cast<size_t>(i)] = t.at_f64(i);
  return v;
}

// Where the sizes come from: scales / sizes inputs (or Upsample's scales attribute). `value`
// is null for a known-present input whose contents are unknown (shape inference).
struct Sources {
  const Tensor* scales = nullptr;
  bool scales_present = false;
  const Tensor* sizes = nullptr;
  bool sizes_present = false;
  std::optional<std::vector<double>> scales_attr;
};

// nullopt when the sizes depend on unknown input values (shape inference).
Result<std::optional<Target>> plan_target(const Shape& in, const Sources& s) {
  if (s.scales_attr) {
    LB_ASSIGN_OR_RETURN(Target t, target_from_scales(in, *s.scales_attr));
    return std::optional<Target>(t);
  }
  // An empty tensor stands for an omitted input (opsets 11-12 require the slots).
  const bool scales_given = s.scales_present && (!s.scales || s.scales->numel() > 0);
  const bool sizes_given = s.sizes_present && (!s.sizes || s.sizes->numel() > 0);
  if (scales_given && sizes_given) {
    if (s.scales && s.sizes) return Status::error("only one of 'scales' and 'sizes' may be given");
    return std::optional<Target>();
  }
  if (sizes_given) {
    if (!s.sizes) return std::optional<Target>();
    if (s.sizes->dtype() != DType::kI64 && s.sizes->dtype() != DType::kI32)
      return Status::errorf("input 'sizes' must be int64, got {}", dtype_name(s.sizes->dtype()));
    LB_ASSIGN_OR_RETURN(Target t, target_from_sizes(in, s.sizes->to_i64_vector()));
    return std::optional<Target>(t);
  }
  if (scales_given) {
    if (!s.scales) return std::optional<Target>();
    if (s.scales->dtype() != DType::kF32)
      return Status::errorf("input 'scales' must be float32, got {}", dtype_name(s.scales->dtype()));
    LB_ASSIGN_OR_RETURN(Target t, target_from_scales(in, to_f64(*s.scales)));
    return std::optional<Target>(t);
  }
  return Status::error("neither 'scales' nor 'sizes' is given");
}

Sources sources(const ir::Node& node, int64_t opset, const std::vector<const Tensor*>& values,
                const std::vector<bool>& present) {
  Sources s;
  auto get = [&](size_t i, const Tensor** t, bool* p) {
    *p = i < present.size() && present[i];
    *t = *p ? values[i] : nullptr;
  };
  if (is_upsample(node) || opset < 11) {
    if (is_upsample(node) && present.size() < 2) {
      auto v = node.attrs.get_floats("scales");
      if (v.is_ok()) s.scales_attr = std::vector<double>(v->begin(), v->end());
      return s;
    }
    get(1, &s.scales, &s.scales_present);
    return s;
  }
  get(2, &s.scales, &s.scales_present);
  get(3, &s.sizes, &s.sizes_present);
  return s;
}

// The input coordinate of output coordinate x along one dim.
double original_coord(const ResizeParams& p, double x, double scale, double length, int64_t in, int64_t out,
                      double roi_start, double roi_end) {
  switch (p.coord) {
    case Coord::kHalfPixel: return (x + 0.5) / scale - 0.5;
    case Coord::kPytorchHalfPixel: return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case Coord::kAlignCorners: return length == 1.0 ? 0.0 : x * static_cast<double>(in - 1) / (length - 1.0);
    case Coord::kAsymmetric: return x / scale;
    case Coord::kTfHalfPixelForNN: return (x + 0.5) / scale;
    case Coord::kTfCropAndResize:
      if (length == 1.0) return 0.5 * (roi_start + roi_end) * static_cast<double>(in - 1);
      return roi_start * static_cast<double>(in - 1) +
             x * (roi_end - roi_start) * static_cast<double>(in - 1) / (length - 1.0);
  }
  return 0.0;
}

// Per output index of one dim: `taps` (index, weight) pairs and whether it lies outside the
// input (tf_crop_and_resize extrapolation).
struct DimTaps {
  int taps = 1;
  std::vector<int64_t> idx;
  std::vector<float> w;
  std::vector<uint8_t> outside;
  bool any_outside = false;
};

double cubic_weight(double t, double a) {  // Keys' kernel, |t| < 2
  t = std::abs(t);
  if (t <= 1.0) return ((a + 2.0) * t - (a + 3.0)) * t * t + 1.0;
  if (t < 2.0) return ((a * t - 5.0 * a) * t + 8.0 * a) * t - 4.0 * a;
  return 0.0;
}

DimTaps make_taps(const ResizeParams& p, int64_t in, int64_t out, double scale, double length, double roi_start,
                  double roi_end) {
  DimTaps d;
  d.taps = p.mode == Mode::kNearest ? 1 : p.mode == Mode::kLinear ? 2 : 4;
  const size_t n = static_cast<size_t>(out), T = static_cast<size_t>(d.taps);
  d.idx.assign(n * T, 0);
  d.w.assign(n * T, 0.0f);
  d.outside.assign(n, 0);
  auto clamp = [in](int64_t i) { return std::clamp<int64_t>(i, 0, in - 1); };
  for (size_t o = 0; o < n; ++o) {
    const double x = original_coord(p, static_cast<double>(o), scale, length, in, out, roi_start, roi_end);
    if (p.coord == Coord::kTfCropAndResize && (x < 0.0 || x > static_cast<double>(in - 1))) {
      d.outside[o] = 1;
      d.any_outside = true;
      continue;
    }
    int64_t* idx = &d.idx[o * T];
    float* w = &d.w[o * T];
    const double fl = std::floor(x), t = x - fl;
    const int64_t i0 = static_cast<int64_t>(fl);
    switch (p.mode) {
      case Mode::kNearest: {
        double r = fl;
        switch (p.nearest) {
          case Nearest::kRoundPreferFloor: r = std::ceil(x - 0.5); break;
          case Nearest::kRoundPreferCeil: r = std::floor(x + 0.5); break;
          case Nearest::kFloor: r = fl; break;
          case Nearest::kCeil: r = std::ceil(x); break;
          case Nearest::kLegacy: r = scale < 1.0 ? std::ceil(x) : std::trunc(x); break;
        }
        idx[0] = clamp(static_cast<int64_t>(r));
        w[0] = 1.0f;
        break;
      }
      case Mode::kLinear:
        idx[0] = clamp(i0);
        idx[1] = clamp(i0 + 1);
        w[0] = static_cast<float>(1.0 - t);
        w[1] = static_cast<float>(t);
        break;
      case Mode::kCubic: {
        double ws[4], sum = 0.0;
        for (int k = 0; k < 4; ++k) {
          const int64_t i = i0 - 1 + k;
          ws[k] = cubic_weight(t - (k - 1), p.cubic_a);
          if (p.exclude_outside && (i < 0 || i >= in)) ws[k] = 0.0;
          sum += ws[k];
          idx[k] = clamp(i);
        }
        for (int k = 0; k < 4; ++k) w[k] = static_cast<float>(p.exclude_outside && sum != 0.0 ? ws[k] / sum : ws[k]);
        break;
      }
    }
  }
  // A dim where every output reads one input with weight 1 (identity dims, integer-aligned
  // coordinates) needs one tap only.
  bool single = d.taps > 1;
  for (size_t o = 0; single && o < n; ++o) {
    int nonzero = 0;
    for (size_t k = 0; k < T; ++k) nonzero += d.w[o * T + k] != 0.0f;
    single = nonzero <= 1;
    for (size_t k = 0; single && k < T; ++k) single = d.w[o * T + k] == 0.0f || d.w[o * T + k] == 1.0f;
  }
  if (single) {
    std::vector<int64_t> idx(n, 0);
    std::vector<float> w(n, 0.0f);
    for (size_t o = 0; o < n; ++o)
      for (size_t k = 0; k < T; ++k)
        if (d.w[o * T + k] != 0.0f) {
          idx[o] = d.idx[o * T + k];
          w[o] = 1.0f;
        }
    d.idx = std::move(idx);
    d.w = std::move(w);
    d.taps = 1;
  }
  return d;
}

void resize_f32(const Tensor& x, Tensor& y, const std::vector<DimTaps>& dims, float extrapolation, ThreadPool& pool) {
  const Shape& in = x.shape();
  const Shape& out = y.shape();
  const size_t r = in.size();
  std::vector<int64_t> in_strides(r, 1);
  for (size_t d = r - 1; d-- > 0;) in_strides[d] = in_strides[d + 1] * in[d + 1];
  const int64_t W = out[r - 1];
  const int64_t rows = W > 0 ? y.numel() / W : 0;
  const DimTaps& last = dims[r - 1];
  const size_t TL = static_cast<size_t>(last.taps);
  const float* xp = x.data<float>();
  float* yp = y.data<float>();
  auto run = [&](int64_t row0, int64_t row1) {
    struct Combo {
      int64_t off;
      float w;
    };
    std::vector<Combo> combos, next;
    for (int64_t row = row0; row < row1; ++row) {
      float* yr = yp + row * W;
      // Tap combinations of the leading dims for this row.
      combos.assign(1, Combo{0, 1.0f});
      bool outside = false;
      int64_t rem = row;
      for (size_t d = r - 1; d-- > 0;) {
        const int64_t o = rem % out[d];
        rem /= out[d];
        const DimTaps& t = dims[d];
        if (t.outside[static_cast<size_t>(o)]) {
          outside = true;
          break;
        }
        next.clear();
        for (const Combo& c : combos)
          for (int k = 0; k < t.taps; ++k) {
            const size_t j = static_cast<size_t>(o) * static_cast<size_t>(t.taps) + static_cast<size_t>(k);
            if (t.w[j] != 0.0f) next.push_back({c.off + t.idx[j] * in_strides[d], c.w * t.w[j]});
          }
        combos.swap(next);
      }
      if (outside) {
        std::fill(yr, yr + W, extrapolation);
        continue;
      }
      if (combos.size() == 1 && TL == 1 && !last.any_outside) {  // nearest / identity: a gather
        const float* xr = xp + combos[0].off;
        for (int64_t j = 0; j < W; ++j) yr[j] = xr[last.idx[static_cast<size_t>(j)]];
        continue;
      }
      for (int64_t j = 0; j < W; ++j) {
        if (last.outside[static_cast<size_t>(j)]) {
          yr[j] = extrapolation;
          continue;
        }
        const int64_t* li = &last.idx[static_cast<size_t>(j) * TL];
        const float* lw = &last.w[static_cast<size_t>(j) * TL];
        float acc = 0.0f;
        for (const Combo& c : combos) {
          const float* xr = xp + c.off;
          float s = 0.0f;
          for (size_t k = 0; k < TL; ++k) s += lw[k] * xr[li[k]];
          acc += c.w * s;
        }
        yr[j] = acc;
      }
    }
  };
  if (y.numel() >= (int64_t{1} << 15)) {
    pool.parallel_for(rows, std::max<int64_t>(1, 4096 / std::max<int64_t>(W, 1)), run);
  } else {
    run(0, rows);
  }
}

Status resize_infer(InferCtx& c) {
  const TensorInfo& X = c.inputs[0];
  if (X.dtype && *X.dtype != DType::kF32) return Status::errorf("input X must be float32, got {}", dtype_name(*X.dtype));
  c.outputs[0].dtype = DType::kF32;
  LB_TRY(read_params(c.node, c.opset).status());
  if (!X.shape) return Status::ok();
  if (X.shape->empty()) return Status::error("input X must have rank >= 1");
  std::vector<const Tensor*> values;
  std::vector<bool> present;
  for (const TensorInfo& t : c.inputs) {
    values.push_back(t.value);
    present.push_back(t.present);
  }
  LB_ASSIGN_OR_RETURN(std::optional<Target> t, plan_target(*X.shape, sources(c.node, c.opset, values, present)));
  c.outputs[0].shape = t ? t->out : Shape(X.shape->size(), -1);
  return Status::ok();
}

Status resize_forward(RunCtx& c) {
  const Tensor& x = c.in(0);
  if (x.dtype() != DType::kF32) return Status::errorf("input X must be float32, got {}", dtype_name(x.dtype()));
  if (x.rank() == 0) return Status::error("input X must have rank >= 1");
  LB_ASSIGN_OR_RETURN(ResizeParams p, read_params(c.node, c.opset));
  std::vector<bool> present;
  for (const Tensor* t : c.inputs) present.push_back(t != nullptr);
  LB_ASSIGN_OR_RETURN(std::optional<Target> target, plan_target(x.shape(), sources(c.node, c.opset, c.inputs, present)));
  if (!target) return Status::error("scales / sizes are unknown");  // not reached: forward has every value
  const size_t r = static_cast<size_t>(x.rank());
  // roi (tf_crop_and_resize only): starts then ends, default the whole input.
  std::vector<double> roi(2 * r, 0.0);
  for (size_t d = 0; d < r; ++d) roi[r + d] = 1.0;
  if (p.coord == Coord::kTfCropAndResize && c.opset >= 11 && !is_upsample(c.node) && c.has_input(1) &&
      c.in(1).numel() > 0) {
    if (c.in(1).numel() != static_cast<int64_t>(2 * r))
      return Status::errorf("roi has {} values, expected {} (starts and ends per dim)", c.in(1).numel(), 2 * r);
    roi = to_f64(c.in(1));
    for (double v : roi)
      if (!std::isfinite(v)) return Status::error("roi holds a non-finite value");
  }
  LB_ASSIGN_OR_RETURN(Tensor y, Tensor::make(DType::kF32, target->out));
  if (y.numel() > 0) {
    std::vector<DimTaps> dims;
    for (size_t d = 0; d < r; ++d)
      dims.push_back(make_taps(p, x.dim(static_cast<int>(d)), target->out[d], target->scale[d], target->length[d],
                               roi[d], roi[r + d]));
    resize_f32(x, y, dims, p.extrapolation, c.pool);
  }
  c.outputs[0] = std::move(y);
  return Status::ok();
}

}  // namespace

extern const OpDef kResize{"Resize", 1, 4, resize_infer, resize_forward};
extern const OpDef kUpsample{"Upsample", 1, 2, resize_infer, resize_forward};

}  // namespace lowbit::ops
