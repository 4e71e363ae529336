// Philox4x32-10 and the random fills (see random.h).
#include "core/random.h"

#include <cmath>

#include "core/parallel.h"

namespace ember {

std::array<uint32_t, 4> philox4x32(uint64_t counter, uint64_t key) {
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
  return {c0, c1, c2, c3};
}

void Generator::manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mutex_);
  seed_ = seed;
  offset_ = 0;
}

uint64_t Generator::reserve(uint64_t n) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t start = offset_;
  offset_ += n;
  return start;
}

Generator& default_generator() {
  static Generator* generator = new Generator();
  return *generator;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

namespace {

// Uniform in [0, 1) with 24 (float) or 53 (double) random bits.
template <typename T>
T unit(uint32_t a, uint32_t b) {
  if constexpr (std::is_same_v<T, float>) {
    return float(a >> 8) * (1.0f / 16777216.0f);
  } else {
    return double((uint64_t(a) << 21) ^ (b >> 11)) * (1.0 / 9007199254740992.0);
  }
}

// Fills a contiguous host tensor element by element from the generator's
// stream, then copies into `t` (which may be strided or on another device).
template <typename T, typename F>
void fill_random(const Tensor& t, const char* op, const F& draw) {
  EMBER_CHECK(t.device().is_cpu(), op, ": random fills run on the CPU; got ", t.str());
  Tensor host = t.is_contiguous() ? t : Tensor::empty(t.shape(), t.dtype());
  T* out = host.data<T>();
  Generator& gen = default_generator();
  uint64_t key = gen.seed();
  uint64_t start = gen.reserve(uint64_t(t.numel()));
  parallel_for(0, t.numel(), 4096, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = draw(philox4x32(start + uint64_t(i), key));
  });
  if (!t.is_contiguous()) Tensor(t).copy_(host);
  t.bump_version();
}

}  // namespace

void uniform_(const Tensor& t, double low, double high) {
  EMBER_CHECK(low <= high, "uniform_: low ", low, " > high ", high);
  EMBER_DISPATCH_FLOAT(t.dtype(), "uniform_", [&] {
    fill_random<scalar_t>(t, "uniform_", [&](const std::array<uint32_t, 4>& r) {
      return scalar_t(low + (high - low) * unit<scalar_t>(r[0], r[1]));
    });
  });
}

void normal_(const Tensor& t, double mean, double std) {
  EMBER_CHECK(std >= 0, "normal_: std must be >= 0, got ", std);
  EMBER_DISPATCH_FLOAT(t.dtype(), "normal_", [&] {
    fill_random<scalar_t>(t, "normal_", [&](const std::array<uint32_t, 4>& r) {
      // Box-Muller; 1 - u keeps the log argument in (0, 1].
      double u1 = 1.0 - double(unit<scalar_t>(r[0], r[1]));
      double u2 = double(unit<scalar_t>(r[2], r[3]));
      return scalar_t(mean + std * std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2));
    });
  });
}

void randint_(const Tensor& t, int64_t low, int64_t high) {
  EMBER_CHECK(low < high, "randint: low ", low, " must be < high ", high);
  uint64_t span = uint64_t(high - low);
  EMBER_DISPATCH_NUMERIC(t.dtype(), "randint", [&] {
    fill_random<scalar_t>(t, "randint", [&](const std::array<uint32_t, 4>& r) {
      uint64_t bits = (uint64_t(r[0]) << 32) | r[1];
      return scalar_t(low + int64_t(bits % span));
    });
  });
}

void bernoulli_(const Tensor& t, double p) {
  EMBER_CHECK(p >= 0 && p <= 1, "bernoulli_: p must be in [0, 1], got ", p);
  EMBER_DISPATCH_FLOAT(t.dtype(), "bernoulli_", [&] {
    fill_random<scalar_t>(t, "bernoulli_", [&](const std::array<uint32_t, 4>& r) {
      return scalar_t(unit<double>(r[0], r[1]) < p ? 1 : 0);
    });
  });
}

}  // namespace ember
