// npy.cc: .npy header parsing (a small Python-literal parser with depth and size limits) and I/O.
#include "data/npy.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string_view>

#include "data/file_io.h"

namespace lowbit::data {

namespace {

static_assert(std::endian::native == std::endian::little, "the .npy code assumes a little-endian host");

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// numpy itself refuses headers over 10,000 bytes unless asked; we allow more but stay bounded.
constexpr uint32_t kMaxHeaderLen = 1 << 20;
constexpr int kMaxNesting = 16;

// The subset of Python literals an .npy header holds: str, int, True/False/None, tuple, list, dict.
struct PyValue {
  enum class Kind { kStr, kInt, kBool, kNone, kTuple, kList, kDict } kind = Kind::kNone;
  std::string str;
  int64_t i = 0;
  bool b = false;
  std::vector<PyValue> items;                          // tuple / list elements, dict values
  std::vector<std::string> keys;                       // dict keys (strings only)
};

class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : s_(text) {}

  Result<PyValue> parse() {
    LB_ASSIGN_OR_RETURN(PyValue v, value(0));
    skip_space();
    if (pos_ != s_.size()) return fail("unexpected text after the dict");
    if (v.kind != PyValue::Kind::kDict) return fail("header is not a dict");
    return v;
  }

 private:
  Status fail(std::string_view what) const { return Status::errorf("bad header at byte {}: {}", pos_, what); }

  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }
  bool eat(char c) {
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool eat_word(std::string_view w) {
    if (s_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }

  Result<PyValue> value(int depth) {
    if (depth > kMaxNesting) return fail("nested too deeply");
    skip_space();
    if (pos_ >= s_.size()) return fail("unexpected end of header");
    const char c = s_[pos_];
    PyValue v;
    if (c == '\'' || c == '"') {
      v.kind = PyValue::Kind::kStr;
      LB_ASSIGN_OR_RETURN(v.str, string());
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind = PyValue::Kind::kInt;
      LB_ASSIGN_OR_RETURN(v.i, integer());
    } else if (eat_word("True")) {
      v.kind = PyValue::Kind::kBool;
      v.b = true;
    } else if (eat_word("False")) {
      v.kind = PyValue::Kind::kBool;
    } else if (eat_word("None")) {
      v.kind = PyValue::Kind::kNone;
    } else if (c == '(' || c == '[') {
      ++pos_;
      const char close = c == '(' ? ')' : ']';
      v.kind = c == '(' ? PyValue::Kind::kTuple : PyValue::Kind::kList;
      while (!eat(close)) {
        LB_ASSIGN_OR_RETURN(PyValue item, value(depth + 1));
        v.items.push_back(std::move(item));
        if (!eat(',')) {
          if (!eat(close)) return fail("expected ',' or a closing bracket");
          break;
        }
      }
    } else if (c == '{') {
      ++pos_;
      v.kind = PyValue::Kind::kDict;
      while (!eat('}')) {
        skip_space();
        if (pos_ >= s_.size() || (s_[pos_] != '\'' && s_[pos_] != '"')) return fail("dict key is not a string");
        LB_ASSIGN_OR_RETURN(std::string key, string());
        if (!eat(':')) return fail("expected ':' after a dict key");
        LB_ASSIGN_OR_RETURN(PyValue item, value(depth + 1));
        v.keys.push_back(std::move(key));
        v.items.push_back(std::move(item));
        if (!eat(',')) {
          if (!eat('}')) return fail("expected ',' or '}'");
          break;
        }
      }
    } else {
      return fail(fmt::format("unexpected character '{}'", c));
    }
    return v;
  }

  Result<std::string> string() {
    const char quote = s_[pos_++];
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      if (s_[pos_] == '\\' && pos_ + 1 < s_.size()) ++pos_;
      out += s_[pos_++];
    }
    if (pos_ >= s_.size()) return fail("unterminated string");
    ++pos_;
    return out;
  }

  Result<int64_t> integer() {
    bool neg = false;
    if (s_[pos_] == '-') {
      neg = true;
      ++pos_;
    }
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') return fail("expected a digit");
    uint64_t v = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      v = v * 10 + static_cast<uint64_t>(s_[pos_++] - '0');
      if (v > static_cast<uint64_t>(INT64_MAX)) return fail("integer out of range");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'L' || s_[pos_] == 'l')) ++pos_;  // Python 2 longs: (3L, 4L)
    return neg ? -static_cast<int64_t>(v) : static_cast<int64_t>(v);
  }

  std::string_view s_;
  size_t pos_ = 0;
};

struct NpyType {
  char kind;  // 'f', 'i', 'u', 'b'
  size_t size;
  DType out;
};

