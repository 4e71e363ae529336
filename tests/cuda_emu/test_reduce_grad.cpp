// The CUDA cumsum and reduction backward kernels run on the harness against
// the CPU kernels: cumsum along inner, outer and middle dims, forward and
// reverse, chunked rows (carry across chunks), the one-thread-per-row path
// for strided rows, integer and bool inputs; prod_backward with 0, 1 and 2
// zeros per row; extreme_weights with ties and NaN; norm_backward for every p.
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

// Every element of two contiguous tensors within rel * |expected| + abs; NaN matches NaN.
void expect_match(const Tensor& got, const Tensor& expected, double rel, double abs,
                  const std::string& what) {
  ASSERT_EQ(got.numel(), expected.numel()) << what;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double g = value(got, i), e = value(expected, i);
    if (std::isnan(e) || std::isnan(g)) {
      ASSERT_EQ(std::isnan(e), std::isnan(g)) << what << " at " << i << ": " << g << " vs " << e;
    } else {
      ASSERT_LE(std::fabs(g - e), rel * std::fabs(e) + abs)
          << what << " at " << i << ": " << g << " vs " << e;
    }
  }
}

double eps(DType dtype) { return dtype == DType::float32 ? 1e-6 : 1e-14; }

void check_cumsum(const Tensor& x, int64_t dim, bool reverse, int threads) {
  const bool is_float = x.dtype() == DType::float32 || x.dtype() == DType::float64;
  DType dtype = is_float ? x.dtype() : DType::int64;
  Tensor expected = Tensor::empty(x.shape(), dtype);
  cpu::cumsum(expected, x.to(dtype), dim, reverse);
  Tensor got = Tensor::full(x.shape(), Scalar(-7.0), dtype);
  const Tensor operands[] = {got, x};
  cuda::RowGeometry g = cuda::row_geometry("test", {dim}, operands, 2);
  cuda::cumsum_raw(x.dtype(), got.raw_data(), x.raw_data(), g, reverse, threads);
  double tol = is_float ? 16 * eps(dtype) * double(g.n) : 0.0;
  expect_match(got, expected, 0.0, 2.0 * tol,
               "cumsum of " + x.str() + " along " + std::to_string(dim) +
                   (reverse ? " reversed" : "") + " with " + std::to_string(threads) +
                   " threads");
}

TEST(CudaEmuReduce, CumsumAlongEveryDim) {
  for (DType dtype : {DType::float32, DType::float64, DType::int32, DType::bool_}) {
    // The layouts below are exercised in full for one float and one integer dtype.
    const bool full = dtype == DType::float32 || dtype == DType::int32;
    for (int64_t n : {1, 33, 129, 1000}) {
      Tensor x = dtype == DType::bool_ ? random_from_f64({3, n}, DType::int32, -1.5, 1.5).to(dtype)
                                       : random_from_f64({3, n}, dtype, -100.0, 100.0);
      for (bool reverse : {false, true}) {
        // 32 threads: rows of 1000 take 32 chunks, carrying across each.
        for (int threads : {0, 32, 256}) {
          if (full || threads == 0) check_cumsum(x, 1, reverse, threads);
        }
        check_cumsum(x, 0, reverse, 0);
        if (full && n <= 129) {
          check_cumsum(random_from_f64({2, n, 3}, dtype), 1, reverse, 64);
          // Strided rows, many of them: one thread per row.
          check_cumsum(random_from_f64({n, 260}, dtype), 0, reverse, 0);
          check_cumsum(random_from_f64({260, n}, dtype).t(), 1, reverse, 0);
          check_cumsum(random_from_f64({n, 4}, dtype).t(), 1, reverse, 0);
        }
      }
    }
  }
  check_cumsum(random_from_f64({3, 1000}, DType::int64, -1e9, 1e9), 1, false, 0);
  check_cumsum(random_from_f64({33, 260}, DType::int64, -1e9, 1e9), 0, true, 0);  // columns
  check_cumsum(random_from_f64({}, DType::float32), 0, false, 0);
  check_cumsum(random_from_f64({4, 0}, DType::float64), 1, true, 0);
}

