// Tests of the vectorised exp/log kernels (cpu/vec_math.h) on every ISA this
// CPU supports: ulp error against a wider libm reference (double for float32,
// long double for float64) over sweeps of the range, special values, and the
// softmax helpers (max, exp_sum) against naive loops at odd sizes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "cpu/vec_math.h"

namespace ember {
namespace {

using cpu::vec::Isa;
using cpu::vec::MapOp;

const float kInf = std::numeric_limits<float>::infinity();
const float kNaN = std::numeric_limits<float>::quiet_NaN();

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::generic, Isa::avx2, Isa::avx512})
    if (cpu::vec::isa_supported(isa)) out.push_back(isa);
  return out;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::generic: return "generic";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "?";
}

// Floats mapped onto integers that count representable values in order, so
// that the difference of two is their distance in ulps.
int64_t ordered(float f) {
  int32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits < 0 ? -int64_t(bits & INT32_MAX) : int64_t(bits);
}

float from_bits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// Distance in ulps between got and the reference rounded to float; NaN must
// match NaN and infinities must match exactly.
int64_t ulp_error(float got, double reference) {
  float ref = float(reference);
  if (std::isnan(ref) || std::isnan(got)) return std::isnan(ref) == std::isnan(got) ? 0 : INT32_MAX;
  if (std::isinf(ref) || std::isinf(got)) return ref == got ? 0 : INT32_MAX;
  int64_t d = ordered(got) - ordered(ref);
  return d < 0 ? -d : d;
}

double reference(MapOp op, double x) {
  switch (op) {
    case MapOp::exp: return std::exp(x);
    case MapOp::log: return std::log(x);
    case MapOp::sigmoid: return 1.0 / (1.0 + std::exp(-x));
    case MapOp::tanh: return std::tanh(x);
    case MapOp::silu: return x / (1.0 + std::exp(-x));
  }
  return 0;
}

// Runs op over every `step`-th float bit pattern (both signs, NaNs included)
// and returns the largest ulp error, printing the worst input.
int64_t sweep(MapOp op, Isa isa, uint32_t step) {
  std::vector<float> x, y;
  int64_t worst = 0;
  float worst_x = 0, worst_y = 0;
  const uint64_t chunk = uint64_t(1) << 20;
  for (uint64_t start = 0; start < (uint64_t(1) << 32); start += chunk * step) {
    x.clear();
    for (uint64_t b = start; b < start + chunk * step && b < (uint64_t(1) << 32); b += step)
      x.push_back(from_bits(uint32_t(b)));
    y.assign(x.size(), 0.f);
    cpu::vec::map(op, x.data(), y.data(), int64_t(x.size()), isa);
    for (size_t i = 0; i < x.size(); ++i) {
      const double want = reference(op, double(x[i]));
      // Below -87 silu is x times a subnormal sigmoid, which carries only a
      // few significant bits (as with libm): checked absolutely there.
      if (op == MapOp::silu && x[i] < -87.f) {
        EXPECT_NEAR(y[i], want, -x[i] * std::numeric_limits<float>::denorm_min())
            << "silu(" << x[i] << ")";
        continue;
      }
      int64_t e = ulp_error(y[i], want);
      if (e > worst) worst = e, worst_x = x[i], worst_y = y[i];
    }
  }
  if (worst > 0) {
    std::printf("  %s: worst %lld ulp at x=%.9g (got %.9g, want %.9g)\n", isa_name(isa),
                (long long)worst, worst_x, worst_y, reference(op, worst_x));
  }
  return worst;
}

TEST(VecMath, ExpSweepWithinTwoUlp) {
  for (Isa isa : supported_isas()) EXPECT_LE(sweep(MapOp::exp, isa, 127), 2) << isa_name(isa);
}

TEST(VecMath, LogSweepWithinTwoUlp) {
  for (Isa isa : supported_isas()) EXPECT_LE(sweep(MapOp::log, isa, 127), 2) << isa_name(isa);
}

TEST(VecMath, ActivationSweeps) {
  for (Isa isa : supported_isas()) {
    EXPECT_LE(sweep(MapOp::sigmoid, isa, 509), 3) << isa_name(isa);
    EXPECT_LE(sweep(MapOp::tanh, isa, 509), 3) << isa_name(isa);
    EXPECT_LE(sweep(MapOp::silu, isa, 509), 4) << isa_name(isa);
  }
}

