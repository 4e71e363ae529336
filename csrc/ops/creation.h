// Creation ops beyond Tensor::empty/full: ranges, identity, random tensors.
#pragma once

#include "core/tensor.h"

namespace ember {

Tensor arange(Scalar start, Scalar end, Scalar step, DType dtype, Device device = {});
Tensor linspace(double start, double end, int64_t steps, DType dtype, Device device = {});
Tensor eye(int64_t n, int64_t m, DType dtype, Device device = {});
Tensor rand(const Shape& shape, DType dtype, Device device = {});
Tensor randn(const Shape& shape, DType dtype, Device device = {});
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Device device = {});

}  // namespace ember
