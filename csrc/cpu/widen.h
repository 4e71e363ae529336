// How the CPU runs float16/bfloat16 ops: the 16-bit inputs are widened to
// float32, the float32 kernel runs, and each result is rounded once into the
// 16-bit output. That is what a CUDA kernel that loads 16-bit values and
// computes in float gives (up to the order of a reduction's additions), so
// the CPU is the reference for the CUDA 16-bit kernels.
#pragma once

#include "core/tensor.h"

namespace ember {
namespace cpu {

// t in float32 when it is a 16-bit float tensor, t itself otherwise.
inline Tensor widen(const Tensor& t) {
  return t.defined() && is_half(t.dtype()) ? t.to(DType::float32) : t;
}

// fn(out) for a float32/float64/integer `out`; for a 16-bit `out`, fn on a
// float32 stand-in that is then rounded into `out`.
template <typename Fn>
void into_widened(const Tensor& out, Fn&& fn) {
  if (!is_half(out.dtype())) return fn(out);
  Tensor wide = Tensor::empty(out.shape(), DType::float32, out.device());
  fn(wide);
  Tensor(out).copy_(wide);
}

}  // namespace cpu
}  // namespace ember
