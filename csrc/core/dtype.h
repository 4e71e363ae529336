// DType: the element types a tensor can hold, their sizes and names, the
// promotion rule, and the dispatch macros that turn a runtime DType into a
// C++ type for a kernel.
#pragma once

#include <cstdint>
#include <string>

#include "core/check.h"
#include "core/half.h"

namespace ember {

enum class DType : uint8_t { float32, float64, int64, int32, bool_, float16, bfloat16 };

inline const char* dtype_name(DType d) {
  switch (d) {
    case DType::float32: return "float32";
    case DType::float64: return "float64";
    case DType::int64: return "int64";
    case DType::int32: return "int32";
    case DType::bool_: return "bool";
    case DType::float16: return "float16";
    case DType::bfloat16: return "bfloat16";
  }
  return "unknown";
}

inline size_t dtype_size(DType d) {
  switch (d) {
    case DType::float32: return 4;
    case DType::float64: return 8;
    case DType::int64: return 8;
    case DType::int32: return 4;
    case DType::bool_: return 1;
    case DType::float16: return 2;
    case DType::bfloat16: return 2;
  }
  return 0;
}

// float16 and bfloat16: storage types whose arithmetic runs in float32.
inline bool is_half(DType d) { return d == DType::float16 || d == DType::bfloat16; }
inline bool is_floating(DType d) {
  return d == DType::float32 || d == DType::float64 || is_half(d);
}
inline bool is_integral(DType d) { return d == DType::int64 || d == DType::int32; }

// Type promotion between two tensors (PyTorch's rule for same-category
// operands, and integer/bool -> floating when a float meets them). float16
// meeting bfloat16 gives float32, the narrowest type holding both.
inline DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (is_half(a) && is_half(b)) return DType::float32;
  auto rank = [](DType d) {
    switch (d) {
      case DType::bool_: return 0;
      case DType::int32: return 1;
      case DType::int64: return 2;
      case DType::float16: return 3;
      case DType::bfloat16: return 3;
      case DType::float32: return 4;
      case DType::float64: return 5;
    }
    return 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

template <typename T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr DType value = DType::float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::float64; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::int64; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::int32; };
template <> struct dtype_of<bool> { static constexpr DType value = DType::bool_; };
template <> struct dtype_of<Half> { static constexpr DType value = DType::float16; };
template <> struct dtype_of<BFloat16> { static constexpr DType value = DType::bfloat16; };

}  // namespace ember

// Dispatch: EMBER_DISPATCH_FLOAT(dtype, "op", [&] { kernel<scalar_t>(...); });
// Inside the lambda `scalar_t` is the C++ type. An unsupported dtype throws a
// TypeError naming the op. FLOAT and ALL leave the 16-bit floats out; the
// _AND_HALF forms add float16 (Half) and bfloat16 (BFloat16) for the kernels
// that have them.
#define EMBER_DISPATCH_CASE(enum_value, type, ...) \
  case ::ember::DType::enum_value: {               \
    using scalar_t = type;                         \
    return __VA_ARGS__();                          \
  }

#define EMBER_DISPATCH_UNSUPPORTED(dtype, op) \
  default:                                    \
    EMBER_FAIL(type, op, ": unsupported dtype ", ::ember::dtype_name(dtype));

#define EMBER_DISPATCH_FLOAT(dtype, op, ...)            \
  [&] {                                                 \
    switch (dtype) {                                    \
      EMBER_DISPATCH_CASE(float32, float, __VA_ARGS__)  \
      EMBER_DISPATCH_CASE(float64, double, __VA_ARGS__) \
      EMBER_DISPATCH_UNSUPPORTED(dtype, op)             \
    }                                                   \
  }()

#define EMBER_DISPATCH_NUMERIC(dtype, op, ...)           \
  [&] {                                                  \
    switch (dtype) {                                     \
      EMBER_DISPATCH_CASE(float32, float, __VA_ARGS__)   \
      EMBER_DISPATCH_CASE(float64, double, __VA_ARGS__)  \
      EMBER_DISPATCH_CASE(int64, int64_t, __VA_ARGS__)   \
      EMBER_DISPATCH_CASE(int32, int32_t, __VA_ARGS__)   \
      EMBER_DISPATCH_UNSUPPORTED(dtype, op)              \
    }                                                    \
  }()

#define EMBER_DISPATCH_ALL(dtype, op, ...)               \
  [&] {                                                  \
    switch (dtype) {                                     \
      EMBER_DISPATCH_CASE(float32, float, __VA_ARGS__)   \
      EMBER_DISPATCH_CASE(float64, double, __VA_ARGS__)  \
      EMBER_DISPATCH_CASE(int64, int64_t, __VA_ARGS__)   \
      EMBER_DISPATCH_CASE(int32, int32_t, __VA_ARGS__)   \
      EMBER_DISPATCH_CASE(bool_, bool, __VA_ARGS__)      \
      EMBER_DISPATCH_UNSUPPORTED(dtype, op)              \
    }                                                    \
  }()

#define EMBER_DISPATCH_FLOAT_AND_HALF(dtype, op, ...)       \
  [&] {                                                     \
    switch (dtype) {                                        \
      EMBER_DISPATCH_CASE(float32, float, __VA_ARGS__)      \
      EMBER_DISPATCH_CASE(float64, double, __VA_ARGS__)     \
      EMBER_DISPATCH_CASE(float16, ::ember::Half, __VA_ARGS__) \
      EMBER_DISPATCH_CASE(bfloat16, ::ember::BFloat16, __VA_ARGS__) \
      EMBER_DISPATCH_UNSUPPORTED(dtype, op)                 \
    }                                                       \
  }()

#define EMBER_DISPATCH_ALL_AND_HALF(dtype, op, ...)         \
  [&] {                                                     \
    switch (dtype) {                                        \
      EMBER_DISPATCH_CASE(float32, float, __VA_ARGS__)      \
      EMBER_DISPATCH_CASE(float64, double, __VA_ARGS__)     \
      EMBER_DISPATCH_CASE(int64, int64_t, __VA_ARGS__)      \
      EMBER_DISPATCH_CASE(int32, int32_t, __VA_ARGS__)      \
      EMBER_DISPATCH_CASE(bool_, bool, __VA_ARGS__)         \
      EMBER_DISPATCH_CASE(float16, ::ember::Half, __VA_ARGS__) \
      EMBER_DISPATCH_CASE(bfloat16, ::ember::BFloat16, __VA_ARGS__) \
      EMBER_DISPATCH_UNSUPPORTED(dtype, op)                 \
    }                                                       \
  }()
