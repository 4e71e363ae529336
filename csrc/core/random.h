// Random numbers: a seeded counter-based generator (Philox4x32-10). Element i
// of a draw uses counter (offset + i), so results do not depend on the thread
// count, and the same algorithm can run on a GPU.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>

#include "core/tensor.h"

namespace ember {

std::array<uint32_t, 4> philox4x32(uint64_t counter, uint64_t key);

class Generator {
 public:
  explicit Generator(uint64_t seed = 5489) : seed_(seed) {}
  void manual_seed(uint64_t seed);
  uint64_t seed() const { return seed_; }
  // Reserves `n` counters for one draw; returns the first.
  uint64_t reserve(uint64_t n);

 private:
  std::mutex mutex_;
  uint64_t seed_;
  uint64_t offset_ = 0;
};

Generator& default_generator();
void manual_seed(uint64_t seed);

// In-place fills from the default generator (floating dtypes).
void uniform_(const Tensor& t, double low, double high);
void normal_(const Tensor& t, double mean, double std);
// Integers uniform in [low, high) (any numeric dtype).
void randint_(const Tensor& t, int64_t low, int64_t high);
// Bernoulli(p) as 0/1 of t's dtype.
void bernoulli_(const Tensor& t, double p);

}  // namespace ember
