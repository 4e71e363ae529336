// The CUDA reduction and softmax kernels run on the harness against the CPU
// kernels: row lengths around the warp and block sizes, several outer sizes,
// transposed, sliced and permuted inputs, reductions over leading, trailing
// and several dims, warp-per-row and block-per-row launches, float32 and
// float64, and shuffle mode so a missing __syncthreads gives a wrong answer.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "core/random.h"
#include "cpu/reduce.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "emu_testing.h"
#include "ops/reduce.h"

namespace ember {
namespace {

using namespace emu_test;

const int64_t kLengths[] = {1, 31, 32, 33, 129, 1000, 4097};
const int64_t kOuters[] = {1, 3, 17};
// 0 lets the launcher choose; 64 and 256 force a block of warps per row even
// for short rows, so the shared-memory pass runs at every length.
const int kThreadsPerRow[] = {0, 64, 256};

// Elementwise closeness of two contiguous tensors; `scale` bounds the size of
// the terms that were added (the error of a sum grows with them, not with the
// result, which may cancel to near 0).
void expect_close(const Tensor& got, const Tensor& expected, double scale,
                  const std::string& what) {
  ASSERT_EQ(got.numel(), expected.numel()) << what;
  double tol = (got.dtype() == DType::float32 ? 2e-6 : 1e-14) * scale;
  for (int64_t i = 0; i < got.numel(); ++i) {
    double g = value(got, i), e = value(expected, i);
    if (std::isnan(e)) {
      ASSERT_TRUE(std::isnan(g)) << what << " at " << i;
      continue;
    }
    ASSERT_NEAR(g, e, tol * std::max(1.0, std::fabs(e))) << what << " at " << i;
  }
}

Tensor cpu_reduce(cuda::ReduceOp op, const Tensor& x, const Shape& dims) {
  Tensor out = Tensor::empty(reduced_shape(x.shape(), dims, false), x.dtype());
  switch (op) {
    case cuda::ReduceOp::amax: cpu::amax(out, x, dims, true); break;
    case cuda::ReduceOp::amin: cpu::amax(out, x, dims, false); break;
    case cuda::ReduceOp::sum: cpu::sum(out, x, dims); break;
    case cuda::ReduceOp::mean: return mean(x, dims);
  }
  return out;
}

void check_reduce(cuda::ReduceOp op, const Tensor& x, const Shape& dims, int threads_per_row) {
  Tensor expected = cpu_reduce(op, x, dims);
  Tensor got = Tensor::full(expected.shape(), Scalar(-7.0), x.dtype());
  cuda::RowGeometry g = cuda::row_geometry("test", dims, &x, 1);
  cuda::reduce_raw(op, x.dtype(), got.raw_data(), x.raw_data(), g, threads_per_row);
  std::string what = std::string(cuda::reduce_op_name(op)) + " of " + x.str() + " over " +
                     shape_str(dims) + " with " + std::to_string(threads_per_row) + " threads";
  bool exact = op == cuda::ReduceOp::amax || op == cuda::ReduceOp::amin;
  expect_close(got, expected, exact ? 0.0 : 2.0 * double(g.n), what);
}

const cuda::ReduceOp kOps[] = {cuda::ReduceOp::sum, cuda::ReduceOp::mean, cuda::ReduceOp::amax,
                               cuda::ReduceOp::amin};

TEST(CudaEmuReduce, RowsOfEveryLength) {
  for (DType dtype : {DType::float32, DType::float64}) {
    for (int64_t n : kLengths) {
      for (int64_t outer : kOuters) {
        Tensor x = random_tensor({outer, n}, dtype);
        for (cuda::ReduceOp op : kOps) {
          for (int threads : kThreadsPerRow) check_reduce(op, x, {1}, threads);
        }
      }
    }
  }
}

TEST(CudaEmuReduce, NonContiguousAndLeadingDims) {
  for (DType dtype : {DType::float32, DType::float64}) {
    for (int64_t n : kLengths) {
      for (cuda::ReduceOp op : kOps) {
        // Transposed: each row is strided; reducing dim 0: rows run across columns.
        check_reduce(op, random_tensor({n, 5}, dtype).t(), {1}, 0);
        check_reduce(op, random_tensor({n, 3}, dtype), {0}, 0);
        check_reduce(op, random_tensor({3, 2 * n}, dtype).slice(1, 1, 2 * n, 2), {1}, 64);
        // Several reduced dims that do not merge, and a permuted input (many
        // short rows: kept to moderate n, the harness runs blocks serially).
        if (n <= 129) {
          check_reduce(op, random_tensor({3, n, 2, 5}, dtype), {0, 2}, 0);
          check_reduce(op, random_tensor({2, n, 3}, dtype).permute({2, 0, 1}), {0, 2}, 256);
        }
        check_reduce(op, random_tensor({2, n}, dtype), {0, 1}, 0);
      }
    }
  }
}

TEST(CudaEmuReduce, ScalarsEmptyAndNaN) {
  for (cuda::ReduceOp op : kOps) check_reduce(op, random_tensor({}, DType::float32), {}, 0);
  // Empty rows sum to 0 (mean: NaN); no rows launch nothing.
  check_reduce(cuda::ReduceOp::sum, random_tensor({4, 0}, DType::float32), {1}, 0);
  check_reduce(cuda::ReduceOp::mean, random_tensor({4, 0}, DType::float64), {1}, 256);
  check_reduce(cuda::ReduceOp::amax, random_tensor({0, 9}, DType::float32), {1}, 0);
  for (int64_t n : {33, 4097}) {
    Tensor x = random_tensor({3, n}, DType::float64);
    static_cast<double*>(x.raw_data())[n + n / 2] = std::numeric_limits<double>::quiet_NaN();
    for (cuda::ReduceOp op : kOps) {
      for (int threads : kThreadsPerRow) check_reduce(op, x, {1}, threads);
    }
  }
}

TEST(CudaEmuReduce, ShuffledThreadOrder) {
  cuda_emu::set_shuffle(true, 11);
  for (DType dtype : {DType::float32, DType::float64}) {
    for (int64_t n : {1, 33, 1000, 4097}) {
      Tensor x = random_tensor({5, n}, dtype);
      for (cuda::ReduceOp op : kOps) {
        for (int threads : kThreadsPerRow) check_reduce(op, x, {1}, threads);
      }
    }
  }
  cuda_emu::set_shuffle(false);
}

void check_softmax(const Tensor& x, int64_t dim, bool log, int threads_per_row) {
  std::string what = std::string(log ? "log_softmax" : "softmax") + " of " + x.str() +
                     " along " + std::to_string(dim) + " with " +
                     std::to_string(threads_per_row) + " threads";
  Tensor expected = Tensor::empty(x.shape(), x.dtype());
  cpu::softmax(expected, x, dim, log);
  Tensor got = Tensor::full(x.shape(), Scalar(-7.0), x.dtype());
  const Tensor fwd[] = {got, x};
  cuda::RowGeometry g = cuda::row_geometry("test", {dim}, fwd, 2);
  cuda::softmax_raw(log, x.dtype(), got.raw_data(), x.raw_data(), g, threads_per_row);
  expect_close(got, expected, 8.0, what);

  // Backward from the CPU forward's output, with a strided incoming gradient.
  Tensor grad = random_tensor(x.shape(), x.dtype()).contiguous();
  Tensor grad_t = x.dim() == 2 ? random_tensor({x.size(1), x.size(0)}, x.dtype()).t() : grad;
  for (const Tensor& gr : {grad, grad_t}) {
    Tensor want = Tensor::empty(x.shape(), x.dtype());
    cpu::softmax_backward(want, gr, expected, dim, log);
    Tensor have = Tensor::full(x.shape(), Scalar(-7.0), x.dtype());
    const Tensor bwd[] = {have, gr, expected};
    cuda::RowGeometry gb = cuda::row_geometry("test", {dim}, bwd, 3);
    cuda::softmax_backward_raw(log, x.dtype(), have.raw_data(), gr.raw_data(),
                               expected.raw_data(), gb, threads_per_row);
    expect_close(have, want, 4.0 * double(gb.n), what + " backward");
  }
}

TEST(CudaEmuSoftmax, RowsOfEveryLength) {
  for (DType dtype : {DType::float32, DType::float64}) {
    for (int64_t n : kLengths) {
      for (int64_t outer : kOuters) {
        Tensor x = random_tensor({outer, n}, dtype);
        for (bool log : {false, true}) {
          for (int threads : kThreadsPerRow) check_softmax(x, 1, log, threads);
        }
      }
    }
  }
}

TEST(CudaEmuSoftmax, NonContiguousAndInnerDims) {
  for (DType dtype : {DType::float32, DType::float64}) {
    for (int64_t n : kLengths) {
      for (bool log : {false, true}) {
        check_softmax(random_tensor({n, 3}, dtype), 0, log, 0);
        check_softmax(random_tensor({7, n}, dtype).t(), 1, log, 0);
        check_softmax(random_tensor({2, n, 5}, dtype), 1, log, 64);
        check_softmax(random_tensor({2, 5, n}, dtype).permute({0, 2, 1}), 1, log, 0);
        check_softmax(random_tensor({3, 2 * n}, dtype).slice(1, 0, 2 * n, 2), 1, log, 256);
      }
    }
  }
}

// Short rows along a leading dim run a thread per row: chosen by itself
// (threads 0) for such layouts, forced (threads 1) for any other.
TEST(CudaEmuSoftmax, ThreadPerRowLayouts) {
  for (DType dtype : {DType::float32, DType::float64}) {
    for (bool log : {false, true}) {
      check_softmax(random_tensor({13, 300}, dtype), 0, log, 0);
      check_softmax(random_tensor({1, 129}, dtype), 0, log, 0);
      check_softmax(random_tensor({5, 7, 33}, dtype), 1, log, 0);
      check_softmax(random_tensor({64, 131}, dtype), 0, log, 1);
      check_softmax(random_tensor({33, 31}, dtype), 1, log, 1);
      check_softmax(random_tensor({4, 9, 6}, dtype).permute({2, 0, 1}), 1, log, 1);
    }
  }
  cuda_emu::set_shuffle(true, 11);
  check_softmax(random_tensor({7, 200}, DType::float32), 0, true, 0);
  cuda_emu::set_shuffle(false);
}

TEST(CudaEmuSoftmax, LargeValuesScalarsAndShuffledOrder) {
  // Max-subtracted: values near the float range do not overflow.
  Tensor big = random_tensor({3, 129}, DType::float32);
  float* p = static_cast<float*>(big.raw_data());
  for (int64_t i = 0; i < big.numel(); ++i) p[i] *= 40.0f;
  p[5] = 88.0f;
  p[200] = -1e30f;
  for (bool log : {false, true}) check_softmax(big, 1, log, 0);
  check_softmax(random_tensor({}, DType::float64), 0, false, 0);
  check_softmax(random_tensor({4, 0}, DType::float32), 1, true, 0);
  cuda_emu::set_shuffle(true, 5);
  for (DType dtype : {DType::float32, DType::float64}) {
    for (int64_t n : {1, 33, 1000, 4097}) {
      for (bool log : {false, true}) {
        for (int threads : kThreadsPerRow) {
          check_softmax(random_tensor({5, n}, dtype), 1, log, threads);
        }
      }
    }
  }
  cuda_emu::set_shuffle(false);
}

TEST(CudaEmuReduce, RejectsBadArguments) {
  Tensor i = Tensor::zeros({4, 3}, DType::int64);
  cuda::RowGeometry g = cuda::row_geometry("sum", {1}, &i, 1);
  EXPECT_THROW(cuda::reduce_raw(cuda::ReduceOp::sum, DType::int64, i.raw_data(), i.raw_data(), g),
               Error);
  EXPECT_THROW(cuda::softmax_raw(false, DType::int64, i.raw_data(), i.raw_data(), g), Error);
  Tensor f = Tensor::zeros({4, 3});
  EXPECT_THROW(
      cuda::reduce_raw(cuda::ReduceOp::sum, DType::float32, f.raw_data(), f.raw_data(), g, 48),
      Error);
  Tensor empty = Tensor::zeros({4, 0});
  cuda::RowGeometry ge = cuda::row_geometry("amax", {1}, &empty, 1);
  EXPECT_THROW(cuda::reduce_raw(cuda::ReduceOp::amax, DType::float32, f.raw_data(),
                                empty.raw_data(), ge),
               Error);
  const Tensor mismatched[] = {f, Tensor::zeros({3, 4})};
  EXPECT_THROW(cuda::row_geometry("softmax", {1}, mismatched, 2), Error);
  EXPECT_THROW(cuda::reduce(cuda::ReduceOp::sum, Tensor::zeros({4}, DType::float64), f, {1}),
               Error);
  EXPECT_THROW(cuda::reduce(cuda::ReduceOp::sum, Tensor::zeros({3}), f, {1}), Error);
  EXPECT_THROW(cuda::softmax(f, f, 2, false), Error);
}

}  // namespace
}  // namespace ember