// Every float in [lo, hi) at the densest spacing, where the range reduction
// and the overflow / underflow boundaries are most delicate.
TEST(VecMath, ExpBoundaryRanges) {
  for (Isa isa : supported_isas()) {
    for (auto [lo, hi] : {std::pair{88.0f, 89.0f}, std::pair{-104.0f, -86.0f},
                          std::pair{-0.5f, -0.25f}, std::pair{0.25f, 0.5f}}) {
      std::vector<float> x;
      for (float v = lo; v < hi; v = std::nextafter(v, kInf)) x.push_back(v);
      std::vector<float> y(x.size());
      cpu::vec::map(MapOp::exp, x.data(), y.data(), int64_t(x.size()), isa);
      int64_t worst = 0;
      for (size_t i = 0; i < x.size(); ++i)
        worst = std::max(worst, ulp_error(y[i], std::exp(double(x[i]))));
      EXPECT_LE(worst, 2) << isa_name(isa) << " on [" << lo << ", " << hi << ")";
    }
  }
}

TEST(VecMath, LogNearOneAndSubnormals) {
  for (Isa isa : supported_isas()) {
    std::vector<float> x;
    for (float v = 0.5f; v < 2.0f; v = std::nextafter(v, kInf)) x.push_back(v);
    for (uint32_t b = 1; b < (1u << 23); b += 7) x.push_back(from_bits(b));
    std::vector<float> y(x.size());
    cpu::vec::map(MapOp::log, x.data(), y.data(), int64_t(x.size()), isa);
    int64_t worst = 0;
    for (size_t i = 0; i < x.size(); ++i)
      worst = std::max(worst, ulp_error(y[i], std::log(double(x[i]))));
    EXPECT_LE(worst, 2) << isa_name(isa);
  }
}

void expect_same(float got, float want, const char* what, float x, Isa isa) {
  if (std::isnan(want)) {
    EXPECT_TRUE(std::isnan(got)) << what << "(" << x << ") on " << isa_name(isa) << " = " << got;
  } else {
    EXPECT_EQ(got, want) << what << "(" << x << ") on " << isa_name(isa);
  }
}

TEST(VecMath, SpecialValues) {
  const float denorm_min = std::numeric_limits<float>::denorm_min();
  const float max = std::numeric_limits<float>::max();
  struct Case {
    MapOp op;
    float x, want;
  };
  const std::vector<Case> cases = {
      {MapOp::exp, 0.f, 1.f},          {MapOp::exp, -0.f, 1.f},
      {MapOp::exp, kInf, kInf},        {MapOp::exp, -kInf, 0.f},
      {MapOp::exp, kNaN, kNaN},        {MapOp::exp, 88.73f, kInf},
      {MapOp::exp, 1000.f, kInf},      {MapOp::exp, max, kInf},
      {MapOp::exp, -104.f, 0.f},       {MapOp::exp, -1000.f, 0.f},
      {MapOp::exp, -max, 0.f},         {MapOp::exp, denorm_min, 1.f},
      {MapOp::exp, -103.2789f, denorm_min},
      {MapOp::log, 1.f, 0.f},          {MapOp::log, 0.f, -kInf},
      {MapOp::log, -0.f, -kInf},       {MapOp::log, -1.f, kNaN},
      {MapOp::log, -denorm_min, kNaN}, {MapOp::log, -kInf, kNaN},
      {MapOp::log, kInf, kInf},        {MapOp::log, kNaN, kNaN},
      {MapOp::sigmoid, kInf, 1.f},     {MapOp::sigmoid, -kInf, 0.f},
      {MapOp::sigmoid, 0.f, 0.5f},     {MapOp::sigmoid, kNaN, kNaN},
      {MapOp::tanh, kInf, 1.f},        {MapOp::tanh, -kInf, -1.f},
      {MapOp::tanh, 0.f, 0.f},         {MapOp::tanh, 100.f, 1.f},
      {MapOp::tanh, kNaN, kNaN},       {MapOp::silu, kInf, kInf},
      {MapOp::silu, 0.f, 0.f},         {MapOp::silu, kNaN, kNaN},
  };
  for (Isa isa : supported_isas()) {
    for (const Case& c : cases) {
      // Each value is checked alone (tail path) and inside a full vector.
      for (int64_t n : {int64_t(1), int64_t(37)}) {
        std::vector<float> x(n, c.x), y(n);
        cpu::vec::map(c.op, x.data(), y.data(), n, isa);
        for (float v : y) expect_same(v, c.want, "op", c.x, isa);
      }
    }
  }
}

