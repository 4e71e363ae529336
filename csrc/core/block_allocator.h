// A caching allocator for device memory, independent of CUDA so it can be
// tested on the CPU: segments obtained from a backend (cudaMalloc on a GPU)
// are cut into blocks; freed blocks go back to size-ordered free lists of
// their stream and are reused best-fit, split when much larger than the
// request, and merged with free neighbours. Small requests (<= 1 MiB) share
// 2 MiB segments so they don't each cost a cudaMalloc; large ones get
// segments of their own size rounded to 2 MiB. When the backend is out of
// memory the cache is released and the request retried once; then
// MemoryError gives the requested, free and cached sizes. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

namespace ember {

struct BlockAllocatorStats {
  uint64_t allocated = 0;       // bytes in live blocks (rounded sizes)
  uint64_t peak_allocated = 0;  // high-water mark of `allocated`
  uint64_t reserved = 0;        // bytes in segments held from the backend
  uint64_t peak_reserved = 0;
  uint64_t requested = 0;       // bytes asked for by live allocations
  uint64_t num_allocs = 0;      // calls to allocate
  uint64_t num_frees = 0;
  uint64_t num_segments = 0;    // live segments
  uint64_t num_backend_allocs = 0;
  uint64_t num_backend_frees = 0;
  uint64_t num_ooms = 0;        // backend failures (before or after the retry)
  uint64_t cached_blocks = 0;   // free blocks held in the cache
};

class BlockAllocator {
 public:
  struct Backend {
    // Returns nullptr when the device is out of memory.
    std::function<void*(size_t)> allocate;
    std::function<void(void*)> free;
    // Free and total bytes of the device, for the out-of-memory message.
    std::function<std::pair<size_t, size_t>()> mem_info;
  };

  static constexpr size_t kAlignment = 512;
  static constexpr size_t kSmallSize = size_t(1) << 20;
  static constexpr size_t kSmallSegment = size_t(2) << 20;
  static constexpr size_t kLargeRound = size_t(2) << 20;

  // `where` names the device in messages ("cuda:0").
  BlockAllocator(Backend backend, std::string where);
  ~BlockAllocator();
  BlockAllocator(const BlockAllocator&) = delete;
  BlockAllocator& operator=(const BlockAllocator&) = delete;

  // A block of at least `nbytes` (kAlignment aligned) for use on `stream`.
  void* allocate(size_t nbytes, const void* stream = nullptr);
  // Returns a block from allocate to the cache of its stream.
  void free(void* ptr);
  // Gives every segment without a live block back to the backend.
  void empty_cache();

  BlockAllocatorStats stats() const;
  void reset_peak_stats();
  // Bytes of the block at `ptr` (its rounded size), 0 when not allocated here.
  size_t block_size(const void* ptr) const;

 private:
  struct Block;
  struct BySize {
    bool operator()(const Block* a, const Block* b) const;
  };
  using FreeList = std::set<Block*, BySize>;

  static size_t round_size(size_t nbytes);
  FreeList& free_list(const void* stream, bool small);
  Block* find_free(size_t size, const void* stream, bool small);
  Block* new_segment(size_t size, const void* stream, bool small, size_t requested);
  void release_free_segments();

  Backend backend_;
  std::string where_;
  mutable std::mutex mutex_;
  // Free blocks per (stream, pool): pool 0 small, 1 large.
  std::map<std::pair<const void*, int>, FreeList> free_;
  std::unordered_map<const void*, Block*> live_;
  std::set<Block*> segments_;  // the first block of every segment
  BlockAllocatorStats stats_;
};

}  // namespace ember
