// Helpers shared by the C++ kernel tests: random inputs, naive strided
// element access, strided copies, central-difference gradients, and a
// comparison that prints the first mismatches.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "core/random.h"
#include "core/tensor.h"
#include "cpu/gemm.h"

namespace ember {
namespace testing {

inline Tensor random_tensor(const Shape& shape, DType dtype = DType::float32, double low = -1,
                            double high = 1) {
  Tensor t = Tensor::empty(shape, dtype);
  uniform_(t, low, high);
  return t;
}

// Runs `body` once per GEMM micro-kernel the CPU supports (the kernels built
// on the GEMM follow its choice), restoring the default.
template <typename F>
void for_each_gemm_isa(const F& body) {
  const cpu::GemmIsa saved = cpu::gemm_isa();
  for (cpu::GemmIsa isa : {cpu::GemmIsa::generic, cpu::GemmIsa::avx2, cpu::GemmIsa::avx512}) {
    if (!cpu::set_gemm_isa(isa)) continue;
    SCOPED_TRACE(::testing::Message() << "isa " << int(isa));
    body();
  }
  cpu::set_gemm_isa(saved);
}

// Element at a multi-index, read through the strides (the naive way).
template <typename T>
T at(const Tensor& t, const Shape& index) {
  int64_t off = 0;
  for (size_t d = 0; d < index.size(); ++d) off += index[d] * t.stride(int64_t(d));
  return static_cast<const T*>(t.raw_data())[off];
}

// Visits every multi-index of `shape` in row-major order.
template <typename F>
void for_each_index(const Shape& shape, const F& f) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  Shape index(shape.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    f(index);
    for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}

// Contiguous float64 copy of the values, for comparisons.
inline std::vector<double> values(const Tensor& t) {
  Tensor c = t.to(DType::float64).contiguous();
  const double* p = c.data<double>();
  return std::vector<double>(p, p + c.numel());
}

// A float64 tensor of `shape` holding `v` (row-major).
inline Tensor from_values(const std::vector<double>& v, const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::float64);
  std::copy(v.begin(), v.end(), t.data<double>());
  return t;
}

// The same values in a view whose last dim has stride 2.
inline Tensor strided_copy(const Tensor& t) {
  Shape wide = t.shape();
  wide.back() *= 2;
  Tensor view = Tensor::zeros(wide, t.dtype()).slice(t.dim() - 1, 0, wide.back(), 2);
  view.copy_(t);
  return view;
}

// d(sum(f(x) * g)) / dx by central differences.
inline std::vector<double> numeric_grad(
    const std::function<std::vector<double>(const std::vector<double>&)>& f,
    std::vector<double> x, const std::vector<double>& g) {
  std::vector<double> grad(x.size());
  const double h = 1e-6;
  for (size_t i = 0; i < x.size(); ++i) {
    double keep = x[i];
    x[i] = keep + h;
    std::vector<double> up = f(x);
    x[i] = keep - h;
    std::vector<double> down = f(x);
    x[i] = keep;
    double total = 0;
    for (size_t j = 0; j < g.size(); ++j) total += (up[j] - down[j]) * g[j];
    grad[i] = total / (2 * h);
  }
  return grad;
}

// Expects |actual - expected| <= atol + rtol * |expected| everywhere; NaN
// matches NaN and an infinity only the same infinity.
inline void expect_close(const Tensor& actual, const std::vector<double>& expected,
                         double rtol = 1e-5, double atol = 1e-6) {
  ASSERT_EQ(actual.numel(), int64_t(expected.size())) << "shape " << shape_str(actual.shape());
  std::vector<double> got = values(actual);
  int shown = 0, bad = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    bool ok = std::fabs(got[i] - expected[i]) <= atol + rtol * std::fabs(expected[i]) ||
              (std::isnan(got[i]) && std::isnan(expected[i])) ||
              (std::isinf(expected[i]) && got[i] == expected[i]);
    if (!ok) {
      ++bad;
      if (shown++ < 5) ADD_FAILURE() << "element " << i << ": got " << got[i] << ", expected " << expected[i];
    }
  }
  EXPECT_EQ(bad, 0) << bad << " of " << got.size() << " elements differ";
}

}  // namespace testing
}  // namespace ember
