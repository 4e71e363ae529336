// The CUDA batch, layer and group norm kernels run on the harness against
// the CPU kernels: channels 1, 3, 33, spatial sizes 1, 7, 31, 129, rows
// shorter and longer than a block, with and without affine parameters,
// strided running statistics, training and eval, every backward output,
// float32 and float64, a shuffled thread order and a planted error.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "core/random.h"
#include "cpu/norm.h"
#include "cuda/kernels.h"
#include "cuda_emu.h"
#include "emu_testing.h"

namespace ember {
namespace {

using namespace emu_test;

// Element i of a contiguous or 1-D strided tensor.
double strided_value(const Tensor& t, int64_t i) {
  return value(t, t.dim() == 1 ? i * t.stride(0) : i);
}

// Elements of got (contiguous, or 1-D strided) further than tol from want.
int64_t mismatches(const Tensor& got, const Tensor& want, double scale, std::string& first) {
  const double tol = (got.dtype() == DType::float32 ? 2e-5 : 1e-12) * scale;
  int64_t bad = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = strided_value(got, i), w = strided_value(want, i);
    if (!(std::fabs(g - w) <= tol * std::max(1.0, std::fabs(w))) && bad++ == 0) {
      first = "element " + std::to_string(i) + " is " + std::to_string(g) + ", the CPU has " +
              std::to_string(w);
    }
  }
  return bad;
}

#define EXPECT_MATCH(got, want, scale, what)                              \
  do {                                                                    \
    std::string first_;                                                   \
    EXPECT_EQ(mismatches(got, want, scale, first_), 0) << what << ": " << first_; \
  } while (0)

// A 1-D tensor of c elements viewed with stride 2 in a larger buffer.
Tensor strided_param(int64_t c, DType dtype, double low, double high) {
  return random_tensor({2 * c}, dtype, low, high).slice(0, 0, 2 * c, 2);
}

std::vector<double> scratch(size_t bytes) { return std::vector<double>(bytes / 8 + 2); }

void check_batch_norm(int64_t N, int64_t C, int64_t S, DType dtype, bool affine, bool training) {
  const std::string what = "batch_norm (" + std::to_string(N) + ", " + std::to_string(C) + ", " +
                           std::to_string(S) + ") " + dtype_name(dtype) +
                           (affine ? " affine" : "") + (training ? " training" : " eval");
  Tensor x = random_tensor({N, C, S}, dtype, -1, 3);
  Tensor w = affine ? strided_param(C, dtype, 0.5, 1.5) : Tensor();
  Tensor b = affine ? strided_param(C, dtype, -1, 1) : Tensor();
  Tensor rm = strided_param(C, dtype, -0.5, 0.5), rv = strided_param(C, dtype, 0.5, 2);
  Tensor rm_gpu = Tensor::empty({2 * C}, dtype).slice(0, 0, 2 * C, 2);
  Tensor rv_gpu = Tensor::empty({2 * C}, dtype).slice(0, 0, 2 * C, 2);
  rm_gpu.copy_(rm);
  rv_gpu.copy_(rv);
  Tensor out = Tensor::empty({N, C, S}, dtype), mean = Tensor::empty({C}, dtype),
         invstd = Tensor::empty({C}, dtype);
  cpu::batch_norm(out, mean, invstd, x, rm, rv, w, b, training, 0.1, 1e-5);
  Tensor out_g = sentinel({N, C, S}, dtype), mean_g = sentinel({C}, dtype),
         invstd_g = sentinel({C}, dtype);
  const cuda::BatchNormShape shape{N, C, S};
  auto ws = scratch(cuda::batch_norm_workspace_bytes(dtype, shape));
  cuda::batch_norm_raw(dtype, out_g.raw_data(), mean_g.raw_data(), invstd_g.raw_data(),
                       x.raw_data(), shape, cuda::channel_param(rm_gpu),
                       cuda::channel_param(rv_gpu), cuda::channel_param(w),
                       cuda::channel_param(b), training, 0.1, 1e-5, ws.data());
  EXPECT_MATCH(out_g, out, 4.0, what + " out");
  EXPECT_MATCH(mean_g, mean, 4.0, what + " mean");
  EXPECT_MATCH(invstd_g, invstd, 4.0, what + " invstd");
  EXPECT_MATCH(rm_gpu, rm, 4.0, what + " running_mean");
  EXPECT_MATCH(rv_gpu, rv, 4.0, what + " running_var");

  Tensor dy = random_tensor({N, C, S}, dtype);
  Tensor gx = Tensor::empty({N, C, S}, dtype), gw = Tensor::empty({C}, dtype),
         gb = Tensor::empty({C}, dtype);
  cpu::batch_norm_backward(gx, gw, gb, dy, x, w, mean, invstd, training);
  Tensor gx_g = sentinel({N, C, S}, dtype), gw_g = sentinel({C}, dtype),
         gb_g = sentinel({C}, dtype);
  cuda::batch_norm_backward_raw(dtype, gx_g.raw_data(), gw_g.raw_data(), gb_g.raw_data(),
                                dy.raw_data(), x.raw_data(), shape, cuda::channel_param(w),
                                cuda::channel_param(mean), cuda::channel_param(invstd), training,
                                ws.data());
  const double sums = double(N * S);
  EXPECT_MATCH(gx_g, gx, 4.0 * sums, what + " grad_input");
  EXPECT_MATCH(gw_g, gw, 4.0 * sums, what + " grad_weight");
  EXPECT_MATCH(gb_g, gb, 4.0 * sums, what + " grad_bias");
}

TEST(CudaEmuNorm, BatchNormOddShapes) {
  for (DType dtype : {DType::float32, DType::float64}) {
    for (int64_t C : {1, 3, 33}) {
      for (int64_t S : {1, 7, 31, 129}) {
        for (bool training : {true, false}) check_batch_norm(3, C, S, dtype, C != 3, training);
      }
    }
  }
  // Many samples: several blocks split each channel, merged in the second pass.
  check_batch_norm(600, 2, 7, DType::float32, true, true);
  check_batch_norm(4200, 1, 1, DType::float64, false, true);
}

void check_layer_norm(int64_t M, int64_t K, DType dtype, bool affine, int threads_per_row) {
  const std::string what = "layer_norm (" + std::to_string(M) + ", " + std::to_string(K) + ") " +
                           dtype_name(dtype) + (affine ? " affine " : " ") +
                           std::to_string(threads_per_row) + " threads";
  Tensor x = random_tensor({M, K}, dtype, -1, 3);
  Tensor w = affine ? random_tensor({K}, dtype, 0.5, 1.5) : Tensor();
  Tensor b = affine ? random_tensor({K}, dtype) : Tensor();
  Tensor out = Tensor::empty({M, K}, dtype), mean = Tensor::empty({M}, dtype),
         rstd = Tensor::empty({M}, dtype);
  cpu::layer_norm(out, mean, rstd, x, w, b, 1e-5);
  Tensor out_g = sentinel({M, K}, dtype), mean_g = sentinel({M}, dtype),
         rstd_g = sentinel({M}, dtype);
  cuda::layer_norm_raw(dtype, out_g.raw_data(), mean_g.raw_data(), rstd_g.raw_data(),
                       x.raw_data(), M, K, affine ? w.raw_data() : nullptr,
                       affine ? b.raw_data() : nullptr, 1e-5, threads_per_row);
  EXPECT_MATCH(out_g, out, 4.0, what + " out");
  EXPECT_MATCH(mean_g, mean, 4.0, what + " mean");
  EXPECT_MATCH(rstd_g, rstd, 4.0, what + " rstd");

  Tensor dy = random_tensor({M, K}, dtype);
  Tensor gx = Tensor::empty({M, K}, dtype), gw = Tensor::empty({K}, dtype),
         gb = Tensor::empty({K}, dtype);
  cpu::layer_norm_backward(gx, gw, gb, dy, x, w, mean, rstd);
  Tensor gx_g = sentinel({M, K}, dtype), gw_g = sentinel({K}, dtype),
         gb_g = sentinel({K}, dtype);
  auto ws = scratch(cuda::layer_norm_workspace_bytes(dtype, M, K));
  cuda::layer_norm_backward_raw(dtype, gx_g.raw_data(), gw_g.raw_data(), gb_g.raw_data(),
                                dy.raw_data(), x.raw_data(), affine ? w.raw_data() : nullptr,
                                mean.raw_data(), rstd.raw_data(), M, K, ws.data(),
                                threads_per_row);
  EXPECT_MATCH(gx_g, gx, 4.0 * double(K), what + " grad_input");
  EXPECT_MATCH(gw_g, gw, 4.0 * double(M), what + " grad_weight");
  EXPECT_MATCH(gb_g, gb, 4.0 * double(M), what + " grad_bias");
}

TEST(CudaEmuNorm, LayerNormRowsShorterAndLongerThanABlock) {
  for (DType dtype : {DType::float32, DType::float64}) {
    for (int64_t K : {1, 31, 33, 129, 1025}) {
      for (int64_t M : {1, 3, 17}) {
        for (int threads : {0, 64}) check_layer_norm(M, K, dtype, M != 3, threads);
      }
    }
  }
  // Enough rows that the parameter grads split them across blocks.
  check_layer_norm(600, 33, DType::float32, true, 0);
}

void check_group_norm(int64_t N, int64_t C, int64_t S, int64_t G, DType dtype, bool affine) {
  const std::string what = "group_norm (" + std::to_string(N) + ", " + std::to_string(C) + ", " +
                           std::to_string(S) + ") groups " + std::to_string(G) + " " +
                           dtype_name(dtype) + (affine ? " affine" : "");
  Tensor x = random_tensor({N, C, S}, dtype, -1, 3);
  Tensor w = affine ? random_tensor({C}, dtype, 0.5, 1.5) : Tensor();
  Tensor b = affine ? random_tensor({C}, dtype) : Tensor();
  Tensor out = Tensor::empty({N, C, S}, dtype), mean = Tensor::empty({N, G}, dtype),
         rstd = Tensor::empty({N, G}, dtype);
  cpu::group_norm(out, mean, rstd, x, G, w, b, 1e-5);
  Tensor out_g = sentinel({N, C, S}, dtype), mean_g = sentinel({N, G}, dtype),
         rstd_g = sentinel({N, G}, dtype);
  const cuda::GroupNormShape shape{N, C, S, G};
  auto ws = scratch(cuda::group_norm_workspace_bytes(dtype, shape));
  cuda::group_norm_raw(dtype, out_g.raw_data(), mean_g.raw_data(), rstd_g.raw_data(),
                       x.raw_data(), shape, affine ? w.raw_data() : nullptr,
                       affine ? b.raw_data() : nullptr, 1e-5, ws.data());
  EXPECT_MATCH(out_g, out, 4.0, what + " out");
  EXPECT_MATCH(mean_g, mean, 4.0, what + " mean");
  EXPECT_MATCH(rstd_g, rstd, 4.0, what + " rstd");

  Tensor dy = random_tensor({N, C, S}, dtype);
  Tensor gx = Tensor::empty({N, C, S}, dtype), gw = Tensor::empty({C}, dtype),
         gb = Tensor::empty({C}, dtype);
  cpu::group_norm_backward(gx, gw, gb, dy, x, G, w, mean, rstd);
  Tensor gx_g = sentinel({N, C, S}, dtype), gw_g = sentinel({C}, dtype),
         gb_g = sentinel({C}, dtype);
  cuda::group_norm_backward_raw(dtype, gx_g.raw_data(), gw_g.raw_data(), gb_g.raw_data(),
                                dy.raw_data(), x.raw_data(), shape,
                                affine ? w.raw_data() : nullptr, mean.raw_data(),
                                rstd.raw_data(), ws.data());
  const double len = double(C / G * S);
  EXPECT_MATCH(gx_g, gx, 4.0 * len, what + " grad_input");
  EXPECT_MATCH(gw_g, gw, 4.0 * double(N * S), what + " grad_weight");
  EXPECT_MATCH(gb_g, gb, 4.0 * double(N * S), what + " grad_bias");
}

TEST(CudaEmuNorm, GroupNormOddShapes) {
  for (DType dtype : {DType::float32, DType::float64}) {
    check_group_norm(2, 3, 7, 1, dtype, true);
    check_group_norm(3, 33, 1, 11, dtype, false);
    check_group_norm(1, 3, 31, 3, dtype, true);
    check_group_norm(2, 6, 129, 2, dtype, true);
    check_group_norm(2, 1, 1100, 1, dtype, false);
  }
}

TEST(CudaEmuNorm, ShuffledThreadOrderAndPlantedError) {
  cuda_emu::set_shuffle(true, 31);
  check_batch_norm(5, 3, 31, DType::float32, true, true);
  check_layer_norm(5, 1025, DType::float64, true, 0);
  check_layer_norm(9, 129, DType::float32, true, 64);
  check_group_norm(2, 6, 129, 2, DType::float32, true);
  cuda_emu::set_shuffle(false);
  Tensor a = random_tensor({3, 7}, DType::float32), b = a.clone();
  std::string first;
  EXPECT_EQ(mismatches(a, b, 1.0, first), 0);
  static_cast<float*>(a.raw_data())[20] += 1e-3f;
  EXPECT_EQ(mismatches(a, b, 1.0, first), 1);
}

TEST(CudaEmuNorm, RejectsIntegerDtypes) {
  Tensor i = Tensor::zeros({2, 3, 4}, DType::int64);
  std::vector<double> ws(64);
  EXPECT_THROW(cuda::layer_norm_raw(DType::int64, i.raw_data(), i.raw_data(), i.raw_data(),
                                    i.raw_data(), 6, 4, nullptr, nullptr, 1e-5),
               Error);
  EXPECT_THROW(cuda::group_norm_raw(DType::int32, i.raw_data(), i.raw_data(), i.raw_data(),
                                    i.raw_data(), {2, 3, 4, 1}, nullptr, nullptr, 1e-5,
                                    ws.data()),
               Error);
}

}  // namespace
}  // namespace ember
