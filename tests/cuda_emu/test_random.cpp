// The CUDA random fills and dropout run on the harness against the CPU
// fills: for the same seed and counter offset every draw must be the same
// number (normal: to within the last bits of log/cos), at sizes around the
// block size, float32/float64 (and int32/int64 for randint), plus dropout's
// keep rate and scale, and a shuffled thread order.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/random.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "emu_testing.h"
#include "ops/norm.h"

namespace ember {
namespace {

using namespace emu_test;

const int64_t kSizes[] = {1, 31, 33, 255, 257, 1000};

// The number of elements where got and want differ by more than rel * |want|
// (rel 0: bit for bit); `first` describes the first of them.
int64_t mismatches(const Tensor& got, const Tensor& want, double rel, std::string& first) {
  int64_t bad = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = value(got, i), w = value(want, i);
    const bool same = rel == 0 ? std::memcmp(&g, &w, sizeof(double)) == 0
                               : std::fabs(g - w) <= rel * std::max(1.0, std::fabs(w));
    if (!same && bad++ == 0) {
      first = "element " + std::to_string(i) + " is " + std::to_string(g) + ", the CPU has " +
              std::to_string(w);
    }
  }
  return bad;
}

struct Case {
  cuda::RandomKind kind;
  double a, b;
  int64_t low, high;
};

// Draws `n` elements on the CPU after `skip` others, then the same counters
// through the CUDA kernel.
void check_fill(const Case& c, DType dtype, int64_t n, int64_t skip, uint64_t seed) {
  manual_seed(seed);
  if (skip > 0) uniform_(Tensor::empty({skip}, DType::float64), 0, 1);
  Tensor want = Tensor::empty({n}, dtype);
  switch (c.kind) {
    case cuda::RandomKind::uniform: uniform_(want, c.a, c.b); break;
    case cuda::RandomKind::normal: normal_(want, c.a, c.b); break;
    case cuda::RandomKind::randint: randint_(want, c.low, c.high); break;
    case cuda::RandomKind::bernoulli: bernoulli_(want, c.a); break;
  }
  cuda::RandomDraw draw;
  draw.kind = c.kind;
  draw.key = seed;
  draw.offset = uint64_t(skip);
  draw.a = c.a;
  draw.b = c.b;
  draw.low = c.low;
  draw.span = uint64_t(c.high - c.low);
  Tensor got = Tensor::full({n}, Scalar(-7), dtype);
  cuda::random_fill_raw(draw, dtype, got.raw_data(), n);
  const bool normal = c.kind == cuda::RandomKind::normal;
  const double rel = normal ? (dtype == DType::float64 ? 1e-14 : 1e-6) : 0;
  std::string first;
  EXPECT_EQ(mismatches(got, want, rel, first), 0)
      << "draw " << int(c.kind) << " of " << n << " " << dtype_name(dtype) << ": " << first;
}

const Case kFloatCases[] = {{cuda::RandomKind::uniform, -2.0, 3.0, 0, 1},
                            {cuda::RandomKind::normal, 0.5, 2.0, 0, 1},
                            {cuda::RandomKind::bernoulli, 0.3, 0, 0, 1},
                            {cuda::RandomKind::randint, 0, 0, -5, 17}};

TEST(CudaEmuRandom, FillsEqualTheCpuDraws) {
  for (DType dtype : {DType::float32, DType::float64}) {
    for (const Case& c : kFloatCases) {
      for (int64_t n : kSizes) {
        check_fill(c, dtype, n, 0, 42);
        check_fill(c, dtype, n, 13, 7);
      }
    }
  }
  for (DType dtype : {DType::int32, DType::int64}) {
    for (int64_t n : kSizes) {
      check_fill({cuda::RandomKind::randint, 0, 0, -1000, 1000}, dtype, n, 5, 3);
      check_fill({cuda::RandomKind::randint, 0, 0, 0, int64_t(1) << 40}, DType::int64, n, 0, 9);
    }
  }
}

TEST(CudaEmuRandom, ShuffledThreadOrder) {
  cuda_emu::set_shuffle(true, 17);
  for (const Case& c : kFloatCases) check_fill(c, DType::float32, 1000, 3, 11);
  cuda_emu::set_shuffle(false);
}

TEST(CudaEmuRandom, PlantedBugIsCaught) {
  manual_seed(1);
  Tensor want = Tensor::empty({257}, DType::float32);
  uniform_(want, 0, 1);
  cuda::RandomDraw draw;
  draw.key = 1;
  draw.b = 1;
  Tensor got = Tensor::empty({257}, DType::float32);
  cuda::random_fill_raw(draw, DType::float32, got.raw_data(), 257);
  std::string first;
  ASSERT_EQ(mismatches(got, want, 0, first), 0) << first;
  float* g = static_cast<float*>(got.raw_data());
  g[200] = std::nextafter(g[200], 2.0f);
  EXPECT_EQ(mismatches(got, want, 0, first), 1);
}

TEST(CudaEmuRandom, DropoutEqualsTheCpuMaskWithItsRateAndScale) {
  for (DType dtype : {DType::float32, DType::float64}) {
    for (int64_t n : {int64_t(1), int64_t(33), int64_t(257), int64_t(20000)}) {
      for (double p : {0.0, 0.3, 0.9}) {
        Tensor x = Tensor::empty({n}, dtype);
        uniform_(x, -2, 2);
        manual_seed(23);
        auto [want_out, want_mask] = dropout(x, p);
        Tensor out = Tensor::full({n}, Scalar(-7), dtype);
        Tensor mask = Tensor::full({n}, Scalar(-7), dtype);
        cuda::dropout_raw(dtype, out.raw_data(), mask.raw_data(), x.raw_data(), n, 23, 0, p);
        const std::string what = "dropout p=" + std::to_string(p) + " n=" + std::to_string(n);
        std::string first;
        EXPECT_EQ(mismatches(mask, want_mask, 0, first), 0) << what << " mask: " << first;
        EXPECT_EQ(mismatches(out, want_out, 0, first), 0) << what << " out: " << first;
        if (n < 20000) continue;
        const double scale = dtype == DType::float32 ? double(float(1 / (1 - p))) : 1 / (1 - p);
        int64_t dropped = 0;
        for (int64_t i = 0; i < n; ++i) {
          const double m = value(mask, i);
          ASSERT_TRUE(m == 0 || m == scale) << what << " mask value " << m;
          dropped += m == 0;
        }
        EXPECT_NEAR(double(dropped) / double(n), p, 5 * std::sqrt(p * (1 - p) / double(n)) + 1e-12)
            << what;
      }
    }
  }
}

TEST(CudaEmuRandom, RejectsBadArguments) {
  Tensor b = Tensor::empty({4}, DType::bool_);
  cuda::RandomDraw draw;
  EXPECT_THROW(cuda::random_fill_raw(draw, DType::int64, b.raw_data(), 4), Error);
  draw.kind = cuda::RandomKind::randint;
  draw.span = 0;
  EXPECT_THROW(cuda::random_fill_raw(draw, DType::int64, b.raw_data(), 4), Error);
  Tensor f = Tensor::empty({4});
  EXPECT_THROW(cuda::dropout_raw(DType::float32, f.raw_data(), f.raw_data(), f.raw_data(), 4, 1, 0,
                                 1.0),
               Error);
  EXPECT_THROW(cuda::dropout_raw(DType::int64, f.raw_data(), f.raw_data(), f.raw_data(), 4, 1, 0,
                                 0.5),
               Error);
}

}  // namespace
}  // namespace ember
