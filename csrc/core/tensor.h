// Tensor: shared storage + shape + strides (in elements) + offset + dtype.
// Copying a Tensor is cheap and shares memory; views (reshape, permute,
// slice, expand, ...) only change the metadata. This is the C++ API; the
// Python Tensor wraps it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/dtype.h"
#include "core/scalar.h"
#include "core/small_vector.h"
#include "core/storage.h"

namespace ember {

// Dims of a shape or strides: six of them fit inline (no allocation).
using Shape = SmallVector<int64_t, 6>;

std::string shape_str(const Shape& shape);
// Product of the sizes; throws ValueError for a negative size or an overflow.
int64_t checked_numel(const Shape& shape, const char* op);
Shape contiguous_strides(const Shape& shape);
// Normalises a possibly negative dim against `ndim`; IndexError when out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
// The numpy broadcast of two shapes; ValueError naming `op` when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false
  Tensor(Storage storage, Shape shape, Shape strides, int64_t offset, DType dtype);

  // Creation.
  static Tensor empty(const Shape& shape, DType dtype = DType::float32, Device device = {});
  static Tensor full(const Shape& shape, Scalar value, DType dtype = DType::float32,
                     Device device = {});
  static Tensor zeros(const Shape& shape, DType dtype = DType::float32, Device device = {});
  static Tensor ones(const Shape& shape, DType dtype = DType::float32, Device device = {});
  // Wraps external CPU memory without copying; `owner` keeps it alive.
  static Tensor from_blob(void* data, const Shape& shape, const Shape& strides, DType dtype,
                          std::shared_ptr<void> owner);

  // Metadata.
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t size(int64_t dim) const;
  int64_t stride(int64_t dim) const;
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t numel() const { return numel_; }
  int64_t offset() const { return offset_; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device(); }
  size_t element_size() const { return dtype_size(dtype_); }
  const Storage& storage() const { return storage_; }
  bool is_contiguous() const;
  std::string str() const;  // "float32[2, 3] on cpu", for error messages

  // Address of element 0 of this view.
  void* raw_data() const {
    return static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(element_size());
  }
  template <typename T>
  T* data() const {
    check_dtype(dtype_of<T>::value);
    return static_cast<T*>(raw_data());
  }

  // The version counter shared by every view of the storage.
  uint64_t version() const { return storage_ ? storage_->version() : 0; }
  void bump_version() const {
    if (storage_) storage_->bump_version();
  }

  // Views (share storage).
  Tensor as_strided(const Shape& shape, const Shape& strides, int64_t offset) const;
  Tensor view(Shape shape) const;     // fails when the strides cannot express it
  Tensor reshape(Shape shape) const;  // a view when possible, else a copy
  Tensor permute(const Shape& dims) const;
  Tensor transpose(int64_t dim0, int64_t dim1) const;
  Tensor t() const;  // 2-D (or less) transpose
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor expand(const Shape& shape) const;  // -1 keeps a size
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor diagonal(int64_t offset = 0, int64_t dim1 = 0, int64_t dim2 = 1) const;

  // Copies.
  Tensor contiguous() const;  // this tensor itself when already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  Tensor to(DType dtype) const;
  // A non-blocking copy to the CPU lands in pinned memory and returns before
  // the data arrived (synchronize the stream before reading it).
  Tensor to(Device device, bool non_blocking = false) const;
  // A copy of this CPU tensor in page-locked memory (this tensor when it is).
  Tensor pin_memory() const;
  bool is_pinned() const;
  // Copies `src` (broadcast to this shape, cast to this dtype) into this view.
  Tensor& copy_(const Tensor& src);
  Tensor& fill_(Scalar value);
  // The single element, as a Scalar of this tensor's kind.
  Scalar item() const;

 private:
  void check_dtype(DType expected) const;
  void compute_numel();

  Storage storage_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
  int64_t numel_ = 0;
  DType dtype_ = DType::float32;
};

}  // namespace ember
