// The CUDA copy/cast and fill kernels run on the harness against cpu::copy
// and cpu::fill: every pair of dtypes, contiguous, transposed, sliced,
// broadcast and unaligned layouts, sizes around the block size; bit-exact.
#include <gtest/gtest.h>

#include <cstring>

#include "core/random.h"
#include "cpu/copy.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"

namespace ember {
namespace {

const DType kDtypes[] = {DType::float32, DType::float64, DType::int64,   DType::int32,
                         DType::bool_,   DType::float16, DType::bfloat16};

// Values with fractions, negatives, zeros and (for floats) large magnitudes,
// so every cast rule shows.
Tensor source(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, DType::float64);
  uniform_(t, -50, 50);
  Tensor zero_some = Tensor::empty(shape, DType::float64);
  bernoulli_(zero_some, 0.8);
  Tensor mixed = Tensor::empty(shape, DType::float64);
  cpu::copy(mixed, t);
  double* m = mixed.data<double>();
  const double* keep = zero_some.data<double>();
  for (int64_t i = 0; i < mixed.numel(); ++i) m[i] *= keep[i];
  Tensor out = Tensor::empty(shape, dtype);
  cpu::copy(out, mixed);
  return out;
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.dtype() == b.dtype() && a.numel() == b.numel() &&
         std::memcmp(a.contiguous().raw_data(), b.contiguous().raw_data(),
                     size_t(a.numel()) * a.element_size()) == 0;
}

// Copies src (already of dst's shape) into a dst-shaped view both ways and
// compares the whole destination buffers (untouched elements included).
void check(const Tensor& dst_base, const Tensor& dst, const Tensor& src) {
  Tensor expected_base = dst_base.clone();
  Tensor expected = expected_base.as_strided(dst.shape(), dst.strides(), dst.offset());
  cpu::copy(expected, src);
  cuda::BinaryGeometry g = cuda::binary_geometry("copy_", dst, src, src);
  cuda::copy_raw(dst.dtype(), src.dtype(), dst.raw_data(), src.raw_data(), g);
  EXPECT_TRUE(same_bytes(dst_base, expected_base))
      << dtype_name(src.dtype()) << " -> " << dtype_name(dst.dtype()) << " " << src.str();
}

TEST(CudaEmuCopy, EveryDtypePairContiguous) {
  for (DType from : kDtypes) {
    for (DType to : kDtypes) {
      for (int64_t n : {1, 31, 33, 257, 1025}) {
        Tensor dst = Tensor::zeros({n}, to);
        check(dst, dst, source({n}, from));
      }
    }
  }
}

TEST(CudaEmuCopy, StridedBroadcastAndUnalignedLayouts) {
  for (DType from : kDtypes) {
    for (DType to : kDtypes) {
      Tensor src = source({33, 7}, from);
      Tensor dst = Tensor::zeros({7, 33}, to);
      check(dst, dst, src.t());                        // transposed source
      Tensor wide = Tensor::zeros({33, 21}, to);
      check(wide, wide.slice(1, 0, 21, 3), src);         // strided destination
      Tensor row = source({1, 7}, from);
      Tensor tall = Tensor::zeros({33, 7}, to);
      check(tall, tall, row.expand({33, 7}));               // broadcast source
      Tensor flat = source({130}, from);
      Tensor out = Tensor::zeros({130}, to);
      check(out, out.slice(0, 1, 130), flat.slice(0, 0, 129));  // offset by one element
      Tensor cube = source({5, 3, 9}, from);
      Tensor permuted = Tensor::zeros({9, 5, 3}, to);
      check(permuted, permuted, cube.permute({2, 0, 1}));
    }
  }
}

TEST(CudaEmuCopy, FillEveryDtypeAndLayout) {
  for (DType dtype : kDtypes) {
    for (Scalar value : {Scalar(2.75), Scalar(int64_t(-3)), Scalar(true), Scalar(0.0)}) {
      Tensor base = source({31, 9}, dtype);
      Tensor expected = base.clone();
      Tensor view = base.slice(1, 1, 9, 2);
      cpu::fill(expected.slice(1, 1, 9, 2), value);
      cuda::BinaryGeometry g = cuda::binary_geometry("fill_", view, view, view);
      cuda::fill_raw(dtype, view.raw_data(), value, g);
      EXPECT_TRUE(same_bytes(base, expected)) << dtype_name(dtype);
    }
  }
}

TEST(CudaEmuCopy, EmptyAndShuffledOrder) {
  Tensor empty = Tensor::zeros({0, 4});
  check(empty, empty, source({0, 4}, DType::int32));
  cuda_emu::set_shuffle(true, 3);
  Tensor dst = Tensor::zeros({129, 5}, DType::float64);
  check(dst, dst, source({5, 129}, DType::float32).t());
  cuda_emu::set_shuffle(false);
}

}  // namespace
}  // namespace ember
