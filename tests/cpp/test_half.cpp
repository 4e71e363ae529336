// Tests of the 16-bit float types (core/half.h) and of the CPU casts that use
// them: every binary16 and bfloat16 bit pattern decodes to the value an
// independent formula gives; float -> 16 bits rounds to the nearest value,
// ties to even, overflowing to inf where the format says; the F16C hardware
// conversion agrees where the CPU has it; and the vectorised cast loops of
// cpu/copy.cpp give the scalar conversion's bits at every length.
#include <gtest/gtest.h>
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/half.h"
#include "core/tensor.h"
#include "cpu/copy.h"

namespace ember {
namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// binary16 decoded with ldexp, independently of half.h's bit shuffling.
double decode_half(uint16_t h) {
  const int sign = h >> 15, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  double magnitude;
  if (exponent == 0x1f) {
    magnitude = mantissa ? std::numeric_limits<double>::quiet_NaN()
                         : std::numeric_limits<double>::infinity();
  } else if (exponent == 0) {
    magnitude = std::ldexp(double(mantissa), -24);
  } else {
    magnitude = std::ldexp(double(1024 + mantissa), exponent - 25);
  }
  return sign ? -magnitude : magnitude;
}

double decode_bf16(uint16_t b) {
  const int sign = b >> 15, exponent = (b >> 7) & 0xff, mantissa = b & 0x7f;
  double magnitude;
  if (exponent == 0xff) {
    magnitude = mantissa ? std::numeric_limits<double>::quiet_NaN()
                         : std::numeric_limits<double>::infinity();
  } else if (exponent == 0) {
    magnitude = std::ldexp(double(mantissa), -133);
  } else {
    magnitude = std::ldexp(double(128 + mantissa), exponent - 134);
  }
  return sign ? -magnitude : magnitude;
}

// The 16-bit pattern nearest to x by exhaustive search over the ordered
// positive patterns (ties to the even pattern); `limit` is the largest finite
// pattern and values at or past the midpoint to the next power of two
// overflow to inf (the format's rounding of the largest finite value).
uint16_t nearest(double x, double (*decode)(uint16_t), uint16_t limit, uint16_t inf) {
  const uint16_t sign = std::signbit(x) ? 0x8000 : 0;
  const double a = std::fabs(x);
  uint16_t lo = 0, hi = limit;
  while (lo < hi) {  // first pattern whose value is >= a
    uint16_t mid = uint16_t((lo + hi) / 2);
    if (decode(mid) < a) lo = uint16_t(mid + 1); else hi = mid;
  }
  if (decode(lo) < a) {  // above the largest finite value
    const double next = 2 * decode(limit) - decode(uint16_t(limit - 1));
    return uint16_t(sign | (a >= (decode(limit) + next) / 2 ? inf : limit));
  }
  if (lo == 0 || decode(lo) == a) return uint16_t(sign | lo);
  const double below = a - decode(uint16_t(lo - 1)), above = decode(lo) - a;
  if (below < above) return uint16_t(sign | (lo - 1));
  if (above < below) return uint16_t(sign | lo);
  return uint16_t(sign | ((lo & 1) ? lo - 1 : lo));
}

std::vector<float> probe_values() {
  std::vector<float> v;
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> any;
  for (int i = 0; i < 20000; ++i) {
    float f;
    uint32_t u = any(rng);
    std::memcpy(&f, &u, 4);
    if (!std::isnan(f)) v.push_back(f);
  }
  // Every half midpoint and its float neighbours: the ties and near-ties.
  for (uint32_t h = 0; h < 0x7c00; ++h) {
    const float mid = float((decode_half(uint16_t(h)) + decode_half(uint16_t(h + 1))) / 2);
    v.push_back(mid);
    v.push_back(std::nextafter(mid, 0.0f));
    v.push_back(std::nextafter(mid, 1e30f));
    v.push_back(-mid);
  }
  for (float f : {0.0f, -0.0f, 65504.0f, 65519.996f, 65520.0f, 1e-8f, 2.9802322e-8f,
                  std::numeric_limits<float>::infinity(), 3.4028235e38f, 1.0e-45f})
    v.push_back(f);
  return v;
}

TEST(Half, EveryPatternDecodesExactly) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = Half::from_bits(uint16_t(h));
    const double want = decode_half(uint16_t(h));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(f)) << h;
      continue;
    }
    ASSERT_EQ(double(f), want) << std::hex << h;
    ASSERT_EQ(Half(f).bits, h) << std::hex << h;  // and encodes back to itself
  }
}

