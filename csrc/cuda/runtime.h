// The CUDA runtime surface the core needs: device queries, memory and copies.
// Defined in cuda/runtime.cu when ember is built with CUDA, and by
// no_cuda/runtime.cpp (which reports no devices and throws on use) otherwise.
#pragma once

#include <cstddef>
#include <string>

namespace ember {
namespace cuda {

bool is_built();
int device_count();  // 0 when not built or no driver/device is present
int current_device();
void set_device(int index);
void synchronize();
std::string device_name(int index);

void* allocate(size_t nbytes, int device);
void free(void* ptr, size_t nbytes, int device);
// The cudaStream_t kernels launch on (nullptr: the legacy default stream).
void* current_stream_handle();

// Copies `nbytes` between host and device memory (either side may be CUDA).
void memcpy(void* dst, bool dst_cuda, const void* src, bool src_cuda, size_t nbytes);

}  // namespace cuda
}  // namespace ember
