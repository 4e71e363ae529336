// The CUDA comparison, logical, where, clamp and exact unary kernels run on
// the harness against the CPU kernels, bit for bit, for every dtype: odd
// sizes around the vector width and block size, broadcasts both ways,
// transposed, sliced and unaligned views, NaN/inf/-0.0 and integer extremes,
// in place where the op allows it; float16 and bfloat16.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>

#include "core/random.h"
#include "cpu/elementwise.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "exact_inputs.h"

namespace ember {
namespace {

using namespace exact_test;

const CompareOp kCompareOps[] = {CompareOp::eq, CompareOp::ne, CompareOp::lt,
                                 CompareOp::le, CompareOp::gt, CompareOp::ge,
                                 CompareOp::logical_and, CompareOp::logical_or,
                                 CompareOp::logical_xor};

// Small values so that ties are common, plus the edge values.
Tensor operand(const Shape& shape, DType dtype) {
  return values(shape, dtype, -3, 4, is_floating(dtype) ? Edges::float_specials : Edges::extremes);
}

void check_compare(CompareOp op, const Tensor& a, const Tensor& b, Tensor got = Tensor()) {
  Shape shape = broadcast_shapes(a.shape(), b.shape(), "test");
  Tensor ea = a.expand(shape), eb = b.expand(shape);
  Tensor expected = Tensor::empty(shape, DType::bool_);
  cpu::compare(op, expected, ea, eb);
  if (!got.defined()) got = Tensor::full(shape, Scalar(true), DType::bool_);
  cuda::BinaryGeometry g = cuda::binary_geometry(compare_op_name(op), got, ea, eb);
  cuda::compare_raw(op, a.dtype(), static_cast<bool*>(got.raw_data()), ea.raw_data(),
                    eb.raw_data(), g);
  ASSERT_EQ(mismatch(got.contiguous(), expected), "")
      << compare_op_name(op) << " " << a.str() << " with " << b.str();
}

TEST(CudaEmuCompare, EveryOpAndDtypeAtOddSizes) {
  for (DType dtype : kAllDtypes) {
    for (CompareOp op : kCompareOps) {
      for (int64_t n : {1, 31, 33, 129, 4097}) {
        check_compare(op, operand({n}, dtype), operand({n}, dtype));
      }
    }
  }
}

TEST(CudaEmuCompare, BroadcastsAndViews) {
  for (DType dtype : kAllDtypes) {
    for (CompareOp op : kCompareOps) {
      check_compare(op, operand({33}, dtype), operand({}, dtype));
      check_compare(op, operand({1}, dtype), operand({129}, dtype));
      check_compare(op, operand({31, 1}, dtype), operand({1, 33}, dtype));
      Tensor a = operand({33, 17}, dtype);
      check_compare(op, a, operand({17, 33}, dtype).t());
      check_compare(op, a.slice(1, 0, 17, 3), a.slice(1, 1, 17, 3));
      check_compare(op, operand({130}, dtype).slice(0, 1, 130), operand({129}, dtype));
      check_compare(op, operand({9, 31}, dtype), operand({9, 31}, dtype),
                    Tensor::empty({31, 9}, DType::bool_).t());
    }
  }
}

void check_where(const Tensor& c, const Tensor& x, const Tensor& y, Tensor got = Tensor()) {
  Shape shape = broadcast_shapes(broadcast_shapes(c.shape(), x.shape(), "t"), y.shape(), "t");
  Tensor ec = c.expand(shape), ex = x.expand(shape), ey = y.expand(shape);
  Tensor expected = Tensor::empty(shape, x.dtype());
  cpu::where(expected, ec, ex, ey);
  if (!got.defined()) got = Tensor::full(shape, Scalar(5), x.dtype());
  cuda::WhereGeometry g = cuda::where_geometry(got, ec, ex, ey);
  cuda::where_raw(x.dtype(), got.raw_data(), static_cast<const bool*>(ec.raw_data()),
                  ex.raw_data(), ey.raw_data(), g);
  ASSERT_EQ(mismatch(got.contiguous(), expected), "")
      << "where " << c.str() << ", " << x.str() << ", " << y.str();
}

Tensor condition(const Shape& shape) { return values(shape, DType::bool_, 0, 2); }

TEST(CudaEmuCompare, WhereEveryDtypeAndLayout) {
  for (DType dtype : kAllDtypes) {
    for (int64_t n : {1, 31, 33, 129, 4097}) {
      check_where(condition({n}), operand({n}, dtype), operand({n}, dtype));
    }
    for (int64_t n : {1, 33, 129}) {
      check_where(condition({n}), operand({n}, dtype), operand({}, dtype));
      check_where(condition({n}), operand({}, dtype), operand({n}, dtype));
      check_where(condition({n}), operand({1}, dtype), operand({}, dtype));
      check_where(condition({n, 1}), operand({1, 33}, dtype), operand({n, 33}, dtype));
      check_where(condition({33}), operand({n, 1}, dtype), operand({n, 33}, dtype).t().t());
    }
    // Transposed, sliced and unaligned operands, a transposed output.
    check_where(condition({17, 33}).t(), operand({33, 17}, dtype),
                operand({33, 17}, dtype).slice(1, 0, 17));
    check_where(condition({130}).slice(0, 1, 130), operand({129}, dtype), operand({129}, dtype));
    check_where(condition({129}), operand({130}, dtype).slice(0, 1, 130), operand({129}, dtype));
    check_where(condition({33, 17}).slice(1, 0, 17, 2), operand({33, 9}, dtype),
                operand({9}, dtype), Tensor::empty({9, 33}, dtype).t());
  }
  check_where(condition({0, 3}), operand({3}, DType::float32), operand({3}, DType::float32));
}

void check_clamp(const Tensor& x, std::optional<Scalar> lo, std::optional<Scalar> hi,
                 bool in_place = false) {
  Tensor expected = Tensor::empty(x.shape(), x.dtype());
  cpu::clamp(expected, x, lo.value_or(Scalar()), lo.has_value(), hi.value_or(Scalar()),
             hi.has_value());
  Tensor got = in_place ? x.clone() : Tensor::full(x.shape(), Scalar(3), x.dtype());
  Tensor input = in_place ? got : x;
  cuda::BinaryGeometry g = cuda::binary_geometry("clamp", got, input, input);
  cuda::clamp_raw(x.dtype(), got.raw_data(), input.raw_data(), g, lo.value_or(Scalar()),
                  lo.has_value(), hi.value_or(Scalar()), hi.has_value());
  ASSERT_EQ(mismatch(got.contiguous(), expected), "")
      << "clamp " << x.str() << " " << lo.has_value() << hi.has_value();
}

TEST(CudaEmuCompare, ClampEveryBoundCombination) {
  for (DType dtype : {DType::float32, DType::float64, DType::int32, DType::int64}) {
    const std::optional<Scalar> none;
    for (int64_t n : {1, 31, 33, 129, 4097}) {
      Tensor x = operand({n}, dtype);
      check_clamp(x, Scalar(-1), Scalar(2));
      check_clamp(x, Scalar(-1), none);
      check_clamp(x, none, Scalar(0));
      check_clamp(x, Scalar(2), Scalar(-1));  // empty range: everything is max
    }
    Tensor x = operand({33, 17}, dtype);
    check_clamp(x.t(), Scalar(0), Scalar(1));
    check_clamp(x.t(), Scalar(1), Scalar(-1));  // empty range, strided
    check_clamp(x.slice(1, 1, 17, 2), Scalar(-2), none);
    check_clamp(operand({130}, dtype).slice(0, 1, 130), none, Scalar(1));
    check_clamp(operand({129}, dtype), Scalar(-2), Scalar(2), true);
    check_clamp(operand({129}, dtype), Scalar(1), Scalar(0), true);
  }
  // Float bounds on float tensors: -0.0 and infinite bounds.
  check_clamp(operand({129}, DType::float32), Scalar(-0.0), Scalar(INFINITY));
  check_clamp(operand({129}, DType::float64), Scalar(-INFINITY), Scalar(0.5));
}

const UnaryOp kExactUnary[] = {UnaryOp::logical_not, UnaryOp::bitwise_not, UnaryOp::neg,
                               UnaryOp::abs,         UnaryOp::sign,        UnaryOp::square,
                               UnaryOp::relu,        UnaryOp::floor,       UnaryOp::ceil,
                               UnaryOp::round,       UnaryOp::trunc};

void check_unary(UnaryOp op, const Tensor& x, bool in_place = false) {
  DType out_dtype = op == UnaryOp::logical_not ? DType::bool_ : x.dtype();
  Tensor expected = Tensor::empty(x.shape(), out_dtype);
  cpu::unary(op, expected, x.to(out_dtype), 0, 0);
  Tensor got = in_place ? x.clone() : Tensor::full(x.shape(), Scalar(1), out_dtype);
  Tensor input = in_place ? got : x;
  cuda::BinaryGeometry g = cuda::binary_geometry(unary_op_name(op), got, input, input);
  cuda::exact_unary_raw(op, x.dtype(), got.raw_data(), input.raw_data(), g);
  ASSERT_EQ(mismatch(got.contiguous(), expected), "") << unary_op_name(op) << " " << x.str();
}

TEST(CudaEmuCompare, ExactUnaryOpsEveryDtype) {
  for (DType dtype : kAllDtypes) {
    for (UnaryOp op : kExactUnary) {
      if (!cuda::has_exact_unary_kernel(op, dtype)) continue;
      for (int64_t n : {1, 31, 33, 129, 4097}) check_unary(op, operand({n}, dtype));
      Tensor x = operand({33, 17}, dtype);
      check_unary(op, x.t());
      check_unary(op, x.slice(1, 1, 17, 3));
      check_unary(op, operand({130}, dtype).slice(0, 1, 130));
      check_unary(op, operand({1}, dtype).expand({40}));
      if (op != UnaryOp::logical_not || dtype == DType::bool_) {
        check_unary(op, operand({129}, dtype), true);
      }
    }
  }
  EXPECT_TRUE(cuda::has_exact_unary_kernel(UnaryOp::logical_not, DType::float32));
  EXPECT_TRUE(cuda::has_exact_unary_kernel(UnaryOp::bitwise_not, DType::bool_));
  EXPECT_TRUE(cuda::has_exact_unary_kernel(UnaryOp::abs, DType::int32));
  EXPECT_FALSE(cuda::has_exact_unary_kernel(UnaryOp::abs, DType::float32));
  EXPECT_FALSE(cuda::has_exact_unary_kernel(UnaryOp::abs, DType::bool_));
  EXPECT_FALSE(cuda::has_exact_unary_kernel(UnaryOp::exp, DType::int64));
}

// float16/bfloat16: comparisons and logical ops on the widened values, where
// copying their bits, clamp in float rounded once, logical_not.
TEST(CudaEmuCompare, HalfComparisonsWhereClampAndLogicalNot) {
  const std::optional<Scalar> none;
  for (DType dtype : kHalfDtypes) {
    for (CompareOp op : kCompareOps) {
      for (int64_t n : {1, 9, 31, 33, 129, 2049}) {
        check_compare(op, operand({n}, dtype), operand({n}, dtype));
      }
      check_compare(op, operand({33}, dtype), operand({}, dtype));
      check_compare(op, operand({}, dtype), operand({33}, dtype));
      check_compare(op, operand({31, 1}, dtype), operand({1, 33}, dtype));
      check_compare(op, operand({33, 17}, dtype), operand({17, 33}, dtype).t());
      check_compare(op, operand({130}, dtype).slice(0, 1, 130), operand({129}, dtype));
    }
    for (int64_t n : {1, 9, 33, 129, 2049}) {
      check_where(condition({n}), fractional({n}, dtype), fractional({n}, dtype));
      check_where(condition({n}), fractional({n}, dtype), fractional({}, dtype));
      check_where(condition({n}), fractional({}, dtype), fractional({n}, dtype));
      check_where(condition({n}), fractional({1}, dtype), fractional({}, dtype));
      check_clamp(fractional({n}, dtype), Scalar(-0.3), Scalar(0.7));
      check_clamp(fractional({n}, dtype), Scalar(-1), none);
      check_clamp(fractional({n}, dtype), none, Scalar(1e-3));
      check_clamp(fractional({n}, dtype), Scalar(2), Scalar(-1));
      check_unary(UnaryOp::logical_not, operand({n}, dtype));
    }
    check_where(condition({17, 33}).t(), fractional({33, 17}, dtype),
                fractional({33, 17}, dtype).slice(1, 0, 17));
    check_where(condition({129}), fractional({130}, dtype).slice(0, 1, 130),
                fractional({129}, dtype));
    check_where(condition({33, 17}).slice(1, 0, 17, 2), fractional({33, 9}, dtype),
                fractional({9}, dtype), Tensor::empty({9, 33}, dtype).t());
    Tensor x = fractional({33, 17}, dtype);
    check_clamp(x.t(), Scalar(0), Scalar(1));
    check_clamp(x.t(), Scalar(1), Scalar(-1));  // empty range, strided
    check_clamp(fractional({130}, dtype).slice(0, 1, 130), none, Scalar(1));
    check_clamp(fractional({129}, dtype), Scalar(-0.0), Scalar(INFINITY), true);
    check_clamp(fractional({129}, dtype), Scalar(-1e6), Scalar(1e6));
    check_unary(UnaryOp::logical_not, x.t());
    check_unary(UnaryOp::logical_not, operand({130}, dtype).slice(0, 1, 130));
  }
  cuda_emu::set_shuffle(true, 19);
  check_compare(CompareOp::lt, operand({33, 129}, DType::float16), operand({129}, DType::float16));
  check_clamp(fractional({1031}, DType::bfloat16), Scalar(-0.5), Scalar(0.25));
  cuda_emu::set_shuffle(false);
}

TEST(CudaEmuCompare, ShuffledOrder) {
  cuda_emu::set_shuffle(true, 17);
  check_compare(CompareOp::le, operand({33, 129}, DType::float32), operand({129}, DType::float32));
  check_where(condition({33, 129}), operand({129}, DType::int64), operand({33, 1}, DType::int64));
  check_clamp(operand({4097}, DType::float64), Scalar(-1), Scalar(1));
  check_unary(UnaryOp::abs, operand({33, 31}, DType::int32).t());
  cuda_emu::set_shuffle(false);
}

TEST(CudaEmuCompare, RejectsUnsupportedDtypes) {
  Tensor b = Tensor::zeros({4}, DType::bool_);
  cuda::BinaryGeometry g = cuda::binary_geometry("clamp", b, b, b);
  EXPECT_THROW(cuda::clamp_raw(DType::bool_, b.raw_data(), b.raw_data(), g, Scalar(0), true,
                               Scalar(1), true),
               Error);
  Tensor f = Tensor::zeros({4});
  EXPECT_THROW(cuda::clamp_raw(DType::float32, f.raw_data(), f.raw_data(), g, Scalar(), false,
                               Scalar(), false),
               Error);
  EXPECT_THROW(cuda::exact_unary_raw(UnaryOp::bitwise_not, DType::float32, f.raw_data(),
                                     f.raw_data(), g),
               Error);
  EXPECT_THROW(cuda::exact_unary_raw(UnaryOp::sign, DType::bool_, b.raw_data(), b.raw_data(), g),
               Error);
  EXPECT_THROW(cuda::compare(CompareOp::eq, b, f, Tensor::zeros({4}, DType::int32)), Error);
  EXPECT_THROW(cuda::where(f, f, f, f), Error);
  EXPECT_THROW(cuda::where_geometry(f, b, Tensor::zeros({2}), f), Error);
}

}  // namespace
}  // namespace ember
