// The CUDA folds (prod, integer sum/amax/amin, max/min with index, var/std,
// logsumexp, norm) run on the harness against the CPU kernels: rows around
// the warp and block sizes, inner/outer/middle/several reduced dims, strided
// inputs, ties and NaNs, every p, large offsets for var, float and integer
// dtypes, warp- and block-per-row launches and shuffled thread order.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/random.h"
#include "cpu/reduce.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "emu_testing.h"
#include "ops/reduce.h"

namespace ember {
namespace {

using namespace emu_test;

const int64_t kLengths[] = {1, 31, 33, 129, 1000};
const int kThreadsPerRow[] = {0, 64, 256};

// Small integers as floats: many ties.
Tensor tied_tensor(const Shape& shape, DType dtype) {
  return random_from_f64(shape, DType::int32, -3.0, 3.0).to(dtype);
}

// The first element of two contiguous tensors that differ by more than
// rel * |expected| + abs (NaN only matches NaN, infinities match exactly), or -1.
int64_t first_mismatch(const Tensor& got, const Tensor& expected, double rel, double abs) {
  if (got.numel() != expected.numel()) return 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double g = value(got, i), e = value(expected, i);
    if (std::isnan(e) || std::isnan(g)) {
      if (std::isnan(e) != std::isnan(g)) return i;
    } else if (std::isinf(e) || std::isinf(g)) {
      if (g != e) return i;
    } else if (!(std::fabs(g - e) <= rel * std::fabs(e) + abs)) {
      return i;
    }
  }
  return -1;
}

void expect_match(const Tensor& got, const Tensor& expected, double rel, double abs,
                  const std::string& what) {
  int64_t bad = first_mismatch(got, expected, rel, abs);
  ASSERT_EQ(bad, -1) << what << ": got " << (bad >= 0 ? value(got, bad) : 0.0) << ", expected "
                     << (bad >= 0 ? value(expected, bad) : 0.0);
}

double eps(DType dtype) { return dtype == DType::float32 ? 1e-6 : 1e-14; }

std::string describe(const char* op, const Tensor& x, const Shape& dims, int threads) {
  return std::string(op) + " of " + x.str() + " over " + shape_str(dims) + " with " +
         std::to_string(threads) + " threads";
}

Tensor out_for(const Tensor& x, const Shape& dims, DType dtype) {
  return Tensor::full(reduced_shape(x.shape(), dims, false), Scalar(-7.0), dtype);
}

DType widened(DType dtype) {
  return dtype == DType::float32 || dtype == DType::float64 ? dtype : DType::int64;
}

void check_fold(cuda::FoldOp op, const Tensor& x, const Shape& dims, int threads) {
  const char* names[] = {"sum", "prod", "amax", "amin"};
  const bool extreme = op == cuda::FoldOp::amax || op == cuda::FoldOp::amin;
  DType dtype = extreme ? x.dtype() : widened(x.dtype());
  Tensor expected = out_for(x, dims, dtype);
  switch (op) {
    case cuda::FoldOp::sum: cpu::sum(expected, x.to(dtype), dims); break;
    case cuda::FoldOp::prod: cpu::prod(expected, x.to(dtype), dims); break;
    default: cpu::amax(expected, x, dims, op == cuda::FoldOp::amax);
  }
  Tensor got = out_for(x, dims, dtype);
  cuda::RowGeometry g = cuda::row_geometry("test", dims, &x, 1);
  cuda::fold_raw(op, x.dtype(), got.raw_data(), x.raw_data(), g, threads);
  // Float products run in double on both sides: only the final rounding differs.
  double rel = dtype == DType::int64 || extreme ? 0.0
               : op == cuda::FoldOp::sum        ? 64 * eps(dtype) * double(g.n)
               : dtype == DType::float32        ? 2.5e-7
                                                : 1e-13 * double(g.n);
  expect_match(got, expected, rel, op == cuda::FoldOp::sum ? rel * 2.0 : 0.0,
               describe(names[int(op)], x, dims, threads));
}

TEST(CudaEmuReduce, ProdAndIntegerFolds) {
  for (DType dtype : {DType::float32, DType::float64, DType::int32, DType::int64, DType::bool_}) {
    for (int64_t n : kLengths) {
      for (int threads : {0, 64}) {
        // Near 1 so float products stay in range; integers wrap identically.
        Tensor x = dtype == DType::bool_
                       ? random_from_f64({3, n}, DType::int32, -1.5, 1.5).to(dtype)
                   : dtype == DType::int32 || dtype == DType::int64
                       ? random_from_f64({3, n}, dtype, -4.0, 4.0)
                       : random_from_f64({3, n}, dtype, 0.8, 1.25);
        check_fold(cuda::FoldOp::prod, x, {1}, threads);
        // Float sums and extremes: the ops take cuda::reduce, but cuda::fold
        // accepts them too.
        check_fold(cuda::FoldOp::sum, x, {1}, threads);
        if (dtype == DType::bool_) continue;
        check_fold(cuda::FoldOp::amax, x, {1}, threads);
        check_fold(cuda::FoldOp::amin, x, {1}, threads);
      }
    }
  }
  // A prod with zeros and negatives, over leading, several and strided dims.
  for (DType dtype : {DType::float64, DType::int64}) {
    Tensor x = random_from_f64({5, 33, 4}, dtype, -2.0, 2.0);
    check_fold(cuda::FoldOp::prod, x, {0}, 0);
    check_fold(cuda::FoldOp::prod, x, {0, 2}, 0);
    check_fold(cuda::FoldOp::prod, x.permute({2, 0, 1}), {1}, 64);
    check_fold(cuda::FoldOp::sum, random_from_f64({129, 3}, DType::int32, -1e6, 1e6).t(), {1}, 0);
  }
  // int64 sums past 2^53 stay exact; products wrap modulo 2^64 like PyTorch's.
  Tensor big = Tensor::full({2, 40}, Scalar(int64_t(1) << 60), DType::int64);
  check_fold(cuda::FoldOp::sum, big, {1}, 0);
  check_fold(cuda::FoldOp::prod, Tensor::full({1, 70}, Scalar(int64_t(3)), DType::int64), {1}, 0);
  // An empty prod is 1, an empty sum 0.
  check_fold(cuda::FoldOp::prod, Tensor::zeros({4, 0}, DType::float32), {1}, 0);
  check_fold(cuda::FoldOp::sum, Tensor::zeros({4, 0}, DType::int32), {1}, 0);
}

void check_arg(const Tensor& x, const Shape& dims, bool is_max, int threads) {
  Tensor want_v = out_for(x, dims, x.dtype()), want_i = out_for(x, dims, DType::int64);
  if (dims.size() == size_t(x.dim()) && x.dim() > 1) {
    Tensor flat = x.reshape({x.numel()});
    cpu::arg_extreme(want_v, want_i, flat, {0}, is_max);
  } else {
    cpu::arg_extreme(want_v, want_i, x, dims, is_max);
  }
  Tensor got_v = out_for(x, dims, x.dtype()), got_i = out_for(x, dims, DType::int64);
  cuda::RowGeometry g = cuda::row_geometry("test", dims, &x, 1);
  cuda::arg_extreme_raw(is_max, x.dtype(), got_v.raw_data(), got_i.data<int64_t>(), x.raw_data(),
                        g, threads);
  std::string what = describe(is_max ? "max" : "min", x, dims, threads);
  expect_match(got_v, want_v, 0.0, 0.0, what + " values");
  expect_match(got_i, want_i, 0.0, 0.0, what + " indices");
}

TEST(CudaEmuReduce, MaxMinWithIndexTiesAndNaN) {
  for (DType dtype : {DType::float32, DType::float64, DType::int32, DType::int64}) {
    const bool is_float = dtype == DType::float32 || dtype == DType::float64;
    for (int64_t n : kLengths) {
      if (n == 31 && dtype != DType::float32) continue;
      Tensor x = tied_tensor({4, n}, dtype);
      // Row 1: a NaN late, then another (the first NaN wins); row 2: all -inf.
      if (is_float && n > 3) {
        set_value(x, n + n - 2, kNaN);
        set_value(x, n + n - 1, kNaN);
        for (int64_t i = 0; i < n; ++i) set_value(x, 2 * n + i, -kInf);
      }
      for (bool is_max : {true, false}) {
        for (int threads : {0, 256}) check_arg(x, {1}, is_max, threads);
        check_arg(x, {0}, is_max, 0);
        if (n <= 129 && (dtype == DType::float32 || dtype == DType::int64)) {
          check_arg(tied_tensor({3, n, 5}, dtype), {1}, is_max, 64);
          check_arg(tied_tensor({n, 6}, dtype).t(), {1}, is_max, 0);
        }
        // Over the flattened tensor, including a strided one.
        check_arg(x, {0, 1}, is_max, 0);
        check_arg(tied_tensor({n, 3}, dtype).t(), {0, 1}, is_max, 256);
      }
    }
  }
}

void check_var(const Tensor& x, const Shape& dims, double correction, bool take_sqrt,
               int threads, double rel) {
  Tensor expected = out_for(x, dims, x.dtype());
  cpu::var(expected, x, dims, correction, take_sqrt);
  Tensor got = out_for(x, dims, x.dtype());
  cuda::RowGeometry g = cuda::row_geometry("test", dims, &x, 1);
  cuda::var_raw(x.dtype(), got.raw_data(), x.raw_data(), g, correction, take_sqrt, threads);
  expect_match(got, expected, rel, 0.0,
               describe(take_sqrt ? "std" : "var", x, dims, threads) + " correction " +
                   std::to_string(correction));
}

TEST(CudaEmuReduce, VarianceAnyCorrectionAndLargeOffsets) {
  for (DType dtype : kFloats) {
    const double rel = 64 * eps(dtype);
    for (int64_t n : kLengths) {
      Tensor x = random_from_f64({3, n}, dtype);
      for (double correction : {0.0, 1.0, 2.5}) {
        for (int threads : kThreadsPerRow) check_var(x, {1}, correction, false, threads, rel);
        check_var(x, {1}, correction, true, 0, rel);
      }
      check_var(random_from_f64({n, 4}, dtype), {0}, 1.0, false, 0, rel);
      if (n <= 129) {
        check_var(random_from_f64({3, n, 5}, dtype), {0, 2}, 1.0, true, 0, rel);
        check_var(random_from_f64({n, 7}, dtype).t(), {1}, 1.0, false, 64, rel);
      }
      // Values far from 0 with a spread of 4: no cancellation in Welford/Chan.
      const double offset = dtype == DType::float32 ? 1e3 : 1e7;
      Tensor far = random_from_f64({2, n}, dtype, offset - 2, offset + 2);
      for (int threads : kThreadsPerRow) {
        check_var(far, {1}, 1.0, false, threads, dtype == DType::float32 ? 2e-4 : 1e-8);
      }
    }
  }
  // Empty rows and n <= correction give NaN / inf as on the CPU.
  check_var(random_from_f64({3, 0}, DType::float32), {1}, 1.0, false, 0, 0.0);
  check_var(random_from_f64({3, 1}, DType::float64), {1}, 1.0, true, 0, 0.0);
  check_var(random_from_f64({3, 2}, DType::float64), {1}, 3.0, false, 0, 0.0);
}

void check_lse(const Tensor& x, const Shape& dims, int threads) {
  Tensor expected = out_for(x, dims, x.dtype());
  cpu::logsumexp(expected, x, dims);
  Tensor got = out_for(x, dims, x.dtype());
  cuda::RowGeometry g = cuda::row_geometry("test", dims, &x, 1);
  cuda::logsumexp_raw(x.dtype(), got.raw_data(), x.raw_data(), g, threads);
  expect_match(got, expected, 16 * eps(x.dtype()), 16 * eps(x.dtype()),
               describe("logsumexp", x, dims, threads));
}

TEST(CudaEmuReduce, LogSumExpOnlineRescaling) {
  for (DType dtype : kFloats) {
    for (int64_t n : kLengths) {
      // Large values: exp alone overflows; increasing rows rescale at every element.
      Tensor x = random_from_f64({6, n}, dtype, -80.0, 80.0);
      for (int64_t i = 0; i < n; ++i) set_value(x, n + i, double(i) * 0.5);
      if (n > 3) {
        set_value(x, 2 * n + 1, kInf);
        set_value(x, 3 * n + 2, kNaN);
        for (int64_t i = 0; i < n; ++i) set_value(x, 4 * n + i, -kInf);
        set_value(x, 5 * n + n / 2, -kInf);
      }
      for (int threads : kThreadsPerRow) check_lse(x, {1}, threads);
      check_lse(x, {0}, 0);
      if (n <= 129) check_lse(random_from_f64({2, n, 3}, dtype).permute({2, 1, 0}), {0, 2}, 64);
    }
  }
  check_lse(random_from_f64({3, 0}, DType::float32), {1}, 0);
}

void check_norm(const Tensor& x, const Shape& dims, double p, int threads) {
  Tensor expected = out_for(x, dims, x.dtype());
  cpu::norm(expected, x, dims, p);
  Tensor got = out_for(x, dims, x.dtype());
  cuda::RowGeometry g = cuda::row_geometry("test", dims, &x, 1);
  cuda::norm_raw(x.dtype(), got.raw_data(), x.raw_data(), g, p, threads);
  double rel = 64 * eps(x.dtype()) * (std::isinf(p) ? 1.0 : std::max(1.0, std::fabs(p)));
  expect_match(got, expected, rel, 0.0, describe("norm", x, dims, threads) + " p " +
                                            std::to_string(p));
}

const double kNormPs[] = {0.0, 1.0, 2.0, kInf, -kInf, 3.0, 0.5, -1.5};

TEST(CudaEmuReduce, NormEveryP) {
  for (DType dtype : kFloats) {
    for (int64_t n : kLengths) {
      Tensor x = random_from_f64({4, n}, dtype);
      set_value(x, 0, 0.0);
      if (n > 3) {
        set_value(x, 2 * n + 1, kNaN);
        for (int64_t i = 0; i < n; ++i) set_value(x, 3 * n + i, 0.0);
      }
      for (double p : kNormPs) {
        for (int threads : {0, 256}) check_norm(x, {1}, p, threads);
        if (n <= 129) check_norm(random_from_f64({n, 3, 2}, dtype), {0, 2}, p, 64);
      }
    }
  }
}

TEST(CudaEmuReduce, MoreFoldsShuffledThreadOrder) {
  cuda_emu::set_shuffle(true, 23);
  for (DType dtype : kFloats) {
    for (int64_t n : {33, 1000}) {
      Tensor x = tied_tensor({3, n}, dtype);
      for (int threads : kThreadsPerRow) {
        check_arg(x, {1}, true, threads);
        check_var(x, {1}, 1.0, false, threads, 64 * eps(dtype));
        check_lse(x, {1}, threads);
        check_norm(x, {1}, 3.0, threads);
        check_fold(cuda::FoldOp::prod, random_from_f64({3, n}, dtype, 0.8, 1.25), {1}, threads);
      }
    }
  }
  cuda_emu::set_shuffle(false);
}

TEST(CudaEmuReduce, MoreFoldsTensorEntryPointsAndErrors) {
  // The Tensor-level functions build the same geometry as the tests above.
  Tensor x = random_from_f64({5, 40, 3}, DType::float64).permute({0, 2, 1});
  Tensor v = Tensor::empty({5, 3}, DType::float64), i = Tensor::empty({5, 3}, DType::int64);
  cuda::arg_extreme(v, i, x, {2}, false);
  Tensor want_v = Tensor::empty({5, 3}, DType::float64), want_i = Tensor::empty({5, 3},
                                                                                DType::int64);
  cpu::arg_extreme(want_v, want_i, x, {2}, false);
  expect_match(i, want_i, 0.0, 0.0, "cuda::arg_extreme");
  Tensor s = Tensor::empty({5, 3}, DType::float64), want_s = Tensor::empty({5, 3},
                                                                           DType::float64);
  cuda::var(s, x, {2}, 1.0, true);
  cpu::var(want_s, x, {2}, 1.0, true);
  expect_match(s, want_s, 1e-13, 0.0, "cuda::var");
  Tensor bools = Tensor::zeros({4, 3}, DType::bool_);
  Tensor ints = Tensor::zeros({4}, DType::int64);
  EXPECT_THROW(cuda::fold(cuda::FoldOp::amax, Tensor::zeros({4}, DType::bool_), bools, {1}),
               Error);
  EXPECT_THROW(cuda::var(Tensor::zeros({4}, DType::int64), ints.reshape({4, 1}), {1}, 1.0, false),
               Error);
  EXPECT_THROW(cuda::fold(cuda::FoldOp::sum, Tensor::zeros({4}, DType::int32),
                          Tensor::zeros({4, 3}, DType::int32), {1}),
               Error);
  EXPECT_THROW(cuda::norm(Tensor::zeros({4}), Tensor::zeros({4, 0}), {1}, kInf), Error);
  EXPECT_THROW(cuda::arg_extreme(Tensor::zeros({4}), Tensor::zeros({4}, DType::int64),
                                 Tensor::zeros({4, 0}), {1}, true),
               Error);
}

TEST(CudaEmuReduce, ComparisonCatchesOneWrongElement) {
  Tensor x = random_from_f64({3, 129}, DType::float32);
  Tensor got = out_for(x, {1}, DType::float32);
  cuda::RowGeometry g = cuda::row_geometry("test", {1}, &x, 1);
  cuda::norm_raw(DType::float32, got.raw_data(), x.raw_data(), g, 2.0);
  Tensor expected = out_for(x, {1}, DType::float32);
  cpu::norm(expected, x, {1}, 2.0);
  EXPECT_EQ(first_mismatch(got, expected, 1e-5, 0.0), -1);
  set_value(got, 2, value(got, 2) * (1 + 1e-4));
  EXPECT_EQ(first_mismatch(got, expected, 1e-5, 0.0), 2);
  set_value(got, 2, kNaN);
  EXPECT_EQ(first_mismatch(got, expected, 1e-5, 0.0), 2);
}

}  // namespace
}  // namespace ember