TEST(VecMath, MapInPlaceAndOddSizes) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-20.f, 20.f);
  for (Isa isa : supported_isas()) {
    for (int64_t n : {0, 1, 7, 15, 16, 17, 33, 129, 1031}) {
      std::vector<float> x(n);
      for (float& v : x) v = dist(rng);
      std::vector<float> y = x;
      cpu::vec::map(MapOp::exp, y.data(), y.data(), n, isa);
      for (int64_t i = 0; i < n; ++i)
        EXPECT_LE(ulp_error(y[i], std::exp(double(x[i]))), 2) << "n=" << n << " i=" << i;
    }
  }
}

TEST(VecMath, MaxMatchesNaiveLoop) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.f, 10.f);
  for (Isa isa : supported_isas()) {
    for (int64_t n : {1, 7, 15, 16, 17, 33, 129, 1031}) {
      std::vector<float> x(n);
      for (float& v : x) v = dist(rng);
      float want = x[0];
      for (float v : x) want = std::max(want, v);
      EXPECT_EQ(cpu::vec::max(x.data(), n, isa), want) << isa_name(isa) << " n=" << n;
      x[n / 2] = kNaN;
      float got = cpu::vec::max(x.data(), n, isa);
      EXPECT_FALSE(std::isnan(got)) << isa_name(isa) << " n=" << n;
    }
    EXPECT_EQ(cpu::vec::max(static_cast<const float*>(nullptr), 0, isa), -kInf);
    std::vector<float> infs(19, -kInf);
    infs[11] = kInf;
    EXPECT_EQ(cpu::vec::max(infs.data(), 19, isa), kInf);
  }
}

TEST(VecMath, ExpSumMatchesDoubleReference) {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.f, 3.f);
  for (Isa isa : supported_isas()) {
    for (int64_t n : {0, 1, 7, 15, 16, 17, 33, 129, 1031, 65537}) {
      std::vector<float> x(n);
      for (float& v : x) v = dist(rng);
      const float shift = n ? *std::max_element(x.begin(), x.end()) : 0.f;
      double want = 0;
      for (float v : x) want += std::exp(double(v) - shift);
      std::vector<float> y(n, -1.f);
      double got = cpu::vec::exp_sum(x.data(), shift, y.data(), n, isa);
      EXPECT_NEAR(got, want, 1e-6 * want + 1e-12) << isa_name(isa) << " n=" << n;
      EXPECT_EQ(cpu::vec::exp_sum(x.data(), shift, nullptr, n, isa), got);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_LE(ulp_error(y[i], std::exp(double(x[i] - shift))), 2) << "n=" << n << " i=" << i;
    }
  }
}

double log_sum_exp_reference(const std::vector<float>& x) {
  double peak = -kInf;
  for (float v : x) peak = std::max<double>(peak, v);
  double sum = 0;
  for (float v : x) sum += std::exp(double(v) - peak);
  return peak + std::log(sum);
}

// Random rows, rows whose maximum keeps growing or sits in the tail, a
// spread wider than the float exp range (terms that underflow to 0 next to
// the maximum, partial sums rescaled many times), and masked rows whose
// first half is -inf.
TEST(VecMath, LogSumExpMatchesDoubleReference) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.f, 3.f);
  for (Isa isa : supported_isas()) {
    for (int64_t n : {1, 7, 15, 16, 17, 127, 128, 129, 255, 1024, 1031, 65537}) {
      std::vector<std::vector<float>> rows(5, std::vector<float>(n));
      for (int64_t i = 0; i < n; ++i) {
        rows[0][i] = dist(rng);
        rows[1][i] = 0.01f * float(i) + dist(rng);
        rows[2][i] = i == n - 1 ? 50.f : dist(rng) - 20.f;
        rows[3][i] = 150.f * dist(rng);
        rows[4][i] = i < n / 2 ? -kInf : dist(rng);
      }
      for (size_t r = 0; r < rows.size(); ++r) {
        const double want = log_sum_exp_reference(rows[r]);
        const double got = cpu::vec::log_sum_exp(rows[r].data(), n, isa);
        EXPECT_NEAR(got, want, 1e-6 * std::max(1.0, std::fabs(want)))
            << isa_name(isa) << " n=" << n << " row " << r;
      }
    }
  }
}

