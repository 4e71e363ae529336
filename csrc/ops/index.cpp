// Index op entry points: argument checks (shapes, dtypes, devices, index
// ranges), output allocation, device dispatch.
#include "ops/index.h"

#include <algorithm>

#include "cpu/index.h"
#include "cuda/kernels.h"

namespace ember {

namespace {

void check_same_device(const char* op, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(a.device() == b.device(), op, ": tensors are on different devices: ", a.str(),
              " and ", b.str());
}

void check_integer_index(const char* op, const Tensor& index) {
  EMBER_CHECK_KIND(type, is_integral(index.dtype()), op,
                   ": index must be an int64 or int32 tensor, got ", index.str());
}

// `index` as int64, every value checked against `size`; negative values wrap
// when `wrap` is set (advanced indexing), otherwise they are an error. A CUDA
// index is only converted: its kernels check (and wrap) the values on the
// device and raise the same IndexError, which saves a copy to the host.
Tensor checked_index(const char* op, const Tensor& index, int64_t dim, int64_t size, bool wrap) {
  check_integer_index(op, index);
  if (index.device().type == DeviceType::cuda) return index.to(DType::int64).contiguous();
  Tensor out = wrap || index.dtype() != DType::int64 ? index.to(DType::int64).clone()
                                                     : index.contiguous();
  int64_t* p = out.data<int64_t>();
  int64_t low = wrap ? -size : 0;
  for (int64_t i = 0; i < out.numel(); ++i) {
    EMBER_CHECK_KIND(index, p[i] >= low && p[i] < size, op, ": index ", p[i],
                     " is out of bounds for dimension ", dim, " with size ", size);
    if (p[i] < 0) p[i] += size;
  }
  return out;
}

// Shape of `t` with `dim` resized to n.
Shape with_size(const Shape& shape, int64_t dim, int64_t n) {
  Shape s = shape;
  s[size_t(dim)] = n;
  return s;
}

// Views `index` (1-D, n entries) along `dim` of `shape`, broadcast to it.
Tensor spread_index(const Tensor& index, int64_t dim, const Shape& shape) {
  Shape view(shape.size(), 1);
  view[size_t(dim)] = index.numel();
  return index.reshape(view).expand(shape);
}

Tensor index_vector(const char* op, const Tensor& index) {
  check_integer_index(op, index);
  EMBER_CHECK(index.dim() <= 1, op, ": index must be 0-d or 1-d, got ", index.str());
  return index.reshape({index.numel()});
}

// The gather/scatter shape rule: index.size(d) <= limit.size(d) (except at
// `skip`, -1 for none), with equal ranks.
void check_index_fits(const char* op, const Tensor& index, const Tensor& limit, int64_t skip,
                      const char* what) {
  EMBER_CHECK(index.dim() == limit.dim(), op, ": index ", shape_str(index.shape()), " and ", what,
              " ", shape_str(limit.shape()), " must have the same number of dims");
  for (int64_t d = 0; d < index.dim(); ++d) {
    EMBER_CHECK(d == skip || index.size(d) <= limit.size(d), op, ": index ",
                shape_str(index.shape()), " is larger than ", what, " ",
                shape_str(limit.shape()), " at dim ", d);
  }
}

// Everything index and index_put_ share: the indexed tensor permuted so the
// indexed dims come first, the int64 index tensors (wrapped, broadcast,
// contiguous), and where the indexed dims land in the result.
struct IndexPlan {
  Shape perm;                  // input dims: indexed first, then the rest in order
  std::vector<Tensor> indices;  // one per indexed dim, contiguous int64 of shape `broadcast`
  Shape broadcast;             // the common shape of the indices
  int64_t front = 0;           // result position of the index dims (0: at the front)
  Shape result_shape;
};

IndexPlan plan_index(const char* op, const Tensor& input,
                     const std::vector<std::optional<Tensor>>& indices) {
  std::vector<Tensor> per_dim(size_t(input.dim()));
  int64_t dim = 0;
  for (size_t i = 0; i < indices.size(); ++i) {
    if (!indices[i]) {
      ++dim;
      continue;
    }
    const Tensor& index = *indices[i];
    check_same_device(op, input, index);
    if (index.dtype() == DType::bool_) {
      int64_t k = index.dim();
      EMBER_CHECK_KIND(index, dim + k <= input.dim(), op, ": too many indices for tensor of ",
                       input.dim(), " dims (a mask of shape ", shape_str(index.shape()), ")");
      for (int64_t j = 0; j < k; ++j) {
        EMBER_CHECK_KIND(index, index.size(j) == input.size(dim + j), op,
                         ": the shape of the mask ", shape_str(index.shape()), " at index ", i,
                         " does not match the shape of the indexed tensor ",
                         shape_str(input.shape()));
      }
      Tensor coords = nonzero(index);
      for (int64_t j = 0; j < k; ++j) per_dim[size_t(dim + j)] = coords.select(1, j);
      dim += k;
    } else {
      EMBER_CHECK_KIND(type, is_integral(index.dtype()), op,
                       ": tensors used as indices must be int64, int32 or bool, got ",
                       index.str());
      EMBER_CHECK_KIND(index, dim < input.dim(), op, ": too many indices for tensor of ",
                       input.dim(), " dims");
      per_dim[size_t(dim)] = index;
      ++dim;
    }
  }
  EMBER_CHECK_KIND(index, dim <= input.dim(), op, ": too many indices for tensor of ",
                   input.dim(), " dims");
  IndexPlan plan;
  Shape indexed, rest;
  bool first = true;
  for (int64_t d = 0; d < input.dim(); ++d) {
    if (!per_dim[size_t(d)].defined()) {
      rest.push_back(d);
      continue;
    }
    indexed.push_back(d);
    plan.broadcast = first ? per_dim[size_t(d)].shape()
                           : broadcast_shapes(plan.broadcast, per_dim[size_t(d)].shape(), op);
    first = false;
  }
  EMBER_CHECK(!indexed.empty(), op, ": no index tensors given");
  for (int64_t d : indexed) {
    Tensor idx = checked_index(op, per_dim[size_t(d)], d, input.size(d), true);
    plan.indices.push_back(idx.expand(plan.broadcast).contiguous());
  }
  bool adjacent = indexed.back() - indexed.front() + 1 == int64_t(indexed.size());
  plan.front = adjacent ? indexed.front() : 0;
  plan.perm = indexed;
  plan.perm.insert(plan.perm.end(), rest.begin(), rest.end());
  for (int64_t i = 0; i < plan.front; ++i) plan.result_shape.push_back(input.size(rest[size_t(i)]));
  plan.result_shape.insert(plan.result_shape.end(), plan.broadcast.begin(), plan.broadcast.end());
  for (size_t i = size_t(plan.front); i < rest.size(); ++i)
    plan.result_shape.push_back(input.size(rest[i]));
  return plan;
}

// The permutation taking the kernel's [broadcast..., rest...] layout to the
// result's layout (the index dims after the first `front` rest dims).
Shape result_perm(const IndexPlan& plan, int64_t ndim) {
  int64_t nb = int64_t(plan.broadcast.size());
  Shape perm;
  for (int64_t i = 0; i < plan.front; ++i) perm.push_back(nb + i);
  for (int64_t i = 0; i < nb; ++i) perm.push_back(i);
  for (int64_t i = nb + plan.front; i < ndim; ++i) perm.push_back(i);
  return perm;
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  EMBER_CHECK(!tensors.empty(), "cat: expected a non-empty list of tensors");
  DType dtype = tensors[0].dtype();
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    check_same_device("cat", tensors[0], tensors[i]);
    dtype = promote_types(dtype, tensors[i].dtype());
    bool legacy_empty = tensors[i].dim() == 1 && tensors[i].numel() == 0;
    if (!legacy_empty) parts.push_back(tensors[i]);
  }
  if (parts.empty()) return Tensor::empty({0}, dtype, tensors[0].device());
  const Tensor& ref = parts[0];
  EMBER_CHECK(ref.dim() > 0, "cat: zero-dimensional tensor cannot be concatenated");
  dim = wrap_dim(dim, ref.dim(), "cat");
  Shape shape = ref.shape();
  shape[size_t(dim)] = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Tensor& t = parts[i];
    EMBER_CHECK(t.dim() == ref.dim(), "cat: tensors must have the same number of dims, got ",
                shape_str(ref.shape()), " and ", shape_str(t.shape()));
    for (int64_t d = 0; d < t.dim(); ++d) {
      EMBER_CHECK(d == dim || t.size(d) == ref.size(d), "cat: sizes of tensors must match except "
                  "in dim ", dim, ", got ", shape_str(ref.shape()), " and ", shape_str(t.shape()));
    }
    shape[size_t(dim)] += t.size(dim);
  }
  Tensor out = Tensor::empty(shape, dtype, ref.device());
  int64_t offset = 0;
  for (const Tensor& t : parts) {
    out.narrow(dim, offset, t.size(dim)).copy_(t);
    offset += t.size(dim);
  }
  return out;
}

