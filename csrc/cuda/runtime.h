// The CUDA runtime surface the core and the bindings need: device queries,
// the caching device allocator, pinned host memory, copies, streams and
// events. Defined in cuda/runtime.cu when ember is built with CUDA, and by
// no_cuda/runtime.cpp (which reports no devices and throws on use) otherwise.
// Streams and events travel as opaque handles (cudaStream_t / cudaEvent_t).
#pragma once

#include <cstddef>
#include <string>

#include "core/block_allocator.h"

namespace ember {
namespace cuda {

bool is_built();
// True in the EMBER_CUDA=EMULATED build: "cuda:0" is the CUDA-on-CPU harness.
bool is_emulated();
int device_count();  // 0 when not built or no driver/device is present
int current_device();
void set_device(int index);
// Waits for all work on the current device; an asynchronous kernel error
// surfaces here (naming the last kernel launched).
void synchronize();
std::string device_name(int index);

struct DeviceProperties {
  std::string name;
  size_t total_memory = 0;
  int major = 0, minor = 0;
  int multi_processor_count = 0;
  int max_threads_per_block = 0;
  int max_threads_per_multiprocessor = 0;
  size_t shared_memory_per_block = 0;
  size_t shared_memory_per_multiprocessor = 0;
  int regs_per_multiprocessor = 0;
  int warp_size = 0;
  int l2_cache_size = 0;
  int clock_rate_khz = 0;
  int memory_clock_rate_khz = 0;
  int memory_bus_width = 0;
};
DeviceProperties device_properties(int index);

// Device memory from the per-device caching allocator, for the current stream.
void* allocate(size_t nbytes, int device);
void free(void* ptr, size_t nbytes, int device);
BlockAllocatorStats memory_stats(int device);
void reset_peak_memory_stats(int device);
// Releases the cached blocks of every device back to the driver.
void empty_cache();

// Page-locked host memory (fast, asynchronous host<->device copies).
void* allocate_pinned(size_t nbytes);
void free_pinned(void* ptr);
bool is_pinned(const void* ptr);

// Copies `nbytes` between host and device memory (either side may be CUDA),
// on the current stream. Blocking copies wait for it to finish; a
// non-blocking one returns at once (truly asynchronous only from or to
// pinned host memory).
void memcpy(void* dst, bool dst_cuda, const void* src, bool src_cuda, size_t nbytes,
            bool non_blocking = false);

// The cudaStream_t kernels launch on (nullptr: the legacy default stream).
void* current_stream_handle();
// Makes `stream` (a handle from stream_create, or nullptr) current on this
// host thread and its device current.
void set_current_stream(void* stream, int device);
void* stream_create(int device, int priority);
void stream_destroy(void* stream);
void stream_synchronize(void* stream);
bool stream_query(void* stream);  // true when all its work is done
void stream_wait_event(void* stream, void* event);
void* event_create(bool enable_timing);
void event_destroy(void* event);
void event_record(void* event, void* stream);
void event_synchronize(void* event);
bool event_query(void* event);
float event_elapsed_ms(void* start, void* end);

// Launch bookkeeping for error messages: the demangled name of a kernel, the
// last kernel launched on this thread, and whether every launch waits for
// its kernel (CUDA_LAUNCH_BLOCKING=1) so an error names the exact kernel.
std::string kernel_name(const void* kernel);
void note_launch(const void* kernel);
bool launch_blocking();

}  // namespace cuda
}  // namespace ember
