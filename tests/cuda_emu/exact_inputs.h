// Inputs and a bit-for-bit comparison for the tests of the exact elementwise
// kernels (test_elementwise.cpp, test_compare.cpp): random values of any
// dtype (float16 and bfloat16 included) with the edge cases (NaN,
// infinities, -0.0, integer extremes) planted at a few positions.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"

namespace ember {
namespace exact_test {

constexpr DType kAllDtypes[] = {DType::float32, DType::float64, DType::int32, DType::int64,
                                DType::bool_};
constexpr DType kHalfDtypes[] = {DType::float16, DType::bfloat16};

// What to plant into the random values.
enum class Edges { none, float_specials, extremes };

template <typename T>
std::vector<T> edge_values(Edges edges) {
  using L = std::numeric_limits<T>;
  if constexpr (std::is_floating_point_v<T>) {
    if (edges == Edges::none) return {};
    return {L::quiet_NaN(), L::infinity(), -L::infinity(), T(-0.0), T(0), T(-1), T(1)};
  } else if constexpr (std::is_same_v<T, bool>) {
    return {};
  } else {
    if (edges != Edges::extremes) return {};
    return {L::min(), L::max(), T(-1), T(0), T(1), T(L::min() + 1)};
  }
}

// Random values in [low, high) (integers for every dtype, so ties happen),
// with edge values planted at positions 3, 10, 17, ... of the contiguous
// result; zeros are replaced by one when `nonzero`.
inline Tensor values(const Shape& shape, DType dtype, int64_t low, int64_t high,
                     Edges edges = Edges::none, bool nonzero = false) {
  // The 16-bit floats get float32's values (and edge values) rounded.
  if (is_half(dtype)) return values(shape, DType::float32, low, high, edges, nonzero).to(dtype);
  Tensor wide = Tensor::empty(shape, DType::int64);
  randint_(wide, low, high);
  Tensor t = wide.to(dtype);
  EMBER_DISPATCH_ALL(dtype, "values", [&] {
    using T = scalar_t;
    T* p = static_cast<T*>(t.raw_data());
    std::vector<T> planted = edge_values<T>(edges);
    for (size_t k = 0; k < planted.size() && int64_t(3 + 7 * k) < t.numel(); ++k) {
      p[3 + 7 * k] = planted[k];
    }
    if (nonzero) {
      for (int64_t i = 0; i < t.numel(); ++i) {
        if (p[i] == T(0)) p[i] = T(1);
      }
    }
  });
  return t;
}

// Uniform values in [low, high) drawn in float32 and rounded to `dtype`, with
// the float edge values planted at positions 5, 12, 19, ...: operands whose
// results round on every op.
inline Tensor fractional(const Shape& shape, DType dtype, double low = -9, double high = 9) {
  Tensor t = Tensor::empty(shape, DType::float32);
  uniform_(t, low, high);
  float* p = static_cast<float*>(t.raw_data());
  std::vector<float> planted = edge_values<float>(Edges::float_specials);
  for (size_t k = 0; k < planted.size() && int64_t(5 + 7 * k) < t.numel(); ++k) {
    p[5 + 7 * k] = planted[k];
  }
  return t.to(dtype);
}

// Empty string when `got` and `expected` (contiguous, one dtype) agree bit
// for bit, else the first differing element.
inline std::string mismatch(const Tensor& got, const Tensor& expected) {
  if (got.dtype() != expected.dtype() || got.shape() != expected.shape()) {
    return "dtype or shape differs: " + got.str() + " vs " + expected.str();
  }
  const size_t size = got.element_size();
  const char* g = static_cast<const char*>(got.raw_data());
  const char* e = static_cast<const char*>(expected.raw_data());
  for (int64_t i = 0; i < got.numel(); ++i) {
    if (std::memcmp(g + i * size, e + i * size, size) != 0) {
      return "element " + std::to_string(i) + " differs";
    }
  }
  return "";
}

}  // namespace exact_test
}  // namespace ember
