// Building blocks shared by the CUDA loss kernels (loss.cu: cross entropy and
// nll_loss; loss_pointwise.cu: the pointwise losses): launch constants, the
// float/double maths overloads, the sum over a sample's group of threads and
// the float32/float64 dispatch.
#pragma once

#include <math.h>

#include <cstdint>

#include "core/check.h"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace losses {

constexpr int kThreads = 256;
constexpr int kMaxWarps = kThreads / 32;
constexpr int64_t kMaxBlocks = 65535;

__device__ __forceinline__ float exp_of(float v) { return expf(v); }
__device__ __forceinline__ double exp_of(double v) { return exp(v); }
__device__ __forceinline__ float log_of(float v) { return logf(v); }
__device__ __forceinline__ double log_of(double v) { return log(v); }

// Combines v over the blockDim.x threads that own one sample (1, a warp, or
// the whole block); every one of them gets the result. Whole-block groups
// call it from every thread of the block (it has barriers).
template <typename T, typename Op>
__device__ T group_reduce(T v, Op op) {
  if (blockDim.x == 1) return v;
  EMBER_UNROLL
  for (int mask = 16; mask > 0; mask /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, mask));
  if (blockDim.x == 32) return v;
  __shared__ T partial[kMaxWarps];
  const int warps = int(blockDim.x) / 32;
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = v;
  __syncthreads();
  T total = partial[0];
  for (int w = 1; w < warps; ++w) total = op(total, partial[w]);
  // The next call writes `partial` again: nobody may still be reading it.
  __syncthreads();
  return total;
}

struct Sum {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};

[[noreturn]] inline void bad_dtype(const char* op, DType dtype) {
  EMBER_FAIL(type, op, ": no CUDA kernel for dtype ", dtype_name(dtype),
             " (float32 and float64 have one)");
}

// Calls f(T{}) with T the C++ type of a floating dtype.
template <typename F>
void dispatch_float(const char* op, DType dtype, const F& f) {
  switch (dtype) {
    case DType::float32: return f(float{});
    case DType::float64: return f(double{});
    default: bad_dtype(op, dtype);
  }
}

}  // namespace losses
}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