TEST(VecMath, LogSumExpSpecialValues) {
  for (Isa isa : supported_isas()) {
    for (int64_t n : {1, 37, 300}) {
      for (int64_t at : {int64_t(0), n / 2, n - 1}) {
        std::vector<float> x(n, 1.f);
        x[at] = kInf;
        EXPECT_EQ(cpu::vec::log_sum_exp(x.data(), n, isa), kInf) << isa_name(isa) << " n=" << n;
        if (n == 1) continue;
        x[at] = kNaN;
        EXPECT_TRUE(std::isnan(cpu::vec::log_sum_exp(x.data(), n, isa)))
            << isa_name(isa) << " n=" << n;
        x[at] = -kInf;
        EXPECT_NEAR(cpu::vec::log_sum_exp(x.data(), n, isa), std::log(double(n - 1)) + 1.0, 1e-6)
            << isa_name(isa) << " n=" << n;
      }
      std::vector<float> lows(n, -kInf);
      EXPECT_EQ(cpu::vec::log_sum_exp(lows.data(), n, isa), -kInf) << isa_name(isa) << " n=" << n;
    }
    EXPECT_EQ(cpu::vec::log_sum_exp(nullptr, 0, isa), -kInf) << isa_name(isa);
  }
}

// --- float64 ------------------------------------------------------------

const double kInf64 = std::numeric_limits<double>::infinity();
const double kNaN64 = std::numeric_limits<double>::quiet_NaN();

int64_t ordered64(double d) {
  int64_t bits;
  std::memcpy(&bits, &d, sizeof(bits));
  return bits < 0 ? -(bits & INT64_MAX) : bits;
}

double from_bits64(uint64_t bits) {
  double d;
  std::memcpy(&d, &bits, sizeof(d));
  return d;
}

// As ulp_error, for doubles against a long double reference.
int64_t ulp_error64(double got, long double reference) {
  double ref = double(reference);
  if (std::isnan(ref) || std::isnan(got)) return std::isnan(ref) == std::isnan(got) ? 0 : INT32_MAX;
  if (std::isinf(ref) || std::isinf(got)) return ref == got ? 0 : INT32_MAX;
  int64_t d = ordered64(got) - ordered64(ref);
  return d < 0 ? -d : d;
}

long double reference64(MapOp op, double x) {
  const long double v = x;
  switch (op) {
    case MapOp::exp: return std::exp(v);
    case MapOp::log: return std::log(v);
    case MapOp::sigmoid: return 1.0L / (1.0L + std::exp(-v));
    case MapOp::tanh: return std::tanh(v);
    case MapOp::silu: return v / (1.0L + std::exp(-v));
  }
  return 0;
}

// Largest ulp error of op over x on isa, printing the worst input.
int64_t worst_ulp64(MapOp op, Isa isa, const std::vector<double>& x) {
  std::vector<double> y(x.size());
  cpu::vec::map(op, x.data(), y.data(), int64_t(x.size()), isa);
  int64_t worst = 0;
  double worst_x = 0, worst_y = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    // Below -708.4 silu is x times a subnormal sigmoid, which carries only a
    // few significant bits: checked absolutely there.
    if (op == MapOp::silu && x[i] < -708.4) {
      EXPECT_NEAR(y[i], double(reference64(op, x[i])),
                  -x[i] * std::numeric_limits<double>::denorm_min())
          << "silu(" << x[i] << ")";
      continue;
    }
    int64_t e = ulp_error64(y[i], reference64(op, x[i]));
    if (e > worst) worst = e, worst_x = x[i], worst_y = y[i];
  }
  if (worst > 0) {
    std::printf("  %s: worst %lld ulp at x=%.17g (got %.17g, want %.17Lg)\n", isa_name(isa),
                (long long)worst, worst_x, worst_y, reference64(op, worst_x));
  }
  return worst;
}

