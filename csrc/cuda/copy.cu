// CUDA copies with dtype conversion between strided views, and fill: what
// Tensor::copy_, contiguous(), to(dtype), clone() and fill_ run on a GPU.
// A same-dtype copy between two contiguous buffers is one cudaMemcpyAsync.
// static_cast to bool is "nonzero", as on the CPU.
#include "cuda/device/grid.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"
#include "cuda/runtime.h"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

using grid::blocks_for;
using grid::kThreads;

template <typename To, typename From>
__global__ void __launch_bounds__(kThreads)
    copy_flat_kernel(To* __restrict__ out, const From* __restrict__ src, int64_t n) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    out[i] = static_cast<To>(src[i]);
  }
}

// The geometry's a_strides are the source's; its b_strides are unused.
template <typename To, typename From>
__global__ void __launch_bounds__(kThreads)
    copy_strided_kernel(To* out, const From* src, BinaryGeometry g) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += stride) {
    int64_t rest = i, out_offset = 0, src_offset = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      int64_t index = rest % g.sizes[d];
      rest /= g.sizes[d];
      out_offset += index * g.out_strides[d];
      src_offset += index * g.a_strides[d];
    }
    out[out_offset] = static_cast<To>(src[src_offset]);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads) fill_kernel(T* out, T value, BinaryGeometry g) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const bool flat = g.ndim == 1 && g.out_strides[0] == 1;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += stride) {
    int64_t offset = i;
    if (!flat) {
      int64_t rest = i;
      offset = 0;
      for (int d = g.ndim - 1; d >= 0; --d) {
        offset += rest % g.sizes[d] * g.out_strides[d];
        rest /= g.sizes[d];
      }
    }
    out[offset] = value;
  }
}

bool flat(const BinaryGeometry& g) {
  return g.ndim == 1 && g.out_strides[0] == 1 && g.a_strides[0] == 1;
}

template <typename To, typename From>
void run_copy(void* out, const void* src, const BinaryGeometry& g) {
  if (g.numel == 0) return;
  if (flat(g)) {
    launch(copy_flat_kernel<To, From>, dim3(blocks_for(g.numel)), dim3(kThreads), 0,
           current_stream(), static_cast<To*>(out), static_cast<const From*>(src), g.numel);
  } else {
    launch(copy_strided_kernel<To, From>, dim3(blocks_for(g.numel)), dim3(kThreads), 0,
           current_stream(), static_cast<To*>(out), static_cast<const From*>(src), g);
  }
}

// Calls fn(T{}) with the C++ type of `dtype` (every ember dtype).
template <typename Fn>
void with_type(DType dtype, Fn fn) {
  switch (dtype) {
    case DType::float32: return fn(float{});
    case DType::float64: return fn(double{});
    case DType::int64: return fn(int64_t{});
    case DType::int32: return fn(int32_t{});
    case DType::bool_: return fn(bool{});
    case DType::float16: return fn(Half{});
    case DType::bfloat16: return fn(BFloat16{});
  }
}

}  // namespace

void copy_raw(DType to, DType from, void* out, const void* src, const BinaryGeometry& g) {
  with_type(to, [&](auto to_value) {
    with_type(from, [&](auto from_value) {
      run_copy<decltype(to_value), decltype(from_value)>(out, src, g);
    });
  });
}

void fill_raw(DType dtype, void* out, Scalar value, const BinaryGeometry& g) {
  if (g.numel == 0) return;
  with_type(dtype, [&](auto type) {
    using T = decltype(type);
    launch(fill_kernel<T>, dim3(blocks_for(g.numel)), dim3(kThreads), 0, current_stream(),
           static_cast<T*>(out), value.to<T>(), g);
  });
}

void copy(const Tensor& dst, const Tensor& src) {
  EMBER_CHECK(dst.device() == src.device(), "copy_: expected both tensors on ",
              dst.device().str(), ", got ", src.device().str());
  if (dst.numel() == 0) return;
  if (dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous()) {
    cuda::memcpy(dst.raw_data(), true, src.raw_data(), true,
                 size_t(dst.numel()) * dst.element_size(), /*non_blocking=*/true);
    return;
  }
  BinaryGeometry g = binary_geometry("copy_", dst, src, src);
  copy_raw(dst.dtype(), src.dtype(), dst.raw_data(), src.raw_data(), g);
}

void fill(const Tensor& dst, Scalar value) {
  BinaryGeometry g = binary_geometry("fill_", dst, dst, dst);
  fill_raw(dst.dtype(), dst.raw_data(), value, g);
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
