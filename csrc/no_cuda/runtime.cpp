// The CUDA runtime when ember is built without CUDA: no devices, and a clear
// error for anything that would need one.
#include "core/check.h"
#include "cuda/runtime.h"

namespace ember {
namespace cuda {

namespace {
[[noreturn]] void not_built(const char* what) {
  EMBER_FAIL(runtime, what, ": ember was built without CUDA (reinstall with the CUDA toolkit "
             "on PATH, or EMBER_CUDA=ON, to use a GPU)");
}
}  // namespace

bool is_built() { return false; }
bool is_emulated() { return false; }
int device_count() { return 0; }
int current_device() { not_built("cuda.current_device"); }
void set_device(int) { not_built("cuda.set_device"); }
void synchronize() { not_built("cuda.synchronize"); }
std::string device_name(int) { not_built("cuda.get_device_name"); }
DeviceProperties device_properties(int) { not_built("cuda.get_device_properties"); }

void* allocate(size_t, int) { not_built("cuda allocation"); }
void free(void*, size_t, int) { not_built("cuda free"); }
BlockAllocatorStats memory_stats(int) { not_built("cuda.memory_stats"); }
void reset_peak_memory_stats(int) { not_built("cuda.reset_peak_memory_stats"); }
// Nothing is cached without CUDA.
void empty_cache() {}

void* allocate_pinned(size_t) { not_built("pin_memory"); }
void free_pinned(void*) { not_built("pin_memory"); }
bool is_pinned(const void*) { return false; }
void memcpy(void*, bool, const void*, bool, size_t, bool) { not_built("copy to or from cuda"); }

void* current_stream_handle() { return nullptr; }
void set_current_stream(void*, int) { not_built("cuda.set_stream"); }
void* stream_create(int, int) { not_built("cuda.Stream"); }
void stream_destroy(void*) {}
void stream_synchronize(void*) { not_built("Stream.synchronize"); }
bool stream_query(void*) { not_built("Stream.query"); }
void stream_wait_event(void*, void*) { not_built("Stream.wait_event"); }
void* event_create(bool) { not_built("cuda.Event"); }
void event_destroy(void*) {}
void event_record(void*, void*) { not_built("Event.record"); }
void event_synchronize(void*) { not_built("Event.synchronize"); }
bool event_query(void*) { not_built("Event.query"); }
float event_elapsed_ms(void*, void*) { not_built("Event.elapsed_time"); }

std::string kernel_name(const void*) { return "a kernel"; }
void note_launch(const void*) {}
bool launch_blocking() { return false; }

}  // namespace cuda
}  // namespace ember
