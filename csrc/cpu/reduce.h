// CPU reduction kernels. Each takes inputs already checked by csrc/ops and
// writes into a preallocated contiguous output.
#pragma once

#include "core/tensor.h"

namespace ember {
namespace cpu {

// Splits `x` into kept and reduced dims: returns x permuted to
// [kept..., reduced...] and sets `outer` (kept count) and `inner` (reduced count).
Tensor kept_then_reduced(const Tensor& x, const Shape& dims, int64_t& outer, int64_t& inner);

// In every kernel below `dims` is normalised and sorted, and `out` holds one
// element per kept position (any keepdim).

// out (x's dtype) = sum of x over `dims`.
void sum(const Tensor& out, const Tensor& x, const Shape& dims);
// out = product of x over `dims` (x's dtype; an empty product is 1).
void prod(const Tensor& out, const Tensor& x, const Shape& dims);
// out = max (or min) over `dims`; NaN propagates. Each reduced extent is non-empty.
void amax(const Tensor& out, const Tensor& x, const Shape& dims, bool is_max);
// values/indices (int64, position within the reduced dim) of the max (or min)
// along `dims`; the first extreme wins and NaN counts as the extreme.
void arg_extreme(const Tensor& values, const Tensor& indices, const Tensor& x, const Shape& dims,
                 bool is_max);
// out = sum((x - mean)^2) / (n - correction) over `dims`, or its square root.
void var(const Tensor& out, const Tensor& x, const Shape& dims, double correction, bool take_sqrt);
// out = log(sum(exp(x))) over `dims`, max-subtracted.
void logsumexp(const Tensor& out, const Tensor& x, const Shape& dims);
// out = the p-norm of x over `dims` (p may be 0, +-inf or any positive value).
void norm(const Tensor& out, const Tensor& x, const Shape& dims, double p);

// Backward kernels. `grad` and `out` are broadcastable to x's shape (the
// reduced dims kept as size 1); `grad_x` is contiguous with x's shape.
// grad_x = grad * (product of the other elements of the reduced set), exact with zeros.
void prod_backward(const Tensor& grad_x, const Tensor& grad, const Tensor& x, const Shape& dims);
// weights = (x == out) / count(x == out) over `dims`: the even split of the
// gradient of a max/min among ties.
void extreme_weights(const Tensor& weights, const Tensor& x, const Tensor& out, const Shape& dims);
// grad_x = grad * d norm_p(x) / dx, 0 where the norm is 0.
void norm_backward(const Tensor& grad_x, const Tensor& grad, const Tensor& x, const Tensor& out,
                   const Shape& dims, double p);

// Kernels along one dim of a contiguous x viewed as [outer, n, inner].
void softmax(const Tensor& out, const Tensor& x, int64_t dim, bool log);
// grad_x = y * (grad - sum(grad * y)) for softmax, grad - exp(y) * sum(grad)
// for log_softmax, with y the forward's output.
void softmax_backward(const Tensor& grad_x, const Tensor& grad, const Tensor& y, int64_t dim,
                      bool log);
// out = inclusive running sum along `dim` (from the end when `reverse`).
void cumsum(const Tensor& out, const Tensor& x, int64_t dim, bool reverse);

}  // namespace cpu
}  // namespace ember