// Random bit patterns (every exponent, both signs, NaNs) plus uniform draws
// over [lo, hi), where most results are finite and non-zero.
std::vector<double> sample64(double lo, double hi, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> x;
  for (int i = 0; i < (1 << 18); ++i) x.push_back(from_bits64(rng()));
  for (int i = 0; i < (1 << 20); ++i) x.push_back(dist(rng));
  return x;
}

// `count` consecutive doubles from `start` upwards.
void append_run(std::vector<double>* x, double start, int count) {
  for (int i = 0; i < count; ++i, start = std::nextafter(start, kInf64)) x->push_back(start);
}

TEST(VecMath64, ExpWithinTwoUlp) {
  std::vector<double> x = sample64(-750.0, 712.0, 11);
  // The overflow edge, the start of gradual underflow and the underflow to
  // zero, where the two-factor scaling and the clamps matter.
  for (double edge : {709.782712893384, -708.3964185322641, -745.1332191019411, -744.44})
    append_run(&x, edge - 1e-12, 20000);
  for (Isa isa : supported_isas()) EXPECT_LE(worst_ulp64(MapOp::exp, isa, x), 2) << isa_name(isa);
}

TEST(VecMath64, LogWithinTwoUlp) {
  std::vector<double> x = sample64(0.0, 1e6, 12);
  append_run(&x, 1.0 - 1e-12, 20000);
  append_run(&x, 0.70710678118654746, 2000);
  for (uint64_t b = 1; b < (uint64_t(1) << 52); b = b * 3 + 1) x.push_back(from_bits64(b));
  for (Isa isa : supported_isas()) EXPECT_LE(worst_ulp64(MapOp::log, isa, x), 2) << isa_name(isa);
}

TEST(VecMath64, ActivationsWithinFewUlp) {
  std::vector<double> x = sample64(-40.0, 40.0, 13);
  std::vector<double> wide = sample64(-760.0, 760.0, 14);
  x.insert(x.end(), wide.begin(), wide.end());
  append_run(&x, -1e-9, 4000);
  for (Isa isa : supported_isas()) {
    EXPECT_LE(worst_ulp64(MapOp::sigmoid, isa, x), 3) << isa_name(isa);
    EXPECT_LE(worst_ulp64(MapOp::tanh, isa, x), 3) << isa_name(isa);
    EXPECT_LE(worst_ulp64(MapOp::silu, isa, x), 4) << isa_name(isa);
  }
}

TEST(VecMath64, SpecialValues) {
  const double sub = std::numeric_limits<double>::denorm_min();
  struct Case {
    MapOp op;
    double x, want;
  } cases[] = {
      {MapOp::exp, 0.0, 1.0},          {MapOp::exp, -0.0, 1.0},
      {MapOp::exp, kInf64, kInf64},    {MapOp::exp, -kInf64, 0.0},
      {MapOp::exp, kNaN64, kNaN64},    {MapOp::exp, 709.79, kInf64},
      {MapOp::exp, 1e300, kInf64},     {MapOp::exp, -745.2, 0.0},
      {MapOp::exp, -1e300, 0.0},       {MapOp::exp, sub, 1.0},
      {MapOp::log, 1.0, 0.0},          {MapOp::log, 0.0, -kInf64},
      {MapOp::log, -0.0, -kInf64},     {MapOp::log, -1.0, kNaN64},
      {MapOp::log, -kInf64, kNaN64},   {MapOp::log, kInf64, kInf64},
      {MapOp::log, kNaN64, kNaN64},    {MapOp::log, sub, std::log(sub)},
      {MapOp::sigmoid, kInf64, 1.0},   {MapOp::sigmoid, -kInf64, 0.0},
      {MapOp::sigmoid, kNaN64, kNaN64}, {MapOp::sigmoid, 0.0, 0.5},
      {MapOp::tanh, kInf64, 1.0},      {MapOp::tanh, -kInf64, -1.0},
      {MapOp::tanh, kNaN64, kNaN64},   {MapOp::tanh, 0.0, 0.0},
      {MapOp::tanh, sub, sub},         {MapOp::tanh, -sub, -sub},
      {MapOp::silu, kInf64, kInf64},   {MapOp::silu, -kInf64, kNaN64},
  };
  for (Isa isa : supported_isas()) {
    for (const Case& c : cases) {
      for (int64_t n : {int64_t(1), int64_t(19)}) {
        std::vector<double> x(n, c.x), y(n);
        cpu::vec::map(c.op, x.data(), y.data(), n, isa);
        for (double v : y) {
          if (std::isnan(c.want)) {
            EXPECT_TRUE(std::isnan(v)) << int(c.op) << "(" << c.x << ") on " << isa_name(isa);
          } else {
            EXPECT_EQ(v, c.want) << int(c.op) << "(" << c.x << ") on " << isa_name(isa);
            EXPECT_EQ(std::signbit(v), std::signbit(c.want)) << int(c.op) << "(" << c.x << ")";
          }
        }
      }
    }
  }
}

