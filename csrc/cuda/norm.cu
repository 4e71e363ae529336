// CUDA batch norm, forward and backward (layer and group norm are in
// norm_layer.cu). The forward statistics are in double for every dtype, like
// the CPU's: a channel holds up to N*H*W values, and a float mean of data far
// from zero is off by half an ulp of the data, which the normalised output
// multiplies by 1/std. Each thread sums its values minus a per-channel shift
// (the channel's first value, so the sums stay small and need no division),
// turns them into (count, mean, M2), and those merge by Chan's formula across
// a warp by shuffles, across warps through shared memory and across the blocks
// that split a channel through a small workspace. The backward accumulates in
// float for float32 and double for float64. The per-element
// passes go through the (n, c) row kernel of device/norm.cuh, which computes
// each row's coefficients once, so no index division happens per element.
#include <algorithm>

#include "core/check.h"
#include "cuda/device/norm.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

using namespace norms;

template <typename T>
struct Strided {
  const T* data;
  int64_t stride;
  __device__ __forceinline__ T at(int64_t i, T fallback) const {
    return data ? data[i * stride] : fallback;
  }
};

template <typename T>
Strided<T> strided(ChannelParam p) {
  return {static_cast<const T*>(p.data), p.stride};
}

// --- batch norm -------------------------------------------------------------

// Blocks (c, split): split b walks samples b * rows_per_block + ... of channel c.
struct BatchSplit {
  int width;
  int64_t splits;
};

BatchSplit batch_split(const BatchNormShape& s) {
  const int width = row_width(s.S);
  const int64_t samples_per_pass = kThreads / width;
  const int64_t by_work = ceil_div<int64_t>(s.N * s.S, 4096);
  const int64_t splits =
      std::max<int64_t>(1, std::min({by_work, ceil_div<int64_t>(s.N, samples_per_pass),
                                     kMaxSplits}));
  return {width, splits};
}

// Forward statistics and the per-element normalisation run in double.
using StatAcc = double;

template <typename T>
__global__ void __launch_bounds__(kThreads)
    batch_norm_partials_kernel(Welford<StatAcc>* __restrict__ partials, const T* __restrict__ x,
                               int64_t N, int64_t C, int64_t S, int width) {
  using A = StatAcc;
  const int64_t c = blockIdx.x;
  const int lane = int(threadIdx.x) % width;
  const int per_pass = int(blockDim.x) / width;
  const A shift = A(x[c * S]);
  A count = 0, sum = 0, sum_sq = 0;
  for (int64_t n = int64_t(blockIdx.y) * per_pass + int(threadIdx.x) / width; n < N;
       n += int64_t(per_pass) * gridDim.y) {
    const T* p = x + (n * C + c) * S;
    for (int64_t s = lane; s < S; s += width) {
      const A d = A(p[s]) - shift;
      count += A(1);
      sum += d;
      sum_sq += d * d;
    }
  }
  const A mean = count > A(0) ? sum / count : A(0);
  Welford<A> acc{count, shift + mean, count > A(0) ? sum_sq - sum * mean : A(0)};
  acc = group_reduce(acc, WelfordMerge());
  if (threadIdx.x == 0) partials[c * gridDim.y + blockIdx.y] = acc;
}

// A warp per channel: merges the splits (training) or reads the running
// statistics (eval), writes mean/invstd and the running-stat update.
template <typename T, typename A = StatAcc>
__global__ void __launch_bounds__(kThreads)
    batch_norm_stats_kernel(T* __restrict__ mean_out, T* __restrict__ invstd_out,
                            A* __restrict__ stats, const Welford<A>* __restrict__ partials,
                            int64_t splits, int64_t C, ChannelParam running_mean,
                            ChannelParam running_var, bool training, double momentum,
                            double eps) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.y + threadIdx.y;
  if (c >= C) return;
  const int lane = int(threadIdx.x);
  T* rm = static_cast<T*>(running_mean.data);
  T* rv = static_cast<T*>(running_var.data);
  A mean, var;
  Welford<A> acc{A(0), A(0), A(0)};
  if (training) {
    for (int64_t k = lane; k < splits; k += 32) acc = WelfordMerge()(acc, partials[c * splits + k]);
    acc = warp_reduce(acc, WelfordMerge());
    mean = acc.mean;
    var = acc.m2 / acc.count;
  } else {
    mean = A(rm[c * running_mean.stride]);
    var = A(rv[c * running_var.stride]);
  }
  const A invstd = m_rsqrt(var + A(eps));
  if (lane != 0) return;
  mean_out[c] = T(mean);
  invstd_out[c] = T(invstd);
  stats[2 * c] = mean;
  stats[2 * c + 1] = invstd;
  if (!training) return;
  if (rm) {
    T& r = rm[c * running_mean.stride];
    r = T((1 - momentum) * double(r) + momentum * double(mean));
  }
  if (rv) {
    const double count = double(acc.count);
    const double unbiased = count > 1 ? double(var) * count / (count - 1) : double(var);
    T& r = rv[c * running_var.stride];
    r = T((1 - momentum) * double(r) + momentum * unbiased);
  }
}

