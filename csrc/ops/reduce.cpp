// Reduction entry points: dim handling, dtype rules, argument checks, output
// allocation, then dispatch by device.
#include "ops/reduce.h"

#include <algorithm>
#include <cmath>

#include "cpu/reduce.h"
#include "cuda/kernels.h"

namespace ember {

Shape reduction_dims(const Shape& dims, int64_t ndim, const char* op) {
  Shape out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) out.push_back(wrap_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  EMBER_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op, ": dim ",
              shape_str(dims), " lists a dim twice");
  if (ndim == 0) out.clear();
  return out;
}

Shape reduced_shape(const Shape& shape, const Shape& dims, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
    bool reduced = std::binary_search(dims.begin(), dims.end(), d);
    if (!reduced) {
      out.push_back(shape[d]);
    } else if (keepdim) {
      out.push_back(1);
    }
  }
  return out;
}

namespace {

// Throws unless every reduced dim has elements: a max of nothing is undefined.
void check_nonempty(const Tensor& x, const Shape& rdims, const char* op) {
  for (int64_t d : rdims)
    EMBER_CHECK_KIND(index, x.size(d) > 0, op, ": cannot reduce over dim ", d, " of size 0 of ",
                     x.str(), " (the operation has no identity)");
}

void check_float(const Tensor& x, const char* op) {
  EMBER_CHECK_KIND(type, is_floating(x.dtype()), op, ": expected a floating point tensor, got ",
                   x.str());
}

// Checks that `t` has x's shape with the reduced dims kept as size 1, on x's device.
void check_keepdim_operand(const Tensor& t, const Tensor& x, const Shape& rdims, const char* op,
                           const char* what) {
  Shape expected = reduced_shape(x.shape(), rdims, true);
  EMBER_CHECK(t.shape() == expected, op, ": ", what, " has shape ", shape_str(t.shape()),
              ", expected ", shape_str(expected), " for input ", x.str());
  EMBER_CHECK(t.device() == x.device(), op, ": ", what, " is on ", t.device().str(),
              " but the input is on ", x.device().str());
}

Tensor alloc(const Tensor& x, const Shape& rdims, bool keepdim, DType dtype) {
  return Tensor::empty(reduced_shape(x.shape(), rdims, keepdim), dtype, x.device());
}

Tensor extreme(const Tensor& x, const Shape& dims, bool keepdim, bool is_max) {
  const char* op = is_max ? "amax" : "amin";
  Shape rdims = reduction_dims(dims, x.dim(), op);
  check_nonempty(x, rdims, op);
  Tensor out = alloc(x, rdims, keepdim, x.dtype());
  switch (x.device().type) {
    case DeviceType::cpu: cpu::amax(out, x, rdims, is_max); break;
    case DeviceType::cuda:
      if (is_floating(x.dtype())) {
        cuda::reduce(is_max ? cuda::ReduceOp::amax : cuda::ReduceOp::amin, out, x, rdims);
      } else {
        cuda::fold(is_max ? cuda::FoldOp::amax : cuda::FoldOp::amin, out, x, rdims);
      }
      break;
    default: no_kernel(op, x.device());
  }
  return out;
}

std::pair<Tensor, Tensor> extreme_dim(const Tensor& x, int64_t dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "max" : "min";
  Shape rdims = reduction_dims({dim}, x.dim(), op);
  check_nonempty(x, rdims, op);
  Tensor values = alloc(x, rdims, keepdim, x.dtype());
  Tensor indices = alloc(x, rdims, keepdim, DType::int64);
  switch (x.device().type) {
    case DeviceType::cpu: cpu::arg_extreme(values, indices, x, rdims, is_max); break;
    case DeviceType::cuda: cuda::arg_extreme(values, indices, x, rdims, is_max); break;
    default: no_kernel(op, x.device());
  }
  return {values, indices};
}

Tensor arg_extreme(const Tensor& x, std::optional<int64_t> dim, bool keepdim, bool is_max) {
  const char* op = is_max ? "argmax" : "argmin";
  if (!dim) {
    EMBER_CHECK_KIND(index, x.numel() > 0, op, ": cannot take the ", op,
                     " of the empty tensor ", x.str());
    if (x.device().is_cuda()) {
      // Rows over every dim index the flattened tensor: no copy of a strided x.
      Shape all = reduction_dims({}, x.dim(), op);
      Tensor value = Tensor::empty({}, x.dtype(), x.device());
      Tensor index = Tensor::empty(keepdim ? Shape(x.dim(), 1) : Shape{}, DType::int64,
                                   x.device());
      cuda::arg_extreme(value, index, x, all, is_max);
      return index;
    }
    Tensor flat = x.reshape({x.numel()});
    Tensor index = extreme_dim(flat, 0, false, is_max).second;
    return keepdim ? index.reshape(Shape(x.dim(), 1)) : index;
  }
  Shape rdims = reduction_dims({*dim}, x.dim(), op);
  check_nonempty(x, rdims, op);
  return extreme_dim(x, *dim, keepdim, is_max).second;
}

Tensor variance(const Tensor& x, const Shape& dims, double correction, bool keepdim,
                bool take_sqrt) {
  const char* op = take_sqrt ? "std" : "var";
  check_float(x, op);
  Shape rdims = reduction_dims(dims, x.dim(), op);
  Tensor out = alloc(x, rdims, keepdim, x.dtype());
  switch (x.device().type) {
    case DeviceType::cpu: cpu::var(out, x, rdims, correction, take_sqrt); break;
    case DeviceType::cuda: cuda::var(out, x, rdims, correction, take_sqrt); break;
    default: no_kernel(op, x.device());
  }
  return out;
}

Tensor softmax_forward(const Tensor& x, int64_t dim, bool log) {
  const char* op = log ? "log_softmax" : "softmax";
  check_float(x, op);
  dim = wrap_dim(dim, x.dim(), op);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  switch (x.device().type) {
    case DeviceType::cpu: cpu::softmax(out, x, dim, log); break;
    case DeviceType::cuda: cuda::softmax(out, x, dim, log); break;
    default: no_kernel(op, x.device());
  }
  return out;
}

Tensor softmax_grad(const Tensor& grad, const Tensor& y, int64_t dim, bool log) {
  const char* op = log ? "log_softmax_backward" : "softmax_backward";
  check_float(y, op);
  dim = wrap_dim(dim, y.dim(), op);
  EMBER_CHECK(grad.shape() == y.shape() && grad.device() == y.device(), op, ": grad ",
              grad.str(), " does not match the output ", y.str());
  Tensor out = Tensor::empty(y.shape(), y.dtype(), y.device());
  switch (y.device().type) {
    case DeviceType::cpu: cpu::softmax_backward(out, grad.to(y.dtype()), y, dim, log); break;
    case DeviceType::cuda: cuda::softmax_backward(out, grad.to(y.dtype()), y, dim, log); break;
    default: no_kernel(op, y.device());
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const Shape& dims, bool keepdim) {
  Shape rdims = reduction_dims(dims, x.dim(), "sum");
  DType dtype = is_floating(x.dtype()) ? x.dtype() : DType::int64;
  Tensor out = alloc(x, rdims, keepdim, dtype);
  switch (x.device().type) {
    case DeviceType::cpu: cpu::sum(out, x.to(dtype), rdims); break;
    case DeviceType::cuda:
      if (is_floating(x.dtype())) {
        cuda::reduce(cuda::ReduceOp::sum, out, x, rdims);
      } else {
        cuda::fold(cuda::FoldOp::sum, out, x, rdims);
      }
      break;
    default: no_kernel("sum", x.device());
  }
  return out;
}

Tensor mean(const Tensor& x, const Shape& dims, bool keepdim) {
  EMBER_CHECK_KIND(type, is_floating(x.dtype()), "mean: could not infer the output dtype; the "
                   "input must be floating point, got ", x.str(), " (pass dtype= or convert it)");
  Shape rdims = reduction_dims(dims, x.dim(), "mean");
  int64_t count = 1;
  for (int64_t d : rdims) count *= x.size(d);
  switch (x.device().type) {
    case DeviceType::cpu: {
      // 16-bit: the float32 mean, rounded once (not a rounded sum divided again).
      if (is_half(x.dtype())) return mean(x.to(DType::float32), rdims, keepdim).to(x.dtype());
      Tensor total = sum(x, rdims, keepdim);
      // A count of 0 gives 0/0 = NaN, as in PyTorch.
      EMBER_DISPATCH_FLOAT(x.dtype(), "mean", [&] {
        scalar_t* p = total.data<scalar_t>();
        for (int64_t i = 0; i < total.numel(); ++i) p[i] = scalar_t(double(p[i]) / double(count));
      });
      return total;
    }
    case DeviceType::cuda: {
      Tensor out = alloc(x, rdims, keepdim, x.dtype());
      cuda::reduce(cuda::ReduceOp::mean, out, x, rdims);
      return out;
    }
    default: no_kernel("mean", x.device());
  }
}

Tensor prod(const Tensor& x, const Shape& dims, bool keepdim) {
  Shape rdims = reduction_dims(dims, x.dim(), "prod");
  DType dtype = is_floating(x.dtype()) ? x.dtype() : DType::int64;
  Tensor out = alloc(x, rdims, keepdim, dtype);
  switch (x.device().type) {
    case DeviceType::cpu: cpu::prod(out, x.to(dtype), rdims); break;
    case DeviceType::cuda: cuda::fold(cuda::FoldOp::prod, out, x, rdims); break;
    default: no_kernel("prod", x.device());
  }
  return out;
}

Tensor amax(const Tensor& x, const Shape& dims, bool keepdim) {
  return extreme(x, dims, keepdim, true);
}
Tensor amin(const Tensor& x, const Shape& dims, bool keepdim) {
  return extreme(x, dims, keepdim, false);
}

std::pair<Tensor, Tensor> max_dim(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_dim(x, dim, keepdim, true);
}
std::pair<Tensor, Tensor> min_dim(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_dim(x, dim, keepdim, false);
}

Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_extreme(x, dim, keepdim, true);
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_extreme(x, dim, keepdim, false);
}

Tensor var(const Tensor& x, const Shape& dims, double correction, bool keepdim) {
  return variance(x, dims, correction, keepdim, false);
}
Tensor stddev(const Tensor& x, const Shape& dims, double correction, bool keepdim) {
  return variance(x, dims, correction, keepdim, true);
}

Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim) {
  Tensor input = is_floating(x.dtype()) ? x : x.to(DType::float32);
  Shape rdims = reduction_dims(dims, x.dim(), "logsumexp");
  Tensor out = alloc(input, rdims, keepdim, input.dtype());
  switch (x.device().type) {
    case DeviceType::cpu: cpu::logsumexp(out, input, rdims); break;
    case DeviceType::cuda: cuda::logsumexp(out, input, rdims); break;
    default: no_kernel("logsumexp", x.device());
  }
  return out;
}

