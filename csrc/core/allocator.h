// The CPU caching allocator: 64-byte aligned blocks, freed blocks kept in
// size-class free lists and handed out again (a fresh page costs a fault on
// first touch; a reused block does not), huge pages for large blocks, and
// statistics. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ember {

struct MemoryStats {
  uint64_t allocated = 0;       // bytes handed out to live storages
  uint64_t peak_allocated = 0;  // high-water mark of `allocated`
  uint64_t reserved = 0;        // allocated + cached, i.e. held from the OS
  uint64_t num_allocs = 0;      // calls to cpu_allocate
  uint64_t num_os_allocs = 0;   // of those, how many went to the OS
};

// Returns a 64-byte aligned block of at least `nbytes` (never nullptr; an
// impossible request throws MemoryError naming the size).
void* cpu_allocate(size_t nbytes);
// Returns a block from cpu_allocate; `nbytes` must be the size asked for.
void cpu_free(void* ptr, size_t nbytes);
// Gives every cached block back to the OS.
void cpu_empty_cache();
MemoryStats cpu_memory_stats();
void cpu_reset_peak_memory_stats();

}  // namespace ember
