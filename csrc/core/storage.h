// Storage: one block of memory on one device, shared by every tensor that
// views it. It carries the version counter that autograd reads to detect an
// in-place change of a tensor saved for backward.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

#include "core/device.h"

namespace ember {

class StorageImpl {
 public:
  // Allocates `nbytes` from the device's allocator.
  StorageImpl(size_t nbytes, Device device);
  // Wraps memory owned by someone else (a numpy array); `owner` keeps it alive.
  StorageImpl(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner);
  ~StorageImpl();
  StorageImpl(const StorageImpl&) = delete;
  StorageImpl& operator=(const StorageImpl&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  const Device& device() const { return device_; }
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  Device device_;
  std::shared_ptr<void> owner_;
  std::atomic<uint64_t> version_{0};
};

using Storage = std::shared_ptr<StorageImpl>;

}  // namespace ember
