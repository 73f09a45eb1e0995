// tensor.h: Tensor, a dense row-major n-d array with 64-byte aligned, shared storage.
//
// Copies share storage (like a shared_ptr); clone() makes a deep copy. Sizes come from
// untrusted models, so Tensor::make() checks the element count for overflow and against a
// memory ceiling (LOWBIT_MAX_TENSOR_BYTES, default 8 GiB) before allocating.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/dtype.h"
#include "core/status.h"

namespace lowbit {

using Shape = std::vector<int64_t>;

// Number of elements of a shape whose dims are all known (>= 0); error on negative dims or overflow.
Result<int64_t> checked_numel(const Shape& shape);
// Product of dims, for shapes already validated (LB_CHECKs instead of returning errors).
int64_t numel(const Shape& shape);
// "[2,3,?]" (negative dims print as '?').
std::string shape_str(const Shape& shape);

// The largest tensor make() will allocate, in bytes.
uint64_t max_tensor_bytes();

class Tensor {
 public:
  static constexpr size_t kAlignment = 64;

  Tensor() = default;
  // Allocates a zero-filled tensor; fails on a bad shape or one over max_tensor_bytes().
  static Result<Tensor> make(DType dtype, Shape shape);
  // As make(), without the zero fill: for outputs a kernel overwrites completely (saves a
  // memory pass per op on the hot path). Reading an element before writing it is a bug.
  static Result<Tensor> make_uninit(DType dtype, Shape shape);
  // When on, make_uninit fills new storage with 0xff bytes (NaN as f32) so an element a kernel
  // forgot to write shows up. Starts on when LOWBIT_POISON_UNINIT is set (the test suite sets it).
  static void set_poison_uninit(bool on);
  // A tensor over existing storage: `shape` elements of `dtype` starting `offset` bytes into
  // `storage` (a multiple of kAlignment), sharing its ownership. The caller guarantees the
  // bytes exist, plus the 64 bytes past the end that vector kernels may read (the integer
  // runtime's arena places its planned values this way).
  static Tensor view(std::shared_ptr<uint8_t> storage, size_t offset, DType dtype, Shape shape);
  // As make(), for shapes proven sane by the caller (LB_CHECK on failure).
  static Tensor zeros(DType dtype, Shape shape);
  template <typename T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values) {
    Tensor t = zeros(DTypeOf<T>::value, std::move(shape));
    LB_CHECK(static_cast<size_t>(t.numel()) == values.size(), "from_vector: size mismatch");
    if (!values.empty()) std::memcpy(t.raw(), values.data(), values.size() * sizeof(T));
    return t;
  }
  static Tensor from_vector(Shape shape, const std::vector<bool>& values) {  // vector<bool> has no data()
    Tensor t = zeros(DType::kBool, std::move(shape));
    LB_CHECK(static_cast<size_t>(t.numel()) == values.size(), "from_vector: size mismatch");
    for (size_t i = 0; i < values.size(); ++i) static_cast<uint8_t*>(t.raw())[i] = values[i];
    return t;
  }
  template <typename T>
  static Tensor scalar(T value) { return from_vector<T>({}, {value}); }

  bool defined() const { return buf_ != nullptr; }
  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t dim(int i) const { return shape_[static_cast<size_t>(i < 0 ? i + rank() : i)]; }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }

  void* raw() { return buf_.get(); }
  const void* raw() const { return buf_.get(); }
  template <typename T>
  T* data() {
    LB_CHECK(DTypeOf<T>::value == dtype_, "Tensor::data<T>: dtype mismatch");
    return static_cast<T*>(raw());
  }
  template <typename T>
  const T* data() const {
    LB_CHECK(DTypeOf<T>::value == dtype_, "Tensor::data<T>: dtype mismatch");
    return static_cast<const T*>(raw());
  }

  // A view with another shape of the same element count, sharing storage.
  Tensor reshaped(Shape shape) const;
  Tensor clone() const;
  // Element i converted to double / int64 (any dtype); for small tensors such as shapes and scalars.
  double at_f64(int64_t i) const;
  int64_t at_i64(int64_t i) const;
  // All elements as int64 (for shape-like tensors).
  std::vector<int64_t> to_i64_vector() const;

 private:
  std::shared_ptr<uint8_t> buf_;
  DType dtype_ = DType::kF32;
  Shape shape_;
  int64_t numel_ = 0;
};

}  // namespace lowbit
