// The CUDA elementwise kernels run on the harness against cpu::binary, bit
// for bit, for every BinaryOp and dtype: odd sizes around the vector width
// and block size, broadcasts both ways, transposed and sliced views,
// unaligned starts, NaN/inf/-0.0 and integer extremes, Python's sign rules
// for floor_divide/remainder, float16 and bfloat16; and the zero/negative
// scans of the integer entry points.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "core/random.h"
#include "cpu/elementwise.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "exact_inputs.h"

namespace ember {
namespace {

using namespace exact_test;

const BinaryOp kOps[] = {BinaryOp::add,       BinaryOp::sub,       BinaryOp::mul,
                         BinaryOp::div,       BinaryOp::floor_divide, BinaryOp::remainder,
                         BinaryOp::pow,       BinaryOp::maximum,   BinaryOp::minimum};

bool defined_for(BinaryOp op, DType dtype) {
  if (dtype != DType::bool_) return true;
  return op == BinaryOp::add || op == BinaryOp::mul || op == BinaryOp::maximum ||
         op == BinaryOp::minimum;
}

// Operands on which `op` is defined for `dtype`: integer divisors are
// nonzero and integer exponents non-negative (the entry point refuses the
// rest); integer add/sub/mul stay clear of overflow, which is undefined on
// the CPU side.
Tensor lhs(BinaryOp op, const Shape& shape, DType dtype) {
  bool wraps = op == BinaryOp::floor_divide || op == BinaryOp::remainder ||
               op == BinaryOp::pow || op == BinaryOp::maximum || op == BinaryOp::minimum;
  return values(shape, dtype, -1000, 1000, wraps ? Edges::extremes : Edges::float_specials);
}

Tensor rhs(BinaryOp op, const Shape& shape, DType dtype) {
  bool integral = dtype != DType::float32 && dtype != DType::float64;
  if (op == BinaryOp::pow && integral) return values(shape, dtype, 0, 12);
  bool divides = op == BinaryOp::div || op == BinaryOp::floor_divide || op == BinaryOp::remainder;
  if (divides && integral) return values(shape, dtype, -9, 10, Edges::none, true);
  return values(shape, dtype, -9, 10, Edges::float_specials);
}

// Runs the CUDA kernel on host memory (the harness's device memory is host
// memory) into a strided or contiguous `got` and compares every element
// with the CPU kernel.
void check(BinaryOp op, const Tensor& a, const Tensor& b, Tensor got = Tensor()) {
  Shape shape = broadcast_shapes(a.shape(), b.shape(), "test");
  Tensor ea = a.expand(shape), eb = b.expand(shape);
  Tensor expected = Tensor::empty(shape, a.dtype());
  cpu::binary(op, expected, ea, eb);
  if (!got.defined()) got = Tensor::full(shape, Scalar(7), a.dtype());
  cuda::BinaryGeometry g = cuda::binary_geometry(binary_op_name(op), got, ea, eb);
  cuda::binary_raw(op, a.dtype(), got.raw_data(), ea.raw_data(), eb.raw_data(), g);
  ASSERT_EQ(mismatch(got.contiguous(), expected), "")
      << binary_op_name(op) << " " << a.str() << " with " << b.str();
}

TEST(CudaEmuElementwise, EveryOpAndDtypeAtOddSizes) {
  for (DType dtype : kAllDtypes) {
    for (BinaryOp op : kOps) {
      if (!defined_for(op, dtype)) continue;
      for (int64_t n : {1, 31, 33, 129, 4097}) {
        check(op, lhs(op, {n}, dtype), rhs(op, {n}, dtype));
      }
    }
  }
}

TEST(CudaEmuElementwise, ScalarBroadcastBothWays) {
  for (DType dtype : kAllDtypes) {
    for (BinaryOp op : kOps) {
      if (!defined_for(op, dtype)) continue;
      for (int64_t n : {1, 33, 1029}) {
        check(op, lhs(op, {n}, dtype), rhs(op, {}, dtype));
        check(op, lhs(op, {1}, dtype), rhs(op, {n}, dtype));
      }
    }
  }
}

TEST(CudaEmuElementwise, RowAndColumnBroadcasts) {
  for (DType dtype : kAllDtypes) {
    for (BinaryOp op : kOps) {
      if (!defined_for(op, dtype)) continue;
      for (int64_t n : {1, 31}) {
        check(op, lhs(op, {n, 33}, dtype), rhs(op, {33}, dtype));
        check(op, lhs(op, {n, 1}, dtype), rhs(op, {n, 7}, dtype));
        check(op, lhs(op, {n, 1, 5}, dtype), rhs(op, {3, 1}, dtype));
      }
    }
  }
}

TEST(CudaEmuElementwise, NonContiguousAndUnalignedViews) {
  for (DType dtype : kAllDtypes) {
    for (BinaryOp op : kOps) {
      if (!defined_for(op, dtype)) continue;
      Tensor a = lhs(op, {33, 17}, dtype), b = rhs(op, {17, 33}, dtype);
      check(op, a, b.t());
      Tensor c = rhs(op, {33, 17}, dtype);
      check(op, a.slice(1, 0, 17, 3), c.slice(1, 1, 17, 3));
      // Offsets of one element: contiguous but not 16-byte aligned.
      check(op, lhs(op, {130}, dtype).slice(0, 1, 130), rhs(op, {129}, dtype));
      check(op, lhs(op, {129}, dtype), rhs(op, {130}, dtype).slice(0, 1, 130));
      check(op, lhs(op, {31, 3, 5}, dtype).permute({2, 0, 1}), rhs(op, {5, 31, 3}, dtype));
      // A transposed output.
      check(op, lhs(op, {9, 31}, dtype), rhs(op, {9, 31}, dtype),
            Tensor::empty({31, 9}, dtype).t());
    }
  }
}

// Python's rules, written out: floor division rounds toward -inf and the
// remainder takes the divisor's sign; min // -1 wraps to min.
template <typename T>
void check_python_rules(DType dtype) {
  using L = std::numeric_limits<T>;
  const std::vector<T> a = {7, -7, 7, -7, 6, -6, 0, L::min(), L::min(), L::max(), 5};
  const std::vector<T> b = {2, 2, -2, -2, 3, -3, -5, -1, 1, -1, 7};
  const std::vector<T> q = {3, -4, -4, 3, 2, 2, 0, L::min(), L::min(), -L::max(), 0};
  const std::vector<T> r = {1, 1, -1, -1, 0, 0, 0, 0, 0, 0, 5};
  const int64_t n = int64_t(a.size());
  Tensor ta = Tensor::empty({n}, dtype), tb = Tensor::empty({n}, dtype);
  std::copy(a.begin(), a.end(), static_cast<T*>(ta.raw_data()));
  std::copy(b.begin(), b.end(), static_cast<T*>(tb.raw_data()));
  for (BinaryOp op : {BinaryOp::floor_divide, BinaryOp::remainder}) {
    check(op, ta, tb);
    Tensor got = Tensor::empty({n}, dtype);
    cuda::BinaryGeometry g = cuda::binary_geometry("test", got, ta, tb);
    cuda::binary_raw(op, dtype, got.raw_data(), ta.raw_data(), tb.raw_data(), g);
    const std::vector<T>& want = op == BinaryOp::floor_divide ? q : r;
    for (int64_t i = 0; i < n; ++i) {
      EXPECT_EQ(static_cast<const T*>(got.raw_data())[i], want[size_t(i)])
          << binary_op_name(op) << " " << a[size_t(i)] << ", " << b[size_t(i)];
    }
  }
}

TEST(CudaEmuElementwise, IntegerEdgeCases) {
  check_python_rules<int32_t>(DType::int32);
  check_python_rules<int64_t>(DType::int64);
  for (DType dtype : {DType::int32, DType::int64}) {
    // Powers that overflow wrap; 0 ** 0 is 1.
    Tensor base = values({64}, dtype, -5, 6, Edges::extremes);
    Tensor exponent = values({64}, dtype, 0, 70);
    check(BinaryOp::pow, base, exponent);
    check(BinaryOp::pow, Tensor::zeros({1}, dtype), Tensor::zeros({1}, dtype));
  }
}

TEST(CudaEmuElementwise, FloatSpecialValuesBothSides) {
  for (DType dtype : {DType::float32, DType::float64, DType::float16, DType::bfloat16}) {
    // Every pair of {NaN, +-inf, +-0, +-1, +-2.5}.
    const double specials[] = {std::nan(""), INFINITY, -INFINITY, 0.0, -0.0, 1, -1, 2.5, -2.5};
    const int64_t k = 9;
    Tensor a = Tensor::empty({k, 1}, DType::float64), b = Tensor::empty({1, k}, DType::float64);
    for (int64_t i = 0; i < k; ++i) {
      static_cast<double*>(a.raw_data())[i] = specials[i];
      static_cast<double*>(b.raw_data())[i] = specials[i];
    }
    for (BinaryOp op : kOps) check(op, a.to(dtype), b.to(dtype));
  }
}

// float16/bfloat16 compute in float and round once on store, as the CPU's
// widened float32 kernel does: every element matches bit for bit.
TEST(CudaEmuElementwise, HalfEveryOpSizeAndLayout) {
  for (DType dtype : kHalfDtypes) {
    for (BinaryOp op : kOps) {
      // Around the pack of 8 and the block of 256 threads.
      for (int64_t n : {1, 7, 8, 9, 31, 33, 129, 2049}) {
        check(op, fractional({n}, dtype), fractional({n}, dtype));
      }
      // Integer values: exact quotients and ties for floor_divide, remainder, maximum.
      check(op, values({129}, dtype, -300, 300, Edges::float_specials),
            values({129}, dtype, -9, 10, Edges::float_specials));
      check(op, fractional({33}, dtype), fractional({}, dtype));
      check(op, fractional({}, dtype), fractional({1031}, dtype));
      check(op, fractional({31, 33}, dtype), fractional({33}, dtype));
      check(op, fractional({31, 1}, dtype), fractional({1, 17}, dtype));
      Tensor a = fractional({33, 17}, dtype);
      check(op, a, fractional({17, 33}, dtype).t());
      check(op, a.slice(1, 0, 17, 3), a.slice(1, 1, 17, 3));
      // Offsets of one element (unaligned: strided kernel) and of one pack
      // (aligned: vector kernel with a tail).
      check(op, fractional({130}, dtype).slice(0, 1, 130), fractional({129}, dtype));
      check(op, fractional({137}, dtype).slice(0, 8, 137), fractional({129}, dtype));
      check(op, fractional({9, 31}, dtype), fractional({9, 31}, dtype),
            Tensor::empty({31, 9}, dtype).t());
    }
  }
  cuda_emu::set_shuffle(true, 5);
  check(BinaryOp::div, fractional({33, 129}, DType::bfloat16), fractional({129}, DType::bfloat16));
  cuda_emu::set_shuffle(false);
}

TEST(CudaEmuElementwise, EmptyAndShuffledOrder) {
  check(BinaryOp::add, values({0, 5}, DType::float32, -3, 3), values({5}, DType::float32, -3, 3));
  // Elementwise threads never share data, so any thread order gives the same answer.
  cuda_emu::set_shuffle(true, 9);
  check(BinaryOp::floor_divide, values({33, 129}, DType::int32, -100, 100),
        values({129}, DType::int32, 1, 9));
  check(BinaryOp::maximum, values({33, 129}, DType::float32, -9, 9, Edges::float_specials),
        values({33, 1}, DType::float32, -9, 9));
  cuda_emu::set_shuffle(false);
}

TEST(CudaEmuElementwise, ComparisonCatchesOneWrongElement) {
  Tensor a = values({129}, DType::int64, -9, 9), b = a.clone();
  EXPECT_EQ(mismatch(a, b), "");
  static_cast<int64_t*>(b.raw_data())[128] += 1;
  EXPECT_EQ(mismatch(a, b), "element 128 differs");
  Tensor f = values({33}, DType::float32, -9, 9), z = f.clone();
  static_cast<float*>(z.raw_data())[5] = -0.0f;
  static_cast<float*>(f.raw_data())[5] = 0.0f;
  EXPECT_NE(mismatch(f, z), "");
}

bool scan(bool negative, const Tensor& t) {
  int flag = 7;
  cuda::BinaryGeometry g = cuda::binary_geometry("scan", t, t, t);
  cuda::integer_scan_raw(negative, t.dtype(), &flag, t.raw_data(), g);
  EXPECT_TRUE(flag == 0 || flag == 1);
  return flag == 1;
}

TEST(CudaEmuElementwise, ZeroAndNegativeScans) {
  for (DType dtype : {DType::int32, DType::int64}) {
    for (int64_t n : {1, 33, 4097}) {
      Tensor positive = values({n}, dtype, 1, 100);
      EXPECT_FALSE(scan(false, positive));
      EXPECT_FALSE(scan(true, positive));
      Tensor t = positive.clone();
      t.slice(0, n - 1, n).fill_(Scalar(0));
      EXPECT_TRUE(scan(false, t));
      EXPECT_FALSE(scan(true, t));
      t.slice(0, n / 2, n / 2 + 1).fill_(Scalar(-3));
      EXPECT_TRUE(scan(true, t));
    }
    // Strided views and broadcasts see only their own elements.
    Tensor grid = values({8, 9}, dtype, 1, 100);
    grid.slice(1, 1, 2).fill_(Scalar(0));
    EXPECT_FALSE(scan(false, grid.slice(1, 0, 9, 2)));
    EXPECT_TRUE(scan(false, grid.t()));
    EXPECT_FALSE(scan(false, grid.slice(1, 0, 1).expand({8, 5})));
    EXPECT_FALSE(scan(false, Tensor::zeros({0}, dtype)));
  }
  EXPECT_THROW(scan(false, Tensor::zeros({3})), Error);
}

TEST(CudaEmuElementwise, RejectsUnsupportedDtypesAndOps) {
  Tensor t = Tensor::zeros({4}, DType::bool_);
  cuda::BinaryGeometry g = cuda::binary_geometry("sub", t, t, t);
  for (BinaryOp op : {BinaryOp::sub, BinaryOp::div, BinaryOp::floor_divide, BinaryOp::remainder,
                      BinaryOp::pow}) {
    EXPECT_THROW(cuda::binary_raw(op, DType::bool_, t.raw_data(), t.raw_data(), t.raw_data(), g),
                 Error);
  }
  Tensor f = Tensor::zeros({4});
  EXPECT_THROW(cuda::binary_geometry("add", f, Tensor::zeros({2}), f), Error);
  EXPECT_THROW(cuda::binary(BinaryOp::add, f, Tensor::zeros({4}, DType::float64), f), Error);
}

}  // namespace
}  // namespace ember