void check_prod_backward(const Tensor& x, const Shape& dims, int threads) {
  Tensor grad = random_from_f64(reduced_shape(x.shape(), dims, true), x.dtype());
  Tensor expected = Tensor::empty(x.shape(), x.dtype());
  cpu::prod_backward(expected, grad, x, dims);
  Tensor got = Tensor::full(x.shape(), Scalar(-7.0), x.dtype());
  const Tensor operands[] = {got, x};
  Tensor grad_e = grad.expand(x.shape());
  cuda::RowGeometry g = cuda::row_geometry("test", dims, operands, 2);
  cuda::RowGeometry per_row = cuda::row_geometry("test", dims, &grad_e, 1);
  cuda::prod_backward_raw(x.dtype(), got.raw_data(), grad.raw_data(), x.raw_data(), g, per_row,
                          threads);
  expect_match(got, expected, x.dtype() == DType::float32 ? 2.5e-7 : 1e-12, 1e-300,
               "prod_backward of " + x.str() + " over " + shape_str(dims));
}

TEST(CudaEmuReduce, ProdBackwardWithZeros) {
  for (DType dtype : kFloats) {
    for (int64_t n : kLengths) {
      Tensor x = random_from_f64({4, n}, dtype, 0.8, 1.25);
      // Row 1: one zero; row 2: two zeros (n > 1); row 3: a negative zero.
      set_value(x, n + n / 2, 0.0);
      if (n > 1) {
        set_value(x, 2 * n, 0.0);
        set_value(x, 2 * n + n - 1, 0.0);
      }
      set_value(x, 3 * n + n - 1, -0.0);
      for (int threads : {0, 64, 256}) check_prod_backward(x, {1}, threads);
      check_prod_backward(x, {0}, 0);
      if (n <= 129) {
        check_prod_backward(random_from_f64({3, n, 2}, dtype, 0.8, 1.25), {0, 2}, 0);
        check_prod_backward(random_from_f64({n, 5}, dtype, 0.8, 1.25).t(), {1}, 32);
      }
    }
  }
  // Through the Tensor-level entry, with a strided grad.
  Tensor x = random_from_f64({6, 33}, DType::float64);
  set_value(x, 40, 0.0);
  Tensor grad = random_from_f64({1, 6}, DType::float64).t();
  Tensor got = Tensor::empty(x.shape(), DType::float64), want = Tensor::empty(x.shape(),
                                                                              DType::float64);
  cuda::prod_backward(got, grad, x, {1});
  cpu::prod_backward(want, grad, x, {1});
  expect_match(got, want, 1e-12, 0.0, "cuda::prod_backward");
}

void check_extreme_weights(const Tensor& x, const Shape& dims, bool is_max, int threads) {
  Tensor out = Tensor::empty(reduced_shape(x.shape(), dims, true), x.dtype());
  cpu::amax(out, x, dims, is_max);
  Tensor expected = Tensor::empty(x.shape(), x.dtype());
  cpu::extreme_weights(expected, x, out, dims);
  Tensor got = Tensor::full(x.shape(), Scalar(-7.0), x.dtype());
  const Tensor operands[] = {got, x};
  Tensor out_e = out.expand(x.shape());
  cuda::RowGeometry g = cuda::row_geometry("test", dims, operands, 2);
  cuda::RowGeometry per_row = cuda::row_geometry("test", dims, &out_e, 1);
  cuda::extreme_weights_raw(x.dtype(), got.raw_data(), x.raw_data(), out.raw_data(), g, per_row,
                            threads);
  expect_match(got, expected, 0.0, 0.0,
               "extreme_weights of " + x.str() + " over " + shape_str(dims));
}

