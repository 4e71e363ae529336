// The two 16-bit floating types, float16 (IEEE binary16: 5 exponent bits, 10
// mantissa bits) and bfloat16 (float32's 8 exponent bits, 7 mantissa bits).
// They are storage types: a value converts to float for every operation and
// back with one round-to-nearest-even, so the CPU code, the CUDA kernels and
// the CUDA-on-CPU harness compute the same bits. Arithmetic on them goes
// through the implicit conversion to float (acc_t<T> names that type).
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/host_device.h"

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#endif

namespace ember {
namespace half_bits {

EMBER_HOST_DEVICE inline uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

EMBER_HOST_DEVICE inline float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

// float -> binary16, round to nearest even; NaN stays a quiet NaN with its
// sign and top payload bits.
EMBER_HOST_DEVICE inline uint16_t from_float(float f) {
#if defined(__CUDA_ARCH__)
  return __half_as_ushort(__float2half_rn(f));
#else
  const uint32_t x = float_bits(f);
  const uint32_t sign = (x >> 16) & 0x8000u;
  const uint32_t mag = x & 0x7fffffffu;
  if (mag >= 0x7f800000u) {  // inf or NaN
    return uint16_t(sign | 0x7c00u | (mag > 0x7f800000u ? 0x200u | ((mag >> 13) & 0x3ffu) : 0u));
  }
  if (mag >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // rounds past 65504
  if (mag < 0x38800000u) {
    // Below the smallest normal (2^-14): adding 0.5 leaves the value in units
    // of 2^-24 (float's ulp at 0.5), rounded to nearest even by the FPU.
    const float shifted = bits_float(mag) + 0.5f;
    return uint16_t(sign | (float_bits(shifted) - 0x3f000000u));
  }
  // Rebias the exponent (127 -> 15) and round the 13 dropped bits.
  const uint32_t rebased = mag - (112u << 23);
  return uint16_t(sign | ((rebased + 0xfffu + ((rebased >> 13) & 1u)) >> 13));
#endif
}

EMBER_HOST_DEVICE inline float to_float(uint16_t h) {
#if defined(__CUDA_ARCH__)
  return __half2float(__ushort_as_half(h));
#else
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1fu;
  const uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1fu) return bits_float(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    // Subnormal (or zero): mantissa * 2^-24, exact in float.
    const float magnitude = float(mantissa) * 5.9604644775390625e-8f;
    return sign ? -magnitude : magnitude;
  }
  return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
#endif
}

// float -> bfloat16: the top 16 bits, rounded to nearest even.
EMBER_HOST_DEVICE inline uint16_t bf16_from_float(float f) {
  const uint32_t x = float_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x40u);  // quiet NaN
  return uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

EMBER_HOST_DEVICE inline float bf16_to_float(uint16_t b) { return bits_float(uint32_t(b) << 16); }

}  // namespace half_bits

struct alignas(2) Half {
  uint16_t bits;

  Half() = default;
  EMBER_HOST_DEVICE Half(float v) : bits(half_bits::from_float(v)) {}
  template <typename T,
            std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, float>, int> = 0>
  EMBER_HOST_DEVICE Half(T v) : Half(static_cast<float>(v)) {}
  EMBER_HOST_DEVICE operator float() const { return half_bits::to_float(bits); }

  static constexpr Half from_bits(uint16_t b) { return Half(b, Raw{}); }

 private:
  struct Raw {};
  constexpr Half(uint16_t b, Raw) : bits(b) {}
};

struct alignas(2) BFloat16 {
  uint16_t bits;

  BFloat16() = default;
  EMBER_HOST_DEVICE BFloat16(float v) : bits(half_bits::bf16_from_float(v)) {}
  template <typename T,
            std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, float>, int> = 0>
  EMBER_HOST_DEVICE BFloat16(T v) : BFloat16(static_cast<float>(v)) {}
  EMBER_HOST_DEVICE operator float() const { return half_bits::bf16_to_float(bits); }

  static constexpr BFloat16 from_bits(uint16_t b) { return BFloat16(b, Raw{}); }

 private:
  struct Raw {};
  constexpr BFloat16(uint16_t b, Raw) : bits(b) {}
};

static_assert(sizeof(Half) == 2 && sizeof(BFloat16) == 2, "16-bit float types must be 2 bytes");

// The type arithmetic on T is carried out in: float for the 16-bit types.
template <typename T> struct acc_type { using type = T; };
template <> struct acc_type<Half> { using type = float; };
template <> struct acc_type<BFloat16> { using type = float; };
template <typename T> using acc_t = typename acc_type<T>::type;

template <typename T>
inline constexpr bool is_half_v = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;
// A floating type, 16-bit ones included (std::is_floating_point excludes them).
template <typename T>
inline constexpr bool is_floating_v = std::is_floating_point_v<T> || is_half_v<T>;

}  // namespace ember

// numeric_limits for the kernels that start a max/min reduction from
// lowest()/infinity() or test against epsilon().
namespace std {
template <>
class numeric_limits<ember::Half> {
 public:
  static constexpr bool is_specialized = true;
  static constexpr bool is_signed = true;
  static constexpr bool has_infinity = true;
  static constexpr bool has_quiet_NaN = true;
  static constexpr int digits = 11;
  static constexpr ember::Half min() { return ember::Half::from_bits(0x0400); }
  static constexpr ember::Half lowest() { return ember::Half::from_bits(0xfbff); }
  static constexpr ember::Half max() { return ember::Half::from_bits(0x7bff); }
  static constexpr ember::Half epsilon() { return ember::Half::from_bits(0x1400); }
  static constexpr ember::Half infinity() { return ember::Half::from_bits(0x7c00); }
  static constexpr ember::Half quiet_NaN() { return ember::Half::from_bits(0x7e00); }
};
template <>
class numeric_limits<ember::BFloat16> {
 public:
  static constexpr bool is_specialized = true;
  static constexpr bool is_signed = true;
  static constexpr bool has_infinity = true;
  static constexpr bool has_quiet_NaN = true;
  static constexpr int digits = 8;
  static constexpr ember::BFloat16 min() { return ember::BFloat16::from_bits(0x0080); }
  static constexpr ember::BFloat16 lowest() { return ember::BFloat16::from_bits(0xff7f); }
  static constexpr ember::BFloat16 max() { return ember::BFloat16::from_bits(0x7f7f); }
  static constexpr ember::BFloat16 epsilon() { return ember::BFloat16::from_bits(0x3c00); }
  static constexpr ember::BFloat16 infinity() { return ember::BFloat16::from_bits(0x7f80); }
  static constexpr ember::BFloat16 quiet_NaN() { return ember::BFloat16::from_bits(0x7fc0); }
};
}  // namespace std