TEST(Half, RoundsToNearestEven) {
  for (float x : probe_values()) {
    const uint16_t want = nearest(x, decode_half, 0x7bff, 0x7c00);
    ASSERT_EQ(Half(x).bits, want) << x << " (bits " << std::hex << bits_of(x) << ")";
  }
  EXPECT_EQ(Half(std::numeric_limits<float>::quiet_NaN()).bits & 0x7e00, 0x7e00);
}

__attribute__((target("f16c"))) uint16_t f16c_convert(float x) {
  return uint16_t(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT));
}

TEST(Half, AgreesWithF16c) {
  if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "no F16C on this CPU";
  for (float x : probe_values()) ASSERT_EQ(Half(x).bits, f16c_convert(x)) << x;
}

TEST(BFloat16, EveryPatternDecodesExactly) {
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const float f = BFloat16::from_bits(uint16_t(b));
    const double want = decode_bf16(uint16_t(b));
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(f)) << b;
      EXPECT_TRUE(std::isnan(float(BFloat16(f))));
      continue;
    }
    ASSERT_EQ(double(f), want) << std::hex << b;
    ASSERT_EQ(BFloat16(f).bits, b) << std::hex << b;
  }
}

TEST(BFloat16, RoundsToNearestEven) {
  for (float x : probe_values()) {
    const uint16_t want = nearest(x, decode_bf16, 0x7f7f, 0x7f80);
    ASSERT_EQ(BFloat16(x).bits, want) << x << " (bits " << std::hex << bits_of(x) << ")";
  }
}

TEST(Half, Limits) {
  EXPECT_EQ(float(std::numeric_limits<Half>::max()), 65504.0f);
  EXPECT_EQ(float(std::numeric_limits<Half>::lowest()), -65504.0f);
  EXPECT_EQ(float(std::numeric_limits<Half>::epsilon()), std::ldexp(1.0f, -10));
  EXPECT_EQ(float(std::numeric_limits<Half>::min()), std::ldexp(1.0f, -14));
  EXPECT_TRUE(std::isinf(float(std::numeric_limits<Half>::infinity())));
  EXPECT_TRUE(std::isnan(float(std::numeric_limits<Half>::quiet_NaN())));
  EXPECT_EQ(float(std::numeric_limits<BFloat16>::max()), 3.38953139e38f);
  EXPECT_EQ(float(std::numeric_limits<BFloat16>::epsilon()), std::ldexp(1.0f, -7));
  EXPECT_EQ(float(std::numeric_limits<BFloat16>::min()), std::ldexp(1.0f, -126));
  EXPECT_TRUE(std::isnan(float(std::numeric_limits<BFloat16>::quiet_NaN())));
}

// The vectorised runs of cpu::copy against the scalar conversions, at every
// length around the 8-wide step and for strided (scalar-path) views.
template <typename H>
void check_cast_loops(DType dtype) {
  std::vector<float> values = probe_values();
  values.push_back(std::numeric_limits<float>::quiet_NaN());
  const std::vector<int64_t> lengths{1, 7, 8, 9, 15, 16, 17, 33, 1000, int64_t(values.size())};
  for (int64_t n : lengths) {
    Tensor src = Tensor::empty({n}, DType::float32);
    std::memcpy(src.raw_data(), values.data(), size_t(n) * 4);
    Tensor narrow = Tensor::empty({n}, dtype);
    cpu::copy(narrow, src);
    Tensor wide = Tensor::empty({n}, DType::float32);
    cpu::copy(wide, narrow);
    const H* h = static_cast<const H*>(narrow.raw_data());
    const float* w = static_cast<const float*>(wide.raw_data());
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(h[i].bits, H(values[size_t(i)]).bits) << "n=" << n << " i=" << i;
      const float back = h[i];
      ASSERT_EQ(bits_of(w[i]), bits_of(back)) << "n=" << n << " i=" << i;
    }
  }
}

TEST(Half, VectorisedCastsMatchScalar) { check_cast_loops<Half>(DType::float16); }
TEST(BFloat16, VectorisedCastsMatchScalar) { check_cast_loops<BFloat16>(DType::bfloat16); }

}  // namespace
}  // namespace ember