Tensor norm(const Tensor& x, double p, const Shape& dims, bool keepdim) {
  check_float(x, "norm");
  EMBER_CHECK(!std::isnan(p), "norm: p must be a number, got nan");
  Shape rdims = reduction_dims(dims, x.dim(), "norm");
  if (std::isinf(p)) check_nonempty(x, rdims, "norm");
  Tensor out = alloc(x, rdims, keepdim, x.dtype());
  switch (x.device().type) {
    case DeviceType::cpu: cpu::norm(out, x, rdims, p); break;
    case DeviceType::cuda: cuda::norm(out, x, rdims, p); break;
    default: no_kernel("norm", x.device());
  }
  return out;
}

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_forward(x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_forward(x, dim, true); }
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim) {
  return softmax_grad(grad, y, dim, false);
}
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim) {
  return softmax_grad(grad, y, dim, true);
}

Tensor cumsum(const Tensor& x, int64_t dim, bool reverse) {
  dim = wrap_dim(dim, x.dim(), "cumsum");
  DType dtype = is_floating(x.dtype()) ? x.dtype() : DType::int64;
  Tensor out = Tensor::empty(x.shape(), dtype, x.device());
  switch (x.device().type) {
    case DeviceType::cpu: cpu::cumsum(out, x.to(dtype), dim, reverse); break;
    case DeviceType::cuda: cuda::cumsum(out, x, dim, reverse); break;
    default: no_kernel("cumsum", x.device());
  }
  return out;
}