template <typename T, typename A>
struct BatchNormForwardCoef {
  const A* stats;
  Strided<T> weight, bias;
  __device__ __forceinline__ RowCoef<A> operator()(int64_t, int64_t c) const {
    return {A(0), stats[2 * c + 1] * A(weight.at(c, T(1))), stats[2 * c], A(bias.at(c, T(0)))};
  }
};

template <typename T, typename A>
__global__ void __launch_bounds__(kThreads)
    batch_norm_backward_partials_kernel(Pair<A>* __restrict__ partials,
                                        const T* __restrict__ dy, const T* __restrict__ x,
                                        Strided<T> mean, int64_t N, int64_t C, int64_t S,
                                        int width) {
  const int64_t c = blockIdx.x;
  const int lane = int(threadIdx.x) % width;
  const int per_pass = int(blockDim.x) / width;
  const A mu = A(mean.at(c, T(0)));
  Pair<A> acc{A(0), A(0)};
  for (int64_t n = int64_t(blockIdx.y) * per_pass + int(threadIdx.x) / width; n < N;
       n += int64_t(per_pass) * gridDim.y) {
    const int64_t base = (n * C + c) * S;
    for (int64_t s = lane; s < S; s += width) {
      const A g = A(dy[base + s]);
      acc.a += g;
      acc.b += g * (A(x[base + s]) - mu);
    }
  }
  acc = group_reduce(acc, PairSum());
  if (threadIdx.x == 0) partials[c * gridDim.y + blockIdx.y] = acc;
}

// A warp per channel: the parameter grads and the grad_input coefficients.
template <typename T, typename A>
__global__ void __launch_bounds__(kThreads)
    batch_norm_backward_stats_kernel(T* __restrict__ grad_weight, T* __restrict__ grad_bias,
                                     RowCoef<A>* __restrict__ coefs,
                                     const Pair<A>* __restrict__ partials, int64_t splits,
                                     int64_t C, Strided<T> weight, Strided<T> mean,
                                     Strided<T> invstd, A count, bool training) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.y + threadIdx.y;
  if (c >= C) return;
  Pair<A> acc{A(0), A(0)};
  for (int64_t k = threadIdx.x; k < splits; k += 32) acc = PairSum()(acc, partials[c * splits + k]);
  acc = warp_reduce(acc, PairSum());
  if (threadIdx.x != 0) return;
  const A istd = A(invstd.at(c, T(1)));
  const A sum_dy = acc.a, sum_dy_xhat = acc.b * istd;
  grad_bias[c] = T(sum_dy);
  grad_weight[c] = T(sum_dy_xhat);
  const A k = A(weight.at(c, T(1))) * istd;
  const A mean_dy = training ? sum_dy / count : A(0);
  const A mean_dy_xhat = training ? sum_dy_xhat / count : A(0);
  coefs[c] = {k, -k * istd * mean_dy_xhat, A(mean.at(c, T(0))), -k * mean_dy};
}

template <typename A>
struct TableCoef {
  const RowCoef<A>* coefs;
  __device__ __forceinline__ RowCoef<A> operator()(int64_t, int64_t c) const { return coefs[c]; }
};

}  // namespace

ChannelParam channel_param(const Tensor& t) {
  if (!t.defined()) return {};
  return {t.raw_data(), t.stride(0)};
}

size_t batch_norm_workspace_bytes(DType, const BatchNormShape& shape) {
  // The forward's double statistics, which cover the backward's float32 or
  // float64 partial sums and coefficients too.
  const size_t a = sizeof(StatAcc);
  const size_t partials = size_t(shape.C * batch_split(shape).splits) * 3 * a;
  return partials + size_t(shape.C) * 4 * a;
}

