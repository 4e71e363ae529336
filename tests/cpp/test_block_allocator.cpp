// The caching block allocator behind CUDA memory, driven by a fake backend
// with a fixed capacity: reuse, small-block segments, splitting and merging,
// per-stream free lists, statistics, empty_cache, the out-of-memory retry and
// error, and a random workload checked for overlapping blocks.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <vector>

#include "core/block_allocator.h"
#include "core/check.h"

namespace ember {
namespace {

constexpr size_t kMiB = size_t(1) << 20;

// Hands out aligned host memory up to `capacity` bytes, remembering every
// live segment.
struct FakeDevice {
  size_t capacity;
  size_t used = 0;
  std::map<void*, size_t> live;

  BlockAllocator::Backend backend() {
    return {[this](size_t n) -> void* {
              if (used + n > capacity) return nullptr;
              void* p = std::aligned_alloc(BlockAllocator::kAlignment, n);
              used += n;
              live[p] = n;
              return p;
            },
            [this](void* p) {
              used -= live.at(p);
              live.erase(p);
              std::free(p);
            },
            [this] { return std::make_pair(capacity - used, capacity); }};
  }
};

TEST(BlockAllocator, ReusesAFreedBlock) {
  FakeDevice dev{64 * kMiB};
  BlockAllocator alloc(dev.backend(), "cuda:test");
  void* a = alloc.allocate(1000);
  alloc.free(a);
  void* b = alloc.allocate(900);
  EXPECT_EQ(a, b);
  EXPECT_EQ(alloc.stats().num_backend_allocs, 1u);
  EXPECT_EQ(alloc.block_size(b), 1024u);
  alloc.free(b);
}

TEST(BlockAllocator, SmallRequestsShareOneSegment) {
  FakeDevice dev{64 * kMiB};
  BlockAllocator alloc(dev.backend(), "cuda:test");
  std::vector<void*> blocks;
  for (int i = 0; i < 100; ++i) blocks.push_back(alloc.allocate(10000));
  BlockAllocatorStats s = alloc.stats();
  EXPECT_EQ(s.num_backend_allocs, 1u);
  EXPECT_EQ(s.reserved, BlockAllocator::kSmallSegment);
  EXPECT_EQ(s.allocated, 100u * 10240);
  EXPECT_EQ(s.requested, 100u * 10000);
  for (void* p : blocks) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % BlockAllocator::kAlignment, 0u);
  }
  for (void* p : blocks) alloc.free(p);
  EXPECT_EQ(alloc.stats().allocated, 0u);
  // Every block merged back into the one free segment.
  EXPECT_EQ(alloc.stats().cached_blocks, 1u);
}

TEST(BlockAllocator, MergesNeighboursAndEmptiesTheCache) {
  FakeDevice dev{64 * kMiB};
  BlockAllocator alloc(dev.backend(), "cuda:test");
  void* a = alloc.allocate(4096);
  void* b = alloc.allocate(4096);
  void* c = alloc.allocate(4096);
  EXPECT_EQ(static_cast<char*>(b) - static_cast<char*>(a), 4096);
  alloc.free(b);
  alloc.free(a);
  // a and b merged: an 8 KiB request fits where they were.
  void* d = alloc.allocate(8192);
  EXPECT_EQ(d, a);
  alloc.free(d);
  alloc.empty_cache();
  EXPECT_EQ(alloc.stats().reserved, BlockAllocator::kSmallSegment);  // c is still live
  alloc.free(c);
  alloc.empty_cache();
  BlockAllocatorStats s = alloc.stats();
  EXPECT_EQ(s.reserved, 0u);
  EXPECT_EQ(s.num_segments, 0u);
  EXPECT_EQ(s.cached_blocks, 0u);
  EXPECT_TRUE(dev.live.empty());
}

TEST(BlockAllocator, LargeRequestsGetTheirOwnRoundedSegments) {
  FakeDevice dev{64 * kMiB};
  BlockAllocator alloc(dev.backend(), "cuda:test");
  void* a = alloc.allocate(3 * kMiB);
  EXPECT_EQ(alloc.stats().reserved, 4 * kMiB);
  // A 1 MiB tail is too small for the large pool: the block keeps it.
  EXPECT_EQ(alloc.block_size(a), 4 * kMiB);
  void* b = alloc.allocate(5 * kMiB + 1);
  EXPECT_EQ(alloc.stats().reserved, 10 * kMiB);
  alloc.free(b);
  // A 3 MiB tail is split off and serves the next large request.
  void* c = alloc.allocate(3 * kMiB);
  EXPECT_EQ(c, b);
  void* d = alloc.allocate(2 * kMiB);
  EXPECT_EQ(static_cast<char*>(d), static_cast<char*>(b) + 3 * kMiB);
  EXPECT_EQ(alloc.stats().num_backend_allocs, 2u);
  alloc.free(a);
  alloc.free(c);
  alloc.free(d);
}

