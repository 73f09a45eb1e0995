// tensor.cc: Tensor allocation with size checks.
#include "core/tensor.h"

#include <atomic>
#include <cstdlib>
#include <limits>
#include <new>

namespace lowbit {

Result<int64_t> checked_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return Status::errorf("shape {} has a negative or unknown dimension", shape_str(shape));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      return Status::errorf("shape {} overflows a 64-bit element count", shape_str(shape));
    n *= d;
  }
  return n;
}

int64_t numel(const Shape& shape) {
  Result<int64_t> n = checked_numel(shape);
  LB_CHECK(n.is_ok(), n.status().message().c_str());
  return *n;
}

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += shape[i] < 0 ? std::string("?") : std::to_string(shape[i]);
  }
  return s + "]";
}

uint64_t max_tensor_bytes() {
  static const uint64_t limit = [] {
    if (const char* env = std::getenv("LOWBIT_MAX_TENSOR_BYTES")) {
      char* end = nullptr;
      unsigned long long v = std::strtoull(env, &end, 10);
      if (end != env && v > 0) return static_cast<uint64_t>(v);
    }
    return uint64_t{8} << 30;
  }();
  return limit;
}

namespace {
std::atomic<bool> g_poison_uninit{std::getenv("LOWBIT_POISON_UNINIT") != nullptr};
}  // namespace

void Tensor::set_poison_uninit(bool on) { g_poison_uninit.store(on, std::memory_order_relaxed); }

Result<Tensor> Tensor::make(DType dtype, Shape shape) {
  LB_ASSIGN_OR_RETURN(Tensor t, make_uninit(dtype, std::move(shape)));
  std::memset(t.raw(), 0, t.nbytes());
  return t;
}

Result<Tensor> Tensor::make_uninit(DType dtype, Shape shape) {
  LB_ASSIGN_OR_RETURN(int64_t n, checked_numel(shape));
  const uint64_t elem = dtype_size(dtype);
  if (static_cast<uint64_t>(n) > max_tensor_bytes() / elem)
    return Status::errorf("tensor of shape {} ({}) needs {} bytes, over the {}-byte limit (LOWBIT_MAX_TENSOR_BYTES)",
                          shape_str(shape), dtype_name(dtype), static_cast<uint64_t>(n) * elem, max_tensor_bytes());
  // Round up so vector kernels may read a whole 64-byte line past the last element.
  const size_t bytes = (static_cast<size_t>(n) * elem + kAlignment) / kAlignment * kAlignment;
  void* p = ::operator new(bytes, std::align_val_t{kAlignment}, std::nothrow);
  if (!p) return Status::errorf("out of memory allocating {} bytes for a tensor of shape {}", bytes, shape_str(shape));
  // The padding past the last element is zeroed so over-reading vector kernels see defined bytes.
  const size_t used = static_cast<size_t>(n) * elem;
  std::memset(static_cast<uint8_t*>(p) + used, 0, bytes - used);
  if (g_poison_uninit.load(std::memory_order_relaxed)) std::memset(p, 0xff, used);
  Tensor t;
  t.buf_ = std::shared_ptr<uint8_t>(static_cast<uint8_t*>(p),
                                    [](uint8_t* q) { ::operator delete(q, std::align_val_t{kAlignment}); });
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.numel_ = n;
  return t;
}

Tensor Tensor::view(std::shared_ptr<uint8_t> storage, size_t offset, DType dtype, Shape shape) {
  LB_CHECK(offset % kAlignment == 0, "Tensor::view: offset not aligned");
  Tensor t;
  t.numel_ = lowbit::numel(shape);
  uint8_t* p = storage.get() + offset;
  t.buf_ = std::shared_ptr<uint8_t>(std::move(storage), p);  // aliasing: owns storage, points at p
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
  Result<Tensor> t = make(dtype, std::move(shape));
  LB_CHECK(t.is_ok(), t.status().message().c_str());
  return std::move(t).value();
}

Tensor Tensor::reshaped(Shape shape) const {
  LB_CHECK(lowbit::numel(shape) == numel_, "Tensor::reshaped: element count differs");
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t = zeros(dtype_, shape_);
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

double Tensor::at_f64(int64_t i) const {
  LB_CHECK(i >= 0 && i < numel_, "Tensor::at_f64: index out of range");
  switch (dtype_) {
    case DType::kF32: return static_cast<const float*>(raw())[i];
    case DType::kI8: return static_cast<const int8_t*>(raw())[i];
    case DType::kU8: return static_cast<const uint8_t*>(raw())[i];
    case DType::kI32: return static_cast<const int32_t*>(raw())[i];
    case DType::kI64: return static_cast<double>(static_cast<const int64_t*>(raw())[i]);
    case DType::kBool: return static_cast<const uint8_t*>(raw())[i] != 0;
  }
  return 0;
}

int64_t Tensor::at_i64(int64_t i) const {
  if (dtype_ == DType::kI64) {
    LB_CHECK(i >= 0 && i < numel_, "Tensor::at_i64: index out of range");
    return static_cast<const int64_t*>(raw())[i];
  }
  return static_cast<int64_t>(at_f64(i));
}

std::vector<int64_t> Tensor::to_i64_vector() const {
  std::vector<int64_t> v(static_cast<size_t>(numel_));
  for (int64_t i = 0; i < numel_; ++i) v[static_cast<size_t>(i)] = at_i64(i);
  return v;
}

}  // namespace lowbit
