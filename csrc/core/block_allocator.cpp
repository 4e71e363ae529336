// The caching block allocator (see block_allocator.h).
#include "core/block_allocator.h"

#include <cstdio>
#include <tuple>
#include <utility>

#include "core/check.h"

namespace ember {

struct BlockAllocator::Block {
  char* ptr;
  size_t size;
  size_t requested = 0;
  const void* stream;
  bool small;
  bool allocated = false;
  Block* prev = nullptr;  // neighbours inside the segment, by address
  Block* next = nullptr;
};

bool BlockAllocator::BySize::operator()(const Block* a, const Block* b) const {
  return std::tie(a->size, a->ptr) < std::tie(b->size, b->ptr);
}

namespace {

std::string format_bytes(double bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : "%.2f %s", bytes, units[unit]);
  return text;
}

}  // namespace

BlockAllocator::BlockAllocator(Backend backend, std::string where)
    : backend_(std::move(backend)), where_(std::move(where)) {}

BlockAllocator::~BlockAllocator() {
  for (Block* head : segments_) {
    backend_.free(head->ptr);
    for (Block* b = head; b != nullptr;) {
      Block* next = b->next;
      delete b;
      b = next;
    }
  }
}

size_t BlockAllocator::round_size(size_t nbytes) {
  if (nbytes == 0) nbytes = 1;
  return (nbytes + kAlignment - 1) / kAlignment * kAlignment;
}

BlockAllocator::FreeList& BlockAllocator::free_list(const void* stream, bool small) {
  return free_[{stream, small ? 0 : 1}];
}

BlockAllocator::Block* BlockAllocator::find_free(size_t size, const void* stream, bool small) {
  FreeList& list = free_list(stream, small);
  Block key{nullptr, size, 0, stream, small};
  auto it = list.lower_bound(&key);
  if (it == list.end()) return nullptr;
  Block* block = *it;
  list.erase(it);
  return block;
}

BlockAllocator::Block* BlockAllocator::new_segment(size_t size, const void* stream, bool small,
                                                   size_t requested) {
  size_t segment = small ? kSmallSegment : (size + kLargeRound - 1) / kLargeRound * kLargeRound;
  void* p = backend_.allocate(segment);
  if (p == nullptr) {
    stats_.num_ooms++;
    release_free_segments();
    p = backend_.allocate(segment);
  }
  if (p == nullptr) {
    stats_.num_ooms++;
    std::pair<size_t, size_t> info = backend_.mem_info();
    uint64_t cached = stats_.reserved - stats_.allocated;
    EMBER_FAIL(memory, where_, ": out of memory: tried to allocate ",
               format_bytes(double(requested)), "; the device has ",
               format_bytes(double(info.first)), " free of ", format_bytes(double(info.second)),
               ", ember holds ", format_bytes(double(stats_.reserved)), " (",
               format_bytes(double(cached)), " of it cached but unusable for this request)");
  }
  Block* head = new Block{static_cast<char*>(p), segment, 0, stream, small};
  segments_.insert(head);
  stats_.reserved += segment;
  if (stats_.reserved > stats_.peak_reserved) stats_.peak_reserved = stats_.reserved;
  stats_.num_segments++;
  stats_.num_backend_allocs++;
  return head;
}

void* BlockAllocator::allocate(size_t nbytes, const void* stream) {
  size_t size = round_size(nbytes);
  bool small = size <= kSmallSize;
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.num_allocs++;
  Block* block = find_free(size, stream, small);
  if (block != nullptr) {
    stats_.cached_blocks--;
  } else {
    block = new_segment(size, stream, small, nbytes);
  }
  // Split off the tail when it is worth keeping: any remainder in the small
  // pool, more than a small block's worth in the large one.
  size_t remaining = block->size - size;
  if (small ? remaining >= kAlignment : remaining > kSmallSize) {
    Block* rest = new Block{block->ptr + size, remaining, 0, stream, small};
    rest->prev = block;
    rest->next = block->next;
    if (block->next != nullptr) block->next->prev = rest;
    block->next = rest;
    block->size = size;
    free_list(stream, small).insert(rest);
    stats_.cached_blocks++;
  }
  block->allocated = true;
  block->requested = nbytes;
  live_[block->ptr] = block;
  stats_.allocated += block->size;
  stats_.requested += nbytes;
  if (stats_.allocated > stats_.peak_allocated) stats_.peak_allocated = stats_.allocated;
  return block->ptr;
}

void BlockAllocator::free(void* ptr) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  EMBER_CHECK(it != live_.end(), where_, ": freeing memory this allocator did not allocate");
  Block* block = it->second;
  live_.erase(it);
  stats_.num_frees++;
  stats_.allocated -= block->size;
  stats_.requested -= block->requested;
  block->allocated = false;
  FreeList& list = free_list(block->stream, block->small);
  if (block->prev != nullptr && !block->prev->allocated) {
    Block* prev = block->prev;
    list.erase(prev);
    stats_.cached_blocks--;
    prev->size += block->size;
    prev->next = block->next;
    if (block->next != nullptr) block->next->prev = prev;
    delete block;
    block = prev;
  }
  if (block->next != nullptr && !block->next->allocated) {
    Block* next = block->next;
    list.erase(next);
    stats_.cached_blocks--;
    block->size += next->size;
    block->next = next->next;
    if (next->next != nullptr) next->next->prev = block;
    delete next;
  }
  list.insert(block);
  stats_.cached_blocks++;
}

void BlockAllocator::release_free_segments() {
  for (auto it = segments_.begin(); it != segments_.end();) {
    Block* head = *it;
    if (head->allocated || head->next != nullptr) {
      ++it;
      continue;
    }
    free_list(head->stream, head->small).erase(head);
    stats_.cached_blocks--;
    stats_.reserved -= head->size;
    stats_.num_segments--;
    stats_.num_backend_frees++;
    backend_.free(head->ptr);
    delete head;
    it = segments_.erase(it);
  }
}

void BlockAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  release_free_segments();
}

BlockAllocatorStats BlockAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void BlockAllocator::reset_peak_stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_allocated = stats_.allocated;
  stats_.peak_reserved = stats_.reserved;
}

size_t BlockAllocator::block_size(const void* ptr) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  return it == live_.end() ? 0 : it->second->size;
}

}  // namespace ember
