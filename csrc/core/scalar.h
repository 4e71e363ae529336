// Scalar: a Python number carried into C++ without losing int64 precision.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace ember {

class Scalar {
 public:
  Scalar() : kind_(DType::float64), d_(0.0) {}
  Scalar(double v) : kind_(DType::float64), d_(v) {}
  Scalar(float v) : kind_(DType::float64), d_(v) {}
  Scalar(int64_t v) : kind_(DType::int64), i_(v) {}
  Scalar(int v) : kind_(DType::int64), i_(v) {}
  Scalar(bool v) : kind_(DType::bool_), i_(v ? 1 : 0) {}

  // float64 for a float, int64 for an int, bool for a bool.
  DType kind() const { return kind_; }
  bool is_floating() const { return kind_ == DType::float64; }

  template <typename T>
  T to() const {
    if (kind_ == DType::float64) return static_cast<T>(d_);
    return static_cast<T>(i_);
  }

 private:
  DType kind_;
  union {
    double d_;
    int64_t i_;
  };
};

}  // namespace ember