TEST(CudaEmuReduce, ExtremeWeightsTiesAndNaN) {
  for (DType dtype : kFloats) {
    for (int64_t n : kLengths) {
      Tensor x = random_from_f64({3, n}, DType::int32, -3.0, 3.0).to(dtype);
      if (n > 2) {
        set_value(x, 2 * n + 1, kNaN);
        set_value(x, 2 * n + 2, kNaN);
      }
      for (bool is_max : {true, false}) {
        for (int threads : {0, 64, 256}) check_extreme_weights(x, {1}, is_max, threads);
        check_extreme_weights(x, {0}, is_max, 0);
        if (n <= 129) {
          Tensor y = random_from_f64({2, n, 3}, DType::int32, -3.0, 3.0).to(dtype);
          check_extreme_weights(y.permute({2, 1, 0}), {0, 1}, is_max, 0);
        }
      }
    }
  }
}

void check_norm_backward(const Tensor& x, const Shape& dims, double p, int threads) {
  Shape kept = reduced_shape(x.shape(), dims, true);
  Tensor out = Tensor::empty(kept, x.dtype());
  cpu::norm(out, x, dims, p);
  Tensor grad = random_from_f64(kept, x.dtype());
  Tensor expected = Tensor::empty(x.shape(), x.dtype());
  cpu::norm_backward(expected, grad, x, out, dims, p);
  Tensor got = Tensor::full(x.shape(), Scalar(-7.0), x.dtype());
  const Tensor operands[] = {got, x};
  const Tensor per_row_operands[] = {grad.expand(x.shape()), out.expand(x.shape())};
  cuda::RowGeometry g = cuda::row_geometry("test", dims, operands, 2);
  cuda::RowGeometry per_row = cuda::row_geometry("test", dims, per_row_operands, 2);
  cuda::norm_backward_raw(x.dtype(), got.raw_data(), grad.raw_data(), x.raw_data(),
                          out.raw_data(), g, per_row, p, threads);
  expect_match(got, expected, 16 * eps(x.dtype()), 16 * eps(x.dtype()),
               "norm_backward of " + x.str() + " over " + shape_str(dims) + " p " +
                   std::to_string(p));
}

TEST(CudaEmuReduce, NormBackwardEveryP) {
  for (DType dtype : kFloats) {
    for (int64_t n : kLengths) {
      // Ties in |x| (for the inf norms), zeros and an all-zero row.
      Tensor x = random_from_f64({3, n}, DType::int32, -3.0, 3.0).to(dtype);
      for (int64_t i = 0; i < n; ++i) set_value(x, 2 * n + i, 0.0);
      for (double p : {0.0, 1.0, 2.0, kInf, -kInf, 3.0, 0.5, -1.5}) {
        for (int threads : {0, 256}) check_norm_backward(x, {1}, p, threads);
        if (n <= 129) check_norm_backward(random_from_f64({n, 3, 2}, dtype), {0, 2}, p, 64);
      }
    }
  }
  Tensor x = random_from_f64({4, 9}, DType::float32);
  Tensor out = Tensor::empty({4, 1}, DType::float32);
  Tensor grad = random_from_f64({4, 1}, DType::float32);
  cpu::norm(out, x, {1}, 2.0);
  Tensor got = Tensor::empty(x.shape(), DType::float32), want = Tensor::empty(x.shape(),
                                                                              DType::float32);
  cuda::norm_backward(got, grad, x, out, {1}, 2.0);
  cpu::norm_backward(want, grad, x, out, {1}, 2.0);
  expect_match(got, want, 1e-6, 1e-6, "cuda::norm_backward");
  EXPECT_THROW(cuda::norm_backward(got, grad.to(DType::float64), x, out, {1}, 2.0), Error);
}

TEST(CudaEmuReduce, ScanAndBackwardShuffledThreadOrder) {
  cuda_emu::set_shuffle(true, 31);
  for (DType dtype : kFloats) {
    for (int64_t n : {33, 1000}) {
      Tensor x = random_from_f64({3, n}, dtype, 0.8, 1.25);
      set_value(x, n + 2, 0.0);
      for (int threads : {0, 64, 256}) {
        check_cumsum(x, 1, threads == 64, threads);
        check_prod_backward(x, {1}, threads);
        check_extreme_weights(x, {1}, true, threads);
        check_norm_backward(x, {1}, kInf, threads);
      }
    }
  }
  cuda_emu::set_shuffle(false);
}

}  // namespace
}  // namespace ember
