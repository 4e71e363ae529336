// The CPU caching allocator (see allocator.h).
#include "core/allocator.h"

#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/check.h"

namespace ember {
namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kHugePage = size_t(2) << 20;
// Blocks at least this big are 2 MiB aligned and advised to use huge pages.
constexpr size_t kHugeThreshold = size_t(4) << 20;
// The cache never keeps more than this many idle bytes.
constexpr size_t kMaxCached = size_t(4) << 30;

// Size classes: multiples of 64 B up to 4 KiB, then steps of 1/8 of the power
// of two (so at most 12.5% waste), then whole huge pages past kHugeThreshold.
size_t size_class(size_t nbytes) {
  if (nbytes == 0) nbytes = 1;
  if (nbytes <= 4096) return (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  if (nbytes >= kHugeThreshold) return (nbytes + kHugePage - 1) / kHugePage * kHugePage;
  size_t pow2 = size_t(1) << (63 - __builtin_clzll(nbytes));
  size_t step = pow2 / 8;
  return (nbytes + step - 1) / step * step;
}

class CpuCache {
 public:
  void* allocate(size_t nbytes) {
    size_t cls = size_class(nbytes);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.num_allocs++;
      auto it = free_.find(cls);
      if (it != free_.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_ -= cls;
        note_alloc(cls);
        return p;
      }
    }
    void* p = os_allocate(cls);
    if (!p) {
      empty();
      p = os_allocate(cls);
    }
    if (!p) {
      EMBER_FAIL(memory, "out of memory: cannot allocate ", nbytes, " bytes (",
                 double(nbytes) / (1 << 30), " GiB) on the CPU");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.num_os_allocs++;
    stats_.reserved += cls;
    note_alloc(cls);
    return p;
  }

  void release(void* p, size_t nbytes) {
    size_t cls = size_class(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.allocated -= cls;
    if (cached_ + cls > kMaxCached) {
      stats_.reserved -= cls;
      std::free(p);
      return;
    }
    free_[cls].push_back(p);
    cached_ += cls;
  }

  void empty() {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& entry : free_) {
      for (void* p : entry.second) std::free(p);
      stats_.reserved -= entry.first * entry.second.size();
    }
    free_.clear();
    cached_ = 0;
  }

  MemoryStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.peak_allocated = stats_.allocated;
  }

 private:
  static void* os_allocate(size_t cls) {
    size_t align = cls >= kHugeThreshold ? kHugePage : kAlignment;
    void* p = nullptr;
    if (posix_memalign(&p, align, cls) != 0) return nullptr;
    if (cls >= kHugeThreshold) madvise(p, cls, MADV_HUGEPAGE);
    return p;
  }

  void note_alloc(size_t cls) {
    stats_.allocated += cls;
    if (stats_.allocated > stats_.peak_allocated) stats_.peak_allocated = stats_.allocated;
  }

  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_ = 0;
  MemoryStats stats_;
};

// Leaked on purpose: storages freed during static destruction still find it.
CpuCache& cache() {
  static CpuCache* instance = new CpuCache();
  return *instance;
}

}  // namespace

void* cpu_allocate(size_t nbytes) { return cache().allocate(nbytes); }
void cpu_free(void* ptr, size_t nbytes) { cache().release(ptr, nbytes); }
void cpu_empty_cache() { cache().empty(); }
MemoryStats cpu_memory_stats() { return cache().stats(); }
void cpu_reset_peak_memory_stats() { cache().reset_peak(); }

}  // namespace ember
