// Tensor metadata, views and copies.
#include "core/tensor.h"

#include <algorithm>
#include <limits>
#include <sstream>

#include "cpu/copy.h"
#include "cuda/kernels.h"
#include "cuda/runtime.h"

namespace ember {

std::string shape_str(const Shape& shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

int64_t checked_numel(const Shape& shape, const char* op) {
  int64_t n = 1;
  for (int64_t s : shape) {
    EMBER_CHECK(s >= 0, op, ": negative size in shape ", shape_str(shape));
    if (s != 0 && n > std::numeric_limits<int64_t>::max() / s) {
      EMBER_FAIL(memory, op, ": shape ", shape_str(shape), " has too many elements");
    }
    n *= s;
  }
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (int64_t i = static_cast<int64_t>(shape.size()) - 1; i >= 0; --i) {
    strides[i] = s;
    s *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
  int64_t range = std::max<int64_t>(ndim, 1);
  EMBER_CHECK_KIND(index, dim >= -range && dim < range, op, ": dim ", dim,
                   " is out of range for a tensor of ", ndim, " dims (expected [", -range, ", ",
                   range - 1, "])");
  return dim < 0 ? dim + range : dim;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    EMBER_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ",
                shape_str(b), " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor::Tensor(Storage storage, Shape shape, Shape strides, int64_t offset, DType dtype)
    : storage_(std::move(storage)),
      shape_(std::move(shape)),
      strides_(std::move(strides)),
      offset_(offset),
      dtype_(dtype) {
  compute_numel();
}

void Tensor::compute_numel() {
  numel_ = 1;
  for (int64_t s : shape_) numel_ *= s;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  int64_t numel = checked_numel(shape, "empty");
  size_t esize = dtype_size(dtype);
  if (numel > 0 && size_t(numel) > std::numeric_limits<size_t>::max() / 2 / esize) {
    EMBER_FAIL(memory, "empty: shape ", shape_str(shape), " needs more memory than exists");
  }
  auto storage = std::make_shared<StorageImpl>(size_t(numel) * esize, device);
  return Tensor(std::move(storage), shape, contiguous_strides(shape), 0, dtype);
}

Tensor Tensor::full(const Shape& shape, Scalar value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  t.fill_(value);
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, Scalar(int64_t(0)), dtype, device);
}

Tensor Tensor::ones(const Shape& shape, DType dtype, Device device) {
  return full(shape, Scalar(int64_t(1)), dtype, device);
}

Tensor Tensor::from_blob(void* data, const Shape& shape, const Shape& strides, DType dtype,
                         std::shared_ptr<void> owner) {
  int64_t numel = checked_numel(shape, "from_blob");
  auto storage = std::make_shared<StorageImpl>(data, size_t(numel) * dtype_size(dtype), Device(),
                                               std::move(owner));
  return Tensor(std::move(storage), shape, strides, 0, dtype);
}

int64_t Tensor::size(int64_t d) const { return shape_[wrap_dim(d, dim(), "size")]; }
int64_t Tensor::stride(int64_t d) const { return strides_[wrap_dim(d, dim(), "stride")]; }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (int64_t i = dim() - 1; i >= 0; --i) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

std::string Tensor::str() const {
  return std::string(dtype_name(dtype_)) + shape_str(shape_) + " on " + device().str();
}

void Tensor::check_dtype(DType expected) const {
  EMBER_CHECK_KIND(type, dtype_ == expected, "data: tensor is ", dtype_name(dtype_),
                   ", accessed as ", dtype_name(expected));
}

Tensor Tensor::as_strided(const Shape& shape, const Shape& strides, int64_t offset) const {
  EMBER_CHECK(shape.size() == strides.size(), "as_strided: shape ", shape_str(shape),
              " and strides ", shape_str(strides), " differ in length");
  return Tensor(storage_, shape, strides, offset, dtype_);
}

// Resolves one -1 in a requested shape against `numel`.
static Shape infer_shape(Shape shape, int64_t numel, const Shape& from, const char* op) {
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      EMBER_CHECK(infer < 0, op, ": only one dimension can be -1, got ", shape_str(shape));
      infer = int64_t(i);
    } else {
      EMBER_CHECK(shape[i] >= 0, op, ": invalid size in shape ", shape_str(shape));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    EMBER_CHECK(known != 0 && numel % known == 0, op, ": shape ", shape_str(shape),
                " is invalid for input of shape ", shape_str(from));
    shape[infer] = numel / known;
  }
  EMBER_CHECK(checked_numel(shape, op) == numel, op, ": shape ", shape_str(shape),
              " is invalid for input of shape ", shape_str(from), " (", numel, " elements)");
  return shape;
}

// Strides for viewing this tensor with `shape` without a copy, or an empty
// result when the memory layout does not allow it (PyTorch's computeStride).
static bool view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& shape,
                         Shape& out) {
  out.assign(shape.size(), 0);
  if (old_shape.empty()) {
    out = contiguous_strides(shape);
    return true;
  }
  int64_t numel = 1;
  for (int64_t s : old_shape) numel *= s;
  if (numel == 0) {
    out = contiguous_strides(shape);
    return true;
  }
  int64_t view_d = int64_t(shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = int64_t(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}

Tensor Tensor::view(Shape shape) const {
  shape = infer_shape(std::move(shape), numel_, shape_, "view");
  Shape strides;
  EMBER_CHECK(view_strides(shape_, strides_, shape, strides), "view: size ", shape_str(shape),
              " is not compatible with the strides of input ", shape_str(shape_),
              " (use reshape, or contiguous() first)");
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::reshape(Shape shape) const {
  shape = infer_shape(std::move(shape), numel_, shape_, "reshape");
  Shape strides;
  if (view_strides(shape_, strides_, shape, strides)) {
    return Tensor(storage_, shape, strides, offset_, dtype_);
  }
  return contiguous().view(shape);
}

Tensor Tensor::permute(const Shape& dims) const {
  EMBER_CHECK(int64_t(dims.size()) == dim(), "permute: got ", dims.size(),
              " dims for a tensor of ", dim(), " dims");
  Shape shape(dims.size()), strides(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], dim(), "permute");
    EMBER_CHECK(!seen[d], "permute: dim ", d, " repeats in ", shape_str(dims));
    seen[d] = true;
    shape[i] = shape_[d];
    strides[i] = strides_[d];
  }
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1) const {
  if (dim() == 0) return *this;
  dim0 = wrap_dim(dim0, dim(), "transpose");
  dim1 = wrap_dim(dim1, dim(), "transpose");
  Shape shape = shape_, strides = strides_;
  std::swap(shape[dim0], shape[dim1]);
  std::swap(strides[dim0], strides[dim1]);
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::t() const {
  EMBER_CHECK(dim() <= 2, "t: expects a tensor with <= 2 dims, got ", shape_str(shape_));
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  d = wrap_dim(d, dim(), "slice");
  EMBER_CHECK(step > 0, "slice: step must be positive, got ", step);
  int64_t n = shape_[d];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape shape = shape_, strides = strides_;
  shape[d] = (end - start + step - 1) / step;
  strides[d] = strides_[d] * step;
  return Tensor(storage_, shape, strides, offset_ + start * strides_[d], dtype_);
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  d = wrap_dim(d, dim(), "narrow");
  int64_t n = shape_[d];
  if (start < 0) start += n;
  EMBER_CHECK_KIND(index, start >= 0 && length >= 0 && start + length <= n, "narrow: start ",
                   start, " and length ", length, " are out of range for dim ", d, " of size ", n);
  return slice(d, start, start + length, 1);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  EMBER_CHECK_KIND(index, dim() > 0, "select: cannot index a 0-d tensor");
  d = wrap_dim(d, dim(), "select");
  int64_t n = shape_[d];
  EMBER_CHECK_KIND(index, index >= -n && index < n, "select: index ", index,
                   " is out of range for dim ", d, " of size ", n);
  if (index < 0) index += n;
  Shape shape = shape_, strides = strides_;
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return Tensor(storage_, shape, strides, offset_ + index * strides_[d], dtype_);
}

Tensor Tensor::expand(const Shape& target) const {
  if (target == shape_) return *this;  // nothing to broadcast: the same view
  EMBER_CHECK(target.size() >= shape_.size(), "expand: cannot expand ", shape_str(shape_), " to ",
              shape_str(target), " (fewer dims)");
  size_t lead = target.size() - shape_.size();
  Shape shape(target.size()), strides(target.size());
  for (size_t i = 0; i < target.size(); ++i) {
    if (i < lead) {
      EMBER_CHECK(target[i] >= 0, "expand: invalid size ", target[i], " in ", shape_str(target));
      shape[i] = target[i];
      strides[i] = 0;
      continue;
    }
    int64_t have = shape_[i - lead];
    int64_t want = target[i] == -1 ? have : target[i];
    EMBER_CHECK(want == have || have == 1, "expand: cannot expand ", shape_str(shape_), " to ",
                shape_str(target));
    shape[i] = want;
    strides[i] = want == have ? strides_[i - lead] : 0;
  }
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::squeeze() const {
  Shape shape, strides;
  for (size_t i = 0; i < shape_.size(); ++i) {
    if (shape_[i] == 1) continue;
    shape.push_back(shape_[i]);
    strides.push_back(strides_[i]);
  }
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::squeeze(int64_t d) const {
  if (dim() == 0) return *this;
  d = wrap_dim(d, dim(), "squeeze");
  if (shape_[d] != 1) return *this;
  Shape shape = shape_, strides = strides_;
  shape.erase(shape.begin() + d);
  strides.erase(strides.begin() + d);
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::unsqueeze(int64_t d) const {
  d = wrap_dim(d, dim() + 1, "unsqueeze");
  Shape shape = shape_, strides = strides_;
  int64_t stride = d < dim() ? strides_[d] * shape_[d] : 1;
  shape.insert(shape.begin() + d, 1);
  strides.insert(strides.begin() + d, stride);
  return Tensor(storage_, shape, strides, offset_, dtype_);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  if (dim() == 0) return reshape({1});
  start_dim = wrap_dim(start_dim, dim(), "flatten");
  end_dim = wrap_dim(end_dim, dim(), "flatten");
  EMBER_CHECK(start_dim <= end_dim, "flatten: start_dim ", start_dim, " > end_dim ", end_dim);
  Shape shape(shape_.begin(), shape_.begin() + start_dim);
  int64_t merged = 1;
  for (int64_t i = start_dim; i <= end_dim; ++i) merged *= shape_[i];
  shape.push_back(merged);
  shape.insert(shape.end(), shape_.begin() + end_dim + 1, shape_.end());
  return reshape(shape);
}

Tensor Tensor::diagonal(int64_t off, int64_t dim1, int64_t dim2) const {
  dim1 = wrap_dim(dim1, dim(), "diagonal");
  dim2 = wrap_dim(dim2, dim(), "diagonal");
  EMBER_CHECK(dim1 != dim2, "diagonal: dim1 and dim2 must differ, both are ", dim1);
  int64_t start = offset_, len;
  if (off >= 0) {
    len = std::max<int64_t>(std::min(shape_[dim1], shape_[dim2] - off), 0);
    if (len > 0) start += off * strides_[dim2];
  } else {
    len = std::max<int64_t>(std::min(shape_[dim1] + off, shape_[dim2]), 0);
    if (len > 0) start -= off * strides_[dim1];
  }
  Shape shape, strides;
  for (int64_t i = 0; i < dim(); ++i) {
    if (i == dim1 || i == dim2) continue;
    shape.push_back(shape_[i]);
    strides.push_back(strides_[i]);
  }
  shape.push_back(len);
  strides.push_back(strides_[dim1] + strides_[dim2]);
  return Tensor(storage_, shape, strides, start, dtype_);
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape_, dtype_, device());
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(DType dtype) const {
  if (dtype == dtype_) return *this;
  Tensor out = empty(shape_, dtype, device());
  out.copy_(*this);
  return out;
}

namespace {

// An empty contiguous CPU tensor in pinned memory.
Tensor empty_pinned(const Shape& shape, DType dtype) {
  size_t nbytes = size_t(checked_numel(shape, "pin_memory")) * dtype_size(dtype);
  void* data = cuda::allocate_pinned(nbytes);
  std::shared_ptr<void> owner(data, [](void* p) { cuda::free_pinned(p); });
  return Tensor::from_blob(data, shape, contiguous_strides(shape), dtype, std::move(owner));
}

}  // namespace

Tensor Tensor::to(Device target, bool non_blocking) const {
  if (target == device()) return *this;
  Tensor src = contiguous();
  Tensor out = target.is_cpu() && non_blocking ? empty_pinned(shape_, dtype_)
                                               : empty(shape_, dtype_, target);
  cuda::memcpy(out.raw_data(), target.is_cuda(), src.raw_data(), src.device().is_cuda(),
               size_t(numel_) * element_size(), non_blocking);
  return out;
}

Tensor Tensor::pin_memory() const {
  EMBER_CHECK(device().is_cpu(), "pin_memory: only CPU tensors can be pinned, got ", str());
  if (is_pinned()) return *this;
  Tensor out = empty_pinned(shape_, dtype_);
  out.copy_(*this);
  return out;
}

bool Tensor::is_pinned() const {
  return defined() && device().is_cpu() && cuda::is_pinned(storage_->data());
}

Tensor& Tensor::copy_(const Tensor& src) {
  EMBER_CHECK(defined() && src.defined(), "copy_: undefined tensor");
  Tensor source = src;
  if (src.device() != device()) source = src.to(device());
  // A source sharing this memory is copied first so no element is read after
  // it was overwritten.
  if (source.storage() == storage_) source = source.clone();
  if (source.shape() != shape_) source = source.expand(shape_);
  switch (device().type) {
    case DeviceType::cpu: cpu::copy(*this, source); break;
    case DeviceType::cuda: cuda::copy(*this, source); break;
    default: no_kernel("copy_", device());
  }
  bump_version();
  return *this;
}

Tensor& Tensor::fill_(Scalar value) {
  switch (device().type) {
    case DeviceType::cpu: cpu::fill(*this, value); break;
    case DeviceType::cuda: cuda::fill(*this, value); break;
    default: no_kernel("fill_", device());
  }
  bump_version();
  return *this;
}

Scalar Tensor::item() const {
  EMBER_CHECK(numel_ == 1, "item: a tensor with ", numel_, " elements cannot be converted to a "
              "Python number (shape ", shape_str(shape_), ")");
  Tensor host = to(Device());
  return EMBER_DISPATCH_ALL_AND_HALF(dtype_, "item", [&]() -> Scalar {
    scalar_t v = *static_cast<const scalar_t*>(host.raw_data());
    if constexpr (is_floating_v<scalar_t>) {
      return Scalar(double(v));
    } else if constexpr (std::is_same_v<scalar_t, bool>) {
      return Scalar(v);
    } else {
      return Scalar(int64_t(v));
    }
  });
}

}  // namespace ember
