// Philox4x32-10 and the per-element transforms of ember's random fills, shared
// by the CPU fills (core/random.cpp) and the CUDA kernels (cuda/random.cu) so
// that a draw at a given (seed, counter) is the same number on either device.
#pragma once

#include <math.h>
#include <stdint.h>

#include "core/host_device.h"

namespace ember {
namespace philox {

struct Block {
  uint32_t x[4];
};

// Philox4x32 with 10 rounds on the 128-bit counter (counter, 0) and the 64-bit key.
EMBER_HOST_DEVICE inline Block draw(uint64_t counter, uint64_t key) {
  uint32_t c0 = uint32_t(counter), c1 = uint32_t(counter >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = uint32_t(key), k1 = uint32_t(key >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = uint64_t(0xD2511F53u) * c0;
    uint64_t p1 = uint64_t(0xCD9E8D57u) * c2;
    uint32_t n0 = uint32_t(p1 >> 32) ^ c1 ^ k0;
    uint32_t n2 = uint32_t(p0 >> 32) ^ c3 ^ k1;
    c1 = uint32_t(p1);
    c3 = uint32_t(p0);
    c0 = n0;
    c2 = n2;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// Uniform in [0, 1) with 24 random bits.
EMBER_HOST_DEVICE inline float unit_float(uint32_t a) { return float(a >> 8) * (1.0f / 16777216.0f); }

// Uniform in [0, 1) with 53 random bits.
EMBER_HOST_DEVICE inline double unit_double(uint32_t a, uint32_t b) {
  return double((uint64_t(a) << 21) ^ (b >> 11)) * (1.0 / 9007199254740992.0);
}

// Uniform in [0, 1) with the precision of T (float or double).
template <typename T>
EMBER_HOST_DEVICE inline double unit(uint32_t a, uint32_t b) {
  if (sizeof(T) == sizeof(float)) return double(unit_float(a));
  return unit_double(a, b);
}

template <typename T>
EMBER_HOST_DEVICE inline T uniform(const Block& r, double low, double high) {
  return T(low + (high - low) * unit<T>(r.x[0], r.x[1]));
}

// cos(2 pi u) for u in [0, 1). On the GPU through cospi, whose argument
// reduction is exact: cos() of an argument the compiler can't bound keeps
// the Payne-Hanek slow path, whose 40-byte local array puts the random
// kernel on the stack. Both agree with the host's cos to the last bits.
EMBER_HOST_DEVICE inline double cos_two_pi(double u) {
#if defined(__CUDA_ARCH__)
  return cospi(2.0 * u);
#else
  return cos(6.283185307179586 * u);
#endif
}

// Box-Muller in double; 1 - u keeps the log argument in (0, 1].
template <typename T>
EMBER_HOST_DEVICE inline T normal(const Block& r, double mean, double std) {
  double u1 = 1.0 - unit<T>(r.x[0], r.x[1]);
  double u2 = unit<T>(r.x[2], r.x[3]);
  return T(mean + std * sqrt(-2.0 * log(u1)) * cos_two_pi(u2));
}

// Uniform integer in [low, low + span).
template <typename T>
EMBER_HOST_DEVICE inline T randint(const Block& r, int64_t low, uint64_t span) {
  uint64_t bits = (uint64_t(r.x[0]) << 32) | r.x[1];
  return T(low + int64_t(bits % span));
}

// 1 with probability p, else 0.
EMBER_HOST_DEVICE inline bool bernoulli(const Block& r, double p) {
  return unit_double(r.x[0], r.x[1]) < p;
}

}  // namespace philox
}  // namespace ember
