// The FMA probe (see peak.h). Each thread runs kChains independent chains
// acc = acc * a + b: enough to cover the FMA latency times the number of FMA
// pipes (4 cycles x 2 pipes on current x86 cores), so throughput, not
// latency, bounds it. The chains converge to b / (1 - a) and never overflow
// or go subnormal.
#include "cpu/peak.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <vector>

namespace ember {
namespace cpu {

namespace {

constexpr int kChains = 12;
constexpr int64_t kBlock = 1 << 14;  // iterations between clock reads

using Clock = std::chrono::steady_clock;

// Whether the probe should run another block; stores the time so far. The
// loops live in the target-specific functions themselves (a lambda would not
// inherit their target and could not inline the intrinsics).
bool keep_going(Clock::time_point start, double seconds, double* elapsed) {
  *elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return *elapsed < seconds;
}

// Each probe returns the FLOP done and folds its chains into `sink`, which
// the caller reads so that the chains cannot be optimised away.
__attribute__((target("avx512f"))) double probe_avx512(double seconds, double* elapsed,
                                                       float* sink) {
  const __m512 a = _mm512_set1_ps(0.999f), b = _mm512_set1_ps(1e-3f);
  __m512 acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = _mm512_set1_ps(float(k));
  int64_t iterations = 0;
  const auto start = Clock::now();
  do {
    for (int64_t i = 0; i < kBlock; ++i)
      for (int k = 0; k < kChains; ++k) acc[k] = _mm512_fmadd_ps(acc[k], a, b);
    iterations += kBlock;
  } while (keep_going(start, seconds, elapsed));
  __m512 total = acc[0];
  for (int k = 1; k < kChains; ++k) total = _mm512_add_ps(total, acc[k]);
  float lanes[16];
  _mm512_storeu_ps(lanes, total);
  *sink = 0;
  for (float v : lanes) *sink += v;
  return 2.0 * 16 * kChains * double(iterations);
}

__attribute__((target("avx2,fma"))) double probe_avx2(double seconds, double* elapsed,
                                                      float* sink) {
  const __m256 a = _mm256_set1_ps(0.999f), b = _mm256_set1_ps(1e-3f);
  __m256 acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = _mm256_set1_ps(float(k));
  int64_t iterations = 0;
  const auto start = Clock::now();
  do {
    for (int64_t i = 0; i < kBlock; ++i)
      for (int k = 0; k < kChains; ++k) acc[k] = _mm256_fmadd_ps(acc[k], a, b);
    iterations += kBlock;
  } while (keep_going(start, seconds, elapsed));
  __m256 total = acc[0];
  for (int k = 1; k < kChains; ++k) total = _mm256_add_ps(total, acc[k]);
  float lanes[8];
  _mm256_storeu_ps(lanes, total);
  *sink = 0;
  for (float v : lanes) *sink += v;
  return 2.0 * 8 * kChains * double(iterations);
}

// SSE2 has no FMA: a multiply and an add, counted as the same two FLOP.
double probe_generic(double seconds, double* elapsed, float* sink) {
  const __m128 a = _mm_set1_ps(0.999f), b = _mm_set1_ps(1e-3f);
  __m128 acc[kChains];
  for (int k = 0; k < kChains; ++k) acc[k] = _mm_set1_ps(float(k));
  int64_t iterations = 0;
  const auto start = Clock::now();
  do {
    for (int64_t i = 0; i < kBlock; ++i)
      for (int k = 0; k < kChains; ++k) acc[k] = _mm_add_ps(_mm_mul_ps(acc[k], a), b);
    iterations += kBlock;
  } while (keep_going(start, seconds, elapsed));
  __m128 total = acc[0];
  for (int k = 1; k < kChains; ++k) total = _mm_add_ps(total, acc[k]);
  float lanes[4];
  _mm_storeu_ps(lanes, total);
  *sink = 0;
  for (float v : lanes) *sink += v;
  return 2.0 * 4 * kChains * double(iterations);
}

double probe(vec::Isa isa, double seconds, double* elapsed, float* sink) {
  switch (isa) {
    case vec::Isa::avx512: return probe_avx512(seconds, elapsed, sink);
    case vec::Isa::avx2: return probe_avx2(seconds, elapsed, sink);
    case vec::Isa::generic: break;
  }
  return probe_generic(seconds, elapsed, sink);
}

}  // namespace

double fma_peak_gflops(int threads, double seconds, vec::Isa isa) {
  threads = std::max(threads, 1);
  if (!vec::isa_supported(isa)) isa = vec::best_isa();
  std::vector<double> flop(threads, 0.0), elapsed(threads, 0.0);
  std::vector<float> sink(threads, 0.0f);
  // Exactly `threads` threads, one chain set each (parallel_for would cap
  // the count at the pool size and split work rather than time).
#pragma omp parallel num_threads(threads)
  {
    const int id = omp_get_thread_num();
    if (id < threads) flop[id] = probe(isa, seconds, &elapsed[id], &sink[id]);
  }
  double total = 0, longest = 0;
  for (int t = 0; t < threads; ++t) {
    total += flop[t];
    longest = std::max(longest, elapsed[t]);
  }
  // The chains converge to b / (1 - a): a sink that is not finite means the
  // probe computed something else.
  for (float s : sink)
    if (!std::isfinite(s)) return 0.0;
  return longest > 0 ? total / longest / 1e9 : 0.0;
}

}  // namespace cpu
}  // namespace ember
