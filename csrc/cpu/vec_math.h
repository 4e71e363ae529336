// Vectorised exp/log and the activations built on them, over contiguous
// float32 and float64 arrays. Each kernel is compiled for SSE2, AVX2+FMA and
// AVX-512 and the widest one the CPU supports is chosen at run time. Results
// stay within a few ulp of libm over the whole range, including overflow to
// inf, gradual underflow, NaN/inf inputs and log of zero or negative numbers.
#pragma once

#include <cstdint>

namespace ember {
namespace cpu {
namespace vec {

enum class Isa { generic, avx2, avx512 };

// Whether this CPU can run kernels built for `isa`.
bool isa_supported(Isa isa);
// The widest supported ISA: the one the functions below use by default.
Isa best_isa();

enum class MapOp { exp, log, sigmoid, tanh, silu };

// y[i] = op(x[i]) for i < n. x and y may be the same array.
void map(MapOp op, const float* x, float* y, int64_t n, Isa isa = best_isa());

// Largest element of x[0..n); NaN elements are skipped (-inf when there are
// no others).
float max(const float* x, int64_t n, Isa isa = best_isa());

// Sum over i < n of exp(x[i] - shift), accumulated in double; each term is
// also stored to y[i] when y is not null.
double exp_sum(const float* x, float shift, float* y, int64_t n, Isa isa = best_isa());

// log(sum over i < n of exp(x[i])), summed in double. When the maximum (NaN
// elements skipped, as in max) is infinite it is the result: -inf for n == 0
// or a row of -inf and NaN; otherwise a NaN element makes the result NaN.
// On AVX-512 it makes one pass over x (per-lane reference maxima, the partial
// sums rescaled when a lane's maximum passes its reference by more than 16)
// instead of max then exp_sum.
double log_sum_exp(const float* x, int64_t n, Isa isa = best_isa());

// y[i] = x[i] * a + b (possibly fused: one rounding) for i < n; x and y may be
// the same array. With a == 1 or b == 0 the result is the plain sum/product.
void affine(const float* x, float a, float b, float* y, int64_t n, Isa isa = best_isa());

// The float64 forms: the same contracts in double precision (exp_sum
// accumulates in double lanes).
void map(MapOp op, const double* x, double* y, int64_t n, Isa isa = best_isa());
double max(const double* x, int64_t n, Isa isa = best_isa());
double exp_sum(const double* x, double shift, double* y, int64_t n, Isa isa = best_isa());
void affine(const double* x, double a, double b, double* y, int64_t n, Isa isa = best_isa());

}  // namespace vec
}  // namespace cpu
}  // namespace ember
