// 2-D pooling entry points: max_pool2d, avg_pool2d, adaptive_avg_pool2d and
// their backward passes. Inputs are (N, C, H, W) or unbatched (C, H, W).
#pragma once

#include <vector>

#include "core/tensor.h"

namespace ember {

// kernel_size, stride, padding, dilation: 1 or 2 values; an empty stride means
// kernel_size. Returns {output, indices (int64, flat h * W + w per plane)}, or
// {output} alone when return_indices is false (inference: no backward needed).
std::vector<Tensor> max_pool2d(const Tensor& input, const Shape& kernel_size, const Shape& stride,
                               const Shape& padding, const Shape& dilation, bool ceil_mode,
                               bool return_indices = true);
Tensor max_pool2d_backward(const Tensor& grad_out, const Tensor& indices,
                           const Shape& input_shape);

// divisor_override: 0 means none.
Tensor avg_pool2d(const Tensor& input, const Shape& kernel_size, const Shape& stride,
                  const Shape& padding, bool ceil_mode, bool count_include_pad,
                  int64_t divisor_override);
Tensor avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape,
                           const Shape& kernel_size, const Shape& stride, const Shape& padding,
                           bool ceil_mode, bool count_include_pad, int64_t divisor_override);

// output_size: 1 or 2 values.
Tensor adaptive_avg_pool2d(const Tensor& input, const Shape& output_size);
Tensor adaptive_avg_pool2d_backward(const Tensor& grad_out, const Shape& input_shape);

}  // namespace ember