Tensor gather(const Tensor& input, int64_t dim, const Tensor& index) {
  check_same_device("gather", input, index);
  check_integer_index("gather", index);
  if (input.dim() == 0 && index.dim() == 0) {
    wrap_dim(dim, 1, "gather");
    return gather(input.reshape({1}), 0, index.reshape({1})).reshape({});
  }
  dim = wrap_dim(dim, std::max<int64_t>(input.dim(), 1), "gather");
  check_index_fits("gather", index, input, dim, "input");
  Tensor idx = checked_index("gather", index, dim, input.size(dim), false);
  Tensor out = Tensor::empty(index.shape(), input.dtype(), input.device());
  switch (input.device().type) {
    case DeviceType::cpu: cpu::gather(out, input, dim, idx); break;
    case DeviceType::cuda: cuda::gather("gather", out, input, dim, idx); break;
    default: no_kernel("gather", input.device());
  }
  return out;
}

Tensor& scatter_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& src,
                 bool accumulate) {
  const char* op = accumulate ? "scatter_add" : "scatter";
  check_same_device(op, self, index);
  check_same_device(op, self, src);
  check_integer_index(op, index);
  if (self.dim() == 0 && index.dim() == 0 && src.dim() == 0) {
    wrap_dim(dim, 1, op);
    Tensor flat = self.view({1});
    scatter_(flat, 0, index.reshape({1}), src.reshape({1}), accumulate);
    return self;
  }
  dim = wrap_dim(dim, std::max<int64_t>(self.dim(), 1), op);
  check_index_fits(op, index, self, dim, "self");
  check_index_fits(op, index, src, -1, "src");
  Tensor idx = checked_index(op, index, dim, self.size(dim), false);
  Tensor values = src.storage() == self.storage() ? src.to(self.dtype()).clone()
                                                  : src.to(self.dtype());
  switch (self.device().type) {
    case DeviceType::cpu: cpu::scatter(self, dim, idx, values, accumulate); break;
    case DeviceType::cuda: cuda::scatter(op, self, dim, idx, values, accumulate); break;
    default: no_kernel(op, self.device());
  }
  self.bump_version();
  return self;
}