TEST(BlockAllocator, StreamsKeepTheirOwnFreeBlocks) {
  FakeDevice dev{64 * kMiB};
  BlockAllocator alloc(dev.backend(), "cuda:test");
  int s1 = 0, s2 = 0;
  void* a = alloc.allocate(4 * kMiB, &s1);
  alloc.free(a);
  void* b = alloc.allocate(4 * kMiB, &s2);
  EXPECT_NE(a, b);
  void* c = alloc.allocate(4 * kMiB, &s1);
  EXPECT_EQ(a, c);
  alloc.free(b);
  alloc.free(c);
}

TEST(BlockAllocator, StatisticsTrackPeaks) {
  FakeDevice dev{64 * kMiB};
  BlockAllocator alloc(dev.backend(), "cuda:test");
  void* a = alloc.allocate(6 * kMiB);
  void* b = alloc.allocate(2 * kMiB);
  alloc.free(a);
  BlockAllocatorStats s = alloc.stats();
  EXPECT_EQ(s.allocated, 2 * kMiB);
  EXPECT_EQ(s.peak_allocated, 8 * kMiB);
  EXPECT_EQ(s.reserved, 8 * kMiB);
  EXPECT_EQ(s.num_allocs, 2u);
  EXPECT_EQ(s.num_frees, 1u);
  alloc.reset_peak_stats();
  EXPECT_EQ(alloc.stats().peak_allocated, 2 * kMiB);
  alloc.free(b);
}

TEST(BlockAllocator, OutOfMemoryReleasesTheCacheThenRaises) {
  FakeDevice dev{8 * kMiB};
  BlockAllocator alloc(dev.backend(), "cuda:test");
  void* a = alloc.allocate(6 * kMiB);
  alloc.free(a);  // cached: 6 MiB held, 2 MiB free on the device
  void* b = alloc.allocate(7 * kMiB);
  EXPECT_NE(b, nullptr);
  EXPECT_EQ(alloc.stats().num_ooms, 1u);
  EXPECT_EQ(alloc.stats().reserved, 8 * kMiB);
  try {
    alloc.allocate(3 * kMiB);
    FAIL() << "expected an out-of-memory error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::memory);
    std::string what = e.what();
    EXPECT_NE(what.find("cuda:test: out of memory: tried to allocate 3.00 MiB"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("0 bytes free of 8.00 MiB"), std::string::npos) << what;
  }
  EXPECT_EQ(alloc.stats().num_ooms, 3u);
  alloc.free(b);
}

TEST(BlockAllocator, FreeingAForeignPointerRaises) {
  FakeDevice dev{8 * kMiB};
  BlockAllocator alloc(dev.backend(), "cuda:test");
  int x = 0;
  EXPECT_THROW(alloc.free(&x), Error);
}

TEST(BlockAllocator, RandomWorkloadNeverOverlaps) {
  FakeDevice dev{256 * kMiB};
  BlockAllocator alloc(dev.backend(), "cuda:test");
  std::mt19937 rng(7);
  std::map<char*, size_t> live;  // pointer -> requested size
  int streams[2];
  for (int step = 0; step < 4000; ++step) {
    if (!live.empty() && rng() % 2 == 0) {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      alloc.free(it->first);
      live.erase(it);
      continue;
    }
    size_t n = rng() % 4 == 0 ? 1 + rng() % (6 * kMiB) : 1 + rng() % 70000;
    char* p = static_cast<char*>(alloc.allocate(n, &streams[rng() % 2]));
    ASSERT_GE(alloc.block_size(p), n);
    // The new block overlaps neither neighbour.
    auto next = live.lower_bound(p);
    if (next != live.end()) ASSERT_LE(p + n, next->first);
    if (next != live.begin()) {
      auto prev = std::prev(next);
      ASSERT_LE(prev->first + prev->second, p);
    }
    live[p] = n;
  }
  BlockAllocatorStats s = alloc.stats();
  size_t requested = 0;
  for (auto& entry : live) requested += entry.second;
  EXPECT_EQ(s.requested, requested);
  EXPECT_LE(s.allocated, s.reserved);
  for (auto& entry : live) alloc.free(entry.first);
  alloc.empty_cache();
  EXPECT_EQ(alloc.stats().reserved, 0u);
  EXPECT_TRUE(dev.live.empty());
}

}  // namespace
}  // namespace ember
