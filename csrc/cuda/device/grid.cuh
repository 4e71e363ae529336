// Launch geometry and building blocks shared by the grid-stride elementwise
// kernels (elementwise.cu, unary.cu): block size, grid size, 16-byte packs,
// and the strided kernel out = op(a, b) over a merged BinaryGeometry.
#pragma once

#include <algorithm>
#include <cstdint>

#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace grid {

constexpr int kThreads = 256;
// Enough blocks to fill every SM of current GPUs several times over; the
// grid-stride loops cover the rest.
constexpr int64_t kMaxBlocks = 65535;

// 16 bytes of T: one vector load or store.
template <typename T>
struct alignas(16) Pack {
  static constexpr int kSize = 16 / sizeof(T);
  T v[kSize];
};

inline bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Blocks of kThreads for `work` grid-stride items, at most kMaxBlocks.
inline int blocks_for(int64_t work) {
  return int(std::max<int64_t>(1, std::min(ceil_div<int64_t>(work, kThreads), kMaxBlocks)));
}

// out = op(a, b) element by element, each operand read through its own
// strides (the geometry's a_strides are a's, b_strides b's).
template <typename T, typename Op>
__global__ void strided_kernel(T* out, const T* a, const T* b, BinaryGeometry g, Op op) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += stride) {
    int64_t rest = i, out_offset = 0, a_offset = 0, b_offset = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      int64_t index = rest % g.sizes[d];
      rest /= g.sizes[d];
      out_offset += index * g.out_strides[d];
      a_offset += index * g.a_strides[d];
      b_offset += index * g.b_strides[d];
    }
    out[out_offset] = op(a[a_offset], b[b_offset]);
  }
}

}  // namespace grid
}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