Tensor& scatter_value_(Tensor& self, int64_t dim, const Tensor& index, Scalar value) {
  Tensor src = Tensor::full({}, value, self.dtype(), self.device()).expand(index.shape());
  return scatter_(self, dim, index, src, false);
}

Tensor scatter(const Tensor& input, int64_t dim, const Tensor& index, const Tensor& src,
               bool accumulate) {
  Tensor out = input.clone();
  return scatter_(out, dim, index, src, accumulate);
}

Tensor index_select(const Tensor& input, int64_t dim, const Tensor& index) {
  check_same_device("index_select", input, index);
  EMBER_CHECK(input.dim() > 0, "index_select: input must have at least one dim, got ",
              input.str());
  dim = wrap_dim(dim, input.dim(), "index_select");
  Tensor idx = checked_index("index_select", index_vector("index_select", index), dim,
                             input.size(dim), false);
  Shape shape = with_size(input.shape(), dim, idx.numel());
  Tensor out = Tensor::empty(shape, input.dtype(), input.device());
  switch (input.device().type) {
    case DeviceType::cpu:
      // Along dim 0 (embedding lookups) whole rows are copied, which the
      // row-gather kernel would walk across instead.
      if (dim == 0) {
        cpu::index(out, input, {idx});
      } else {
        cpu::gather(out, input, dim, spread_index(idx, dim, shape));
      }
      break;
    case DeviceType::cuda:
      cuda::gather("index_select", out, input, dim, spread_index(idx, dim, shape));
      break;
    default: no_kernel("index_select", input.device());
  }
  return out;
}

