// The blocked sum behind the CPU reductions: independent lanes the loops
// vectorise, folded into a wider accumulator block by block, so the rounding
// error grows with n / 1024 rather than n.
#pragma once

#include <cstdint>

namespace ember {
namespace cpu {

struct Identity {
  template <typename T>
  T operator()(T v) const { return v; }
};

// Sum of map(x[i]) over n contiguous values: 16 independent lanes per block
// of 1024, blocks folded into the wide accumulator; the last partial block
// in lanes too (a row shorter than a block would otherwise be one serial
// chain: slow, and with n rather than n / 16 roundings).
template <typename T, typename Acc, typename Map = Identity>
Acc sum_contiguous(const T* x, int64_t n, const Map& map = Map()) {
  constexpr int kLanes = 16;
  constexpr int64_t kBlock = 1024;
  Acc total = 0;
  int64_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    T lanes[kLanes] = {};
    for (int64_t j = 0; j < kBlock; j += kLanes)
      for (int k = 0; k < kLanes; ++k) lanes[k] += map(x[i + j + k]);
    T block = 0;
    for (int k = 0; k < kLanes; ++k) block += lanes[k];
    total += block;
  }
  T lanes[kLanes] = {};
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) lanes[k] += map(x[i + k]);
  T rest = 0;
  for (int k = 0; k < kLanes; ++k) rest += lanes[k];
  for (; i < n; ++i) rest += map(x[i]);
  return total + rest;
}

}  // namespace cpu
}  // namespace ember
