// The CUDA reduction, cumsum, reduction-backward and softmax kernels on
// float16 and bfloat16, run on the harness against the CPU kernels (which
// widen to float32 and round once): odd row lengths around the warp and block
// sizes, warp-per-row, block-per-row and thread-per-row launches, strided
// rows, ties and NaN. Order-free results (max/min, their indices, the
// gradient split among tied maxima) must match bit for bit; sums may differ
// by the float rounding of a different addition order, so those results are
// allowed one unit in the last place of the 16-bit type plus a float-sized
// error of the terms.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <utility>

#include "cpu/reduce.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "emu_testing.h"
#include "ops/reduce.h"

namespace ember {
namespace {

using namespace emu_test;

constexpr DType kHalves[] = {DType::float16, DType::bfloat16};
const int64_t kLengths[] = {1, 31, 33, 129, 1025};

// The 16-bit type's spacing relative to a value: 2^-10 (float16), 2^-7 (bfloat16).
double ulp(DType dtype) { return dtype == DType::float16 ? 0x1p-10 : 0x1p-7; }

// Uniform values in [low, high) rounded to `dtype`.
Tensor random16(const Shape& shape, DType dtype, double low = -2.0, double high = 2.0) {
  return random_tensor(shape, DType::float32, low, high).to(dtype);
}

// Small integers rounded to `dtype`: plenty of ties.
Tensor tied16(const Shape& shape, DType dtype) {
  return random_from_f64(shape, DType::int32, -3.0, 3.0).to(dtype);
}

// Element i of a contiguous tensor set to v (rounded to its dtype).
void set16(const Tensor& t, int64_t i, double v) {
  Tensor one = Tensor::full({}, Scalar(v), t.dtype());
  std::memcpy(static_cast<char*>(t.raw_data()) + i * 2, one.raw_data(), 2);
}

Tensor as_f64(const Tensor& t) { return t.to(DType::float64).contiguous(); }

// Every element within one 16-bit ulp of |expected| plus `abs`; NaN matches NaN.
void expect_near16(const Tensor& got, const Tensor& expected, double abs,
                   const std::string& what) {
  ASSERT_EQ(got.dtype(), expected.dtype()) << what;
  ASSERT_EQ(got.numel(), expected.numel()) << what;
  Tensor g64 = as_f64(got), e64 = as_f64(expected);
  const double* g = g64.data<double>();
  const double* e = e64.data<double>();
  for (int64_t i = 0; i < got.numel(); ++i) {
    if (std::isnan(e[i]) || std::isnan(g[i])) {
      ASSERT_EQ(std::isnan(e[i]), std::isnan(g[i])) << what << " at " << i;
    } else if (std::isinf(e[i])) {
      ASSERT_EQ(g[i], e[i]) << what << " at " << i;
    } else {
      ASSERT_LE(std::fabs(g[i] - e[i]), ulp(got.dtype()) * std::fabs(e[i]) + abs)
          << what << " at " << i << ": " << g[i] << " vs " << e[i];
    }
  }
}

// Bit for bit (any NaN matches any NaN).
void expect_bits(const Tensor& got, const Tensor& expected, const std::string& what) {
  ASSERT_EQ(got.dtype(), expected.dtype()) << what;
  ASSERT_EQ(got.numel(), expected.numel()) << what;
  const auto* g = static_cast<const uint16_t*>(got.raw_data());
  const auto* e = static_cast<const uint16_t*>(expected.raw_data());
  Tensor g64 = as_f64(got), e64 = as_f64(expected);
  for (int64_t i = 0; i < got.numel(); ++i) {
    if (std::isnan(e64.data<double>()[i])) {
      ASSERT_TRUE(std::isnan(g64.data<double>()[i])) << what << " at " << i;
    } else {
      ASSERT_EQ(g[i], e[i]) << what << " at " << i << ": " << g64.data<double>()[i] << " vs "
                            << e64.data<double>()[i];
    }
  }
}

std::string describe(const std::string& op, const Tensor& x, const Shape& dims, int threads) {
  return op + " of " + x.str() + " over " + shape_str(dims) + " with " +
         std::to_string(threads) + " threads";
}

Tensor out_for(const Tensor& x, const Shape& dims, DType dtype) {
  return Tensor::full(reduced_shape(x.shape(), dims, false), Scalar(-7.0), dtype);
}

void check_reduce(cuda::ReduceOp op, const Tensor& x, const Shape& dims, int threads) {
  Tensor expected = Tensor::empty(reduced_shape(x.shape(), dims, false), x.dtype());
  switch (op) {
    case cuda::ReduceOp::amax: cpu::amax(expected, x, dims, true); break;
    case cuda::ReduceOp::amin: cpu::amax(expected, x, dims, false); break;
    case cuda::ReduceOp::sum: cpu::sum(expected, x, dims); break;
    case cuda::ReduceOp::mean: expected = mean(x, dims); break;
  }
  Tensor got = out_for(x, dims, x.dtype());
  cuda::RowGeometry g = cuda::row_geometry("test", dims, &x, 1);
  cuda::reduce_raw(op, x.dtype(), got.raw_data(), x.raw_data(), g, threads);
  std::string what = describe(cuda::reduce_op_name(op), x, dims, threads);
  if (op == cuda::ReduceOp::amax || op == cuda::ReduceOp::amin) {
    return expect_bits(got, expected, what);
  }
  expect_near16(got, expected, 4e-6 * double(g.n), what);
}

const cuda::ReduceOp kOps[] = {cuda::ReduceOp::sum, cuda::ReduceOp::mean, cuda::ReduceOp::amax,
                               cuda::ReduceOp::amin};

TEST(CudaEmuReduceHalf, SumMeanAmaxAmin) {
  for (DType dtype : kHalves) {
    for (int64_t n : kLengths) {
      Tensor x = random16({3, n}, dtype);
      set16(x, n + n / 2, kNaN);
      for (cuda::ReduceOp op : kOps) {
        for (int threads : {0, 64, 256}) check_reduce(op, x, {1}, threads);
        check_reduce(op, random16({n, 5}, dtype).t(), {1}, 0);
        check_reduce(op, random16({n, 3}, dtype), {0}, 0);
        check_reduce(op, random16({3, 2 * n}, dtype).slice(1, 1, 2 * n, 2), {1}, 64);
        if (n <= 129) check_reduce(op, random16({3, n, 2, 5}, dtype), {0, 2}, 0);
      }
    }
  }
}

void check_fold(cuda::FoldOp op, const Tensor& x, const Shape& dims, int threads) {
  Tensor expected = out_for(x, dims, x.dtype());
  switch (op) {
    case cuda::FoldOp::sum: cpu::sum(expected, x, dims); break;
    case cuda::FoldOp::prod: cpu::prod(expected, x, dims); break;
    case cuda::FoldOp::amax: cpu::amax(expected, x, dims, true); break;
    case cuda::FoldOp::amin: cpu::amax(expected, x, dims, false); break;
  }
  Tensor got = out_for(x, dims, x.dtype());
  cuda::RowGeometry g = cuda::row_geometry("test", dims, &x, 1);
  cuda::fold_raw(op, x.dtype(), got.raw_data(), x.raw_data(), g, threads);
  std::string what = describe("fold " + std::to_string(int(op)), x, dims, threads);
  if (op == cuda::FoldOp::amax || op == cuda::FoldOp::amin) {
    return expect_bits(got, expected, what);
  }
  expect_near16(got, expected, 4e-6 * double(g.n), what);
}

TEST(CudaEmuReduceHalf, ProdAndFolds) {
  for (DType dtype : kHalves) {
    for (int64_t n : kLengths) {
      // Near 1, so long products stay in range; a zero in row 1.
      Tensor x = random16({3, n}, dtype, 0.9, 1.1);
      set16(x, n + n / 3, 0.0);
      for (cuda::FoldOp op : {cuda::FoldOp::sum, cuda::FoldOp::prod, cuda::FoldOp::amax,
                              cuda::FoldOp::amin}) {
        for (int threads : {0, 256}) check_fold(op, x, {1}, threads);
        check_fold(op, random16({n, 4}, dtype, 0.9, 1.1), {0}, 0);
      }
    }
  }
}

void check_arg(const Tensor& x, const Shape& dims, bool is_max, int threads) {
  Tensor want_v = out_for(x, dims, x.dtype()), want_i = out_for(x, dims, DType::int64);
  cpu::arg_extreme(want_v, want_i, x, dims, is_max);
  Tensor got_v = out_for(x, dims, x.dtype()), got_i = out_for(x, dims, DType::int64);
  cuda::RowGeometry g = cuda::row_geometry("test", dims, &x, 1);
  cuda::arg_extreme_raw(is_max, x.dtype(), got_v.raw_data(), got_i.data<int64_t>(), x.raw_data(),
                        g, threads);
  std::string what = describe(is_max ? "max" : "min", x, dims, threads);
  expect_bits(got_v, want_v, what);
  for (int64_t i = 0; i < want_i.numel(); ++i) {
    ASSERT_EQ(got_i.data<int64_t>()[i], want_i.data<int64_t>()[i]) << what << " index " << i;
  }
}

TEST(CudaEmuReduceHalf, MaxMinWithIndexTiesAndNaN) {
  for (DType dtype : kHalves) {
    for (int64_t n : kLengths) {
      Tensor x = tied16({3, n}, dtype);
      if (n > 2) {
        set16(x, 2 * n + n / 2, kNaN);
        set16(x, 2 * n + n - 1, kNaN);
      }
      for (bool is_max : {true, false}) {
        for (int threads : {0, 64, 256}) check_arg(x, {1}, is_max, threads);
        check_arg(x, {0}, is_max, 0);
        check_arg(random16({n, 5}, dtype).t(), {1}, is_max, 0);
      }
    }
  }
}

TEST(CudaEmuReduceHalf, VarStdLogSumExpNorm) {
  for (DType dtype : kHalves) {
    for (int64_t n : kLengths) {
      // An offset makes the variance small against the values.
      Tensor x = random16({3, n}, dtype, 4.0, 8.0);
      // Along the rows with a warp or a block each, and across them (many
      // short rows: kept to moderate n, the harness runs blocks serially).
      for (auto [dims, threads] : {std::pair{Shape{1}, 0}, std::pair{Shape{1}, 256},
                                   std::pair{Shape{0}, 0}}) {
        if (dims[0] == 0 && n > 129) continue;
        cuda::RowGeometry g = cuda::row_geometry("test", dims, &x, 1);
        {
          for (double correction : {0.0, 1.0}) {
            for (bool take_sqrt : {false, true}) {
              Tensor want = out_for(x, dims, dtype), got = out_for(x, dims, dtype);
              cpu::var(want, x, dims, correction, take_sqrt);
              cuda::var_raw(dtype, got.raw_data(), x.raw_data(), g, correction, take_sqrt,
                            threads);
              expect_near16(got, want, 1e-5, describe(take_sqrt ? "std" : "var", x, dims,
                                                      threads));
            }
          }
          Tensor want = out_for(x, dims, dtype), got = out_for(x, dims, dtype);
          cpu::logsumexp(want, x, dims);
          cuda::logsumexp_raw(dtype, got.raw_data(), x.raw_data(), g, threads);
          expect_near16(got, want, 1e-5, describe("logsumexp", x, dims, threads));
          for (double p : {0.0, 1.0, 2.0, 3.0, kInf, -kInf}) {
            Tensor y = random16({3, n}, dtype);
            Tensor nwant = out_for(y, dims, dtype), ngot = out_for(y, dims, dtype);
            cpu::norm(nwant, y, dims, p);
            cuda::norm_raw(dtype, ngot.raw_data(), y.raw_data(), g, p, threads);
            expect_near16(ngot, nwant, 1e-5 * double(g.n),
                          describe("norm " + std::to_string(p), y, dims, threads));
          }
        }
      }
    }
  }
}

void check_cumsum(const Tensor& x, int64_t dim, bool reverse, int threads) {
  Tensor want = Tensor::empty(x.shape(), x.dtype());
  cpu::cumsum(want, x, dim, reverse);
  Tensor got = Tensor::full(x.shape(), Scalar(-7.0), x.dtype());
  const Tensor operands[] = {got, x};
  cuda::RowGeometry g = cuda::row_geometry("test", {dim}, operands, 2);
  cuda::cumsum_raw(x.dtype(), got.raw_data(), x.raw_data(), g, reverse, threads);
  expect_near16(got, want, 4e-6 * double(g.n),
                describe(reverse ? "reverse cumsum" : "cumsum", x, {dim}, threads));
}

TEST(CudaEmuReduceHalf, CumsumRowsChunksAndColumns) {
  for (DType dtype : kHalves) {
    for (int64_t n : {1, 33, 129, 1000}) {
      Tensor x = random16({3, n}, dtype);
      for (bool reverse : {false, true}) {
        // 32 threads: rows of 1000 take 32 chunks, carrying across each.
        for (int threads : {0, 32, 256}) check_cumsum(x, 1, reverse, threads);
        check_cumsum(x, 0, reverse, 0);
        // Many strided rows: one thread per row.
        if (n <= 129) check_cumsum(random16({n, 260}, dtype), 0, reverse, 0);
      }
    }
  }
}

// prod_backward on x; extreme_weights and norm_backward on `ties`, of x's shape.
void check_backward_kernels(const Tensor& x, const Tensor& ties, const Shape& dims, int threads) {
  const DType dtype = x.dtype();
  Shape kept = reduced_shape(x.shape(), dims, true);
  Tensor want = Tensor::empty(x.shape(), dtype);
  Tensor got = Tensor::full(x.shape(), Scalar(-7.0), dtype);
  const Tensor operands[] = {got, x};
  cuda::RowGeometry g = cuda::row_geometry("test", dims, operands, 2);
  Tensor grad = random16(kept, dtype);
  Tensor grad_e = grad.expand(x.shape());
  cuda::RowGeometry per_grad = cuda::row_geometry("test", dims, &grad_e, 1);

  cpu::prod_backward(want, grad, x, dims);
  cuda::prod_backward_raw(dtype, got.raw_data(), grad.raw_data(), x.raw_data(), g, per_grad,
                          threads);
  expect_near16(got, want, 0.0, describe("prod_backward", x, dims, threads));

  for (bool is_max : {true, false}) {
    Tensor extreme = Tensor::empty(kept, dtype);
    cpu::amax(extreme, ties, dims, is_max);
    Tensor extreme_e = extreme.expand(x.shape());
    cuda::RowGeometry per_row = cuda::row_geometry("test", dims, &extreme_e, 1);
    cpu::extreme_weights(want, ties, extreme, dims);
    cuda::extreme_weights_raw(dtype, got.raw_data(), ties.raw_data(), extreme.raw_data(), g,
                              per_row, threads);
    expect_bits(got, want, describe("extreme_weights", ties, dims, threads));
  }

  for (double p : {0.0, 1.0, 2.0, 3.0, kInf}) {
    Tensor norm = Tensor::empty(kept, dtype);
    cpu::norm(norm, ties, dims, p);
    const Tensor per_row_operands[] = {grad.expand(x.shape()), norm.expand(x.shape())};
    cuda::RowGeometry per_row = cuda::row_geometry("test", dims, per_row_operands, 2);
    cpu::norm_backward(want, grad, ties, norm, dims, p);
    cuda::norm_backward_raw(dtype, got.raw_data(), grad.raw_data(), ties.raw_data(),
                            norm.raw_data(), g, per_row, p, threads);
    expect_near16(got, want, 1e-6,
                  describe("norm_backward " + std::to_string(p), ties, dims, threads));
  }
}

TEST(CudaEmuReduceHalf, ProdExtremeAndNormBackward) {
  for (DType dtype : kHalves) {
    for (int64_t n : kLengths) {
      // Near 1, so long products stay in range. Row 1: one zero; row 2: two
      // zeros (n > 1); row 3: a negative zero.
      Tensor x = random16({4, n}, dtype, 0.8, 1.25);
      set16(x, n + n / 2, 0.0);
      if (n > 1) {
        set16(x, 2 * n, 0.0);
        set16(x, 3 * n - 1, 0.0);
      }
      set16(x, 4 * n - 1, -0.0);
      Tensor ties = tied16({4, n}, dtype);
      if (n > 2) {
        set16(ties, n + 1, kNaN);
        set16(ties, n + 2, kNaN);
      }
      for (int threads : {0, 64, 256}) check_backward_kernels(x, ties, {1}, threads);
      check_backward_kernels(x, ties, {0}, 0);
      if (n <= 129) {
        check_backward_kernels(random16({n, 5}, dtype, 0.8, 1.25).t(), tied16({n, 5}, dtype).t(),
                               {1}, 32);
      }
    }
  }
}

void check_softmax(const Tensor& x, int64_t dim, bool log, int threads) {
  const DType dtype = x.dtype();
  std::string what = describe(log ? "log_softmax" : "softmax", x, {dim}, threads);
  Tensor want = Tensor::empty(x.shape(), dtype);
  cpu::softmax(want, x, dim, log);
  Tensor got = Tensor::full(x.shape(), Scalar(-7.0), dtype);
  const Tensor fwd[] = {got, x};
  cuda::RowGeometry g = cuda::row_geometry("test", {dim}, fwd, 2);
  cuda::softmax_raw(log, dtype, got.raw_data(), x.raw_data(), g, threads);
  expect_near16(got, want, 1e-6, what);

  // Backward from the CPU forward's output, with a strided incoming gradient.
  Tensor grad = x.dim() == 2 ? random16({x.size(1), x.size(0)}, dtype).t()
                             : random16(x.shape(), dtype);
  Tensor gx_want = Tensor::empty(x.shape(), dtype);
  cpu::softmax_backward(gx_want, grad, want, dim, log);
  Tensor gx = Tensor::full(x.shape(), Scalar(-7.0), dtype);
  const Tensor bwd[] = {gx, grad, want};
  cuda::RowGeometry gb = cuda::row_geometry("test", {dim}, bwd, 3);
  cuda::softmax_backward_raw(log, dtype, gx.raw_data(), grad.raw_data(), want.raw_data(), gb,
                             threads);
  expect_near16(gx, gx_want, 4e-6 * double(gb.n), what + " backward");
}

// Warp per row (short rows), block per row (long rows, or forced by 64/256
// threads) and a thread per row (short rows along a leading dim; 1 forces it).
TEST(CudaEmuSoftmaxHalf, ThreeLayouts) {
  for (DType dtype : kHalves) {
    for (bool log : {false, true}) {
      for (int64_t n : kLengths) {
        Tensor x = random16({3, n}, dtype, -4.0, 4.0);
        for (int threads : {0, 64, 256}) check_softmax(x, 1, log, threads);
        check_softmax(random16({n, 7}, dtype).t(), 1, log, 0);
        check_softmax(random16({2, n, 3}, dtype), 1, log, 1);
      }
      check_softmax(random16({13, 300}, dtype), 0, log, 0);
      check_softmax(random16({64, 131}, dtype), 0, log, 1);
      check_softmax(random16({4, 9, 6}, dtype).permute({2, 0, 1}), 1, log, 1);
    }
  }
}

// Shuffle mode runs the threads in a scrambled order: a missing barrier in
// the 16-bit paths gives a wrong answer.
TEST(CudaEmuSoftmaxHalf, ShuffledThreadOrder) {
  cuda_emu::set_shuffle(true, 7);
  for (DType dtype : kHalves) {
    for (int64_t n : {33, 1025}) {
      Tensor x = random16({3, n}, dtype);
      for (bool log : {false, true}) check_softmax(x, 1, log, 256);
      for (cuda::ReduceOp op : kOps) check_reduce(op, x, {1}, 256);
      check_arg(x, {1}, true, 256);
      check_cumsum(x, 1, true, 64);
    }
  }
  cuda_emu::set_shuffle(false);
}

// The Tensor-level entry points take 16-bit tensors (prod keeps the dtype,
// cumsum writes it) and still reject a mismatched output.
TEST(CudaEmuReduceHalf, TensorEntryPoints) {
  for (DType dtype : kHalves) {
    Tensor x = random16({5, 33}, dtype, 0.9, 1.1);
    Tensor want = out_for(x, {1}, dtype), got = out_for(x, {1}, dtype);
    cpu::prod(want, x, {1});
    cuda::fold(cuda::FoldOp::prod, got, x, {1});
    expect_near16(got, want, 0.0, "cuda::fold prod");
    Tensor sum_want = out_for(x, {0}, dtype), sum_got = out_for(x, {0}, dtype);
    cpu::sum(sum_want, x, {0});
    cuda::reduce(cuda::ReduceOp::sum, sum_got, x, {0});
    expect_near16(sum_got, sum_want, 1e-5, "cuda::reduce sum");
    Tensor c_want = Tensor::empty(x.shape(), dtype), c_got = Tensor::empty(x.shape(), dtype);
    cpu::cumsum(c_want, x, 1, false);
    cuda::cumsum(c_got, x, 1, false);
    expect_near16(c_got, c_want, 1e-4, "cuda::cumsum");
    EXPECT_THROW(cuda::reduce(cuda::ReduceOp::sum, out_for(x, {1}, DType::float32), x, {1}),
                 Error);
    EXPECT_THROW(cuda::cumsum(Tensor::empty(x.shape(), DType::float32), x, 1, false), Error);
  }
}

}  // namespace
}  // namespace ember
