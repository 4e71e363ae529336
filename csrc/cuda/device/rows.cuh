// Building blocks of the row-wise reduction kernels (reduce.cu,
// reduce_more.cu, reduce_grad.cu): a group of blockDim.x threads (one warp
// for short rows, a whole block for long ones) owns one row of a RowGeometry,
// each thread folds a strided share of it, then a warp-shuffle tree and one
// pass through shared memory combine the partials.
#pragma once

#include <math.h>

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "core/check.h"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace rows {

constexpr int kThreads = 256;
constexpr int kMaxWarps = kThreads / 32;
constexpr int64_t kMaxBlocks = 65535;
// Rows at least this long get a whole block each; shorter ones one warp.
constexpr int64_t kBlockRowLength = 1024;

template <typename T>
__device__ __forceinline__ bool is_nan(T v) {
  if constexpr (std::is_floating_point<T>::value) {
    return v != v;
  } else {
    return false;
  }
}

struct SumOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
  template <typename T>
  __device__ __forceinline__ T identity() const { return T(0); }
};
// NaN wins either way round, so the result does not depend on the tree's shape.
struct MaxOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    return is_nan(a) ? a : (is_nan(b) || b > a) ? b : a;
  }
  template <typename T>
  __device__ __forceinline__ T identity() const { return T(-HUGE_VAL); }
};
struct MinOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    return is_nan(a) ? a : (is_nan(b) || b < a) ? b : a;
  }
  template <typename T>
  __device__ __forceinline__ T identity() const { return T(HUGE_VAL); }
};

__device__ __forceinline__ float exp_of(float v) { return expf(v); }
__device__ __forceinline__ double exp_of(double v) { return exp(v); }
__device__ __forceinline__ float log_of(float v) { return logf(v); }
__device__ __forceinline__ double log_of(double v) { return log(v); }

// The element offset of flat index i over (sizes, strides), last dim fastest.
__device__ __forceinline__ int64_t offset_of(int64_t i, int ndim, const int64_t* sizes,
                                             const int64_t* strides) {
  if (ndim == 1) return i * strides[0];
  int64_t offset = 0;
  for (int d = ndim - 1; d >= 0; --d) {
    offset += (i % sizes[d]) * strides[d];
    i /= sizes[d];
  }
  return offset;
}

// Where row r and its element i of operand k start.
__device__ __forceinline__ int64_t row_offset(const RowGeometry& g, int k, int64_t r) {
  return offset_of(r, g.outer_ndim, g.outer_sizes, g.outer_strides[k]);
}
__device__ __forceinline__ int64_t element_offset(const RowGeometry& g, int k, int64_t i) {
  return offset_of(i, g.inner_ndim, g.inner_sizes, g.inner_strides[k]);
}

// Combines v across the blockDim.x threads of this row; every one of them
// gets the result. All threads of the block must call it (it has barriers).
template <typename T, typename Op>
__device__ T row_reduce(T v, Op op) {
  __shared__ T partial[kMaxWarps];
  EMBER_UNROLL
  for (int mask = 16; mask > 0; mask /= 2) v = op(v, __shfl_xor_sync(0xffffffffu, v, mask));
  const int warps = int(blockDim.x) / 32;
  if (warps == 1) return v;
  const int warp = int(threadIdx.x) / 32;
  const int first = int(threadIdx.y) * warps;
  if (threadIdx.x % 32 == 0) partial[first + warp] = v;
  __syncthreads();
  T total = partial[first];
  for (int w = 1; w < warps; ++w) total = op(total, partial[first + w]);
  // The next call writes `partial` again: nobody may still be reading it.
  __syncthreads();
  return total;
}

// row_reduce for a multi-field State: `op.shuffle(s, mask)` exchanges it
// field by field (shuffles move 32- and 64-bit words only) and
// `op.merge(a, b)` combines two states.
template <typename State, typename Op>
__device__ State row_merge(State s, const Op& op) {
  __shared__ State partial[kMaxWarps];
  EMBER_UNROLL
  for (int mask = 16; mask > 0; mask /= 2) s = op.merge(s, op.shuffle(s, mask));
  const int warps = int(blockDim.x) / 32;
  if (warps == 1) return s;
  const int warp = int(threadIdx.x) / 32;
  const int first = int(threadIdx.y) * warps;
  if (threadIdx.x % 32 == 0) partial[first + warp] = s;
  __syncthreads();
  State total = partial[first];
  for (int w = 1; w < warps; ++w) total = op.merge(total, partial[first + w]);
  __syncthreads();
  return total;
}

// Calls body(row, valid) for each row group of the block; `valid` is false
// for threads past the last row, which still take part in the collectives.
template <typename Body>
__device__ __forceinline__ void for_each_row(int64_t rows, const Body& body) {
  const int64_t step = int64_t(gridDim.x) * blockDim.y;
  for (int64_t base = int64_t(blockIdx.x) * blockDim.y; base < rows; base += step) {
    const int64_t row = base + threadIdx.y;
    body(row < rows ? row : rows - 1, row < rows);
  }
}

// The block shape for rows of length n: (threads per row, rows per block).
inline dim3 block_for(const char* op, int64_t n, int threads_per_row) {
  if (threads_per_row == 0) threads_per_row = n >= kBlockRowLength ? kThreads : 32;
  EMBER_CHECK(threads_per_row % 32 == 0 && threads_per_row >= 32 && threads_per_row <= kThreads,
              op, ": threads_per_row must be a multiple of 32 in [32, ", kThreads, "], got ",
              threads_per_row);
  return dim3(unsigned(threads_per_row), unsigned(kThreads / threads_per_row));
}

inline dim3 grid_for(int64_t rows, const dim3& block) {
  return dim3(unsigned(std::min(ceil_div<int64_t>(rows, block.y), kMaxBlocks)));
}

[[noreturn]] inline void unsupported_dtype(const char* op, DType dtype) {
  EMBER_FAIL(type, op, ": no CUDA kernel for dtype ", dtype_name(dtype), " yet");
}

}  // namespace rows
}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
