// The CUDA runtime surface (see runtime.h): device queries, plain device
// allocation and host/device copies. Every call is checked; no driver or no
// device reads as zero devices rather than an error.
#include <cuda_runtime.h>

#include "core/check.h"
#include "cuda/runtime.h"

#define CUDA_CHECK(expr, what)                                                      \
  do {                                                                              \
    cudaError_t err_ = (expr);                                                      \
    if (err_ != cudaSuccess) {                                                      \
      if (err_ == cudaErrorMemoryAllocation) {                                      \
        cudaGetLastError();                                                         \
        EMBER_FAIL(memory, what, ": CUDA out of memory: ", cudaGetErrorString(err_)); \
      }                                                                             \
      EMBER_FAIL(runtime, what, ": CUDA error: ", cudaGetErrorString(err_));        \
    }                                                                               \
  } while (0)

namespace ember {
namespace cuda {

bool is_built() { return true; }

int device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    cudaGetLastError();
    return 0;
  }
  return count;
}

int current_device() {
  int device = 0;
  CUDA_CHECK(cudaGetDevice(&device), "cuda.current_device");
  return device;
}

void set_device(int index) {
  EMBER_CHECK(index >= 0 && index < device_count(), "cuda.set_device: device ", index,
              " does not exist (", device_count(), " devices)");
  CUDA_CHECK(cudaSetDevice(index), "cuda.set_device");
}

void synchronize() { CUDA_CHECK(cudaDeviceSynchronize(), "cuda.synchronize"); }

std::string device_name(int index) {
  cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, index), "cuda.get_device_name");
  return prop.name;
}

namespace {
thread_local cudaStream_t current = nullptr;
}  // namespace

void* current_stream_handle() { return current; }

void* allocate(size_t nbytes, int device) {
  EMBER_CHECK(device >= 0 && device < device_count(), "cuda: device ", device,
              " is not available (", device_count(), " CUDA devices)");
  void* ptr = nullptr;
  CUDA_CHECK(cudaSetDevice(device), "cuda allocation");
  CUDA_CHECK(cudaMalloc(&ptr, nbytes == 0 ? 1 : nbytes), "cuda allocation");
  return ptr;
}

void free(void* ptr, size_t, int) { cudaFree(ptr); }

void memcpy(void* dst, bool dst_cuda, const void* src, bool src_cuda, size_t nbytes) {
  cudaMemcpyKind kind = dst_cuda ? (src_cuda ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                 : (src_cuda ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  CUDA_CHECK(cudaMemcpy(dst, src, nbytes, kind), "copy between host and cuda");
}

}  // namespace cuda
}  // namespace ember
