// pack.cc: sub-byte packing and unpacking (the layout is documented in pack.h).
#include "quant/pack.h"

#include <cstdint>

namespace lowbit::quant {
namespace {

Status check_bits(const char* what, int bits) {
  if (bits != 1 && bits != 2 && bits != 4) return Status::errorf("{}: bits must be 1, 2 or 4, got {}", what, bits);
  return Status::ok();
}

}  // namespace

Result<Tensor> pack_subbyte(const Tensor& q, int bits) {
  LB_TRY(check_bits("pack_subbyte", bits));
  if (q.dtype() != DType::kI8 && q.dtype() != DType::kU8)
    return Status::errorf("pack_subbyte: values must be i8 or u8, got {}", dtype_name(q.dtype()));
  const bool is_signed = q.dtype() == DType::kI8;
  const int lo = is_signed ? -(1 << (bits - 1)) : 0;
  const int hi = is_signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  const int64_t n = q.numel();
  // Read both dtypes as bytes; the two's-complement low bits are the same either way.
  const uint8_t* raw = static_cast<const uint8_t*>(q.raw());
  for (int64_t j = 0; j < n; ++j) {
    const int v = is_signed ? static_cast<int>(static_cast<int8_t>(raw[j])) : static_cast<int>(raw[j]);
    if (v < lo || v > hi)
      return Status::errorf("pack_subbyte: element {} is {}, outside the {}-bit {} range [{}, {}]", j, v, bits,
                            is_signed ? "signed" : "unsigned", lo, hi);
  }
  const int64_t nbytes = (n * bits + 7) / 8;
  LB_ASSIGN_OR_RETURN(Tensor packed, Tensor::make(DType::kU8, {nbytes}));  // zero-filled: padding bits are 0
  uint8_t* out = packed.data<uint8_t>();
  const int per_byte = 8 / bits;
  const unsigned mask = (1u << bits) - 1;
  for (int64_t k = 0, j = 0; k < nbytes; ++k) {
    unsigned byte = 0;
    for (int e = 0; e < per_byte && j < n; ++e, ++j) byte |= (raw[j] & mask) << (e * bits);
    out[k] = static_cast<uint8_t>(byte);
  }
  return packed;
}

Result<Tensor> unpack_subbyte(const Tensor& packed, int bits, bool is_signed, const Shape& shape) {
  LB_TRY(check_bits("unpack_subbyte", bits));
  if (packed.dtype() != DType::kU8)
    return Status::errorf("unpack_subbyte: packed data must be u8, got {}", dtype_name(packed.dtype()));
  for (int64_t d : shape)
    if (d < 0) return Status::errorf("unpack_subbyte: shape {} has unknown dims", shape_str(shape));
  LB_ASSIGN_OR_RETURN(const int64_t n, checked_numel(shape));
  // n ≤ 2^63 − 1 elements; n / 8 · bits + the remainder avoids overflowing n · bits.
  const int64_t nbytes = (n / 8) * bits + ((n % 8) * bits + 7) / 8;
  if (packed.numel() != nbytes)
    return Status::errorf("unpack_subbyte: {} bytes given, {} values of {} bits need {}", packed.numel(), n, bits,
                          nbytes);
  LB_ASSIGN_OR_RETURN(Tensor q, Tensor::make_uninit(is_signed ? DType::kI8 : DType::kU8, shape));
  const uint8_t* in = packed.data<uint8_t>();
  uint8_t* out = static_cast<uint8_t*>(q.raw());
  const int per_byte = 8 / bits;
  const unsigned mask = (1u << bits) - 1, sign = 1u << (bits - 1);
  for (int64_t k = 0, j = 0; k < nbytes; ++k) {
    const unsigned byte = in[k];
    for (int e = 0; e < per_byte && j < n; ++e, ++j) {
      unsigned v = (byte >> (e * bits)) & mask;
      if (is_signed && (v & sign)) v |= ~mask;  // sign-extend: the low 8 bits are the i8 two's complement
      out[j] = static_cast<uint8_t>(v);
    }
  }
  return q;
}

}  // namespace lowbit::quant