constexpr NpyType kNpyTypes[] = {
    {'f', 4, DType::kF32}, {'f', 8, DType::kF32}, {'u', 1, DType::kU8},  {'i', 1, DType::kI8},
    {'i', 4, DType::kI32}, {'i', 8, DType::kI64}, {'b', 1, DType::kBool},
};

struct Header {
  NpyType type;
  bool big_endian = false;
  Shape shape;
};

Result<Header> parse_header(std::string_view text) {
  HeaderParser parser(text);
  LB_ASSIGN_OR_RETURN(PyValue dict, parser.parse());
  const PyValue* descr = nullptr;
  const PyValue* fortran = nullptr;
  const PyValue* shape = nullptr;
  for (size_t i = 0; i < dict.keys.size(); ++i) {
    const std::string& k = dict.keys[i];
    if (k == "descr") descr = &dict.items[i];
    else if (k == "fortran_order") fortran = &dict.items[i];
    else if (k == "shape") shape = &dict.items[i];
    else return Status::errorf("unexpected header key '{}'", k);
  }
  if (!descr || !fortran || !shape) return Status::error("header lacks one of 'descr', 'fortran_order', 'shape'");
  if (descr->kind != PyValue::Kind::kStr)
    return Status::error("structured dtypes are not supported ('descr' is not a type string)");
  if (fortran->kind != PyValue::Kind::kBool) return Status::error("'fortran_order' is not True or False");
  if (fortran->b) return Status::error("fortran_order True is not supported (save a C-order array)");
  if (shape->kind != PyValue::Kind::kTuple) return Status::error("'shape' is not a tuple");

  Header h;
  for (const PyValue& d : shape->items) {
    if (d.kind != PyValue::Kind::kInt) return Status::error("'shape' holds something other than integers");
    if (d.i < 0) return Status::errorf("'shape' has a negative dimension {}", d.i);
    h.shape.push_back(d.i);
  }
  if (h.shape.size() > 32) return Status::errorf("'shape' has {} dims (at most 32 supported)", h.shape.size());

  const std::string& s = descr->str;
  const bool ok_form = s.size() == 3 && std::string_view("<>|=").find(s[0]) != std::string_view::npos &&
                       s[2] >= '1' && s[2] <= '9';
  bool found = false;
  if (ok_form) {
    for (const NpyType& t : kNpyTypes)
      if (t.kind == s[1] && t.size == static_cast<size_t>(s[2] - '0')) {
        h.type = t;
        found = true;
      }
  }
  if (!found) return Status::errorf("unsupported dtype '{}' (supported: <f4 <f8 |u1 |i1 <i4 <i8 |b1)", s);
  h.big_endian = s[0] == '>';  // '=' is native, and the host is little-endian (asserted above)
  return h;
}

