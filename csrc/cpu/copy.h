// CPU copy with dtype conversion between strided views, and fill.
#pragma once

#include "core/tensor.h"

namespace ember {
namespace cpu {

// dst[i] = cast(src[i]); both have dst's shape (src already expanded).
void copy(const Tensor& dst, const Tensor& src);
void fill(const Tensor& dst, Scalar value);

}  // namespace cpu
}  // namespace ember
