// ember's kernel launch helper, the only place that writes <<< >>>. Under
// nvcc, launch(kernel, grid, block, shared_bytes, stream, args...) launches and
// checks cudaGetLastError, naming the kernel in the error. Compiled as host
// C++ with EMBER_CUDA_EMU defined, it is the CUDA-on-CPU harness's launch
// (tests/cuda_emu/cuda_emu.h), so the same kernel sources run without a GPU.
// Kernels include this header only and launch on current_stream(); dynamic
// shared memory is declared with EMBER_DYNAMIC_SHARED(type, name) in both
// builds.
#pragma once

#include <cstdint>

#if defined(EMBER_CUDA_EMU)
#include "cuda_emu.h"
#else
#include <cuda_runtime.h>
#include <utility>

#include "core/check.h"
#include "cuda/runtime.h"

// One untyped extern array for every kernel: extern __shared__ arrays of
// different element types in one translation unit would conflict.
#define EMBER_DYNAMIC_SHARED(type, name)                                 \
  extern __shared__ __align__(16) unsigned char ember_dynamic_shared_[]; \
  type* name = reinterpret_cast<type*>(ember_dynamic_shared_)
#endif

// The symbols of the emulated build live in their own inline namespace so a
// test can link kernels compiled both ways (host-compiled for the harness,
// nvcc-compiled in ember_core) without clashes.
#if defined(EMBER_CUDA_EMU)
#define EMBER_CUDA_BUILD emulated
#define EMBER_UNROLL _Pragma("GCC unroll 16")
#else
#define EMBER_CUDA_BUILD device
#define EMBER_UNROLL _Pragma("unroll")
#endif

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {

template <typename T>
__host__ __device__ __forceinline__ T ceil_div(T a, T b) {
  return (a + b - 1) / b;
}

#if defined(EMBER_CUDA_EMU)
using ::cuda_emu::launch;
// The harness runs every launch to completion in order: one stream.
inline cudaStream_t current_stream() { return nullptr; }
#else
// The stream kernels are launched on: em.cuda.current_stream() (the legacy
// default stream unless a Stream context is active on this host thread).
inline cudaStream_t current_stream() { return static_cast<cudaStream_t>(current_stream_handle()); }

template <typename... Params, typename... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, size_t shared_bytes,
            cudaStream_t stream, Args&&... args) {
  kernel<<<grid, block, shared_bytes, stream>>>(std::forward<Args>(args)...);
  const void* id = reinterpret_cast<const void*>(kernel);
  note_launch(id);
  cudaError_t err = cudaGetLastError();
  // CUDA_LAUNCH_BLOCKING=1: wait, so an error in the kernel is reported here,
  // naming it.
  if (err == cudaSuccess && launch_blocking()) err = cudaStreamSynchronize(stream);
  if (err != cudaSuccess) {
    cudaGetLastError();
    EMBER_FAIL(runtime, "CUDA kernel ", kernel_name(id), " (grid ", grid.x, "x", grid.y, "x",
               grid.z, ", block ", block.x, "x", block.y, "x", block.z, ", ", shared_bytes,
               " bytes shared) failed: ", cudaGetErrorString(err));
  }
}
#endif

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
