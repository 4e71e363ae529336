// Vectorised float32 and float64 exp/log kernels (see vec_math.h). The maths
// is written once with GCC/Clang vector extensions of VB bytes; it becomes
// SSE2, AVX2+FMA or AVX-512 code depending on the target of the wrapper it is
// inlined into. The float32 exp kernels on AVX-512 have their own
// intrinsics bodies (vec_exp_avx512.cpp), since vscalefps has no
// vector-extension spelling.
#include "cpu/vec_math.h"

#include <climits>
#include <cmath>
#include <cstring>
#include <limits>

#include "cpu/vec_exp_avx512.h"

namespace ember {
namespace cpu {
namespace vec {

namespace {

// Every function taking or returning a vector is inlined into a wrapper
// built for the matching target, so no call passes vectors across the ABI
// that -Wpsabi warns about.
#pragma GCC diagnostic ignored "-Wpsabi"

#define EMBER_VEC_INLINE __attribute__((always_inline)) inline

// Float and int32 vectors of VB bytes (a dependent vector_size inside a class
// template is not supported by every compiler, hence the specialisations).
template <int VB>
struct VecTypes;
template <>
struct VecTypes<16> {
  typedef float F __attribute__((vector_size(16)));
  typedef int32_t I __attribute__((vector_size(16)));
};
template <>
struct VecTypes<32> {
  typedef float F __attribute__((vector_size(32)));
  typedef int32_t I __attribute__((vector_size(32)));
};
template <>
struct VecTypes<64> {
  typedef float F __attribute__((vector_size(64)));
  typedef int32_t I __attribute__((vector_size(64)));
};

// Bodies shared by the float (Vec) and double (VecD) vector types, which
// provide F, lanes, load, store and splat for their element type T.

// Four independent chains: one would wait on each compare-select.
template <typename V, typename T>
EMBER_VEC_INLINE T max_of(const T* x, int64_t n) {
  using F = typename V::F;
  constexpr int lanes = V::lanes;
  const T lowest = -std::numeric_limits<T>::infinity();
  F best = V::splat(lowest), best1 = best, best2 = best, best3 = best;
  int64_t i = 0;
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    F v0 = V::load(x + i), v1 = V::load(x + i + lanes);
    F v2 = V::load(x + i + 2 * lanes), v3 = V::load(x + i + 3 * lanes);
    best = v0 > best ? v0 : best;
    best1 = v1 > best1 ? v1 : best1;
    best2 = v2 > best2 ? v2 : best2;
    best3 = v3 > best3 ? v3 : best3;
  }
  best1 = best3 > best1 ? best3 : best1;
  best = best2 > best ? best2 : best;
  best = best1 > best ? best1 : best;
  for (; i + lanes <= n; i += lanes) {
    F v = V::load(x + i);
    best = v > best ? v : best;
  }
  T result = lowest;
  for (int j = 0; j < lanes; ++j) result = best[j] > result ? best[j] : result;
  for (; i < n; ++i) result = x[i] > result ? x[i] : result;
  return result;
}

// y = x * a + b.
template <typename V, typename T>
EMBER_VEC_INLINE void affine_of(const T* x, T a, T b, T* y, int64_t n) {
  int64_t i = 0;
  for (; i + V::lanes <= n; i += V::lanes) V::store(y + i, V::load(x + i) * a + b);
  for (; i < n; ++i) y[i] = x[i] * a + b;
}

template <int VB>
struct Vec {
  using F = typename VecTypes<VB>::F;
  using I = typename VecTypes<VB>::I;
  static constexpr int lanes = VB / int(sizeof(float));

  static EMBER_VEC_INLINE F load(const float* p) {
    F v;
    std::memcpy(&v, p, VB);
    return v;
  }
  static EMBER_VEC_INLINE void store(float* p, const F& v) { std::memcpy(p, &v, VB); }
  static EMBER_VEC_INLINE F splat(float s) { return F{} + s; }

