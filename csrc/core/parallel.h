// CPU parallelism: the thread count (OMP_NUM_THREADS, em.set_num_threads) and
// parallel_for, which stays on the calling thread for small work so tiny ops
// never wake the pool.
#pragma once

#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace ember {

int get_num_threads();
void set_num_threads(int n);

// Below this many elements of simple work, a loop runs on one thread.
constexpr int64_t kParallelGrain = 32768;

// Calls f(begin, end) on disjoint chunks covering [begin, end), in parallel
// when the range holds more than `grain` items.
template <typename F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, const F& f) {
  int64_t range = end - begin;
  if (range <= 0) return;
#ifdef _OPENMP
  int threads = get_num_threads();
  if (range > grain && threads > 1 && !omp_in_parallel()) {
    int64_t chunks = std::min<int64_t>(threads, (range + grain - 1) / grain);
#pragma omp parallel num_threads(static_cast<int>(chunks))
    {
      int64_t id = omp_get_thread_num();
      int64_t n = omp_get_num_threads();
      int64_t lo = begin + range * id / n;
      int64_t hi = begin + range * (id + 1) / n;
      if (lo < hi) f(lo, hi);
    }
    return;
  }
#endif
  (void)grain;
  f(begin, end);
}

}  // namespace ember
