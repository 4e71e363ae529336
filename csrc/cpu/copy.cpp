// CPU copy and fill over strided views (see copy.h).
#include "cpu/copy.h"

#include <immintrin.h>

#include <cstring>

#include "core/iter.h"

namespace ember {
namespace cpu {
namespace {

template <typename Out, typename In>
Out convert(In v) {
  if constexpr (std::is_same_v<Out, bool>) {
    return v != In(0);
  } else {
    return static_cast<Out>(v);
  }
}

// Contiguous float <-> 16-bit runs, 8 elements per step: F16C's conversions
// and bfloat16's rounding in AVX2 integer arithmetic give the same bits as
// Half/BFloat16's scalar conversions (round to nearest even, quiet NaNs).
__attribute__((target("avx2,f16c"))) void half_from_float_avx2(Half* out, const float* in,
                                                               int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  for (; i < n; ++i) out[i] = Half(in[i]);
}

__attribute__((target("avx2,f16c"))) void float_from_half_avx2(float* out, const Half* in,
                                                               int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) out[i] = float(in[i]);
}

__attribute__((target("avx2"))) void bf16_from_float_avx2(BFloat16* out, const float* in,
                                                          int64_t n) {
  const __m256i one = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7fff);
  const __m256i abs_mask = _mm256_set1_epi32(0x7fffffff), inf = _mm256_set1_epi32(0x7f800000);
  const __m256i quiet = _mm256_set1_epi32(0x40);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i));
    __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), one);
    __m256i rounded = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(x, bias), lsb), 16);
    __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(x, abs_mask), inf);
    __m256i quieted = _mm256_or_si256(_mm256_srli_epi32(x, 16), quiet);
    __m256i bits = _mm256_blendv_epi8(rounded, quieted, nan);
    // Pack the eight 32-bit lanes (each < 2^16) into 16 bits, in order.
    __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(bits, bits), 0x08);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), _mm256_castsi256_si128(packed));
  }
  for (; i < n; ++i) out[i] = BFloat16(in[i]);
}

__attribute__((target("avx2"))) void float_from_bf16_avx2(float* out, const BFloat16* in,
                                                          int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    __m256i widened = _mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), widened);
  }
  for (; i < n; ++i) out[i] = float(in[i]);
}

bool has_avx2_f16c() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
  return yes;
}

// A contiguous run of n conversions; the float <-> 16-bit pairs vectorised.
template <typename Out, typename In>
void convert_run(Out* out, const In* in, int64_t n) {
  if (has_avx2_f16c()) {
    if constexpr (std::is_same_v<Out, Half> && std::is_same_v<In, float>) {
      return half_from_float_avx2(out, in, n);
    } else if constexpr (std::is_same_v<Out, float> && std::is_same_v<In, Half>) {
      return float_from_half_avx2(out, in, n);
    } else if constexpr (std::is_same_v<Out, BFloat16> && std::is_same_v<In, float>) {
      return bf16_from_float_avx2(out, in, n);
    } else if constexpr (std::is_same_v<Out, float> && std::is_same_v<In, BFloat16>) {
      return float_from_bf16_avx2(out, in, n);
    }
  }
  for (int64_t i = 0; i < n; ++i) out[i] = convert<Out>(in[i]);
}

}  // namespace

void copy(const Tensor& dst, const Tensor& src) {
  EMBER_DISPATCH_ALL_AND_HALF(dst.dtype(), "copy_", [&] {
    using out_t = scalar_t;
    EMBER_DISPATCH_ALL_AND_HALF(src.dtype(), "copy_", [&] {
      using in_t = scalar_t;
      std::array<int64_t, 2> sizes{sizeof(out_t), sizeof(in_t)};
      for_each_run<2>({dst, src}, [&](char** p, const int64_t* stride, int64_t n) {
        if constexpr (std::is_same_v<out_t, in_t>) {
          if (run_is_contiguous<2>(stride, sizes)) {
            std::memcpy(p[0], p[1], size_t(n) * sizeof(out_t));
            return;
          }
        }
        if (run_is_contiguous<2>(stride, sizes)) {
          convert_run(reinterpret_cast<out_t*>(p[0]), reinterpret_cast<const in_t*>(p[1]), n);
          return;
        }
        for (int64_t i = 0; i < n; ++i) {
          *reinterpret_cast<out_t*>(p[0] + i * stride[0]) =
              convert<out_t>(*reinterpret_cast<const in_t*>(p[1] + i * stride[1]));
        }
      });
    });
  });
}

void fill(const Tensor& dst, Scalar value) {
  EMBER_DISPATCH_ALL_AND_HALF(dst.dtype(), "fill_", [&] {
    scalar_t v = value.to<scalar_t>();
    for_each_run<1>({dst}, [&](char** p, const int64_t* stride, int64_t n) {
      if (stride[0] == sizeof(scalar_t)) {
        auto* out = reinterpret_cast<scalar_t*>(p[0]);
        for (int64_t i = 0; i < n; ++i) out[i] = v;
        return;
      }
      for (int64_t i = 0; i < n; ++i) *reinterpret_cast<scalar_t*>(p[0] + i * stride[0]) = v;
    });
  });
}

}  // namespace cpu
}  // namespace ember
