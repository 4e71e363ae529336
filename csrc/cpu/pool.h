// CPU 2-D pooling kernels over contiguous (planes, H, W) buffers, where a
// plane is one (image, channel): max, average and adaptive average, forward
// and backward.
#pragma once

#include <cstdint>

namespace ember {
namespace cpu {

struct Pool2dShape {
  int64_t planes, in_h, in_w, out_h, out_w;
  int64_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
};

// indices: the flat h * W + w of each maximum within its plane (the first in
// scan order; NaN wins), or null when the caller needs only the values.
template <typename T>
void max_pool2d_forward(const Pool2dShape& s, const T* input, T* out, int64_t* indices);
// grad_input is overwritten.
template <typename T>
void max_pool2d_backward(const Pool2dShape& s, const T* grad_out, const int64_t* indices,
                         T* grad_input);

// divisor_override <= 0 means none. Dilation is not used.
template <typename T>
void avg_pool2d_forward(const Pool2dShape& s, bool count_include_pad, int64_t divisor_override,
                        const T* input, T* out);
template <typename T>
void avg_pool2d_backward(const Pool2dShape& s, bool count_include_pad, int64_t divisor_override,
                         const T* grad_out, T* grad_input);

// Output cell (i, j) averages rows [floor(i*H/OH), ceil((i+1)*H/OH)) and the
// matching columns. Only planes and the in/out sizes of `s` are used.
template <typename T>
void adaptive_avg_pool2d_forward(const Pool2dShape& s, const T* input, T* out);
template <typename T>
void adaptive_avg_pool2d_backward(const Pool2dShape& s, const T* grad_out, T* grad_input);

}  // namespace cpu
}  // namespace ember
