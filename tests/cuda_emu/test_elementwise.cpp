// The CUDA elementwise kernels run on the harness against cpu::binary: odd
// sizes around the vector width and block size, broadcasts both ways,
// transposed and sliced views, unaligned starts, float32 and float64.
#include <gtest/gtest.h>

#include <cstring>

#include "core/random.h"
#include "cpu/elementwise.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"

namespace ember {
namespace {

Tensor random_tensor(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  uniform_(t, 0.5, 2.0);
  return t;
}

// Runs the CUDA kernel on host memory (the harness's device memory is host
// memory) and compares bit for bit with the CPU kernel: both compute one
// IEEE operation per element.
void check(BinaryOp op, const Tensor& a, const Tensor& b) {
  Shape shape = broadcast_shapes(a.shape(), b.shape(), "test");
  Tensor ea = a.expand(shape), eb = b.expand(shape);
  Tensor expected = Tensor::empty(shape, a.dtype());
  cpu::binary(op, expected, ea, eb);
  Tensor got = Tensor::full(shape, Scalar(-7.0), a.dtype());
  cuda::BinaryGeometry g = cuda::binary_geometry(binary_op_name(op), got, ea, eb);
  cuda::binary_raw(op, a.dtype(), got.raw_data(), ea.raw_data(), eb.raw_data(), g);
  size_t bytes = size_t(got.numel()) * got.element_size();
  ASSERT_EQ(std::memcmp(got.raw_data(), expected.raw_data(), bytes), 0)
      << binary_op_name(op) << " " << a.str() << " with " << b.str();
}

const BinaryOp kOps[] = {BinaryOp::add, BinaryOp::sub, BinaryOp::mul, BinaryOp::div};

TEST(CudaEmuElementwise, ContiguousOddSizes) {
  for (DType dtype : {DType::float32, DType::float64}) {
    for (BinaryOp op : kOps) {
      for (int64_t n : {1, 31, 33, 129, 4097}) {
        check(op, random_tensor({n}, dtype), random_tensor({n}, dtype));
      }
    }
  }
}

TEST(CudaEmuElementwise, ScalarBroadcastBothWays) {
  for (DType dtype : {DType::float32, DType::float64}) {
    for (BinaryOp op : kOps) {
      for (int64_t n : {1, 33, 4097}) {
        check(op, random_tensor({n}, dtype), random_tensor({}, dtype));
        check(op, random_tensor({1}, dtype), random_tensor({n}, dtype));
      }
    }
  }
}

TEST(CudaEmuElementwise, RowAndColumnBroadcasts) {
  for (DType dtype : {DType::float32, DType::float64}) {
    for (BinaryOp op : kOps) {
      for (int64_t n : {1, 31, 129}) {
        check(op, random_tensor({n, 33}, dtype), random_tensor({33}, dtype));
        check(op, random_tensor({n, 1}, dtype), random_tensor({n, 7}, dtype));
        check(op, random_tensor({n, 1, 5}, dtype), random_tensor({3, 1}, dtype));
      }
    }
  }
}

TEST(CudaEmuElementwise, NonContiguousAndUnalignedViews) {
  for (DType dtype : {DType::float32, DType::float64}) {
    for (BinaryOp op : kOps) {
      for (int64_t n : {1, 31, 33, 129}) {
        Tensor a = random_tensor({n, 17}, dtype), b = random_tensor({17, n}, dtype);
        check(op, a, b.t());
        check(op, a.slice(1, 0, 17, 3), a.slice(1, 1, 17, 3));
        // Offsets of one element: contiguous but not 16-byte aligned.
        Tensor flat = random_tensor({4097 + 1}, dtype);
        check(op, flat.slice(0, 1, 4097 + 1), random_tensor({4097}, dtype));
        check(op, random_tensor({n, 3, 5}, dtype).permute({2, 0, 1}),
              random_tensor({5, n, 3}, dtype));
      }
    }
  }
}

TEST(CudaEmuElementwise, EmptyAndShuffledOrder) {
  check(BinaryOp::add, random_tensor({0, 5}, DType::float32), random_tensor({5}, DType::float32));
  // Elementwise threads never share data, so any thread order gives the same answer.
  cuda_emu::set_shuffle(true, 9);
  check(BinaryOp::mul, random_tensor({33, 129}, DType::float32),
        random_tensor({129}, DType::float32));
  cuda_emu::set_shuffle(false);
}

TEST(CudaEmuElementwise, RejectsUnsupportedDtypesAndOps) {
  Tensor i = Tensor::zeros({4}, DType::int64);
  cuda::BinaryGeometry g = cuda::binary_geometry("add", i, i, i);
  EXPECT_THROW(cuda::binary_raw(BinaryOp::add, DType::int64, i.raw_data(), i.raw_data(),
                                i.raw_data(), g),
               Error);
  Tensor f = Tensor::zeros({4});
  EXPECT_THROW(cuda::binary_raw(BinaryOp::pow, DType::float32, f.raw_data(), f.raw_data(),
                                f.raw_data(), g),
               Error);
  EXPECT_THROW(cuda::binary_geometry("add", f, Tensor::zeros({2}), f), Error);
  EXPECT_THROW(cuda::binary(BinaryOp::add, f, Tensor::zeros({4}, DType::float64), f), Error);
}

}  // namespace
}  // namespace ember
