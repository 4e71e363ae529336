// Quotient and remainder of non-negative 64-bit index maths (flat indices,
// sizes, strides). nvcc's signed 64-bit division routine costs the kernels
// that call it a stack frame (8 to 16 bytes of local memory per thread,
// e.g. nll_loss_kernel<float>, max_pool2d_kernel<float>); the unsigned one
// needs none and gives the same result for operands >= 0.
#pragma once

#include <cstdint>

#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {

// a / b for a >= 0, b > 0.
__device__ __forceinline__ int64_t index_div(int64_t a, int64_t b) {
  return int64_t(uint64_t(a) / uint64_t(b));
}

// a % b for a >= 0, b > 0.
__device__ __forceinline__ int64_t index_mod(int64_t a, int64_t b) {
  return int64_t(uint64_t(a) % uint64_t(b));
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
