// Winograd F(2x2, 3x3) convolution for 3x3 stride-1 layers (cpu/conv.cpp
// routes them here): 2.25x fewer multiply-adds than the direct method.
#pragma once

#include "cpu/conv.h"

namespace ember {
namespace cpu {

// Whether `s` takes the Winograd path: a 3x3 kernel, stride 1, no dilation,
// one group, at least 16 input and output channels (below that the 16 GEMMs
// are too thin to beat im2col), and an output whose 2x2 tiles are at least
// 80% inside it (a 7x7 output fills 49 of 64 tiled places, and lost to
// im2col on Zen 4).
bool winograd_applies(const Conv2dShape& s);

// The same contracts as conv2d_forward / _backward_input / _backward_weight,
// for shapes where winograd_applies. Defined for float and double.
template <typename T>
void winograd_forward(const Conv2dShape& s, const T* input, const T* weight, const T* bias,
                      T* out);
template <typename T>
void winograd_backward_input(const Conv2dShape& s, const T* grad_out, const T* weight,
                             T* grad_input);
template <typename T>
void winograd_backward_weight(const Conv2dShape& s, const T* grad_out, const T* input,
                              T* grad_weight);

}  // namespace cpu
}  // namespace ember
