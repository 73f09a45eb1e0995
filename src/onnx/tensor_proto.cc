// tensor_proto.cc: TensorProto -> Tensor (typed fields, raw_data, external data) and back.
#include "onnx/tensor_proto.h"

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>

#include "onnx/external_data.h"
#include "onnx/proto_io.h"

namespace lowbit::onnx {
namespace {

static_assert(std::endian::native == std::endian::little, "raw_data is little-endian; big-endian hosts need byte swaps");

using TP = ::onnx::TensorProto;

// Bytes per element as the proto stores it (raw_data and external data).
size_t source_elem_size(int32_t t) {
  switch (t) {
    case TP::FLOAT: return 4;
    case TP::DOUBLE: return 8;
    case TP::FLOAT16: return 2;
    case TP::INT8: return 1;
    case TP::UINT8: return 1;
    case TP::BOOL: return 1;
    case TP::INT32: return 4;
    case TP::INT64: return 8;
    default: return 0;
  }
}

// Where lowbit stores an ONNX element type: DOUBLE and FLOAT16 are converted to kF32.
std::optional<DType> storage_dtype(int32_t t) {
  if (t == TP::DOUBLE || t == TP::FLOAT16) return DType::kF32;
  return exact_dtype_from_onnx(t);
}

// IEEE binary16 -> binary32 (exact: every half is a float).
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: mant · 2^-24
    const float f = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -f : f;
  }
  uint32_t bits;
  if (exp == 31) bits = sign | 0x7f800000u | (mant << 13);         // inf, NaN (payload kept)
  else bits = sign | ((exp - 15 + 127) << 23) | (mant << 13);       // rebias the exponent
  return std::bit_cast<float>(bits);
}

// double -> float without undefined behaviour for values beyond float's range.
float narrow_double(double d) {
  if (d > FLT_MAX) return std::numeric_limits<float>::infinity();
  if (d < -FLT_MAX) return -std::numeric_limits<float>::infinity();
  return static_cast<float>(d);
}

// "[2,-3]": dims as the model wrote them (shape_str would print negatives as '?').
std::string dims_str(const google::protobuf::RepeatedField<int64_t>& dims) {
  std::string s = "[";
  for (int i = 0; i < dims.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(dims[i]);
  }
  return s + "]";
}

// Decodes `n` elements of ONNX type `t` from little-endian bytes into `out`.
void decode_raw(const char* src, int32_t t, int64_t n, Tensor& out) {
  const size_t count = static_cast<size_t>(n);
  switch (t) {
    case TP::DOUBLE: {
      float* dst = out.data<float>();
      for (size_t i = 0; i < count; ++i) {
        double d;
        std::memcpy(&d, src + 8 * i, 8);
        dst[i] = narrow_double(d);
      }
      return;
    }
    case TP::FLOAT16: {
      float* dst = out.data<float>();
      for (size_t i = 0; i < count; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = half_to_float(h);
      }
      return;
    }
    case TP::BOOL: {  // any non-zero byte is true; stored as 0 / 1
      uint8_t* dst = static_cast<uint8_t*>(out.raw());
      for (size_t i = 0; i < count; ++i) dst[i] = src[i] != 0;
      return;
    }
    default:
      if (count) std::memcpy(out.raw(), src, count * source_elem_size(t));
      return;
  }
}

// The typed repeated field a data type uses, by name, and how many values it holds.
struct TypedField {
  const char* name;
  int size;
};

TypedField typed_field(const TP& p, int32_t t) {
  switch (t) {
    case TP::FLOAT: return {"float_data", p.float_data_size()};
    case TP::DOUBLE: return {"double_data", p.double_data_size()};
    case TP::INT64: return {"int64_data", p.int64_data_size()};
    default: return {"int32_data", p.int32_data_size()};  // INT8, UINT8, INT32, BOOL, FLOAT16
  }
}

