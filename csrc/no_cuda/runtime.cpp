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
int device_count() { return 0; }
int current_device() { not_built("cuda.current_device"); }
void set_device(int) { not_built("cuda.set_device"); }
void synchronize() { not_built("cuda.synchronize"); }
std::string device_name(int) { not_built("cuda.get_device_name"); }
void* current_stream_handle() { return nullptr; }
void* allocate(size_t, int) { not_built("cuda allocation"); }
void free(void*, size_t, int) { not_built("cuda free"); }
void memcpy(void*, bool, const void*, bool, size_t) { not_built("copy to or from cuda"); }

}  // namespace cuda
}  // namespace ember
