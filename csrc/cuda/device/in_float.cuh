// How the 16-bit kernels reuse the float functors: InFloat widens each
// operand to float and calls the float functor; the result is rounded once
// where the kernel stores it. in_acc<T>(op) wraps op for a 16-bit T and
// leaves it as is for every other type.
#pragma once

#include "core/half.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace in_float {

template <typename Op>
struct InFloat {
  Op op;
  template <typename... Args>
  __device__ __forceinline__ auto operator()(Args... args) const {
    return op(float(args)...);
  }
};

template <typename T, typename Op>
auto in_acc(Op op) {
  if constexpr (is_half_v<T>) {
    return InFloat<Op>{op};
  } else {
    return op;
  }
}

}  // namespace in_float
}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