template <typename T>
T load(const uint8_t* p, bool swap) {
  uint8_t b[sizeof(T)];
  std::memcpy(b, p, sizeof(T));
  if (swap)
    for (size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

void convert(const Header& h, const uint8_t* src, int64_t n, Tensor* out) {
  if (n == 0) return;  // src may be null for an empty array
  const bool swap = h.big_endian && h.type.size > 1;
  if (h.type.kind == 'f' && h.type.size == 8) {
    float* d = out->data<float>();
    for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(load<double>(src + 8 * i, swap));
  } else if (h.type.kind == 'b') {
    uint8_t* d = static_cast<uint8_t*>(out->raw());
    for (int64_t i = 0; i < n; ++i) d[i] = src[i] != 0;
  } else if (!swap) {
    std::memcpy(out->raw(), src, static_cast<size_t>(n) * h.type.size);
  } else if (h.type.size == 4) {
    uint32_t* d = static_cast<uint32_t*>(out->raw());
    for (int64_t i = 0; i < n; ++i) d[i] = load<uint32_t>(src + 4 * i, true);
  } else {
    uint64_t* d = static_cast<uint64_t*>(out->raw());
    for (int64_t i = 0; i < n; ++i) d[i] = load<uint64_t>(src + 8 * i, true);
  }
}

const char* descr_of(DType t) {
  switch (t) {
    case DType::kF32: return "<f4";
    case DType::kI8: return "|i1";
    case DType::kU8: return "|u1";
    case DType::kI32: return "<i4";
    case DType::kI64: return "<i8";
    case DType::kBool: return "|b1";
  }
  return "?";
}

}  // namespace

Result<Tensor> read_npy(const std::string& path) {
  LB_ASSIGN_OR_RETURN(InputFile file, InputFile::open(path));
  uint8_t pre[8];
  LB_TRY(file.read_exact(pre, 8, "NPY preamble"));
  if (std::memcmp(pre, kMagic, kMagicLen) != 0) return Status::errorf("{}: not an .npy file (bad magic)", path);
  const int major = pre[6], minor = pre[7];
  if (major < 1 || major > 3 || minor != 0)
    return Status::errorf("{}: unsupported .npy format version {}.{} (expected 1.0, 2.0 or 3.0)", path, major, minor);
  uint32_t header_len = 0;
  if (major == 1) {
    uint8_t b[2];
    LB_TRY(file.read_exact(b, 2, "NPY header length"));
    header_len = uint32_t{b[0]} | (uint32_t{b[1]} << 8);
  } else {
    uint8_t b[4];
    LB_TRY(file.read_exact(b, 4, "NPY header length"));
    header_len = uint32_t{b[0]} | (uint32_t{b[1]} << 8) | (uint32_t{b[2]} << 16) | (uint32_t{b[3]} << 24);
  }
  if (header_len > kMaxHeaderLen)
    return Status::errorf("{}: header length {} is over the {}-byte limit", path, header_len, kMaxHeaderLen);
  const int64_t remaining = file.remaining_hint();
  if (remaining >= 0 && header_len > remaining)
    return Status::errorf("{}: header length {} runs past the end of the file ({} bytes left)", path, header_len,
                          remaining);
  LB_ASSIGN_OR_RETURN(std::vector<uint8_t> header_bytes, read_up_to(file, header_len));
  if (header_bytes.size() != header_len)
    return Status::errorf("{}: header length {} runs past the end of the file ({} bytes left)", path, header_len,
                          header_bytes.size());
  const std::string_view text(reinterpret_cast<const char*>(header_bytes.data()), header_bytes.size());
  Result<Header> h_or = parse_header(text);
  if (!h_or.is_ok()) return h_or.status().with_context(path);
  const Header& h = *h_or;

  Result<int64_t> numel_or = checked_numel(h.shape);
  if (!numel_or.is_ok()) return numel_or.status().with_context(path);
  const int64_t n = *numel_or;
  const uint64_t limit = max_tensor_bytes();
  if (static_cast<uint64_t>(n) > limit / std::max(h.type.size, dtype_size(h.type.out)))
    return Status::errorf("{}: shape {} is over the {}-byte tensor limit (LOWBIT_MAX_TENSOR_BYTES)", path,
                          shape_str(h.shape), limit);
  const uint64_t data_bytes = static_cast<uint64_t>(n) * h.type.size;
  const int64_t left = file.remaining_hint();
  if (left >= 0 && static_cast<uint64_t>(left) < data_bytes)
    return Status::errorf("{}: truncated: expected {} bytes of data, found {}", path, data_bytes, left);
  LB_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, read_up_to(file, data_bytes));
  if (bytes.size() != data_bytes)
    return Status::errorf("{}: truncated: expected {} bytes of data, found {}", path, data_bytes, bytes.size());
  LB_TRY(file.expect_end("array data"));
  Result<Tensor> out = Tensor::make(h.type.out, h.shape);
  if (!out.is_ok()) return out.status().with_context(path);
  convert(h, bytes.data(), n, &*out);
  return out;
}

Status write_npy(const Tensor& tensor, const std::string& path) {
  if (!tensor.defined()) return Status::errorf("{}: cannot write an undefined tensor", path);
  std::string shape = "(";
  for (size_t i = 0; i < tensor.shape().size(); ++i) {
    if (i) shape += ", ";
    shape += std::to_string(tensor.shape()[i]);
  }
  if (tensor.shape().size() == 1) shape += ",";
  shape += ")";
  std::string header = fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}", descr_of(tensor.dtype()),
                                   shape);
  // Like numpy >= 1.23: spare spaces so the first dim can grow in place to 21 digits, then pad
  // with spaces and a final '\n' so that the data starts on a 64-byte boundary.
  if (tensor.rank() > 0) header.append(21 - std::min<size_t>(21, std::to_string(tensor.dim(0)).size()), ' ');
  const bool v2 = header.size() + 1 + 10 > 65535;
  const size_t prefix = v2 ? 12 : 10;
  const size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';
  std::string pre(kMagic, kMagicLen);
  pre += static_cast<char>(v2 ? 2 : 1);
  pre += '\0';
  const uint32_t len = static_cast<uint32_t>(header.size());
  pre += static_cast<char>(len & 0xff);
  pre += static_cast<char>((len >> 8) & 0xff);
  if (v2) {
    pre += static_cast<char>((len >> 16) & 0xff);
    pre += static_cast<char>((len >> 24) & 0xff);
  }
  std::string bytes = pre + header;
  bytes.append(static_cast<const char*>(tensor.raw()), tensor.nbytes());
  return write_file_atomic(path, bytes);
}

}  // namespace lowbit::data
