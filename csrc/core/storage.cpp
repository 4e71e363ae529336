// Storage allocation and release through the device's allocator.
#include "core/storage.h"

#include "core/allocator.h"
#include "cuda/runtime.h"

namespace ember {

StorageImpl::StorageImpl(size_t nbytes, Device device) : nbytes_(nbytes), device_(device) {
  data_ = device.is_cpu() ? cpu_allocate(nbytes) : cuda::allocate(nbytes, device.index);
}

StorageImpl::StorageImpl(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner)
    : data_(data), nbytes_(nbytes), device_(device), owner_(std::move(owner)) {}

StorageImpl::~StorageImpl() {
  if (owner_ || !data_) return;
  if (device_.is_cpu()) {
    cpu_free(data_, nbytes_);
  } else {
    cuda::free(data_, nbytes_, device_.index);
  }
}

}  // namespace ember
