// The float32 exp kernels of vec_math.h on AVX-512; callers must check
// isa_supported(Isa::avx512) first (vec_math.cpp dispatches to them).
#pragma once

#include <cstdint>

namespace ember {
namespace cpu {
namespace vec {
namespace avx512 {

// y[i] = exp(x[i]) for i < n, within 1 ulp; x and y may be the same array.
void map_exp(const float* x, float* y, int64_t n);

// As vec::exp_sum.
double exp_sum(const float* x, float shift, float* y, int64_t n);

// log(sum over i < n of exp(x[i])) in one pass, or a non-finite value
// whenever x holds a NaN or an infinity (or n == 0): the caller then takes
// the two-pass path that defines those cases.
double log_sum_exp(const float* x, int64_t n);

}  // namespace avx512
}  // namespace vec
}  // namespace cpu
}  // namespace ember