  // exp(x) = 2^n * exp(r) with n = round(x / ln2) and |r| <= ln2 / 2; ln2 is
  // split so that n * kLn2Hi is exact. 2^n is applied as two factors so that
  // results in the subnormal range round once, from the polynomial.
  static EMBER_VEC_INLINE F exp(const F& x) {
    const float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
    const float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
    F xc = x > 89.0f ? splat(89.0f) : x;
    xc = xc < -104.0f ? splat(-104.0f) : xc;
    xc = x == x ? xc : splat(0.0f);
    F n = (xc * kLog2e + kRound) - kRound;
    F r = xc - n * kLn2Hi;
    r = r - n * kLn2Lo;
    F p = splat(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    I ni = __builtin_convertvector(n, I);
    I half = ni >> 1;
    F scale_a = (F)((half + 127) << 23);
    F scale_b = (F)((ni - half + 127) << 23);
    F y = p * scale_a * scale_b;
    return x == x ? y : x;
  }

  // log(x) = e * ln2 + log(m) with m in [sqrt(1/2), sqrt(2)); subnormal
  // inputs are scaled by 2^23 first so that the exponent field is meaningful.
  static EMBER_VEC_INLINE F log(const F& x) {
    const float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
    I tiny = x < std::numeric_limits<float>::min();
    F xs = tiny ? x * 8388608.0f : x;
    I bits = (I)xs;
    I exponent = ((bits >> 23) & 0xff) - 126;
    exponent = tiny ? exponent - 23 : exponent;
    F m = (F)((bits & 0x007fffff) | 0x3f000000);
    F e = __builtin_convertvector(exponent, F);
    I below = m < 0.707106781186547524f;
    e = below ? e - 1.0f : e;
    F t = below ? m + m - 1.0f : m - 1.0f;
    F z = t * t;
    F p = splat(7.0376836292e-2f);
    p = p * t - 1.1514610310e-1f;
    p = p * t + 1.1676998740e-1f;
    p = p * t - 1.2420140846e-1f;
    p = p * t + 1.4249322787e-1f;
    p = p * t - 1.6668057665e-1f;
    p = p * t + 2.0000714765e-1f;
    p = p * t - 2.4999993993e-1f;
    p = p * t + 3.3333331174e-1f;
    F y = p * t * z + e * kLn2Lo - 0.5f * z;
    y = t + y + e * kLn2Hi;
    const float inf = std::numeric_limits<float>::infinity();
    y = x == 0.0f ? splat(-inf) : y;
    y = x < 0.0f ? splat(std::numeric_limits<float>::quiet_NaN()) : y;
    y = x == inf ? splat(inf) : y;
    return x == x ? y : x;
  }

  static EMBER_VEC_INLINE F abs(const F& x) { return (F)((I)x & INT32_MAX); }
  static EMBER_VEC_INLINE F copy_sign(const F& magnitude, const F& sign) {
    return (F)((I)magnitude | ((I)sign & INT32_MIN));
  }

  // Written through exp(-|x|) so that it never overflows and keeps full
  // relative accuracy for large negative x.
  static EMBER_VEC_INLINE F sigmoid(const F& x) {
    F e = exp(-abs(x));
    F s = 1.0f / (1.0f + e);
    return x >= 0.0f ? s : e * s;
  }

  // A polynomial near 0, where 1 - 2 / (exp(2|x|) + 1) would cancel.
  static EMBER_VEC_INLINE F tanh(const F& x) {
    F a = abs(x);
    F z = x * x;
    F p = splat(-5.70498872745e-3f);
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    F small = p * z * x + x;
    F large = copy_sign(1.0f - 2.0f / (exp(a + a) + 1.0f), x);
    return a < 0.625f ? small : large;
  }

  template <MapOp op>
  static EMBER_VEC_INLINE F apply(const F& x) {
    if constexpr (op == MapOp::exp) return exp(x);
    if constexpr (op == MapOp::log) return log(x);
    if constexpr (op == MapOp::sigmoid) return sigmoid(x);
    if constexpr (op == MapOp::tanh) return tanh(x);
    if constexpr (op == MapOp::silu) return x * sigmoid(x);
  }

  template <MapOp op>
  static EMBER_VEC_INLINE void map_loop(const float* x, float* y, int64_t n) {
    int64_t i = 0;
    for (; i + lanes <= n; i += lanes) store(y + i, apply<op>(load(x + i)));
    if (i == n) return;
    float buffer[lanes] = {};
    std::memcpy(buffer, x + i, (n - i) * sizeof(float));
    store(buffer, apply<op>(load(buffer)));
    std::memcpy(y + i, buffer, (n - i) * sizeof(float));
  }

  static EMBER_VEC_INLINE void map(MapOp op, const float* x, float* y, int64_t n) {
    switch (op) {
      case MapOp::exp: return map_loop<MapOp::exp>(x, y, n);
      case MapOp::log: return map_loop<MapOp::log>(x, y, n);
      case MapOp::sigmoid: return map_loop<MapOp::sigmoid>(x, y, n);
      case MapOp::tanh: return map_loop<MapOp::tanh>(x, y, n);
      case MapOp::silu: return map_loop<MapOp::silu>(x, y, n);
    }
  }

  static EMBER_VEC_INLINE float max(const float* x, int64_t n) { return max_of<Vec, float>(x, n); }

  // Each lane sums a few terms in float, then the lanes are added into
  // double totals: short float chains keep the error near one rounding.
  static EMBER_VEC_INLINE void affine(const float* x, float a, float b, float* y, int64_t n) {
    affine_of<Vec, float>(x, a, b, y, n);
  }

  static EMBER_VEC_INLINE double exp_sum(const float* x, float shift, float* y, int64_t n) {
    constexpr int kFlushEvery = 8;
    double lane_total[lanes] = {};
    int64_t i = 0;
    while (i + lanes <= n) {
      F acc = {};
      for (int k = 0; k < kFlushEvery && i + lanes <= n; ++k, i += lanes) {
        F e = exp(load(x + i) - shift);
        if (y) store(y + i, e);
        acc += e;
      }
      for (int j = 0; j < lanes; ++j) lane_total[j] += acc[j];
    }
    double total = 0;
    for (int j = 0; j < lanes; ++j) total += lane_total[j];
    if (i == n) return total;
    float buffer[lanes] = {};
    std::memcpy(buffer, x + i, (n - i) * sizeof(float));
    store(buffer, exp(load(buffer) - shift));
    for (int64_t j = 0; j < n - i; ++j) total += buffer[j];
    if (y) std::memcpy(y + i, buffer, (n - i) * sizeof(float));
    return total;
  }
};

void map_generic(MapOp op, const float* x, float* y, int64_t n) { Vec<16>::map(op, x, y, n); }
void affine_generic(const float* x, float a, float b, float* y, int64_t n) {
  Vec<16>::affine(x, a, b, y, n);
}
float max_generic(const float* x, int64_t n) { return Vec<16>::max(x, n); }
double exp_sum_generic(const float* x, float shift, float* y, int64_t n) {
  return Vec<16>::exp_sum(x, shift, y, n);
}

__attribute__((target("avx2,fma"))) void map_avx2(MapOp op, const float* x, float* y,
                                                  int64_t n) {
  Vec<32>::map(op, x, y, n);
}
__attribute__((target("avx2,fma"))) void affine_avx2(const float* x, float a, float b, float* y,
                                                     int64_t n) {
  Vec<32>::affine(x, a, b, y, n);
}
__attribute__((target("avx2,fma"))) float max_avx2(const float* x, int64_t n) {
  return Vec<32>::max(x, n);
}
__attribute__((target("avx2,fma"))) double exp_sum_avx2(const float* x, float shift, float* y,
                                                        int64_t n) {
  return Vec<32>::exp_sum(x, shift, y, n);
}

__attribute__((target("avx512f"))) void map_avx512(MapOp op, const float* x, float* y,
                                                   int64_t n) {
  if (op == MapOp::exp) return avx512::map_exp(x, y, n);
  Vec<64>::map(op, x, y, n);
}
__attribute__((target("avx512f"))) void affine_avx512(const float* x, float a, float b, float* y,
                                                      int64_t n) {
  Vec<64>::affine(x, a, b, y, n);
}
__attribute__((target("avx512f"))) float max_avx512(const float* x, int64_t n) {
  return Vec<64>::max(x, n);
}
double exp_sum_avx512(const float* x, float shift, float* y, int64_t n) {
  return avx512::exp_sum(x, shift, y, n);
}

// Double and int64 vectors of VB bytes.
template <int VB>
struct VecTypesD;
template <>
struct VecTypesD<16> {
  typedef double F __attribute__((vector_size(16)));
  typedef int64_t I __attribute__((vector_size(16)));
  typedef uint64_t U __attribute__((vector_size(16)));
};
template <>
struct VecTypesD<32> {
  typedef double F __attribute__((vector_size(32)));
  typedef int64_t I __attribute__((vector_size(32)));
  typedef uint64_t U __attribute__((vector_size(32)));
};
template <>
struct VecTypesD<64> {
  typedef double F __attribute__((vector_size(64)));
  typedef int64_t I __attribute__((vector_size(64)));
  typedef uint64_t U __attribute__((vector_size(64)));
};

// The float64 kernels. Integer <-> double conversions go through the bits of
// 1.5 * 2^52 (whose low mantissa bits hold a small integer exactly), since
// packed int64 conversions need AVX-512DQ and would otherwise be scalarised.
template <int VB>
struct VecD {
  using F = typename VecTypesD<VB>::F;
  using I = typename VecTypesD<VB>::I;
  using U = typename VecTypesD<VB>::U;
  static constexpr int lanes = VB / int(sizeof(double));
  static constexpr double kRound = 6755399441055744.0;  // 1.5 * 2^52

