// The CUDA runtime surface (see runtime.h): device queries, the caching
// device allocator, pinned memory, copies, streams and events. Every call is
// checked; no driver or no device reads as zero devices rather than an error.
#include <cuda_runtime.h>
#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "core/check.h"
#include "cuda/runtime.h"

namespace ember {
namespace cuda {
namespace {

thread_local cudaStream_t current = nullptr;
thread_local const void* last_kernel = nullptr;

// An error of an earlier asynchronous kernel can surface at any later call:
// name the last kernel launched so the user knows where to look.
[[noreturn]] void fail(cudaError_t err, const char* what) {
  cudaGetLastError();
  std::string hint;
  if (last_kernel != nullptr && err != cudaErrorMemoryAllocation) {
    hint = " (the last kernel launched was " + kernel_name(last_kernel) +
           (launch_blocking() ? ")" : "; run with CUDA_LAUNCH_BLOCKING=1 to name the failing one)");
  }
  if (err == cudaErrorMemoryAllocation) {
    EMBER_FAIL(memory, what, ": CUDA out of memory: ", cudaGetErrorString(err));
  }
  EMBER_FAIL(runtime, what, ": CUDA error: ", cudaGetErrorString(err), hint);
}

}  // namespace
}  // namespace cuda
}  // namespace ember

#define CUDA_CHECK(expr, what)                                        \
  do {                                                                \
    cudaError_t err_ = (expr);                                        \
    if (err_ != cudaSuccess) ::ember::cuda::fail(err_, what);         \
  } while (0)

namespace ember {
namespace cuda {

bool is_built() { return true; }
bool is_emulated() { return false; }

// Asked once: the visible devices are fixed when the process starts, and
// every allocation checks its device against the count.
int device_count() {
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();
      return 0;
    }
    return n;
  }();
  return count;
}

int current_device() {
  int device = 0;
  CUDA_CHECK(cudaGetDevice(&device), "cuda.current_device");
  return device;
}

namespace {
// No device at all is the machine's state (RuntimeError, as a CUDA call
// would give); an index past the devices there are is a bad argument.
void check_device(int index, const char* what) {
  int count = device_count();
  if (count == 0) {
    EMBER_FAIL(runtime, what, ": no CUDA device is available (ember was built with CUDA, but "
               "the driver reports no GPU)");
  }
  EMBER_CHECK(index >= 0 && index < count, what, ": device cuda:", index, " does not exist (",
              count, " CUDA devices)");
}
}  // namespace

void set_device(int index) {
  check_device(index, "cuda.set_device");
  CUDA_CHECK(cudaSetDevice(index), "cuda.set_device");
}

void synchronize() { CUDA_CHECK(cudaDeviceSynchronize(), "cuda.synchronize"); }

std::string device_name(int index) { return device_properties(index).name; }

DeviceProperties device_properties(int index) {
  check_device(index, "cuda.get_device_properties");
  cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, index), "cuda.get_device_properties");
  DeviceProperties p;
  p.name = prop.name;
  p.total_memory = prop.totalGlobalMem;
  p.major = prop.major;
  p.minor = prop.minor;
  p.multi_processor_count = prop.multiProcessorCount;
  p.max_threads_per_block = prop.maxThreadsPerBlock;
  p.max_threads_per_multiprocessor = prop.maxThreadsPerMultiProcessor;
  p.shared_memory_per_block = prop.sharedMemPerBlock;
  p.shared_memory_per_multiprocessor = prop.sharedMemPerMultiprocessor;
  p.regs_per_multiprocessor = prop.regsPerMultiprocessor;
  p.warp_size = prop.warpSize;
  p.l2_cache_size = prop.l2CacheSize;
  p.memory_bus_width = prop.memoryBusWidth;
  // The clocks are attributes since CUDA 12 (no longer cudaDeviceProp fields).
  CUDA_CHECK(cudaDeviceGetAttribute(&p.clock_rate_khz, cudaDevAttrClockRate, index),
             "cuda.get_device_properties");
  CUDA_CHECK(cudaDeviceGetAttribute(&p.memory_clock_rate_khz, cudaDevAttrMemoryClockRate, index),
             "cuda.get_device_properties");
  return p;
}

// --- memory ---------------------------------------------------------------

namespace {

// One caching allocator per device, created on first use and never destroyed
// (storages freed during static destruction still find it).
BlockAllocator& device_allocator(int device) {
  static std::mutex mutex;
  static std::vector<BlockAllocator*>* allocators = new std::vector<BlockAllocator*>();
  std::lock_guard<std::mutex> lock(mutex);
  if (allocators->empty()) allocators->resize(size_t(std::max(device_count(), 1)), nullptr);
  BlockAllocator*& slot = allocators->at(size_t(device));
  if (slot == nullptr) {
    BlockAllocator::Backend backend;
    backend.allocate = [device](size_t n) -> void* {
      void* p = nullptr;
      int previous = 0;
      cudaGetDevice(&previous);
      cudaSetDevice(device);
      cudaError_t err = cudaMalloc(&p, n);
      cudaSetDevice(previous);
      if (err == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        return nullptr;
      }
      CUDA_CHECK(err, "cuda allocation");
      return p;
    };
    backend.free = [](void* p) { cudaFree(p); };
    backend.mem_info = [device] {
      size_t free_bytes = 0, total = 0;
      int previous = 0;
      cudaGetDevice(&previous);
      cudaSetDevice(device);
      if (cudaMemGetInfo(&free_bytes, &total) != cudaSuccess) cudaGetLastError();
      cudaSetDevice(previous);
      return std::make_pair(free_bytes, total);
    };
    slot = new BlockAllocator(std::move(backend), "cuda:" + std::to_string(device));
  }
  return *slot;
}

}  // namespace

