// CPU conv2d kernels (NCHW, groups, stride, padding, dilation): forward via
// im2col + GEMM, grad input via GEMM + col2im, grad weight via GEMM, grad bias;
// 3x3 stride-1 layers with 16 or more channels via Winograd F(2x2, 3x3)
// instead (cpu/conv_winograd.h).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace ember {
namespace cpu {

// Sizes of one conv2d. pad_h/pad_w are the top/left padding; the bottom/right
// padding is implied by out_h/out_w (it may differ from top/left for 'same').
struct Conv2dShape {
  int64_t batch, in_channels, in_h, in_w;
  int64_t out_channels, kernel_h, kernel_w, out_h, out_w;
  int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups;
};

// All pointers are to contiguous NCHW / (OC, C/groups, KH, KW) buffers.
// `bias` may be null. Defined for float and double.
template <typename T>
void conv2d_forward(const Conv2dShape& s, const T* input, const T* weight, const T* bias, T* out);
// grad_input is overwritten.
template <typename T>
void conv2d_backward_input(const Conv2dShape& s, const T* grad_out, const T* weight,
                           T* grad_input);
// grad_weight is overwritten.
template <typename T>
void conv2d_backward_weight(const Conv2dShape& s, const T* grad_out, const T* input,
                            T* grad_weight);
// grad_bias (out_channels) = grad_out summed over batch and space.
template <typename T>
void conv2d_backward_bias(const Conv2dShape& s, const T* grad_out, T* grad_bias);

// The same on contiguous CPU tensors of one dtype: float32/float64, and
// float16/bfloat16 computed in float32 on the widened operands with each
// output rounded once. `bias` may be undefined; outputs are overwritten.
void conv2d_forward(const Conv2dShape& s, const Tensor& input, const Tensor& weight,
                    const Tensor& bias, const Tensor& out);
void conv2d_backward_input(const Conv2dShape& s, const Tensor& grad_out, const Tensor& weight,
                           const Tensor& grad_input);
void conv2d_backward_weight(const Conv2dShape& s, const Tensor& grad_out, const Tensor& input,
                            const Tensor& grad_weight);
void conv2d_backward_bias(const Conv2dShape& s, const Tensor& grad_out, const Tensor& grad_bias);

}  // namespace cpu
}  // namespace ember