  static EMBER_VEC_INLINE F load(const double* p) {
    F v;
    std::memcpy(&v, p, VB);
    return v;
  }
  static EMBER_VEC_INLINE void store(double* p, const F& v) { std::memcpy(p, &v, VB); }
  static EMBER_VEC_INLINE F splat(double s) { return F{} + s; }
  static EMBER_VEC_INLINE I to_int(const F& integral) {
    return (I)(integral + kRound) - (I)splat(kRound);
  }
  static EMBER_VEC_INLINE F to_double(const I& i) { return (F)(i + (I)splat(kRound)) - kRound; }
  // 2^e for -1022 <= e <= 1023, built in the exponent field.
  static EMBER_VEC_INLINE F pow2(const I& e) { return (F)((e + 1023) << 52); }

  // exp(x) = 2^n * exp(r) with n = round(x / ln2) and |r| <= ln2 / 2 (ln2 is
  // split so that n * kLn2Hi is exact); exp(r) is its Taylor polynomial of
  // degree 13, whose truncation error is below 1e-17. 2^n is applied as two
  // factors so that subnormal results round once.
  static EMBER_VEC_INLINE F exp(const F& x) {
    const double kLog2e = 1.4426950408889634, kLn2Hi = 6.93147180369123816490e-01,
                 kLn2Lo = 1.90821492927058770002e-10;
    F xc = x > 710.0 ? splat(710.0) : x;
    xc = xc < -746.0 ? splat(-746.0) : xc;
    xc = x == x ? xc : splat(0.0);
    F n = (xc * kLog2e + kRound) - kRound;
    F r = xc - n * kLn2Hi;
    r = r - n * kLn2Lo;
    F p = splat(1.0 / 6227020800.0);
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * (r * r) + r + 1.0;
    I ni = to_int(n);
    // n lies in [-1076, 1025]: halving n + 2048 with a logical shift (packed
    // arithmetic shifts of int64 need AVX-512) gives floor(n / 2) + 1024.
    I half = (I)((U)(ni + 2048) >> 1) - 1024;
    F y = p * pow2(half) * pow2(ni - half);
    return x == x ? y : x;
  }

