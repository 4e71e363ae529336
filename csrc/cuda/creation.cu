// CUDA creation kernels: arange, linspace and eye written in place on the
// device (grid-stride, coalesced stores) instead of being built on the host
// and copied. Every value is computed the way ops/creation.cpp computes it on
// the CPU: float ranges in double, start + step * i rounded after the product
// and again after the sum (never a fused multiply-add, which rounds once),
// then cast to the dtype; integer ranges in int64.
#include <algorithm>
#include <type_traits>

#include "core/check.h"
#include "cuda/device/divide.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 65535;

// Blocks of kThreads for `work` grid-stride items: at most `most`, or
// kMaxBlocks when most is 0.
int blocks_for(int64_t work, int most) {
  const int64_t cap = most > 0 ? most : kMaxBlocks;
  return int(std::max<int64_t>(1, std::min(ceil_div<int64_t>(work, kThreads), cap)));
}

// a * b, then + c or - c, each rounded: nvcc would contract `a * b + c` into
// one fma, whose single rounding can differ from the CPU's two.
__device__ __forceinline__ double product_plus(double a, double b, double c) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(__dmul_rn(a, b), c);
#else
  return a * b + c;
#endif
}
__device__ __forceinline__ double minus_product(double c, double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dsub_rn(c, __dmul_rn(a, b));
#else
  return c - a * b;
#endif
}

// Float dtypes count in double, integer ones in int64, wrapping like the
// CPU's (through uint64, where signed overflow would be undefined).
template <typename T>
__global__ void __launch_bounds__(kThreads)
    arange_kernel(T* __restrict__ out, int64_t n, double start, double step, int64_t int_start,
                  int64_t int_step) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    if constexpr (std::is_floating_point_v<T>) {
      out[i] = T(product_plus(step, double(i), start));
    } else {
      out[i] = T(int64_t(uint64_t(int_start) + uint64_t(int_step) * uint64_t(i)));
    }
  }
}

// The first half counts up from start, the rest down from end, so the last
// value is exactly `end`.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    linspace_kernel(T* __restrict__ out, int64_t steps, double start, double end, double step) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x, half = steps / 2;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < steps; i += stride) {
    out[i] = i < half ? T(product_plus(step, double(i), start))
                      : T(minus_product(end, step, double(steps - 1 - i)));
  }
}

// Row and column of each flat index of the (n, m) output: divided once per
// thread, then advanced by the grid stride (rows_step rows and cols_step
// columns, computed on the host), so the loop has no 64-bit division.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    eye_kernel(T* __restrict__ out, int64_t n, int64_t m, int64_t rows_step, int64_t cols_step,
               T one, T zero) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n * m) return;
  int64_t row = index_div(i, m), col = i - row * m;
  for (; i < n * m; i += stride) {
    out[i] = row == col ? one : zero;
    row += rows_step;
    col += cols_step;
    if (col >= m) {
      col -= m;
      ++row;
    }
  }
}

}  // namespace

void arange_raw(DType dtype, void* out, int64_t n, Scalar start, Scalar step,
                int max_blocks) {
  if (n <= 0) return;
  EMBER_DISPATCH_NUMERIC(dtype, "arange", [&] {
    launch(arange_kernel<scalar_t>, dim3(blocks_for(n, max_blocks)), dim3(kThreads), 0,
           current_stream(), static_cast<scalar_t*>(out), n, start.to<double>(),
           step.to<double>(), start.to<int64_t>(), step.to<int64_t>());
  });
}

void linspace_raw(DType dtype, void* out, int64_t steps, double start, double end, double step,
                  int max_blocks) {
  if (steps <= 0) return;
  EMBER_DISPATCH_NUMERIC(dtype, "linspace", [&] {
    launch(linspace_kernel<scalar_t>, dim3(blocks_for(steps, max_blocks)), dim3(kThreads), 0,
           current_stream(), static_cast<scalar_t*>(out), steps, start, end, step);
  });
}

void eye_raw(DType dtype, void* out, int64_t n, int64_t m, int max_blocks) {
  if (n == 0 || m == 0) return;
  const int blocks = blocks_for(n * m, max_blocks);
  const int64_t stride = int64_t(blocks) * kThreads;
  EMBER_DISPATCH_ALL_AND_HALF(dtype, "eye", [&] {
    launch(eye_kernel<scalar_t>, dim3(blocks), dim3(kThreads), 0, current_stream(),
           static_cast<scalar_t*>(out), n, m, stride / m, stride % m, scalar_t(1),
           scalar_t(0));
  });
}

void arange(const Tensor& out, Scalar start, Scalar step) {
  arange_raw(out.dtype(), out.raw_data(), out.numel(), start, step);
}

void linspace(const Tensor& out, double start, double end, double step) {
  linspace_raw(out.dtype(), out.raw_data(), out.numel(), start, end, step);
}

void eye(const Tensor& out) { eye_raw(out.dtype(), out.raw_data(), out.size(0), out.size(1)); }

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