Tensor& index_add_(Tensor& self, int64_t dim, const Tensor& index, const Tensor& source) {
  check_same_device("index_add_", self, index);
  check_same_device("index_add_", self, source);
  EMBER_CHECK(self.dim() > 0, "index_add_: self must have at least one dim, got ", self.str());
  dim = wrap_dim(dim, self.dim(), "index_add_");
  Tensor idx = checked_index("index_add_", index_vector("index_add_", index), dim,
                             self.size(dim), false);
  Shape shape = with_size(self.shape(), dim, idx.numel());
  EMBER_CHECK(source.shape() == shape, "index_add_: source ", shape_str(source.shape()),
              " must have shape ", shape_str(shape), " (self ", shape_str(self.shape()),
              " with dim ", dim, " of the index's length ", idx.numel(), ")");
  Tensor values = source.storage() == self.storage() ? source.to(self.dtype()).clone()
                                                     : source.to(self.dtype());
  switch (self.device().type) {
    case DeviceType::cpu:
      if (dim == 0) {
        cpu::index_put(self, {idx}, values.contiguous(), true);
      } else {
        cpu::scatter(self, dim, spread_index(idx, dim, shape), values, true);
      }
      break;
    case DeviceType::cuda:
      cuda::scatter("index_add_", self, dim, spread_index(idx, dim, shape), values, true);
      break;
    default: no_kernel("index_add_", self.device());
  }
  self.bump_version();
  return self;
}

Tensor& masked_fill_(Tensor& self, const Tensor& mask, Scalar value) {
  check_same_device("masked_fill_", self, mask);
  EMBER_CHECK_KIND(type, mask.dtype() == DType::bool_, "masked_fill_: mask must be a bool "
                   "tensor, got ", mask.str());
  Shape shape = broadcast_shapes(self.shape(), mask.shape(), "masked_fill_");
  EMBER_CHECK(shape == self.shape(), "masked_fill_: mask ", shape_str(mask.shape()),
              " doesn't broadcast to the tensor's shape ", shape_str(self.shape()));
  EMBER_CHECK_KIND(type, !value.is_floating() || is_floating(self.dtype()),
                   "masked_fill_: can't fill a ", dtype_name(self.dtype()),
                   " tensor with a float value");
  switch (self.device().type) {
    case DeviceType::cpu: cpu::masked_fill(self, mask.expand(shape), value); break;
    case DeviceType::cuda: cuda::masked_fill(self, mask.expand(shape), value); break;
    default: no_kernel("masked_fill_", self.device());
  }
  self.bump_version();
  return self;
}

Tensor masked_fill(const Tensor& input, const Tensor& mask, Scalar value) {
  Shape shape = broadcast_shapes(input.shape(), mask.shape(), "masked_fill");
  Tensor out = input.expand(shape).clone();
  return masked_fill_(out, mask, value);
}

Tensor index(const Tensor& input, const std::vector<std::optional<Tensor>>& indices) {
  IndexPlan plan = plan_index("index", input, indices);
  Shape kernel_shape = plan.broadcast;
  for (size_t i = plan.indices.size(); i < plan.perm.size(); ++i)
    kernel_shape.push_back(input.size(plan.perm[i]));
  Tensor out = Tensor::empty(kernel_shape, input.dtype(), input.device());
  switch (input.device().type) {
    case DeviceType::cpu: cpu::index(out, input.permute(plan.perm), plan.indices); break;
    case DeviceType::cuda:
      cuda::index(out, input.permute(plan.perm), plan.indices, plan.perm);
      break;
    default: no_kernel("index", input.device());
  }
  if (plan.front == 0) return out;
  return out.permute(result_perm(plan, out.dim())).contiguous();
}

Tensor& index_put_(Tensor& self, const std::vector<std::optional<Tensor>>& indices,
                   const Tensor& values, bool accumulate) {
  check_same_device("index_put_", self, values);
  IndexPlan plan = plan_index("index_put_", self, indices);
  Shape shape = broadcast_shapes(values.shape(), plan.result_shape, "index_put_");
  EMBER_CHECK(shape == plan.result_shape, "index_put_: values of shape ",
              shape_str(values.shape()), " can't be broadcast to the indexing result of shape ",
              shape_str(plan.result_shape));
  Tensor v = values.to(self.dtype()).expand(plan.result_shape);
  if (plan.front != 0) {
    Shape to_result = result_perm(plan, v.dim());
    Shape from_result(to_result.size());
    for (size_t i = 0; i < to_result.size(); ++i) from_result[size_t(to_result[i])] = int64_t(i);
    v = v.permute(from_result);
  }
  v = v.storage() == self.storage() ? v.clone() : v.contiguous();
  switch (self.device().type) {
    case DeviceType::cpu:
      cpu::index_put(self.permute(plan.perm), plan.indices, v, accumulate);
      break;
    case DeviceType::cuda:
      cuda::index_put(self.permute(plan.perm), plan.indices, v, accumulate, plan.perm);
      break;
    default: no_kernel("index_put_", self.device());
  }
  self.bump_version();
  return self;
}