  // log(x) = e * ln2 + log1p(f) with 1 + f in [sqrt(1/2), sqrt(2)), and
  // log1p(f) = 2s + s * R(s^2) with s = f / (2 + f) (the fdlibm reduction and
  // coefficients, < 1 ulp). Subnormal inputs are scaled by 2^54 first so
  // that the exponent field is meaningful.
  static EMBER_VEC_INLINE F log(const F& x) {
    const double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
    I tiny = x < std::numeric_limits<double>::min();
    F xs = tiny ? x * 18014398509481984.0 : x;
    I bits = (I)xs;
    I exponent = (I)(((U)bits >> 52) & 0x7ff) - 1022;
    exponent = tiny ? exponent - 54 : exponent;
    F m = (F)((bits & 0x000fffffffffffffLL) | 0x3fe0000000000000LL);
    I below = m < 0.70710678118654752440;
    exponent = below ? exponent - 1 : exponent;
    F f = below ? m + m - 1.0 : m - 1.0;
    F e = to_double(exponent);
    F s = f / (2.0 + f);
    F z = s * s;
    F w = z * z;
    F t1 = w * (3.999999999940941908e-01 +
                w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    F t2 = z * (6.666666666666735130e-01 +
                w * (2.857142874366239149e-01 +
                     w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    F hfsq = 0.5 * f * f;
    F y = e * kLn2Hi - ((hfsq - (s * (hfsq + (t1 + t2)) + e * kLn2Lo)) - f);
    const double inf = std::numeric_limits<double>::infinity();
    y = x == 0.0 ? splat(-inf) : y;
    y = x < 0.0 ? splat(std::numeric_limits<double>::quiet_NaN()) : y;
    y = x == inf ? splat(inf) : y;
    return x == x ? y : x;
  }

  static EMBER_VEC_INLINE F abs(const F& x) { return (F)((I)x & INT64_MAX); }
  static EMBER_VEC_INLINE F copy_sign(const F& magnitude, const F& sign) {
    return (F)((I)magnitude | ((I)sign & INT64_MIN));
  }

  static EMBER_VEC_INLINE F sigmoid(const F& x) {
    F e = exp(-abs(x));
    F s = 1.0 / (1.0 + e);
    return x >= 0.0 ? s : e * s;
  }

  // expm1(y) for 0 <= y <= 40: 2^n * expm1(r) + (2^n - 1), with expm1(r)
  // written as r + r^2 * (...) so that small y keep full relative accuracy.
  static EMBER_VEC_INLINE F expm1_nonnegative(const F& y) {
    const double kLog2e = 1.4426950408889634, kLn2Hi = 6.93147180369123816490e-01,
                 kLn2Lo = 1.90821492927058770002e-10;
    F n = (y * kLog2e + kRound) - kRound;
    F r = y - n * kLn2Hi;
    r = r - n * kLn2Lo;
    F p = splat(1.0 / 6227020800.0);
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    F em1 = p * (r * r) + r;
    F scale = pow2(to_int(n));
    return scale * em1 + (scale - 1.0);
  }

  // tanh(|x|) = expm1(2|x|) / (expm1(2|x|) + 2), which does not cancel near
  // 0; above 20 the result rounds to 1.
  static EMBER_VEC_INLINE F tanh(const F& x) {
    F a = abs(x);
    a = a > 20.0 ? splat(20.0) : a;
    F em = expm1_nonnegative(a + a);
    F y = copy_sign(em / (em + 2.0), x);
    return x == x ? y : x;
  }

  template <MapOp op>
  static EMBER_VEC_INLINE F apply(const F& x) {
    if constexpr (op == MapOp::exp) return exp(x);
    if constexpr (op == MapOp::log) return log(x);
    if constexpr (op == MapOp::sigmoid) return sigmoid(x);
    if constexpr (op == MapOp::tanh) return tanh(x);
    if constexpr (op == MapOp::silu) return x * sigmoid(x);
  }

  template <MapOp op>
  static EMBER_VEC_INLINE void map_loop(const double* x, double* y, int64_t n) {
    int64_t i = 0;
    for (; i + lanes <= n; i += lanes) store(y + i, apply<op>(load(x + i)));
    if (i == n) return;
    double buffer[lanes] = {};
    std::memcpy(buffer, x + i, (n - i) * sizeof(double));
    store(buffer, apply<op>(load(buffer)));
    std::memcpy(y + i, buffer, (n - i) * sizeof(double));
  }

  static EMBER_VEC_INLINE void map(MapOp op, const double* x, double* y, int64_t n) {
    switch (op) {
      case MapOp::exp: return map_loop<MapOp::exp>(x, y, n);
      case MapOp::log: return map_loop<MapOp::log>(x, y, n);
      case MapOp::sigmoid: return map_loop<MapOp::sigmoid>(x, y, n);
      case MapOp::tanh: return map_loop<MapOp::tanh>(x, y, n);
      case MapOp::silu: return map_loop<MapOp::silu>(x, y, n);
    }
  }

  static EMBER_VEC_INLINE double max(const double* x, int64_t n) {
    return max_of<VecD, double>(x, n);
  }

  static EMBER_VEC_INLINE void affine(const double* x, double a, double b, double* y,
                                     int64_t n) {
    affine_of<VecD, double>(x, a, b, y, n);
  }

  static EMBER_VEC_INLINE double exp_sum(const double* x, double shift, double* y, int64_t n) {
    F acc = {};
    int64_t i = 0;
    for (; i + lanes <= n; i += lanes) {
      F e = exp(load(x + i) - shift);
      if (y) store(y + i, e);
      acc += e;
    }
    double total = 0;
    for (int j = 0; j < lanes; ++j) total += acc[j];
    if (i == n) return total;
    double buffer[lanes] = {};
    std::memcpy(buffer, x + i, (n - i) * sizeof(double));
    store(buffer, exp(load(buffer) - shift));
    for (int64_t j = 0; j < n - i; ++j) total += buffer[j];
    if (y) std::memcpy(y + i, buffer, (n - i) * sizeof(double));
    return total;
  }
};

void map_generic(MapOp op, const double* x, double* y, int64_t n) { VecD<16>::map(op, x, y, n); }
void affine_generic(const double* x, double a, double b, double* y, int64_t n) {
  VecD<16>::affine(x, a, b, y, n);
}
double max_generic(const double* x, int64_t n) { return VecD<16>::max(x, n); }
double exp_sum_generic(const double* x, double shift, double* y, int64_t n) {
  return VecD<16>::exp_sum(x, shift, y, n);
}

__attribute__((target("avx2,fma"))) void map_avx2(MapOp op, const double* x, double* y,
                                                  int64_t n) {
  VecD<32>::map(op, x, y, n);
}
__attribute__((target("avx2,fma"))) void affine_avx2(const double* x, double a, double b, double* y,
                                                     int64_t n) {
  VecD<32>::affine(x, a, b, y, n);
}
__attribute__((target("avx2,fma"))) double max_avx2(const double* x, int64_t n) {
  return VecD<32>::max(x, n);
}
__attribute__((target("avx2,fma"))) double exp_sum_avx2(const double* x, double shift,
                                                        double* y, int64_t n) {
  return VecD<32>::exp_sum(x, shift, y, n);
}

__attribute__((target("avx512f"))) void map_avx512(MapOp op, const double* x, double* y,
                                                   int64_t n) {
  VecD<64>::map(op, x, y, n);
}
__attribute__((target("avx512f"))) void affine_avx512(const double* x, double a, double b,
                                                      double* y, int64_t n) {
  VecD<64>::affine(x, a, b, y, n);
}
__attribute__((target("avx512f"))) double max_avx512(const double* x, int64_t n) {
  return VecD<64>::max(x, n);
}
__attribute__((target("avx512f"))) double exp_sum_avx512(const double* x, double shift,
                                                         double* y, int64_t n) {
  return VecD<64>::exp_sum(x, shift, y, n);
}

Isa detect_best() {
  if (isa_supported(Isa::avx512)) return Isa::avx512;
  if (isa_supported(Isa::avx2)) return Isa::avx2;
  return Isa::generic;
}

}  // namespace

bool isa_supported(Isa isa) {
  __builtin_cpu_init();
  switch (isa) {
    case Isa::generic: return true;
    case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512: return __builtin_cpu_supports("avx512f");
  }
  return false;
}

Isa best_isa() {
  static const Isa best = detect_best();
  return best;
}

void map(MapOp op, const float* x, float* y, int64_t n, Isa isa) {
  switch (isa) {
    case Isa::avx512: return map_avx512(op, x, y, n);
    case Isa::avx2: return map_avx2(op, x, y, n);
    case Isa::generic: break;
  }
  map_generic(op, x, y, n);
}

float max(const float* x, int64_t n, Isa isa) {
  switch (isa) {
    case Isa::avx512: return max_avx512(x, n);
    case Isa::avx2: return max_avx2(x, n);
    case Isa::generic: break;
  }
  return max_generic(x, n);
}

double exp_sum(const float* x, float shift, float* y, int64_t n, Isa isa) {
  switch (isa) {
    case Isa::avx512: return exp_sum_avx512(x, shift, y, n);
    case Isa::avx2: return exp_sum_avx2(x, shift, y, n);
    case Isa::generic: break;
  }
  return exp_sum_generic(x, shift, y, n);
}

double log_sum_exp(const float* x, int64_t n, Isa isa) {
  if (isa == Isa::avx512) {
    const double one_pass = avx512::log_sum_exp(x, n);
    if (std::isfinite(one_pass)) return one_pass;
  }
  const float peak = max(x, n, isa);
  if (std::isinf(peak)) return peak;
  return peak + std::log(exp_sum(x, peak, nullptr, n, isa));
}

void affine(const float* x, float a, float b, float* y, int64_t n, Isa isa) {
  switch (isa) {
    case Isa::avx512: return affine_avx512(x, a, b, y, n);
    case Isa::avx2: return affine_avx2(x, a, b, y, n);
    case Isa::generic: break;
  }
  affine_generic(x, a, b, y, n);
}

void map(MapOp op, const double* x, double* y, int64_t n, Isa isa) {
  switch (isa) {
    case Isa::avx512: return map_avx512(op, x, y, n);
    case Isa::avx2: return map_avx2(op, x, y, n);
    case Isa::generic: break;
  }
  map_generic(op, x, y, n);
}

double max(const double* x, int64_t n, Isa isa) {
  switch (isa) {
    case Isa::avx512: return max_avx512(x, n);
    case Isa::avx2: return max_avx2(x, n);
    case Isa::generic: break;
  }
  return max_generic(x, n);
}

double exp_sum(const double* x, double shift, double* y, int64_t n, Isa isa) {
  switch (isa) {
    case Isa::avx512: return exp_sum_avx512(x, shift, y, n);
    case Isa::avx2: return exp_sum_avx2(x, shift, y, n);
    case Isa::generic: break;
  }
  return exp_sum_generic(x, shift, y, n);
}

void affine(const double* x, double a, double b, double* y, int64_t n, Isa isa) {
  switch (isa) {
    case Isa::avx512: return affine_avx512(x, a, b, y, n);
    case Isa::avx2: return affine_avx2(x, a, b, y, n);
    case Isa::generic: break;
  }
  affine_generic(x, a, b, y, n);
}

}  // namespace vec
}  // namespace cpu
}  // namespace ember
