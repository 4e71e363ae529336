// The CUDA runtime of the emulated-GPU build (EMBER_CUDA=EMULATED): one
// "cuda:0" device whose memory is host memory and whose kernels are the .cu
// sources compiled as host C++ against the CUDA-on-CPU harness
// (tests/cuda_emu/cuda_emu.h). It exists to run ember's whole CUDA path, the
// Python layer included, on a machine without a GPU. Every launch runs to
// completion, so streams are ordered trivially and events record host time.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_set>

#include "core/check.h"
#include "cuda/runtime.h"

namespace ember {
namespace cuda {

namespace {

constexpr size_t kTotalMemory = size_t(8) << 30;

BlockAllocator& allocator() {
  static BlockAllocator* instance = [] {
    BlockAllocator::Backend backend;
    backend.allocate = [](size_t n) { return std::aligned_alloc(BlockAllocator::kAlignment, n); };
    backend.free = [](void* p) { std::free(p); };
    backend.mem_info = [] {
      size_t reserved = allocator().stats().reserved;
      return std::make_pair(kTotalMemory > reserved ? kTotalMemory - reserved : 0, kTotalMemory);
    };
    return new BlockAllocator(std::move(backend), "cuda:0");
  }();
  return *instance;
}

std::mutex& pinned_mutex() {
  static std::mutex* m = new std::mutex();
  return *m;
}

std::unordered_set<const void*>& pinned() {
  static auto* set = new std::unordered_set<const void*>();
  return *set;
}

thread_local void* current = nullptr;

void check_device(int index, const char* what) {
  EMBER_CHECK(index == 0, what, ": device cuda:", index, " does not exist (1 CUDA device)");
}

// An event is the host time at which it was recorded.
struct Event {
  bool timing;
  bool recorded = false;
  std::chrono::steady_clock::time_point time;
};

}  // namespace

bool is_built() { return true; }
bool is_emulated() { return true; }
int device_count() { return 1; }
int current_device() { return 0; }
void set_device(int index) { check_device(index, "cuda.set_device"); }
void synchronize() {}
std::string device_name(int index) { return device_properties(index).name; }

DeviceProperties device_properties(int index) {
  check_device(index, "cuda.get_device_properties");
  DeviceProperties p;
  p.name = "ember CUDA emulator (host CPU)";
  p.total_memory = kTotalMemory;
  p.major = 8;
  p.minor = 0;
  p.multi_processor_count = 1;
  p.max_threads_per_block = 1024;
  p.max_threads_per_multiprocessor = 2048;
  p.shared_memory_per_block = 48 * 1024;
  p.shared_memory_per_multiprocessor = 164 * 1024;
  p.regs_per_multiprocessor = 65536;
  p.warp_size = 32;
  return p;
}

void* allocate(size_t nbytes, int device) {
  check_device(device, "cuda allocation");
  return allocator().allocate(nbytes, current);
}

void free(void* ptr, size_t, int) { allocator().free(ptr); }

BlockAllocatorStats memory_stats(int device) {
  check_device(device, "cuda.memory_stats");
  return allocator().stats();
}

void reset_peak_memory_stats(int device) {
  check_device(device, "cuda.reset_peak_memory_stats");
  allocator().reset_peak_stats();
}

void empty_cache() { allocator().empty_cache(); }

void* allocate_pinned(size_t nbytes) {
  void* p = std::aligned_alloc(64, (nbytes + 63) / 64 * 64 + 64);
  EMBER_CHECK_KIND(memory, p != nullptr, "pin_memory: cannot allocate ", nbytes, " bytes");
  std::lock_guard<std::mutex> lock(pinned_mutex());
  pinned().insert(p);
  return p;
}

void free_pinned(void* ptr) {
  {
    std::lock_guard<std::mutex> lock(pinned_mutex());
    pinned().erase(ptr);
  }
  std::free(ptr);
}

bool is_pinned(const void* ptr) {
  std::lock_guard<std::mutex> lock(pinned_mutex());
  return pinned().count(ptr) != 0;
}

void memcpy(void* dst, bool, const void* src, bool, size_t nbytes, bool) {
  if (nbytes != 0) std::memmove(dst, src, nbytes);
}

void* current_stream_handle() { return current; }
void set_current_stream(void* stream, int device) {
  check_device(device, "cuda.set_stream");
  current = stream;
}
void* stream_create(int device, int) {
  check_device(device, "cuda.Stream");
  return new char;
}
void stream_destroy(void* stream) { delete static_cast<char*>(stream); }
void stream_synchronize(void*) {}
bool stream_query(void*) { return true; }
void stream_wait_event(void*, void*) {}

void* event_create(bool enable_timing) { return new Event{enable_timing}; }
void event_destroy(void* event) { delete static_cast<Event*>(event); }
void event_record(void* event, void*) {
  auto* e = static_cast<Event*>(event);
  e->recorded = true;
  e->time = std::chrono::steady_clock::now();
}
void event_synchronize(void*) {}
bool event_query(void*) { return true; }
float event_elapsed_ms(void* start, void* end) {
  auto* a = static_cast<Event*>(start);
  auto* b = static_cast<Event*>(end);
  EMBER_CHECK(a->timing && b->timing, "Event.elapsed_time: both events need enable_timing=True");
  EMBER_CHECK(a->recorded && b->recorded, "Event.elapsed_time: both events must be recorded");
  return std::chrono::duration<float, std::milli>(b->time - a->time).count();
}

std::string kernel_name(const void*) { return "an emulated kernel"; }
void note_launch(const void*) {}
bool launch_blocking() { return true; }

}  // namespace cuda
}  // namespace ember
