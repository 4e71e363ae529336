// Device helpers for the exact (integer and bool) elementwise kernels of
// elementwise.cu and compare.cu, and their uniform loads of any dtype.
#pragma once

#include <type_traits>

#include "core/half.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace exact {

// A value every thread of the grid reads: through the read-only cache,
// except for bool, which __ldg has no overload for; the 16-bit floats go
// through it as their bits.
template <typename T>
__device__ __forceinline__ T load_uniform(const T* p) {
  if constexpr (std::is_same_v<T, bool>) {
    return *p;
  } else if constexpr (is_half_v<T>) {
    T v;
    v.bits = __ldg(reinterpret_cast<const unsigned short*>(p));
    return v;
  } else {
    return __ldg(p);
  }
}

// Integer negation and products wrap on overflow (as in PyTorch) instead of
// being undefined: they go through the unsigned type.
template <typename T>
__device__ __forceinline__ T wrapping_negate(T v) {
  using U = std::make_unsigned_t<T>;
  return T(U(0) - U(v));
}

template <typename T>
__device__ __forceinline__ T wrapping_mul(T a, T b) {
  using U = std::make_unsigned_t<T>;
  return T(U(a) * U(b));
}

}  // namespace exact
}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
