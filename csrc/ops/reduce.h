// Reductions over any set of dims, with keepdim, and the ops along one dim
// (softmax, log_softmax, cumsum). A `dims` list is normalised by
// reduction_dims: an empty list means every dim.
#pragma once

#include <optional>
#include <utility>

#include "core/tensor.h"

namespace ember {

// Normalised, sorted, de-duplicated dims; an empty list means every dim.
Shape reduction_dims(const Shape& dims, int64_t ndim, const char* op);
// The output shape of reducing `dims` (normalised) of `shape`.
Shape reduced_shape(const Shape& shape, const Shape& dims, bool keepdim);

// Sum; integer and bool inputs sum to int64.
Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
// Mean of a floating tensor (TypeError for integers, like PyTorch); NaN when empty.
Tensor mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
// Product; integer and bool inputs multiply to int64; an empty product is 1.
Tensor prod(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
// Max / min values over `dims` (NaN propagates); the reduced extent must be non-empty.
Tensor amax(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
// (values, int64 indices) of the max / min along `dim`; the first extreme wins.
std::pair<Tensor, Tensor> max_dim(const Tensor& x, int64_t dim, bool keepdim = false);
std::pair<Tensor, Tensor> min_dim(const Tensor& x, int64_t dim, bool keepdim = false);
// Index of the max / min along `dim`, or into the flattened tensor without one.
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
// Variance / standard deviation: sum((x - mean)^2) / (n - correction).
Tensor var(const Tensor& x, const Shape& dims = {}, double correction = 1, bool keepdim = false);
Tensor stddev(const Tensor& x, const Shape& dims = {}, double correction = 1,
              bool keepdim = false);
// log(sum(exp(x))), max-subtracted; integers give float32; -inf when empty.
Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim = false);
// The vector p-norm over `dims` (p = 2, 1, 0, +-inf or any other non-NaN value).
Tensor norm(const Tensor& x, double p = 2, const Shape& dims = {}, bool keepdim = false);

// softmax / log_softmax along `dim`, and their backward from the output y.
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim);
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim);
// Running sum along `dim` (from the end when `reverse`); integers give int64.
Tensor cumsum(const Tensor& x, int64_t dim, bool reverse = false);

// Backward kernels. `grad` and `out` have x's shape with the reduced dims kept as 1.
// Gradient of prod: grad times the product of the other elements, exact with zeros.
Tensor prod_backward(const Tensor& grad, const Tensor& x, const Shape& dims);
// (x == out) / count(x == out) over `dims`: how a max/min gradient splits among ties.
Tensor extreme_weights(const Tensor& x, const Tensor& out, const Shape& dims);
// Gradient of norm(x, p, dims): grad * d norm / dx, 0 where the norm is 0.
Tensor norm_backward(const Tensor& grad, const Tensor& x, const Tensor& out, double p,
                     const Shape& dims);

}  // namespace ember