// A non-empty typed field other than `own`, if any (data in the wrong field).
const char* stray_field(const TP& p, const char* own) {
  const TypedField all[] = {{"float_data", p.float_data_size()},   {"double_data", p.double_data_size()},
                            {"int32_data", p.int32_data_size()},   {"int64_data", p.int64_data_size()},
                            {"uint64_data", p.uint64_data_size()}, {"string_data", p.string_data_size()}};
  for (const TypedField& f : all)
    if (f.size > 0 && std::strcmp(f.name, own) != 0) return f.name;
  return nullptr;
}

// Copies the typed field into `out`, checking that narrow types hold in-range values.
Status decode_typed(const TP& p, int32_t t, Tensor& out) {
  const size_t n = static_cast<size_t>(out.numel());
  auto int32_in = [&](int32_t lo, int32_t hi) -> Status {
    for (size_t i = 0; i < n; ++i) {
      const int32_t v = p.int32_data(static_cast<int>(i));
      if (v < lo || v > hi)
        return Status::errorf("has int32_data value {} at index {}, out of range for {}", v, i, onnx_dtype_name(t));
    }
    return Status::ok();
  };
  switch (t) {
    case TP::FLOAT:
      if (n) std::memcpy(out.raw(), p.float_data().data(), n * 4);
      return Status::ok();
    case TP::DOUBLE:
      for (size_t i = 0; i < n; ++i) out.data<float>()[i] = narrow_double(p.double_data(static_cast<int>(i)));
      return Status::ok();
    case TP::INT64:
      if (n) std::memcpy(out.raw(), p.int64_data().data(), n * 8);
      return Status::ok();
    case TP::INT32:
      if (n) std::memcpy(out.raw(), p.int32_data().data(), n * 4);
      return Status::ok();
    case TP::INT8:
      LB_TRY(int32_in(-128, 127));
      for (size_t i = 0; i < n; ++i) out.data<int8_t>()[i] = static_cast<int8_t>(p.int32_data(static_cast<int>(i)));
      return Status::ok();
    case TP::UINT8:
      LB_TRY(int32_in(0, 255));
      for (size_t i = 0; i < n; ++i) out.data<uint8_t>()[i] = static_cast<uint8_t>(p.int32_data(static_cast<int>(i)));
      return Status::ok();
    case TP::BOOL:
      for (size_t i = 0; i < n; ++i)
        static_cast<uint8_t*>(out.raw())[i] = p.int32_data(static_cast<int>(i)) != 0;
      return Status::ok();
    case TP::FLOAT16:  // each int32 holds the 16-bit pattern in its low bits
      LB_TRY(int32_in(0, 0xffff));
      for (size_t i = 0; i < n; ++i)
        out.data<float>()[i] = half_to_float(static_cast<uint16_t>(p.int32_data(static_cast<int>(i))));
      return Status::ok();
    default:
      return Status::errorf("has unsupported type {}", onnx_dtype_name(t));
  }
}

}  // namespace

int32_t onnx_dtype(DType t) {
  switch (t) {
    case DType::kF32: return TP::FLOAT;
    case DType::kI8: return TP::INT8;
    case DType::kU8: return TP::UINT8;
    case DType::kI32: return TP::INT32;
    case DType::kI64: return TP::INT64;
    case DType::kBool: return TP::BOOL;
  }
  return TP::UNDEFINED;
}

std::optional<DType> exact_dtype_from_onnx(int32_t onnx_type) {
  switch (onnx_type) {
    case TP::FLOAT: return DType::kF32;
    case TP::INT8: return DType::kI8;
    case TP::UINT8: return DType::kU8;
    case TP::INT32: return DType::kI32;
    case TP::INT64: return DType::kI64;
    case TP::BOOL: return DType::kBool;
    default: return std::nullopt;
  }
}

std::string onnx_dtype_name(int32_t onnx_type) {
  if (::onnx::TensorProto_DataType_IsValid(onnx_type))
    return ::onnx::TensorProto_DataType_Name(static_cast<::onnx::TensorProto_DataType>(onnx_type));
  return fmt::format("{} (not an ONNX type)", onnx_type);
}