namespace {

// num_classes, inferred as max + 1 when -1, after the CPU checks every class.
int64_t cpu_num_classes(const int64_t* p, int64_t n, int64_t num_classes) {
  if (num_classes == -1) {
    EMBER_CHECK(n > 0, "one_hot: can't infer num_classes from an empty tensor");
    num_classes = *std::max_element(p, p + n) + 1;
  }
  EMBER_CHECK(num_classes >= 0, "one_hot: num_classes must be -1 or non-negative, got ",
              num_classes);
  for (int64_t i = 0; i < n; ++i) {
    EMBER_CHECK(p[i] >= 0 && p[i] < num_classes, "one_hot: class value ", p[i],
                " is out of range for num_classes ", num_classes);
  }
  return num_classes;
}

}  // namespace

Tensor one_hot(const Tensor& input, int64_t num_classes) {
  EMBER_CHECK_KIND(type, input.dtype() == DType::int64, "one_hot: input must be an int64 "
                   "tensor of class indices, got ", input.str());
  Tensor idx = input.contiguous();
  const int64_t n = idx.numel();
  Shape shape = input.shape();
  switch (input.device().type) {
    case DeviceType::cpu: {
      num_classes = cpu_num_classes(idx.data<int64_t>(), n, num_classes);
      shape.push_back(num_classes);
      Tensor out = Tensor::zeros(shape, DType::int64, input.device());
      cpu::one_hot(out.view({n, num_classes}), idx);
      return out;
    }
    case DeviceType::cuda: {
      // The kernel writes every element (no zero fill) and checks the classes.
      if (num_classes == -1) {
        EMBER_CHECK(n > 0, "one_hot: can't infer num_classes from an empty tensor");
        num_classes = cuda::index_max(idx) + 1;
      }
      EMBER_CHECK(num_classes >= 0, "one_hot: num_classes must be -1 or non-negative, got ",
                  num_classes);
      shape.push_back(num_classes);
      Tensor out = Tensor::empty(shape, DType::int64, input.device());
      cuda::one_hot(out.view({n, num_classes}), idx);
      return out;
    }
    default: no_kernel("one_hot", input.device());
  }
}

Tensor pad(const Tensor& input, const Shape& pad, Scalar value) {
  EMBER_CHECK(pad.size() % 2 == 0, "pad: the padding length must be even, got ", pad.size());
  EMBER_CHECK(int64_t(pad.size()) <= 2 * input.dim(), "pad: padding of length ", pad.size(),
              " is too long for a tensor of ", input.dim(), " dims ", shape_str(input.shape()));
  Shape shape = input.shape();
  Tensor src = input;
  for (size_t i = 0; i < pad.size() / 2; ++i) {
    int64_t d = input.dim() - 1 - int64_t(i);
    int64_t size = 0;
    bool overflow = __builtin_add_overflow(input.size(d), pad[2 * i], &size) ||
                    __builtin_add_overflow(size, pad[2 * i + 1], &size);
    EMBER_CHECK(!overflow, "pad: padding (", pad[2 * i], ", ", pad[2 * i + 1], ") of dim ", d,
                " overflows int64");
    EMBER_CHECK(size >= 0, "pad: padding (", pad[2 * i], ", ", pad[2 * i + 1], ") of dim ", d,
                " with size ", input.size(d), " gives a negative size ", size);
    shape[size_t(d)] = size;
  }
  Tensor out = Tensor::full(shape, value, input.dtype(), input.device());
  Tensor dst = out;
  for (size_t i = 0; i < pad.size() / 2; ++i) {
    int64_t d = input.dim() - 1 - int64_t(i);
    int64_t before = pad[2 * i], after = pad[2 * i + 1];
    int64_t src_start = std::max<int64_t>(-before, 0);
    int64_t length = input.size(d) - src_start - std::max<int64_t>(-after, 0);
    if (length <= 0) return out;
    src = src.narrow(d, src_start, length);
    dst = dst.narrow(d, std::max<int64_t>(before, 0), length);
  }
  dst.copy_(src);
  return out;
}

Tensor nonzero(const Tensor& input) {
  switch (input.device().type) {
    case DeviceType::cpu: return cpu::nonzero(input);
    case DeviceType::cuda: return cuda::nonzero(input);
    default: no_kernel("nonzero", input.device());
  }
}

}  // namespace ember
