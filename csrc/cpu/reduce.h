// CPU reduction kernels.
#pragma once

#include "core/tensor.h"

namespace ember {
namespace cpu {

// Splits `x` into kept and reduced dims: returns x permuted to
// [kept..., reduced...] and sets `outer` (kept count) and `inner` (reduced count).
Tensor kept_then_reduced(const Tensor& x, const Shape& dims, int64_t& outer, int64_t& inner);

// out (x's dtype, kept dims' shape, any keepdim) = sum of x over `dims`.
void sum(const Tensor& out, const Tensor& x, const Shape& dims);

}  // namespace cpu
}  // namespace ember
