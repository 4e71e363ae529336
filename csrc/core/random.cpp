// The generator and the random fills (see random.h); Philox and the
// per-element transforms live in core/philox.h, shared with the CUDA kernels.
#include "core/random.h"

#include "core/parallel.h"
#include "core/philox.h"
#include "cuda/kernels.h"

namespace ember {

std::array<uint32_t, 4> philox4x32(uint64_t counter, uint64_t key) {
  const philox::Block r = philox::draw(counter, key);
  return {r.x[0], r.x[1], r.x[2], r.x[3]};
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

// Reserves t.numel() counters and fills t: on the CPU element by element
// through `draw` (into a contiguous buffer first when t is strided), on CUDA
// with the same draw computed by cuda::random_fill.
template <typename T, typename F>
void fill_random(const Tensor& t, cuda::RandomDraw spec, const F& draw) {
  Generator& gen = default_generator();
  spec.key = gen.seed();
  spec.offset = gen.reserve(uint64_t(t.numel()));
  Tensor dense = t.is_contiguous() ? t : Tensor::empty(t.shape(), t.dtype(), t.device());
  switch (t.device().type) {
    case DeviceType::cpu: {
      T* out = dense.data<T>();
      parallel_for(0, t.numel(), 4096, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) out[i] = draw(philox::draw(spec.offset + uint64_t(i), spec.key));
      });
      break;
    }
    case DeviceType::cuda: cuda::random_fill(spec, dense); break;
    default: no_kernel("random fill", t.device());
  }
  if (!t.is_contiguous()) Tensor(t).copy_(dense);
  t.bump_version();
}

cuda::RandomDraw spec_of(cuda::RandomKind kind, double a, double b) {
  cuda::RandomDraw spec;
  spec.kind = kind;
  spec.a = a;
  spec.b = b;
  return spec;
}

}  // namespace

void uniform_(const Tensor& t, double low, double high) {
  EMBER_CHECK(low <= high, "uniform_: low ", low, " > high ", high);
  EMBER_DISPATCH_FLOAT(t.dtype(), "uniform_", [&] {
    fill_random<scalar_t>(t, spec_of(cuda::RandomKind::uniform, low, high),
                          [&](const philox::Block& r) {
      return philox::uniform<scalar_t>(r, low, high);
    });
  });
}

void normal_(const Tensor& t, double mean, double std) {
  EMBER_CHECK(std >= 0, "normal_: std must be >= 0, got ", std);
  EMBER_DISPATCH_FLOAT(t.dtype(), "normal_", [&] {
    fill_random<scalar_t>(t, spec_of(cuda::RandomKind::normal, mean, std),
                          [&](const philox::Block& r) {
      return philox::normal<scalar_t>(r, mean, std);
    });
  });
}

void randint_(const Tensor& t, int64_t low, int64_t high) {
  EMBER_CHECK(low < high, "randint: low ", low, " must be < high ", high);
  cuda::RandomDraw spec = spec_of(cuda::RandomKind::randint, 0, 0);
  spec.low = low;
  spec.span = uint64_t(high - low);
  EMBER_DISPATCH_NUMERIC(t.dtype(), "randint", [&] {
    fill_random<scalar_t>(t, spec, [&](const philox::Block& r) {
      return philox::randint<scalar_t>(r, low, spec.span);
    });
  });
}

void bernoulli_(const Tensor& t, double p) {
  EMBER_CHECK(p >= 0 && p <= 1, "bernoulli_: p must be in [0, 1], got ", p);
  EMBER_DISPATCH_FLOAT(t.dtype(), "bernoulli_", [&] {
    fill_random<scalar_t>(t, spec_of(cuda::RandomKind::bernoulli, p, 0),
                          [&](const philox::Block& r) {
      return scalar_t(philox::bernoulli(r, p) ? 1 : 0);
    });
  });
}

}  // namespace ember
