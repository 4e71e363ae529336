// Helpers the harness tests share: random inputs, element access on
// contiguous tensors of any dtype, and the sentinel outputs start as (so an
// element a kernel skips shows up as a mismatch).
#pragma once

#include <cstdint>
#include <limits>

#include "core/random.h"
#include "core/tensor.h"

namespace ember {
namespace emu_test {

constexpr DType kFloats[] = {DType::float32, DType::float64};
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Uniform values in [low, high) drawn in `dtype` itself (float dtypes only).
inline Tensor random_tensor(const Shape& shape, DType dtype, double low = -2.0,
                            double high = 2.0) {
  Tensor t = Tensor::empty(shape, dtype);
  uniform_(t, low, high);
  return t;
}

// Uniform float64 values in [low, high) converted to `dtype`, so integer
// dtypes get them truncated.
inline Tensor random_from_f64(const Shape& shape, DType dtype, double low = -2.0,
                              double high = 2.0) {
  return random_tensor(shape, DType::float64, low, high).to(dtype);
}

// Element i of a contiguous tensor as a double.
inline double value(const Tensor& t, int64_t i) {
  return EMBER_DISPATCH_ALL(t.dtype(), "value", [&] {
    return double(static_cast<const scalar_t*>(t.raw_data())[i]);
  });
}

// Sets element i of a contiguous float32 or float64 tensor.
inline void set_value(const Tensor& t, int64_t i, double v) {
  if (t.dtype() == DType::float32) {
    static_cast<float*>(t.raw_data())[i] = float(v);
  } else {
    static_cast<double*>(t.raw_data())[i] = v;
  }
}

inline Tensor sentinel(const Shape& shape, DType dtype) {
  return Tensor::full(shape, Scalar(-7.0), dtype);
}

}  // namespace emu_test
}  // namespace ember
