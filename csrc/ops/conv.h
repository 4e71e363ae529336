// conv2d entry points (NCHW): argument checks, output sizes, device dispatch.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace ember {

// input (N, C, H, W) or unbatched (C, H, W); weight (OC, C / groups, KH, KW);
// bias (OC,) or undefined. stride and dilation hold 1 or 2 values; padding 1
// or 2 (symmetric) or 4 (top, left, bottom, right).
Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, const Shape& stride,
              const Shape& padding, const Shape& dilation, int64_t groups);

// {grad_input, grad_weight, grad_bias} of a batched conv2d; an entry whose
// flag is false is left undefined.
std::vector<Tensor> conv2d_backward(const Tensor& grad_out, const Tensor& input,
                                    const Tensor& weight, const Shape& stride,
                                    const Shape& padding, const Shape& dilation, int64_t groups,
                                    bool need_input, bool need_weight, bool need_bias);

// The algorithm conv2d and conv2d_backward run for these arguments (checked
// as conv2d checks them): "winograd" or "im2col" on the CPU, "implicit_gemm"
// on CUDA.
const char* conv2d_algorithm(const Tensor& input, const Tensor& weight, const Shape& stride,
                             const Shape& padding, const Shape& dilation, int64_t groups);

}  // namespace ember