void* allocate(size_t nbytes, int device) {
  check_device(device, "cuda allocation");
  return device_allocator(device).allocate(nbytes, current);
}

void free(void* ptr, size_t, int device) { device_allocator(device).free(ptr); }

BlockAllocatorStats memory_stats(int device) {
  check_device(device, "cuda.memory_stats");
  return device_allocator(device).stats();
}

void reset_peak_memory_stats(int device) {
  check_device(device, "cuda.reset_peak_memory_stats");
  device_allocator(device).reset_peak_stats();
}

void empty_cache() {
  for (int d = 0; d < device_count(); ++d) device_allocator(d).empty_cache();
}

void* allocate_pinned(size_t nbytes) {
  void* p = nullptr;
  CUDA_CHECK(cudaHostAlloc(&p, nbytes == 0 ? 1 : nbytes, cudaHostAllocDefault), "pin_memory");
  return p;
}

void free_pinned(void* ptr) { cudaFreeHost(ptr); }

bool is_pinned(const void* ptr) {
  cudaPointerAttributes attr;
  if (cudaPointerGetAttributes(&attr, ptr) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return attr.type == cudaMemoryTypeHost;
}

void memcpy(void* dst, bool dst_cuda, const void* src, bool src_cuda, size_t nbytes,
            bool non_blocking) {
  if (nbytes == 0) return;
  cudaMemcpyKind kind = dst_cuda ? (src_cuda ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                 : (src_cuda ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, kind, current), "copy between host and cuda");
  if (!non_blocking) CUDA_CHECK(cudaStreamSynchronize(current), "copy between host and cuda");
}

// --- streams and events ---------------------------------------------------

void* current_stream_handle() { return current; }

void set_current_stream(void* stream, int device) {
  check_device(device, "cuda.set_stream");
  CUDA_CHECK(cudaSetDevice(device), "cuda.set_stream");
  current = static_cast<cudaStream_t>(stream);
}

void* stream_create(int device, int priority) {
  check_device(device, "cuda.Stream");
  int previous = current_device();
  CUDA_CHECK(cudaSetDevice(device), "cuda.Stream");
  cudaStream_t s = nullptr;
  cudaError_t err = cudaStreamCreateWithPriority(&s, cudaStreamNonBlocking, priority);
  cudaSetDevice(previous);
  CUDA_CHECK(err, "cuda.Stream");
  return s;
}

void stream_destroy(void* stream) {
  if (stream != nullptr) cudaStreamDestroy(static_cast<cudaStream_t>(stream));
}

void stream_synchronize(void* stream) {
  CUDA_CHECK(cudaStreamSynchronize(static_cast<cudaStream_t>(stream)), "Stream.synchronize");
}

bool stream_query(void* stream) {
  cudaError_t err = cudaStreamQuery(static_cast<cudaStream_t>(stream));
  if (err == cudaErrorNotReady) {
    cudaGetLastError();
    return false;
  }
  CUDA_CHECK(err, "Stream.query");
  return true;
}

void stream_wait_event(void* stream, void* event) {
  CUDA_CHECK(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream),
                                 static_cast<cudaEvent_t>(event), 0),
             "Stream.wait_event");
}

void* event_create(bool enable_timing) {
  cudaEvent_t e = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&e, enable_timing ? cudaEventDefault
                                                        : cudaEventDisableTiming),
             "cuda.Event");
  return e;
}

void event_destroy(void* event) {
  if (event != nullptr) cudaEventDestroy(static_cast<cudaEvent_t>(event));
}

void event_record(void* event, void* stream) {
  CUDA_CHECK(cudaEventRecord(static_cast<cudaEvent_t>(event), static_cast<cudaStream_t>(stream)),
             "Event.record");
}

void event_synchronize(void* event) {
  CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(event)), "Event.synchronize");
}

bool event_query(void* event) {
  cudaError_t err = cudaEventQuery(static_cast<cudaEvent_t>(event));
  if (err == cudaErrorNotReady) {
    cudaGetLastError();
    return false;
  }
  CUDA_CHECK(err, "Event.query");
  return true;
}

float event_elapsed_ms(void* start, void* end) {
  float ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&ms, static_cast<cudaEvent_t>(start),
                                  static_cast<cudaEvent_t>(end)),
             "Event.elapsed_time");
  return ms;
}

// --- launch bookkeeping ---------------------------------------------------

std::string kernel_name(const void* kernel) {
  const char* mangled = nullptr;
  if (cudaFuncGetName(&mangled, kernel) != cudaSuccess || mangled == nullptr) {
    cudaGetLastError();
    return "a kernel";
  }
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled ? demangled : mangled;
  std::free(demangled);
  return name;
}

void note_launch(const void* kernel) { last_kernel = kernel; }

bool launch_blocking() {
  static const bool blocking = [] {
    const char* v = std::getenv("CUDA_LAUNCH_BLOCKING");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return blocking;
}

}  // namespace cuda
}  // namespace ember
