// idx.cc: IDX parsing with every size checked against the limits and the file before allocation.
#include "data/idx.h"

#include <cstring>

#include "data/file_io.h"

namespace lowbit::data {

namespace {

struct IdxType {
  uint8_t code;
  const char* name;
  size_t size;  // bytes per element in the file
  DType out;
};

constexpr IdxType kIdxTypes[] = {
    {0x08, "u8", 1, DType::kU8},   {0x09, "i8", 1, DType::kI8},   {0x0B, "i16", 2, DType::kI32},
    {0x0C, "i32", 4, DType::kI32}, {0x0D, "f32", 4, DType::kF32}, {0x0E, "f64", 8, DType::kF32},
};

uint32_t load_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}
uint64_t load_be64(const uint8_t* p) { return (uint64_t{load_be32(p)} << 32) | load_be32(p + 4); }

void convert(const IdxType& t, const uint8_t* src, int64_t n, Tensor* out) {
  if (n == 0) return;  // src may be null when a dim is 0
  switch (t.code) {
    case 0x08:
    case 0x09: std::memcpy(out->raw(), src, static_cast<size_t>(n)); break;
    case 0x0B: {
      int32_t* d = out->data<int32_t>();
      for (int64_t i = 0; i < n; ++i)
        d[i] = static_cast<int16_t>(static_cast<uint16_t>((src[2 * i] << 8) | src[2 * i + 1]));
      break;
    }
    case 0x0C: {
      int32_t* d = out->data<int32_t>();
      for (int64_t i = 0; i < n; ++i) d[i] = static_cast<int32_t>(load_be32(src + 4 * i));
      break;
    }
    case 0x0D: {
      float* d = out->data<float>();
      for (int64_t i = 0; i < n; ++i) {
        const uint32_t bits = load_be32(src + 4 * i);
        std::memcpy(&d[i], &bits, 4);
      }
      break;
    }
    case 0x0E: {
      float* d = out->data<float>();
      for (int64_t i = 0; i < n; ++i) {
        const uint64_t bits = load_be64(src + 8 * i);
        double v;
        std::memcpy(&v, &bits, 8);
        d[i] = static_cast<float>(v);
      }
      break;
    }
  }
}

}  // namespace

Result<Tensor> read_idx(const std::string& path) {
  LB_ASSIGN_OR_RETURN(InputFile file, InputFile::open(path));
  uint8_t magic[4];
  LB_TRY(file.read_exact(magic, 4, "IDX header"));
  if (magic[0] != 0 || magic[1] != 0)
    return Status::errorf("{}: not an IDX file: bad magic {:02x} {:02x} {:02x} {:02x} (expected 00 00 <type> <ndims>)",
                          path, magic[0], magic[1], magic[2], magic[3]);
  const IdxType* type = nullptr;
  for (const IdxType& t : kIdxTypes)
    if (t.code == magic[2]) type = &t;
  if (!type)
    return Status::errorf("{}: unknown IDX element type 0x{:02x} (expected 08 u8, 09 i8, 0b i16, 0c i32, 0d f32, 0e f64)",
                          path, magic[2]);
  const int ndims = magic[3];
  if (ndims < 1 || ndims > 4) return Status::errorf("{}: IDX file has {} dims (expected 1 to 4)", path, ndims);
  uint8_t dim_bytes[16];
  LB_TRY(file.read_exact(dim_bytes, 4 * static_cast<size_t>(ndims), "IDX dims"));
  Shape shape;
  for (int i = 0; i < ndims; ++i) shape.push_back(load_be32(dim_bytes + 4 * i));

  // Check the sizes before allocating anything: the element count, the output tensor against
  // the memory limit, and the data in the file against the dims.
  Result<int64_t> numel_or = checked_numel(shape);
  if (!numel_or.is_ok()) return numel_or.status().with_context(path);
  const int64_t n = *numel_or;
  const uint64_t limit = max_tensor_bytes();
  if (static_cast<uint64_t>(n) > limit / std::max(type->size, dtype_size(type->out)))
    return Status::errorf("{}: IDX dims {} ({}) are over the {}-byte tensor limit (LOWBIT_MAX_TENSOR_BYTES)", path,
                          shape_str(shape), type->name, limit);
  const uint64_t data_bytes = static_cast<uint64_t>(n) * type->size;
  const int64_t remaining = file.remaining_hint();
  if (remaining >= 0 && static_cast<uint64_t>(remaining) < data_bytes)
    return Status::errorf("{}: truncated: expected {} bytes of data, found {}", path, data_bytes, remaining);

  LB_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_up_to(file, data_bytes));
  if (bytes.size() != data_bytes)
    return Status::errorf("{}: truncated: expected {} bytes of data, found {}", path, data_bytes, bytes.size());
  LB_TRY(file.expect_end("IDX data"));
  Result<Tensor> out = Tensor::make(type->out, shape);
  if (!out.is_ok()) return out.status().with_context(path);
  convert(*type, bytes.data(), n, &*out);
  return out;
}

}  // namespace lowbit::data
