// The CUDA pooling kernels run on the harness against the CPU kernels:
// spatial sizes 1, 5, 7, 13, windows 1..3, strides 1..3, every legal padding,
// dilation, ceil_mode, count_include_pad and divisor_override, adaptive
// output sizes that divide the input and ones that do not; float32 and
// float64, forward and backward, and one run with the threads shuffled; the
// backward's division-free reciprocal against 1.0 / d.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "core/random.h"
#include "cpu/pool.h"
#include "cuda/device/reciprocal.cuh"
#include "cuda/geometry.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "emu_testing.h"

namespace ember {
namespace {

using namespace emu_test;

// Every element within the dtype's tolerance (exact when `exact`).
void expect_close(const Tensor& got, const Tensor& expected, bool exact, const std::string& what) {
  ASSERT_EQ(got.numel(), expected.numel()) << what;
  const double tol = exact ? 0.0 : got.dtype() == DType::float32 ? 1e-5 : 1e-13;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = value(got, i), e = value(expected, i);
    ASSERT_NEAR(g, e, tol * std::max(1.0, std::fabs(e))) << what << " at " << i;
  }
}

// PyTorch's output size (ops/pool.cpp); 0 or less when the window does not fit.
int64_t pooled_size(int64_t in, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation,
                    bool ceil_mode) {
  const int64_t numerator =
      in + 2 * pad - dilation * (kernel - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  if (numerator < 0) return 0;
  int64_t out = numerator / stride + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

std::string describe(const cpu::Pool2dShape& s, DType dtype) {
  return std::string(dtype_name(dtype)) + " planes=" + std::to_string(s.planes) + " in=" +
         std::to_string(s.in_h) + "x" + std::to_string(s.in_w) + " k=" +
         std::to_string(s.kernel_h) + "x" + std::to_string(s.kernel_w) + " stride=" +
         std::to_string(s.stride_h) + " pad=" + std::to_string(s.pad_h) + "," +
         std::to_string(s.pad_w) + " dilation=" + std::to_string(s.dilation_h) + " out=" +
         std::to_string(s.out_h) + "x" + std::to_string(s.out_w);
}

void check_max(const cpu::Pool2dShape& s, DType dtype) {
  const std::string what = "max_pool2d " + describe(s, dtype);
  Tensor x = random_tensor({s.planes, s.in_h, s.in_w}, dtype);
  if (s.in_h * s.in_w > 3) {
    // A tie and a NaN: the first maximum and the NaN must win, as on the CPU.
    if (dtype == DType::float64) {
      double* p = x.data<double>();
      p[1] = p[2];
      p[s.in_h * s.in_w + 3] = NAN;
    } else {
      float* p = x.data<float>();
      p[1] = p[2];
      p[s.in_h * s.in_w + 3] = NAN;
    }
  }
  Tensor out = Tensor::empty({s.planes, s.out_h, s.out_w}, dtype);
  Tensor idx = Tensor::empty({s.planes, s.out_h, s.out_w}, DType::int64);
  Tensor got = Tensor::full(out.shape(), Scalar(-7.0), dtype);
  Tensor got_idx = Tensor::full(out.shape(), Scalar(-7), DType::int64);
  Tensor gy = random_tensor(out.shape(), dtype);
  Tensor gx = Tensor::empty(x.shape(), dtype);
  Tensor got_gx = Tensor::zeros(x.shape(), dtype);
  EMBER_DISPATCH_FLOAT(dtype, "test", [&] {
    cpu::max_pool2d_forward<scalar_t>(s, x.data<scalar_t>(), out.data<scalar_t>(),
                                      idx.data<int64_t>());
    cpu::max_pool2d_backward<scalar_t>(s, gy.data<scalar_t>(), idx.data<int64_t>(),
                                       gx.data<scalar_t>());
  });
  const cuda::Pool2dGeometry geometry = cuda::pool2d_geometry(s);
  cuda::max_pool2d_raw(dtype, got.raw_data(), got_idx.data<int64_t>(), x.raw_data(), geometry);
  for (int64_t i = 0; i < idx.numel(); ++i) {
    ASSERT_EQ(got_idx.data<int64_t>()[i], idx.data<int64_t>()[i]) << what << " index " << i;
    const double g = value(got, i), e = value(out, i);
    ASSERT_TRUE(std::isnan(e) ? std::isnan(g) : g == e) << what << " at " << i;
  }
  cuda::max_pool2d_backward_raw(dtype, got_gx.raw_data(), gy.raw_data(), idx.data<int64_t>(),
                                geometry);
  expect_close(got_gx, gx, false, what + " backward");
}

void check_avg(const cpu::Pool2dShape& s, DType dtype, bool count_include_pad, int64_t divisor) {
  const std::string what = "avg_pool2d " + describe(s, dtype) +
                           (count_include_pad ? " count_include_pad" : "") + " divisor=" +
                           std::to_string(divisor);
  Tensor x = random_tensor({s.planes, s.in_h, s.in_w}, dtype);
  Tensor out = Tensor::empty({s.planes, s.out_h, s.out_w}, dtype);
  Tensor got = Tensor::full(out.shape(), Scalar(-7.0), dtype);
  Tensor gy = random_tensor(out.shape(), dtype);
  Tensor gx = Tensor::empty(x.shape(), dtype);
  Tensor got_gx = Tensor::full(x.shape(), Scalar(-7.0), dtype);
  EMBER_DISPATCH_FLOAT(dtype, "test", [&] {
    cpu::avg_pool2d_forward<scalar_t>(s, count_include_pad, divisor, x.data<scalar_t>(),
                                      out.data<scalar_t>());
    cpu::avg_pool2d_backward<scalar_t>(s, count_include_pad, divisor, gy.data<scalar_t>(),
                                       gx.data<scalar_t>());
  });
  const cuda::Pool2dGeometry geometry = cuda::pool2d_geometry(s);
  cuda::avg_pool2d_raw(dtype, got.raw_data(), x.raw_data(), geometry, count_include_pad, divisor);
  expect_close(got, out, false, what);
  cuda::avg_pool2d_backward_raw(dtype, got_gx.raw_data(), gy.raw_data(), geometry,
                                count_include_pad, divisor);
  expect_close(got_gx, gx, false, what + " backward");
}

// Calls f(shape) for every legal window of sizes 1..3, strides 1..3 and padding.
template <typename F>
void for_each_window(int64_t planes, int64_t H, int64_t W, int64_t dilation, const F& f) {
  for (int64_t k = 1; k <= 3; ++k) {
    for (int64_t stride = 1; stride <= 3; ++stride) {
      for (int64_t pad = 0; pad <= (dilation * (k - 1) + 1) / 2; ++pad) {
        for (bool ceil_mode : {false, true}) {
          cpu::Pool2dShape s{planes, H, W, 0, 0, k, k, stride, stride, pad, pad, dilation,
                             dilation};
          s.out_h = pooled_size(H, k, stride, pad, dilation, ceil_mode);
          s.out_w = pooled_size(W, k, stride, pad, dilation, ceil_mode);
          if (s.out_h > 0 && s.out_w > 0) f(s);
        }
      }
    }
  }
}

const int64_t kSizes[][2] = {{1, 1}, {5, 7}, {7, 5}, {13, 13}};

TEST(CudaEmuPool, MaxPool) {
  for (DType dtype : kFloats) {
    for (const auto& hw : kSizes) {
      for (int64_t dilation : {1, 2}) {
        for_each_window(3, hw[0], hw[1], dilation, [&](const cpu::Pool2dShape& s) {
          check_max(s, dtype);
        });
      }
    }
  }
  // A non-square window and more planes than one block's threads cover.
  check_max({33, 7, 13, 3, 5, 3, 2, 2, 1, 1, 2, 1, 1}, DType::float32);
}

TEST(CudaEmuPool, AvgPool) {
  for (DType dtype : kFloats) {
    for (const auto& hw : kSizes) {
      for_each_window(3, hw[0], hw[1], 1, [&](const cpu::Pool2dShape& s) {
        for (bool count_include_pad : {false, true}) check_avg(s, dtype, count_include_pad, 0);
        check_avg(s, dtype, false, 3);
      });
    }
  }
  check_avg({33, 7, 13, 4, 7, 3, 2, 2, 2, 1, 1, 1, 1}, DType::float64, true, 0);
  // Windows of up to 7 x 9 cells, clipped at every edge: many distinct divisors.
  for (bool count_include_pad : {false, true}) {
    check_avg({2, 13, 17, 5, 5, 7, 9, 3, 4, 3, 4, 1, 1}, DType::float64, count_include_pad, 0);
  }
  check_avg({2, 13, 17, 5, 5, 7, 9, 3, 4, 3, 4, 1, 1}, DType::float32, false, 1000003);
}

TEST(CudaEmuPool, ExactReciprocalIsTheRoundedQuotient) {
  for (int64_t d = 1; d <= (int64_t(1) << 18); ++d) {
    ASSERT_EQ(cuda::exact_reciprocal(d), 1.0 / double(d)) << d;
  }
  std::mt19937_64 bits(11);
  for (int i = 0; i < 100000; ++i) {
    const int64_t d = std::max<int64_t>(1, int64_t(bits() >> (13 + bits() % 51)));  // < 2^51
    ASSERT_EQ(cuda::exact_reciprocal(d), 1.0 / double(d)) << d;
  }
}

void check_adaptive(int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW, DType dtype) {
  const std::string what = "adaptive_avg_pool2d " + std::string(dtype_name(dtype)) + " " +
                           std::to_string(H) + "x" + std::to_string(W) + " -> " +
                           std::to_string(OH) + "x" + std::to_string(OW);
  cpu::Pool2dShape s{planes, H, W, OH, OW, 1, 1, 1, 1, 0, 0, 1, 1};
  Tensor x = random_tensor({planes, H, W}, dtype);
  Tensor out = Tensor::empty({planes, OH, OW}, dtype);
  Tensor got = Tensor::full(out.shape(), Scalar(-7.0), dtype);
  Tensor gy = random_tensor(out.shape(), dtype);
  Tensor gx = Tensor::empty(x.shape(), dtype);
  Tensor got_gx = Tensor::full(x.shape(), Scalar(-7.0), dtype);
  EMBER_DISPATCH_FLOAT(dtype, "test", [&] {
    cpu::adaptive_avg_pool2d_forward<scalar_t>(s, x.data<scalar_t>(), out.data<scalar_t>());
    cpu::adaptive_avg_pool2d_backward<scalar_t>(s, gy.data<scalar_t>(), gx.data<scalar_t>());
  });
  const cuda::Pool2dGeometry geometry = cuda::pool2d_geometry(s);
  cuda::adaptive_avg_pool2d_raw(dtype, got.raw_data(), x.raw_data(), geometry);
  expect_close(got, out, false, what);
  cuda::adaptive_avg_pool2d_backward_raw(dtype, got_gx.raw_data(), gy.raw_data(), geometry);
  expect_close(got_gx, gx, false, what + " backward");
}

TEST(CudaEmuPool, AdaptiveAvgPool) {
  for (DType dtype : kFloats) {
    for (const auto& hw : kSizes) {
      for (int64_t OH : {1, 2, 3, 5, 7}) {
        for (int64_t OW : {1, 4, 13}) check_adaptive(3, hw[0], hw[1], OH, OW, dtype);
      }
    }
  }
  check_adaptive(33, 7, 13, 3, 5, DType::float32);
}

TEST(CudaEmuPool, ShuffledThreadOrder) {
  cuda_emu::set_shuffle(true, 5);
  for (DType dtype : kFloats) {
    check_max({4, 13, 13, 6, 6, 3, 3, 2, 2, 1, 1, 1, 1}, dtype);
    check_avg({4, 13, 13, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1}, dtype, false, 0);
    check_adaptive(4, 13, 7, 5, 3, dtype);
  }
  cuda_emu::set_shuffle(false);
}

}  // namespace
}  // namespace ember
