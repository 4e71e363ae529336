// The CUDA arange, linspace and eye kernels run on the harness against the
// CPU's ember::arange / linspace / eye: every dtype the CPU supports, odd
// sizes, grids small enough that the grid-stride loops make several passes;
// bit-exact.
#include <gtest/gtest.h>

#include <cstring>

#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "ops/creation.h"

namespace ember {
namespace {

const DType kRangeDtypes[] = {DType::float32, DType::float64, DType::int64, DType::int32};
const DType kAllDtypes[] = {DType::float32, DType::float64, DType::int64,   DType::int32,
                            DType::bool_,   DType::float16, DType::bfloat16};
// 0: as many blocks as the size needs; 1 and 3: several grid-stride passes.
const int kBlockCaps[] = {0, 1, 3};

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.numel() == b.numel() &&
         std::memcmp(a.raw_data(), b.raw_data(), size_t(a.numel()) * a.element_size()) == 0;
}

// A buffer of n elements filled with a pattern no kernel writes.
Tensor garbage(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  std::memset(t.raw_data(), 0x5b, size_t(t.numel()) * t.element_size());
  return t;
}

void check_arange(Scalar start, Scalar end, Scalar step) {
  for (DType dtype : kRangeDtypes) {
    // The CPU refuses a step that truncates to 0 for an integer dtype.
    if (!is_floating(dtype) && step.to<int64_t>() == 0) continue;
    const Tensor expected = arange(start, end, step, dtype);
    for (int blocks : kBlockCaps) {
      Tensor out = garbage(expected.shape(), dtype);
      cuda::arange_raw(dtype, out.raw_data(), out.numel(), start, step, blocks);
      EXPECT_TRUE(same_bytes(out, expected))
          << dtype_name(dtype) << " arange(" << start.to<double>() << ", " << end.to<double>()
          << ", " << step.to<double>() << ") blocks " << blocks;
    }
  }
}

TEST(CudaEmuCreation, ArangeMatchesCpu) {
  check_arange(Scalar(int64_t(0)), Scalar(int64_t(1)), Scalar(int64_t(1)));      // 1
  check_arange(Scalar(int64_t(-5)), Scalar(int64_t(212)), Scalar(int64_t(7)));   // 31
  check_arange(Scalar(int64_t(40)), Scalar(int64_t(-59)), Scalar(int64_t(-3)));  // 33
  check_arange(Scalar(int64_t(0)), Scalar(int64_t(129)), Scalar(int64_t(1)));    // 129
  check_arange(Scalar(int64_t(3)), Scalar(int64_t(1030)), Scalar(int64_t(1)));   // past 3 blocks
  // Fractional floats: the integer dtypes truncate start and step, as on the CPU.
  check_arange(Scalar(-3.7), Scalar(11.2), Scalar(0.3));
  check_arange(Scalar(0.1), Scalar(1e6), Scalar(1234.567));
  check_arange(Scalar(2.5), Scalar(-7.25), Scalar(-1.0));
}

TEST(CudaEmuCreation, LinspaceMatchesCpu) {
  const struct {
    double start, end;
  } ranges[] = {{-1.3, 7.9}, {0.0, 1.0}, {1e3, -2.5e-3}, {-50.0, 77.0}};
  for (DType dtype : kRangeDtypes) {
    for (const auto& r : ranges) {
      for (int64_t steps : {0, 1, 2, 31, 33, 129, 1001}) {
        const Tensor expected = linspace(r.start, r.end, steps, dtype);
        const double step = steps > 1 ? (r.end - r.start) / double(steps - 1) : 0.0;
        for (int blocks : kBlockCaps) {
          Tensor out = garbage({steps}, dtype);
          cuda::linspace_raw(dtype, out.raw_data(), steps, r.start, r.end, step, blocks);
          EXPECT_TRUE(same_bytes(out, expected))
              << dtype_name(dtype) << " linspace(" << r.start << ", " << r.end << ", " << steps
              << ") blocks " << blocks;
        }
      }
    }
  }
}

TEST(CudaEmuCreation, EyeMatchesCpuEveryDtype) {
  const struct {
    int64_t n, m;
  } shapes[] = {{1, 1}, {31, 33}, {33, 31}, {129, 1}, {1, 129}, {5, 300}, {40, 40}, {0, 7}};
  for (DType dtype : kAllDtypes) {
    for (const auto& s : shapes) {
      const Tensor expected = eye(s.n, s.m, dtype);
      for (int blocks : kBlockCaps) {
        Tensor out = garbage({s.n, s.m}, dtype);
        cuda::eye_raw(dtype, out.raw_data(), s.n, s.m, blocks);
        EXPECT_TRUE(same_bytes(out, expected))
            << dtype_name(dtype) << " eye(" << s.n << ", " << s.m << ") blocks " << blocks;
      }
    }
  }
}

TEST(CudaEmuCreation, UnsupportedDtypesRaiseLikeTheCpu) {
  Tensor out = Tensor::empty({4}, DType::bool_);
  const auto kind_of = [](const auto& call) {
    try {
      call();
    } catch (const Error& e) {
      return e.kind();
    }
    return ErrorKind::runtime;
  };
  EXPECT_EQ(kind_of([&] {
              cuda::arange_raw(DType::bool_, out.raw_data(), 4, Scalar(int64_t(0)),
                               Scalar(int64_t(1)));
            }),
            ErrorKind::type);
  EXPECT_EQ(kind_of([&] { cuda::linspace_raw(DType::float16, out.raw_data(), 2, 0.0, 1.0, 1.0); }),
            ErrorKind::type);
}

TEST(CudaEmuCreation, ShuffledOrder) {
  cuda_emu::set_shuffle(true, 5);
  const Tensor expected = eye(37, 45, DType::float32);
  Tensor out = garbage({37, 45}, DType::float32);
  cuda::eye_raw(DType::float32, out.raw_data(), 37, 45, 2);
  const Tensor range = linspace(-2.0, 3.0, 77, DType::float64);
  Tensor got = garbage({77}, DType::float64);
  cuda::linspace_raw(DType::float64, got.raw_data(), 77, -2.0, 3.0, 5.0 / 76.0, 1);
  cuda_emu::set_shuffle(false);
  EXPECT_TRUE(same_bytes(out, expected));
  EXPECT_TRUE(same_bytes(got, range));
}

}  // namespace
}  // namespace ember
