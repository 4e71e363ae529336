// Building blocks shared by the CUDA normalisation kernels (norm.cu: batch
// norm; norm_layer.cu: layer and group norm): launch constants, float or
// double accumulation, Welford statistics and pair sums reduced across a warp
// and a row group, the per-element pass over the (n, c) rows of (N, C, S),
// and the host-side dispatch and scratch buffers.
#pragma once

#include <math.h>

#include <algorithm>
#include <cstdint>

#include "core/check.h"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace norms {

constexpr int kThreads = 256;
constexpr int kMaxWarps = kThreads / 32;
constexpr int64_t kMaxBlocks = 65535;
// The most blocks that split one batch-norm channel or the rows of layer
// norm's parameter gradients; their partials are merged in a second pass.
constexpr int64_t kMaxSplits = 64;

template <typename T>
struct AccOf {
  using type = float;
};
template <>
struct AccOf<double> {
  using type = double;
};

__device__ __forceinline__ float m_rsqrt(float v) { return 1.0f / sqrtf(v); }
__device__ __forceinline__ double m_rsqrt(double v) { return 1.0 / sqrt(v); }

template <typename A>
struct Welford {
  A count, mean, m2;
};

template <typename A>
__device__ __forceinline__ void welford_add(Welford<A>& w, A v) {
  w.count += A(1);
  const A delta = v - w.mean;
  w.mean += delta / w.count;
  w.m2 += delta * (v - w.mean);
}

struct WelfordMerge {
  template <typename A>
  __device__ __forceinline__ Welford<A> operator()(const Welford<A>& a,
                                                   const Welford<A>& b) const {
    const A count = a.count + b.count;
    if (count == A(0)) return a;
    const A delta = b.mean - a.mean;
    const A fraction = b.count / count;
    return {count, a.mean + delta * fraction, a.m2 + b.m2 + delta * delta * a.count * fraction};
  }
};

template <typename A>
struct Pair {
  A a, b;
};

struct PairSum {
  template <typename A>
  __device__ __forceinline__ Pair<A> operator()(const Pair<A>& x, const Pair<A>& y) const {
    return {x.a + y.a, x.b + y.b};
  }
};

template <typename A>
__device__ __forceinline__ Welford<A> shuffle(const Welford<A>& w, int lane, bool xor_mode) {
  if (xor_mode) {
    return {__shfl_xor_sync(0xffffffffu, w.count, lane), __shfl_xor_sync(0xffffffffu, w.mean, lane),
            __shfl_xor_sync(0xffffffffu, w.m2, lane)};
  }
  return {__shfl_sync(0xffffffffu, w.count, lane), __shfl_sync(0xffffffffu, w.mean, lane),
          __shfl_sync(0xffffffffu, w.m2, lane)};
}
template <typename A>
__device__ __forceinline__ Pair<A> shuffle(const Pair<A>& p, int lane, bool xor_mode) {
  if (xor_mode) {
    return {__shfl_xor_sync(0xffffffffu, p.a, lane), __shfl_xor_sync(0xffffffffu, p.b, lane)};
  }
  return {__shfl_sync(0xffffffffu, p.a, lane), __shfl_sync(0xffffffffu, p.b, lane)};
}

// Merges v across each warp; every lane gets lane 0's result (a Welford
// merge is not exactly symmetric, so lanes must not keep their own).
template <typename V, typename Merge>
__device__ __forceinline__ V warp_reduce(V v, Merge merge) {
  EMBER_UNROLL
  for (int mask = 16; mask > 0; mask /= 2) v = merge(v, shuffle(v, mask, true));
  return shuffle(v, 0, false);
}

// Merges v across the blockDim.x threads of this row group (threadIdx.y);
// all threads of the block must call it (it has barriers).
template <typename V, typename Merge>
__device__ V group_reduce(V v, Merge merge) {
  __shared__ V partial[kMaxWarps];
  v = warp_reduce(v, merge);
  const int warps = int(blockDim.x) / 32;
  if (warps == 1) return v;
  const int first = int(threadIdx.y) * warps;
  if (threadIdx.x % 32 == 0) partial[first + int(threadIdx.x) / 32] = v;
  __syncthreads();
  V total = partial[first];
  for (int w = 1; w < warps; ++w) total = merge(total, partial[first + w]);
  // The next call writes `partial` again: nobody may still be reading it.
  __syncthreads();
  return total;
}


// --- rows of (N, C, S): out = a_dy * dy + a_x * (x - center) + add ----------

template <typename A>
struct RowCoef {
  A a_dy, a_x, center, add;
};

// Each (n, c) row gets `width` threads (a power of two, S rounded up, at
// most the block); dy may be null (forward).
template <typename T, typename Coef>
__global__ void __launch_bounds__(kThreads)
    channel_rows_kernel(T* __restrict__ out, const T* __restrict__ x, const T* __restrict__ dy,
                        int64_t N, int64_t C, int64_t S, int width, Coef coef) {
  const int lane = int(threadIdx.x) % width;
  const int per_block = int(blockDim.x) / width;
  const int64_t rows = N * C;
  const int64_t step = int64_t(gridDim.x) * per_block;
  for (int64_t row = int64_t(blockIdx.x) * per_block + int(threadIdx.x) / width; row < rows;
       row += step) {
    const int64_t n = row / C;
    const auto k = coef(n, row - n * C);
    const T* xr = x + row * S;
    T* o = out + row * S;
    if (dy) {
      const T* g = dy + row * S;
      for (int64_t s = lane; s < S; s += width) {
        o[s] = T(k.a_dy * g[s] + k.a_x * (decltype(k.a_x)(xr[s]) - k.center) + k.add);
      }
    } else {
      for (int64_t s = lane; s < S; s += width) {
        o[s] = T(k.a_x * (decltype(k.a_x)(xr[s]) - k.center) + k.add);
      }
    }
  }
}

inline int row_width(int64_t S) {
  int width = 1;
  while (width < kThreads && width < S) width *= 2;
  return width;
}

template <typename T, typename Coef>
void launch_channel_rows(T* out, const T* x, const T* dy, int64_t N, int64_t C, int64_t S,
                         const Coef& coef) {
  if (N * C * S == 0) return;
  const int width = row_width(S);
  const int64_t blocks = std::min(ceil_div<int64_t>(N * C, kThreads / width), kMaxBlocks);
  launch(channel_rows_kernel<T, Coef>, dim3(unsigned(blocks)), dim3(kThreads), 0,
         current_stream(), out, x, dy, N, C, S, width, coef);
}

// Calls body(T{}) for float32/float64; a TypeError naming `op` otherwise.
template <typename Body>
void dispatch(const char* op, DType dtype, const Body& body) {
  switch (dtype) {
    case DType::float32: return body(float{});
    case DType::float64: return body(double{});
    default:
      EMBER_FAIL(type, op, ": no CUDA kernel for dtype ", dtype_name(dtype),
                 " (float32 and float64 have one)");
  }
}

inline size_t acc_size(DType dtype) {
  return dtype == DType::float64 ? sizeof(double) : sizeof(float);
}

template <typename P>
P* at_bytes(void* base, size_t offset) {
  return reinterpret_cast<P*>(static_cast<char*>(base) + offset);
}

// A scratch buffer of `bytes` on t's device, 16-byte aligned.
inline Tensor workspace(size_t bytes, const Tensor& like) {
  return Tensor::empty({int64_t(std::max<size_t>(bytes, 1) + 15) / 16 * 2}, DType::float64,
                       like.device());
}

}  // namespace norms
}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