Result<Tensor> tensor_from_proto(const TP& p, const std::string& display_name, const std::string& base_dir,
                                 std::string_view what) {
  const std::string desc =
      !what.empty() ? std::string(what) : p.name().empty() ? std::string("unnamed tensor") : fmt::format("tensor '{}'", printable(p.name()));
  auto fail = [&](const std::string& msg) { return Status::errorf("{}: {} {}", display_name, desc, msg); };

  const int32_t t = p.data_type();
  const std::optional<DType> dtype = storage_dtype(t);
  if (!dtype)
    return fail(fmt::format("has data type {}, which lowbit does not support "
                            "(supported: FLOAT, INT8, UINT8, INT32, INT64, BOOL; DOUBLE and FLOAT16 convert to FLOAT)",
                            onnx_dtype_name(t)));
  if (p.has_segment()) return fail("is a segment of a larger tensor, which lowbit does not support");

  // Dims: sign, overflow and the memory ceiling, all before any allocation.
  Shape shape(p.dims().begin(), p.dims().end());
  for (int64_t d : shape)
    if (d < 0) return fail(fmt::format("has a negative dim in dims {}", dims_str(p.dims())));
  Result<int64_t> numel_or = checked_numel(shape);
  if (!numel_or) return fail(fmt::format("has dims {} which overflow", dims_str(p.dims())));
  const int64_t n = *numel_or;
  const uint64_t dst_elem = dtype_size(*dtype);
  if (static_cast<uint64_t>(n) > max_tensor_bytes() / dst_elem)
    return fail(fmt::format("has dims {} ({} elements of {} bytes), over the {}-byte tensor limit (LOWBIT_MAX_TENSOR_BYTES)",
                            dims_str(p.dims()), n, dst_elem, max_tensor_bytes()));
  const uint64_t src_bytes = static_cast<uint64_t>(n) * source_elem_size(t);  // <= 2 * limit: no overflow

  const bool external = p.data_location() == TP::EXTERNAL;
  // Some writers leave an empty raw_data beside a filled typed field: the typed field wins then.
  const bool raw = p.has_raw_data() && !(p.raw_data().empty() && stray_field(p, "") != nullptr);
  if (external || raw) {
    if (external && p.has_raw_data()) return fail("has both external data and raw_data");
    if (const char* stray = stray_field(p, ""))
      return fail(fmt::format("has both {} and {}", external ? "external data" : "raw_data", stray));
    std::string external_bytes;
    if (external) {
      LB_ASSIGN_OR_RETURN(external_bytes, read_external_data(p, display_name, base_dir, desc, src_bytes));
    }
    const std::string& bytes = external ? external_bytes : p.raw_data();
    if (bytes.size() != src_bytes)
      return fail(fmt::format("has {} bytes of raw_data, too {} for dims {} of {} ({} bytes)", bytes.size(),
                              bytes.size() < src_bytes ? "short" : "long", dims_str(p.dims()), onnx_dtype_name(t),
                              src_bytes));
    Result<Tensor> out = Tensor::make(*dtype, std::move(shape));
    if (!out) return fail(out.status().message());
    decode_raw(bytes.data(), t, n, *out);
    return out;
  }

  const TypedField field = typed_field(p, t);
  if (const char* stray = stray_field(p, field.name))
    return fail(fmt::format("stores values in {}, which a {} tensor does not use (expected {} or raw_data)", stray,
                            onnx_dtype_name(t), field.name));
  if (static_cast<int64_t>(field.size) != n)
    return fail(fmt::format("has {} values in {}, too {} for dims {} ({} elements)", field.size, field.name,
                            field.size < n ? "few" : "many", dims_str(p.dims()), n));
  Result<Tensor> out = Tensor::make(*dtype, std::move(shape));
  if (!out) return fail(out.status().message());
  Status s = decode_typed(p, t, *out);
  if (!s) return fail(s.message());
  return out;
}

void tensor_to_proto(const Tensor& t, const std::string& name, TP* out) {
  out->Clear();
  out->set_name(name);
  out->set_data_type(onnx_dtype(t.dtype()));
  for (int64_t d : t.shape()) out->add_dims(d);
  if (t.nbytes()) out->set_raw_data(static_cast<const char*>(t.raw()), t.nbytes());
  else out->set_raw_data(std::string());
}

}  // namespace lowbit::onnx
