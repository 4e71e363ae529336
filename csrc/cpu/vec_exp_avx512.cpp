// The float32 exp kernels for AVX-512 (see vec_exp_avx512.h), written with
// intrinsics: vscalefps, which scales by 2^n with overflow to inf and gradual
// underflow in one instruction, has no vector-extension spelling.
#include "cpu/vec_exp_avx512.h"

#include <cmath>
#include <limits>

#include "cpu/avx512_intrinsics.h"

namespace ember {
namespace cpu {
namespace vec {
namespace avx512 {

#define EMBER_AVX512_INLINE __attribute__((target("avx512f"), always_inline)) inline

namespace {

// exp(x) = 2^n * exp(r) with n = round(x / ln2), |r| <= ln2 / 2, in 12 vector
// instructions instead of the ~30 of vec_math.cpp's shared body. ln2 is split into
// kLn2Hi = float(ln2) and the remainder kLn2Lo: for |x| >= 1/2, x and n * kLn2Hi
// are multiples of 2^-24 whose difference is below 1/2, so the first FMA is
// exact. exp(r) = 1 + r + r^2 * q(r) with q of degree 4 fitted for minimal
// relative error (3e-9); with c0 = c1 = 1 exact the Horner rounding stays
// under 0.75 ulp. vscalefps applies 2^n with one rounding, giving inf above
// the float range and gradual underflow to 0 below it, so only the clamp
// that keeps x * log2e and r finite is needed; min/max with x as the second
// operand pass NaN through.
EMBER_AVX512_INLINE __m512 exp_avx512(__m512 x) {
  const __m512 kLog2e = _mm512_set1_ps(1.44269504088896341f);
  const __m512 kLn2Hi = _mm512_set1_ps(0.693147182464599609375f);
  const __m512 kLn2Lo = _mm512_set1_ps(-1.904654323148236e-09f);
  x = _mm512_max_ps(_mm512_set1_ps(-104.0f), _mm512_min_ps(_mm512_set1_ps(89.0f), x));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, kLog2e),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, kLn2Hi, x);
  r = _mm512_fnmadd_ps(n, kLn2Lo, r);
  __m512 p = _mm512_set1_ps(1.3814612757e-3f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3687100559e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1668388993e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666521132e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.9999994040e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// The low and high 8 lanes of v, widened to double.
EMBER_AVX512_INLINE __m512d low_half(__m512 v) {
  return _mm512_cvtps_pd(_mm512_castps512_ps256(v));
}
EMBER_AVX512_INLINE __m512d high_half(__m512 v) {
  return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
}

// The reference maxima m of the one-pass log-sum-exp move to the running
// maxima `grown` only in lanes where these exceed them by more than kSlack:
// exps of up to e^16 (9e6) sum safely in float, and the double partial sums
// lo, hi (scaled by exp(m_old - m_new) when m moves) then rarely need it,
// about once per row for logits.
constexpr float kSlack = 16.0f;
EMBER_AVX512_INLINE void raise(__m512& m, __m512 grown, __m512d& lo, __m512d& hi) {
  const __mmask16 grew =
      _mm512_cmp_ps_mask(grown, _mm512_add_ps(m, _mm512_set1_ps(kSlack)), _CMP_GT_OQ);
  if (!grew) return;
  // The other lanes get exp(0) = 1 exactly.
  const __m512 f = exp_avx512(_mm512_maskz_sub_ps(grew, m, grown));
  m = _mm512_mask_mov_ps(m, grew, grown);
  lo = _mm512_mul_pd(lo, low_half(f));
  hi = _mm512_mul_pd(hi, high_half(f));
}

}  // namespace

__attribute__((target("avx512f"))) void map_exp(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, exp_avx512(_mm512_loadu_ps(x + i)));
  if (i == n) return;
  // Masked loads and stores do not fault on the lanes past the end.
  const __mmask16 tail = __mmask16((1u << (n - i)) - 1);
  _mm512_mask_storeu_ps(y + i, tail, exp_avx512(_mm512_maskz_loadu_ps(tail, x + i)));
}

// As vec_math.cpp's Vec::exp_sum: each lane sums up to eight terms in float before they are
// widened into two double accumulators.
__attribute__((target("avx512f"))) double exp_sum(const float* x, float shift, float* y,
                                                  int64_t n) {
  constexpr int kFlushEvery = 8;
  const __m512 s = _mm512_set1_ps(shift);
  __m512d total_lo = _mm512_setzero_pd(), total_hi = _mm512_setzero_pd();
  int64_t i = 0;
  while (i + 16 <= n) {
    __m512 acc = _mm512_setzero_ps();
    for (int k = 0; k < kFlushEvery && i + 16 <= n; ++k, i += 16) {
      __m512 e = exp_avx512(_mm512_sub_ps(_mm512_loadu_ps(x + i), s));
      if (y) _mm512_storeu_ps(y + i, e);
      acc = _mm512_add_ps(acc, e);
    }
    total_lo = _mm512_add_pd(total_lo, low_half(acc));
    total_hi = _mm512_add_pd(total_hi, high_half(acc));
  }
  if (i < n) {
    const __mmask16 tail = __mmask16((1u << (n - i)) - 1);
    __m512 e = exp_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(tail, x + i), s));
    if (y) _mm512_mask_storeu_ps(y + i, tail, e);
    e = _mm512_maskz_mov_ps(tail, e);
    total_lo = _mm512_add_pd(total_lo, low_half(e));
    total_hi = _mm512_add_pd(total_hi, high_half(e));
  }
  return _mm512_reduce_add_pd(_mm512_add_pd(total_lo, total_hi));
}

// One pass of the online log-sum-exp: blocks of kBlock vectors are loaded
// once, their lane maxima may raise the reference maxima m, and their exps
// are taken against m. The loads of one block overlap the exps of the
// previous one, where max-then-exp_sum waits on memory in the first pass and
// computes in the second. m starts at the lowest finite float, so that -inf
// elements give exp(-inf) = 0. Returns a non-finite value whenever x holds a
// NaN or +inf or nothing but -inf (or n == 0); the caller then takes the
// two-pass path.
__attribute__((target("avx512f"))) double log_sum_exp(const float* x, int64_t n) {
  constexpr int kBlock = 8;
  __m512 m = _mm512_set1_ps(std::numeric_limits<float>::lowest());
  __m512d lo = _mm512_setzero_pd(), hi = _mm512_setzero_pd();
  int64_t i = 0;
  for (; i + 16 * kBlock <= n; i += 16 * kBlock) {
    __m512 v[kBlock];
    __m512 grown = m;
    // max(v, grown) returns grown when v is NaN: NaN never becomes a maximum.
    for (int k = 0; k < kBlock; ++k) {
      v[k] = _mm512_loadu_ps(x + i + 16 * k);
      grown = _mm512_max_ps(v[k], grown);
    }
    raise(m, grown, lo, hi);
    __m512 acc = _mm512_setzero_ps();
    for (int k = 0; k < kBlock; ++k) acc = _mm512_add_ps(acc, exp_avx512(_mm512_sub_ps(v[k], m)));
    lo = _mm512_add_pd(lo, low_half(acc));
    hi = _mm512_add_pd(hi, high_half(acc));
  }
  for (; i < n; i += 16) {
    const __mmask16 live = n - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - i)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(live, x + i);
    raise(m, _mm512_mask_max_ps(m, live, v, m), lo, hi);
    const __m512 e = _mm512_maskz_mov_ps(live, exp_avx512(_mm512_sub_ps(v, m)));
    lo = _mm512_add_pd(lo, low_half(e));
    hi = _mm512_add_pd(hi, high_half(e));
  }
  const float peak = _mm512_reduce_max_ps(m);
  if (!std::isfinite(peak)) return peak;
  const __m512 f = exp_avx512(_mm512_sub_ps(m, _mm512_set1_ps(peak)));
  lo = _mm512_mul_pd(lo, low_half(f));
  hi = _mm512_mul_pd(hi, high_half(f));
  return peak + std::log(_mm512_reduce_add_pd(_mm512_add_pd(lo, hi)));
}

}  // namespace avx512
}  // namespace vec
}  // namespace cpu
}  // namespace ember
