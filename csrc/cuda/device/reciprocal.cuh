// Exact reciprocals of positive integers without a floating-point division
// (see exact_reciprocal).
#pragma once

#include <math.h>

#include <cstdint>
#include <cstring>

#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {

// 1 / d rounded to nearest (1.0 / double(d) bit for bit), for 1 <= d < 2^51,
// without a division: nvcc's double division (and __drcp_rn) branches to a
// slow-path subroutine, and that call inside a loop can cost the kernel a
// stack frame (it did avg_pool2d_backward's window loop). Newton's iteration
// from a bit-trick estimate gets within an ulp; the residual 1 - d * y of
// each candidate is exact (it has fewer than 53 significant bits for
// d < 2^51), so the candidate with the smallest one is the rounded reciprocal
// (1 / d is never halfway between two doubles).
__device__ __forceinline__ double exact_reciprocal(int64_t d) {
  const double x = double(d);
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  bits = 0x7FDE623822FC16E6ull - bits;  // about 1 / x, to a few bits
  double y;
  std::memcpy(&y, &bits, sizeof y);
  EMBER_UNROLL
  for (int k = 0; k < 5; ++k) y = fma(y, fma(-x, y, 1.0), y);
  std::memcpy(&bits, &y, sizeof bits);
  double below, above;
  bits -= 1;
  std::memcpy(&below, &bits, sizeof below);
  bits += 2;
  std::memcpy(&above, &bits, sizeof above);
  const double r = fabs(fma(-x, y, 1.0));
  const double r_below = fabs(fma(-x, below, 1.0)), r_above = fabs(fma(-x, above, 1.0));
  return r_below < r ? below : r_above < r ? above : y;
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
