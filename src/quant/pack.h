// pack.h: storage packing of sub-byte integers (binary, int2, int4) into bytes.
//
// Layout (DESIGN.md: "sub-byte values are stored packed"): the n values of a tensor, in
// row-major order, become a 1-D u8 tensor of ⌈n·bits/8⌉ bytes. Each value is stored as the
// low `bits` bits of its two's complement; values are LSB-first inside each byte, so element
// j sits in byte j·bits/8 at bit offset (j·bits) mod 8:
//   bits 4: byte k = e[2k] | e[2k+1] << 4                 (element 2k in the low nibble)
//   bits 2: byte k = e[4k] | e[4k+1] << 2 | e[4k+2] << 4 | e[4k+3] << 6
//   bits 1: byte k = e[8k] | e[8k+1] << 1 | ... | e[8k+7] << 7
// Unused high bits of the last byte are written as 0 and ignored when reading. Unpacking
// sign-extends for signed types: int4 0xF → −1, int2 0b10 → −2, binary 1 → −1 (the signed
// 1-bit range is {−1, 0}). Other bit widths (3, 5, 6, 7) are stored one value per byte and
// do not go through these functions.
#pragma once

#include "core/status.h"
#include "core/tensor.h"

namespace lowbit::quant {

// Packs q (i8: signed values in [−2^(bits−1), 2^(bits−1) − 1]; u8: values in [0, 2^bits − 1])
// for bits ∈ {1, 2, 4}. An error for another bit width, another dtype or a value out of range.
Result<Tensor> pack_subbyte(const Tensor& q, int bits);

// The inverse: `packed` (u8, exactly ⌈numel(shape)·bits/8⌉ bytes, else an error) back into a
// tensor of `shape`, i8 (sign-extended) when is_signed, u8 otherwise.
Result<Tensor> unpack_subbyte(const Tensor& packed, int bits, bool is_signed, const Shape& shape);

}  // namespace lowbit::quant