void batch_norm_raw(DType dtype, void* out, void* mean, void* invstd, const void* x,
                    const BatchNormShape& shape, ChannelParam running_mean,
                    ChannelParam running_var, ChannelParam weight, ChannelParam bias,
                    bool training, double momentum, double eps, void* workspace) {
  dispatch("batch_norm", dtype, [&](auto zero) {
    using T = decltype(zero);
    using A = StatAcc;
    if (shape.C == 0) return;
    const BatchSplit split = batch_split(shape);
    auto* partials = static_cast<Welford<A>*>(workspace);
    A* stats = at_bytes<A>(workspace, size_t(shape.C * split.splits) * sizeof(Welford<A>));
    if (training) {
      launch(batch_norm_partials_kernel<T>, dim3(unsigned(shape.C), unsigned(split.splits)),
             dim3(kThreads), 0, current_stream(), partials, static_cast<const T*>(x), shape.N,
             shape.C, shape.S, split.width);
    }
    const dim3 warps(32, kThreads / 32);
    launch(batch_norm_stats_kernel<T, A>, dim3(unsigned(ceil_div<int64_t>(shape.C, warps.y))),
           warps, 0, current_stream(), static_cast<T*>(mean), static_cast<T*>(invstd), stats,
           partials, split.splits, shape.C, running_mean, running_var, training, momentum, eps);
    launch_channel_rows(static_cast<T*>(out), static_cast<const T*>(x),
                        static_cast<const T*>(nullptr), shape.N, shape.C, shape.S,
                        BatchNormForwardCoef<T, A>{stats, strided<T>(weight), strided<T>(bias)});
  });
}

void batch_norm_backward_raw(DType dtype, void* grad_input, void* grad_weight, void* grad_bias,
                             const void* grad_out, const void* x, const BatchNormShape& shape,
                             ChannelParam weight, ChannelParam mean, ChannelParam invstd,
                             bool training, void* workspace) {
  dispatch("batch_norm_backward", dtype, [&](auto zero) {
    using T = decltype(zero);
    using A = typename AccOf<T>::type;
    if (shape.C == 0) return;
    const BatchSplit split = batch_split(shape);
    auto* partials = static_cast<Pair<A>*>(workspace);
    auto* coefs = at_bytes<RowCoef<A>>(workspace, size_t(shape.C * split.splits) * 3 * sizeof(A));
    launch(batch_norm_backward_partials_kernel<T, A>,
           dim3(unsigned(shape.C), unsigned(split.splits)), dim3(kThreads), 0, current_stream(),
           partials, static_cast<const T*>(grad_out), static_cast<const T*>(x), strided<T>(mean),
           shape.N, shape.C, shape.S, split.width);
    const dim3 warps(32, kThreads / 32);
    launch(batch_norm_backward_stats_kernel<T, A>,
           dim3(unsigned(ceil_div<int64_t>(shape.C, warps.y))), warps, 0, current_stream(),
           static_cast<T*>(grad_weight), static_cast<T*>(grad_bias), coefs, partials,
           split.splits, shape.C, strided<T>(weight), strided<T>(mean), strided<T>(invstd),
           A(shape.N * shape.S), training);
    launch_channel_rows(static_cast<T*>(grad_input), static_cast<const T*>(x),
                        static_cast<const T*>(grad_out), shape.N, shape.C, shape.S,
                        TableCoef<A>{coefs});
  });
}

void batch_norm(const Tensor& out, const Tensor& mean, const Tensor& invstd, const Tensor& x,
                const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                const Tensor& bias, bool training, double momentum, double eps) {
  const BatchNormShape shape{x.size(0), x.size(1), x.size(2)};
  Tensor scratch = workspace(batch_norm_workspace_bytes(x.dtype(), shape), x);
  batch_norm_raw(x.dtype(), out.raw_data(), mean.raw_data(), invstd.raw_data(), x.raw_data(),
                 shape, channel_param(running_mean), channel_param(running_var),
                 channel_param(weight), channel_param(bias), training, momentum, eps,
                 scratch.raw_data());
}

void batch_norm_backward(const Tensor& grad_input, const Tensor& grad_weight,
                         const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                         const Tensor& weight, const Tensor& mean, const Tensor& invstd,
                         bool training) {
  const BatchNormShape shape{x.size(0), x.size(1), x.size(2)};
  Tensor scratch = workspace(batch_norm_workspace_bytes(x.dtype(), shape), x);
  batch_norm_backward_raw(x.dtype(), grad_input.raw_data(), grad_weight.raw_data(),
                          grad_bias.raw_data(), grad_out.raw_data(), x.raw_data(), shape,
                          channel_param(weight), channel_param(mean), channel_param(invstd),
                          training, scratch.raw_data());
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
