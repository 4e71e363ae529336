// Reductions over any set of dims, with keepdim.
#pragma once

#include "core/tensor.h"

namespace ember {

// Normalised, sorted, de-duplicated dims; an empty list means every dim.
Shape reduction_dims(const Shape& dims, int64_t ndim, const char* op);
// The output shape of reducing `dims` (normalised) of `shape`.
Shape reduced_shape(const Shape& shape, const Shape& dims, bool keepdim);

// Sum; integer and bool inputs sum to int64.
Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);

}  // namespace ember
