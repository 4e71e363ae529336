// The CUDA unary maths and activation kernels (forward and fused backward)
// run on the harness against cpu::unary and cpu::activation_backward: sizes
// around the vector width and block size, special values, transposed,
// sliced, permuted and unaligned views, strided outputs, in place, float32,
// float64, float16 and bfloat16. Operations that are exact in IEEE arithmetic must match bit
// for bit; transcendental ones within a few ulp (the CPU's float32 exp, log,
// tanh, sigmoid and silu are its own vectorised approximations).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <type_traits>

#include "core/random.h"
#include "cpu/elementwise.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "emu_testing.h"

namespace ember {
namespace {

using namespace emu_test;

struct Case {
  UnaryOp op;
  double low, high;  // the range of the random inputs
  int64_t ulp;       // 0: bit for bit
  double alpha = 0, beta = 0;
};

const Case kForward[] = {
    {UnaryOp::neg, -3, 3, 0},
    {UnaryOp::abs, -3, 3, 0},
    {UnaryOp::sign, -3, 3, 0},
    {UnaryOp::exp, -10, 10, 4},
    {UnaryOp::log, 0.01, 10, 4},
    {UnaryOp::log1p, -0.9, 10, 4},
    {UnaryOp::expm1, -5, 5, 4},
    {UnaryOp::sqrt, 0, 10, 0},
    {UnaryOp::rsqrt, 0.01, 10, 0},
    {UnaryOp::sin, -10, 10, 4},
    {UnaryOp::cos, -10, 10, 4},
    {UnaryOp::tanh, -5, 5, 4},
    {UnaryOp::sigmoid, -20, 20, 4},
    {UnaryOp::reciprocal, -3, 3, 0},
    {UnaryOp::square, -3, 3, 0},
    {UnaryOp::floor, -5, 5, 0},
    {UnaryOp::ceil, -5, 5, 0},
    {UnaryOp::round, -5, 5, 0},
    {UnaryOp::trunc, -5, 5, 0},
    {UnaryOp::relu, -3, 3, 0},
    {UnaryOp::silu, -10, 10, 4},
    {UnaryOp::gelu, -5, 5, 4},
    {UnaryOp::gelu_tanh, -5, 5, 4},
    {UnaryOp::leaky_relu, -3, 3, 0, 0.02},
    {UnaryOp::elu, -5, 5, 4, 1.3},
    {UnaryOp::softplus, -10, 10, 4, 2.0, 5.0},
};

const Case kBackward[] = {
    {UnaryOp::relu, -3, 3, 0},
    {UnaryOp::leaky_relu, -3, 3, 0, 0.02},
    {UnaryOp::elu, -5, 5, 4, 1.3},
    {UnaryOp::softplus, -10, 10, 4, 2.0, 5.0},
    {UnaryOp::silu, -10, 10, 4},
    {UnaryOp::gelu, -5, 5, 4},
    {UnaryOp::gelu_tanh, -5, 5, 4},
};

// Distance in units in the last place, over the ordered integer images of
// the two values; NaN matches only NaN.
template <typename T>
int64_t ulp_distance(T a, T b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : INT64_MAX;
  if (a == b) return 0;
  using I = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  auto ordered = [](T v) {
    I bits;
    std::memcpy(&bits, &v, sizeof(T));
    return bits < 0 ? int64_t(std::numeric_limits<I>::min()) - int64_t(bits) : int64_t(bits);
  };
  int64_t ia = ordered(a), ib = ordered(b);
  // Values of opposite sign far apart: saturate rather than overflow.
  if ((ia < 0) != (ib < 0)) return INT64_MAX / 2;
  return ia > ib ? ia - ib : ib - ia;
}

void expect_close(const Tensor& got_view, const Tensor& expected_view, int64_t max_ulp,
                  const std::string& what) {
  Tensor got = got_view.contiguous(), expected = expected_view.contiguous();
  ASSERT_EQ(got.numel(), expected.numel()) << what;
  EMBER_DISPATCH_FLOAT(got.dtype(), "test", [&] {
    using T = scalar_t;
    const T* g = got.data<T>();
    const T* e = expected.data<T>();
    for (int64_t i = 0; i < got.numel(); ++i) {
      int64_t d = ulp_distance(g[i], e[i]);
      ASSERT_LE(d, max_ulp) << what << " at " << i << ": got " << g[i] << ", expected " << e[i];
    }
  });
}

std::string describe(UnaryOp op, const Tensor& x) {
  return std::string(unary_op_name(op)) + "(" + std::to_string(int(op)) + ") " + x.str();
}

// Runs the kernel into `out` (any layout of x's shape) and compares with cpu::unary.
void check_forward(const Case& c, const Tensor& x, const Tensor& out) {
  Tensor expected = Tensor::empty(x.shape(), x.dtype());
  cpu::unary(c.op, expected, x, c.alpha, c.beta);
  cuda::BinaryGeometry g = cuda::binary_geometry(unary_op_name(c.op), out, x, x);
  cuda::unary_raw(c.op, x.dtype(), out.raw_data(), x.raw_data(), g, c.alpha, c.beta);
  expect_close(out, expected, c.ulp, describe(c.op, x));
}

void check_forward(const Case& c, const Tensor& x) {
  check_forward(c, x, Tensor::full(x.shape(), Scalar(-7.0), x.dtype()));
}

void check_backward(const Case& c, const Tensor& grad, const Tensor& x, const Tensor& out) {
  Tensor expected = Tensor::empty(x.shape(), x.dtype());
  cpu::activation_backward(c.op, expected, grad, x, c.alpha, c.beta);
  cuda::BinaryGeometry g = cuda::binary_geometry(unary_op_name(c.op), out, grad, x);
  cuda::activation_backward_raw(c.op, x.dtype(), out.raw_data(), grad.raw_data(), x.raw_data(),
                                g, c.alpha, c.beta);
  expect_close(out, expected, c.ulp, "backward of " + describe(c.op, x));
}

void check_backward(const Case& c, const Tensor& grad, const Tensor& x) {
  check_backward(c, grad, x, Tensor::full(x.shape(), Scalar(-7.0), x.dtype()));
}

// Overwrites the first elements of a contiguous tensor with zeros, infinities,
// NaN and values far outside the random range.
void plant_special_values(const Tensor& t) {
  EMBER_DISPATCH_FLOAT(t.dtype(), "test", [&] {
    using T = scalar_t;
    const T inf = std::numeric_limits<T>::infinity();
    const T special[] = {T(0), T(-0.0), inf, -inf, std::numeric_limits<T>::quiet_NaN(),
                         T(100), T(-100), T(1e30), T(-1e30), T(0.5), T(-0.5), T(2.5)};
    T* p = t.data<T>();
    for (int64_t i = 0; i < t.numel() && i < int64_t(sizeof(special) / sizeof(T)); ++i) {
      p[i] = special[i];
    }
  });
}

const DType kDtypes[] = {DType::float32, DType::float64};
const int64_t kSizes[] = {1, 31, 33, 129, 4097};

TEST(CudaEmuUnary, ForwardContiguousOddSizes) {
  for (DType dtype : kDtypes) {
    for (const Case& c : kForward) {
      for (int64_t n : kSizes) check_forward(c, random_tensor({n}, dtype, c.low, c.high));
    }
  }
}

TEST(CudaEmuUnary, ForwardSpecialValues) {
  for (DType dtype : kDtypes) {
    for (const Case& c : kForward) {
      Tensor x = random_tensor({33}, dtype, c.low, c.high);
      plant_special_values(x);
      check_forward(c, x);
    }
  }
}

TEST(CudaEmuUnary, ForwardStridedAndUnalignedViews) {
  for (DType dtype : kDtypes) {
    for (const Case& c : kForward) {
      for (int64_t n : {1, 31, 33, 129}) {
        Tensor a = random_tensor({n, 17}, dtype, c.low, c.high);
        check_forward(c, a.t());
        check_forward(c, a.slice(1, 1, 17, 3));
        check_forward(c, random_tensor({n, 3, 5}, dtype, c.low, c.high).permute({2, 0, 1}));
        // Offset by one element: contiguous but not 16-byte aligned.
        Tensor flat = random_tensor({4097 + 1}, dtype, c.low, c.high);
        check_forward(c, flat.slice(0, 1, 4097 + 1));
        // A transposed output over a contiguous input.
        Tensor out = Tensor::full({17, n}, Scalar(-7.0), dtype).t();
        check_forward(c, a, out);
      }
    }
  }
}

TEST(CudaEmuUnary, ForwardInPlace) {
  for (DType dtype : kDtypes) {
    for (const Case& c : kForward) {
      for (int64_t n : {33, 4097}) {
        Tensor x = random_tensor({n}, dtype, c.low, c.high);
        check_forward(c, x.clone(), x);
        Tensor base = random_tensor({n, 7}, dtype, c.low, c.high);
        Tensor view = base.slice(1, 0, 7, 2);
        check_forward(c, view.clone(), view);
      }
    }
  }
}

TEST(CudaEmuUnary, BackwardContiguousOddSizes) {
  for (DType dtype : kDtypes) {
    for (const Case& c : kBackward) {
      for (int64_t n : kSizes) {
        check_backward(c, random_tensor({n}, dtype, -2, 2),
                       random_tensor({n}, dtype, c.low, c.high));
      }
      Tensor x = random_tensor({33}, dtype, c.low, c.high);
      plant_special_values(x);
      check_backward(c, random_tensor({33}, dtype, -2, 2), x);
    }
  }
}

TEST(CudaEmuUnary, BackwardStridedAndUnalignedViews) {
  for (DType dtype : kDtypes) {
    for (const Case& c : kBackward) {
      for (int64_t n : {1, 31, 33, 129}) {
        Tensor x = random_tensor({n, 17}, dtype, c.low, c.high);
        Tensor grad = random_tensor({17, n}, dtype, -2, 2);
        check_backward(c, grad.t(), x);
        check_backward(c, x.slice(1, 0, 17, 3), x.slice(1, 1, 17, 3));
        Tensor flat = random_tensor({4097 + 1}, dtype, c.low, c.high);
        check_backward(c, random_tensor({4097}, dtype, -2, 2), flat.slice(0, 1, 4097 + 1));
        // grad expanded from one value, as the gradient of a sum is.
        check_backward(c, random_tensor({}, dtype, -2, 2).expand({n, 17}), x);
        check_backward(c, grad.t(), x, Tensor::full({17, n}, Scalar(-7.0), dtype).t());
      }
    }
  }
}

TEST(CudaEmuUnary, EmptyAndShuffledOrder) {
  check_forward(kForward[2], Tensor::zeros({0, 5}));
  check_backward(kBackward[0], Tensor::zeros({5, 0}), Tensor::zeros({5, 0}));
  // Elementwise threads never share data, so any thread order gives the same answer.
  cuda_emu::set_shuffle(true, 11);
  check_forward(kForward[11], random_tensor({33, 129}, DType::float32, -5, 5).t());
  check_backward(kBackward[4], random_tensor({129}, DType::float64, -2, 2),
                 random_tensor({129}, DType::float64, -5, 5));
  cuda_emu::set_shuffle(false);
}

// --- float16 and bfloat16 ---------------------------------------------------
// The kernels widen to float, compute as the float32 kernel does and round
// once; the CPU runs its float32 kernel on widened values and rounds. Exact
// ops agree bit for bit; transcendental ones within one ulp of the 16-bit
// type, where the two float32 results straddle a rounding boundary.

const DType kHalfDtypes[] = {DType::float16, DType::bfloat16};

// Random values drawn in float32 and rounded to `dtype`, with the special
// values planted first when `special`.
Tensor half_tensor(const Shape& shape, DType dtype, double low, double high,
                   bool special = false) {
  Tensor x = random_tensor(shape, DType::float32, low, high);
  if (special) plant_special_values(x);
  return x.to(dtype);
}

// The 16-bit patterns ordered so that neighbouring values differ by one.
int64_t ordered_half(uint16_t bits) {
  return bits & 0x8000u ? -int64_t(bits & 0x7fffu) : int64_t(bits);
}

void expect_half_close(const Tensor& got_view, const Tensor& expected_view, int64_t max_ulp,
                       const std::string& what) {
  Tensor got = got_view.contiguous(), expected = expected_view.contiguous();
  ASSERT_EQ(got.dtype(), expected.dtype()) << what;
  ASSERT_EQ(got.numel(), expected.numel()) << what;
  Tensor got_f = got.to(DType::float32), expected_f = expected.to(DType::float32);
  const uint16_t* g = static_cast<const uint16_t*>(got.raw_data());
  const uint16_t* e = static_cast<const uint16_t*>(expected.raw_data());
  for (int64_t i = 0; i < got.numel(); ++i) {
    const float gv = got_f.data<float>()[i], ev = expected_f.data<float>()[i];
    if (std::isnan(gv) || std::isnan(ev)) {
      ASSERT_TRUE(std::isnan(gv) && std::isnan(ev)) << what << " at " << i;
      // The CPU's vectorised float32 maths makes NaNs of its own sign.
      if (max_ulp == 0) {
        ASSERT_EQ(g[i], e[i]) << what << " at " << i << ": NaN bits differ";
      }
      continue;
    }
    const int64_t d = std::abs(ordered_half(g[i]) - ordered_half(e[i]));
    ASSERT_LE(d, max_ulp) << what << " at " << i << ": got " << gv << ", expected " << ev;
  }
}

int64_t half_ulps(const Case& c) { return c.ulp == 0 ? 0 : 1; }

void check_half_forward(const Case& c, const Tensor& x, const Tensor& out) {
  Tensor expected = Tensor::empty(x.shape(), x.dtype());
  cpu::unary(c.op, expected, x, c.alpha, c.beta);
  cuda::BinaryGeometry g = cuda::binary_geometry(unary_op_name(c.op), out, x, x);
  cuda::unary_raw(c.op, x.dtype(), out.raw_data(), x.raw_data(), g, c.alpha, c.beta);
  expect_half_close(out, expected, half_ulps(c), describe(c.op, x));
}

void check_half_forward(const Case& c, const Tensor& x) {
  check_half_forward(c, x, Tensor::full(x.shape(), Scalar(-7.0), x.dtype()));
}

void check_half_backward(const Case& c, const Tensor& grad, const Tensor& x,
                         const Tensor& out = Tensor()) {
  Tensor got = out.defined() ? out : Tensor::full(x.shape(), Scalar(-7.0), x.dtype());
  Tensor expected = Tensor::empty(x.shape(), x.dtype());
  cpu::activation_backward(c.op, expected, grad, x, c.alpha, c.beta);
  cuda::BinaryGeometry g = cuda::binary_geometry(unary_op_name(c.op), got, grad, x);
  cuda::activation_backward_raw(c.op, x.dtype(), got.raw_data(), grad.raw_data(), x.raw_data(),
                                g, c.alpha, c.beta);
  expect_half_close(got, expected, half_ulps(c), "backward of " + describe(c.op, x));
}

TEST(CudaEmuUnary, HalfForwardSizesViewsAndSpecialValues) {
  for (DType dtype : kHalfDtypes) {
    for (const Case& c : kForward) {
      // Around the pack of 8 and the block of 256 threads.
      for (int64_t n : {1, 7, 8, 9, 31, 33, 129, 2049}) {
        check_half_forward(c, half_tensor({n}, dtype, c.low, c.high));
      }
      check_half_forward(c, half_tensor({33}, dtype, c.low, c.high, true));
      Tensor a = half_tensor({31, 17}, dtype, c.low, c.high);
      check_half_forward(c, a.t());
      check_half_forward(c, a.slice(1, 1, 17, 3));
      check_half_forward(c, a, Tensor::full({17, 31}, Scalar(-7.0), dtype).t());
      // Offsets of one element (unaligned: the strided kernel) and of one
      // pack (aligned: the vector kernel with a tail).
      Tensor flat = half_tensor({139}, dtype, c.low, c.high);
      check_half_forward(c, flat.slice(0, 1, 139));
      check_half_forward(c, flat.slice(0, 8, 139));
      Tensor in_place = half_tensor({135}, dtype, c.low, c.high);
      check_half_forward(c, in_place.clone(), in_place);
    }
  }
}

TEST(CudaEmuUnary, HalfBackwardSizesAndViews) {
  for (DType dtype : kHalfDtypes) {
    for (const Case& c : kBackward) {
      for (int64_t n : {1, 9, 31, 33, 129, 2049}) {
        check_half_backward(c, half_tensor({n}, dtype, -2, 2),
                            half_tensor({n}, dtype, c.low, c.high));
      }
      check_half_backward(c, half_tensor({33}, dtype, -2, 2),
                          half_tensor({33}, dtype, c.low, c.high, true));
      Tensor x = half_tensor({33, 17}, dtype, c.low, c.high);
      Tensor grad = half_tensor({17, 33}, dtype, -2, 2);
      check_half_backward(c, grad.t(), x);
      check_half_backward(c, half_tensor({}, dtype, -2, 2).expand({33, 17}), x);
      check_half_backward(c, grad.t(), x, Tensor::full({17, 33}, Scalar(-7.0), dtype).t());
      Tensor flat = half_tensor({130}, dtype, c.low, c.high);
      check_half_backward(c, half_tensor({129}, dtype, -2, 2), flat.slice(0, 1, 130));
    }
  }
  cuda_emu::set_shuffle(true, 13);
  check_half_backward(kBackward[5], half_tensor({129, 33}, DType::bfloat16, -2, 2).t(),
                      half_tensor({33, 129}, DType::bfloat16, -5, 5));
  check_half_forward(kForward[20], half_tensor({1031}, DType::float16, -5, 5));
  cuda_emu::set_shuffle(false);
}

TEST(CudaEmuUnary, RejectsUnsupportedDtypesOpsAndShapes) {
  Tensor i = Tensor::zeros({4}, DType::int64);
  cuda::BinaryGeometry g = cuda::binary_geometry("abs", i, i, i);
  EXPECT_THROW(cuda::unary_raw(UnaryOp::abs, DType::int64, i.raw_data(), i.raw_data(), g, 0, 0),
               Error);
  Tensor f = Tensor::zeros({4});
  EXPECT_FALSE(cuda::has_unary_kernel(UnaryOp::logical_not));
  EXPECT_FALSE(cuda::has_unary_kernel(UnaryOp::bitwise_not));
  EXPECT_TRUE(cuda::has_unary_kernel(UnaryOp::gelu_tanh));
  EXPECT_THROW(cuda::unary_raw(UnaryOp::logical_not, DType::float32, f.raw_data(), f.raw_data(),
                               g, 0, 0),
               Error);
  // exp has no fused backward kernel: its gradient is a composition.
  EXPECT_THROW(cuda::activation_backward_raw(UnaryOp::exp, DType::float32, f.raw_data(),
                                             f.raw_data(), f.raw_data(), g, 0, 0),
               Error);
  EXPECT_THROW(cuda::activation_backward_raw(UnaryOp::relu, DType::int64, i.raw_data(),
                                             i.raw_data(), i.raw_data(), g, 0, 0),
               Error);
  EXPECT_THROW(cuda::unary(UnaryOp::exp, f, Tensor::zeros({2}), 0, 0), Error);
  EXPECT_THROW(cuda::unary(UnaryOp::exp, f, Tensor::zeros({4}, DType::float64), 0, 0), Error);
  EXPECT_THROW(cuda::activation_backward(UnaryOp::relu, f, Tensor::zeros({4}, DType::float64), f,
                                         0, 0),
               Error);
  EXPECT_THROW(cuda::activation_backward(UnaryOp::relu, f, f, Tensor::zeros({3}), 0, 0), Error);
}

}  // namespace
}  // namespace ember