Tensor prod_backward(const Tensor& grad, const Tensor& x, const Shape& dims) {
  check_float(x, "prod_backward");
  Shape rdims = reduction_dims(dims, x.dim(), "prod_backward");
  check_keepdim_operand(grad, x, rdims, "prod_backward", "grad");
  Tensor grad_x = Tensor::empty(x.shape(), x.dtype(), x.device());
  switch (x.device().type) {
    case DeviceType::cpu: cpu::prod_backward(grad_x, grad, x, rdims); break;
    case DeviceType::cuda: cuda::prod_backward(grad_x, grad.to(x.dtype()), x, rdims); break;
    default: no_kernel("prod_backward", x.device());
  }
  return grad_x;
}

Tensor extreme_weights(const Tensor& x, const Tensor& out, const Shape& dims) {
  check_float(x, "extreme_weights");
  Shape rdims = reduction_dims(dims, x.dim(), "extreme_weights");
  check_keepdim_operand(out, x, rdims, "extreme_weights", "out");
  Tensor weights = Tensor::empty(x.shape(), x.dtype(), x.device());
  switch (x.device().type) {
    case DeviceType::cpu: cpu::extreme_weights(weights, x, out, rdims); break;
    case DeviceType::cuda: cuda::extreme_weights(weights, x, out.to(x.dtype()), rdims); break;
    default: no_kernel("extreme_weights", x.device());
  }
  return weights;
}

Tensor norm_backward(const Tensor& grad, const Tensor& x, const Tensor& out, double p,
                     const Shape& dims) {
  check_float(x, "norm_backward");
  Shape rdims = reduction_dims(dims, x.dim(), "norm_backward");
  check_keepdim_operand(grad, x, rdims, "norm_backward", "grad");
  check_keepdim_operand(out, x, rdims, "norm_backward", "out");
  Tensor grad_x = Tensor::empty(x.shape(), x.dtype(), x.device());
  switch (x.device().type) {
    case DeviceType::cpu: cpu::norm_backward(grad_x, grad, x, out, rdims, p); break;
    case DeviceType::cuda:
      cuda::norm_backward(grad_x, grad.to(x.dtype()), x, out.to(x.dtype()), rdims, p);
      break;
    default: no_kernel("norm_backward", x.device());
  }
  return grad_x;
}

}  // namespace ember