TEST(VecMath64, MaxAndExpSumMatchNaiveLoops) {
  std::mt19937 rng(9);
  std::normal_distribution<double> dist(0.0, 3.0);
  for (Isa isa : supported_isas()) {
    for (int64_t n : {0, 1, 3, 7, 8, 9, 17, 129, 1031, 65537}) {
      std::vector<double> x(n);
      for (double& v : x) v = dist(rng);
      const double shift = n ? *std::max_element(x.begin(), x.end()) : 0.0;
      EXPECT_EQ(cpu::vec::max(x.data(), n, isa), n ? shift : -kInf64) << isa_name(isa);
      long double want = 0;
      for (double v : x) want += std::exp(static_cast<long double>(v) - shift);
      std::vector<double> y(n, -1.0);
      double got = cpu::vec::exp_sum(x.data(), shift, y.data(), n, isa);
      EXPECT_NEAR(got, double(want), 1e-14 * double(want)) << isa_name(isa) << " n=" << n;
      EXPECT_EQ(cpu::vec::exp_sum(x.data(), shift, nullptr, n, isa), got);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_LE(ulp_error64(y[i], std::exp(static_cast<long double>(x[i] - shift))), 2)
            << "n=" << n << " i=" << i;
      if (n) {
        x[n / 2] = kNaN64;
        EXPECT_FALSE(std::isnan(cpu::vec::max(x.data(), n, isa))) << isa_name(isa);
      }
    }
  }
}

// affine with a == 1 or b == 0 (softmax's shift and scale) is exact: fused or
// not, it matches the plain difference or product bit for bit.
template <typename T>
void check_affine() {
  std::mt19937 rng(11);
  std::normal_distribution<T> dist(T(0), T(3));
  for (Isa isa : supported_isas())
    for (int64_t n : {0, 1, 3, 7, 8, 9, 15, 16, 17, 33, 129, 1031}) {
      std::vector<T> x(n);
      for (T& v : x) v = dist(rng);
      const T shift = T(0.7310585786300049), scale = T(1.0 / 3.0);
      std::vector<T> y(n);
      cpu::vec::affine(x.data(), T(1), -shift, y.data(), n, isa);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[i], x[i] - shift) << isa_name(isa) << " i=" << i;
      std::vector<T> z = x;
      cpu::vec::affine(z.data(), scale, T(0), z.data(), n, isa);
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(z[i], x[i] * scale) << isa_name(isa) << " i=" << i;
      cpu::vec::affine(x.data(), scale, shift, y.data(), n, isa);
      for (int64_t i = 0; i < n; ++i) {
        const double want = double(x[i]) * double(scale) + double(shift);
        ASSERT_NEAR(y[i], want, 4 * std::numeric_limits<T>::epsilon() * (std::fabs(want) + 1))
            << isa_name(isa) << " i=" << i;
      }
    }
}

TEST(VecMath, AffineExactForShiftAndScale) { check_affine<float>(); }
TEST(VecMath64, AffineExactForShiftAndScale) { check_affine<double>(); }

}  // namespace
}  // namespace ember
