// CUDA layer and group norm, forward and backward (batch norm is in norm.cu).
// Row statistics are Welford (mean, M2) per thread merged with Chan's formula
// across a warp by shuffles and across warps through shared memory;
// accumulation is float for float32 and double for float64. Layer norm gives
// a row to a warp (short rows) or a block (long rows); group norm's
// per-element passes go through the (n, c) row kernel of device/norm.cuh.
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

// Rows at least this long get a whole block each; shorter ones one warp.
constexpr int64_t kBlockRowLength = 1024;
// Layer norm's parameter gradients: a block sums 32 columns over 8 row lanes.
constexpr int kColumns = 32;
constexpr int kColumnRows = kThreads / kColumns;

// Calls body(row, valid) for each row of the group; `valid` is false for
// threads past the last row, which still take part in the collectives.
template <typename Body>
__device__ __forceinline__ void for_each_row(int64_t rows, const Body& body) {
  const int64_t step = int64_t(gridDim.x) * blockDim.y;
  for (int64_t base = int64_t(blockIdx.x) * blockDim.y; base < rows; base += step) {
    const int64_t row = base + threadIdx.y;
    body(row < rows ? row : rows - 1, row < rows);
  }
}

// --- layer norm (and group norm's statistics) -------------------------------

// Row statistics of x (rows, len); with `normalise`, also out = xhat * w + b
// (layer norm); `stats` (may be null) gets (mean, rstd) per row in A.
template <typename T, typename A>
__global__ void __launch_bounds__(kThreads)
    row_norm_kernel(T* __restrict__ out, T* __restrict__ mean_out, T* __restrict__ rstd_out,
                    A* __restrict__ stats, const T* __restrict__ x, int64_t rows, int64_t len,
                    const T* __restrict__ weight, const T* __restrict__ bias, A eps,
                    bool normalise) {
  for_each_row(rows, [&](int64_t row, bool valid) {
    const T* xr = x + row * len;
    Welford<A> acc{A(0), A(0), A(0)};
    for (int64_t j = threadIdx.x; j < len; j += blockDim.x) welford_add(acc, A(xr[j]));
    acc = group_reduce(acc, WelfordMerge());
    const A mean = acc.mean;
    const A rstd = m_rsqrt((len > 0 ? acc.m2 / A(len) : A(0)) + eps);
    if (!valid) return;
    if (threadIdx.x == 0) {
      mean_out[row] = T(mean);
      rstd_out[row] = T(rstd);
      if (stats) {
        stats[2 * row] = mean;
        stats[2 * row + 1] = rstd;
      }
    }
    if (!normalise) return;
    T* o = out + row * len;
    for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
      const A w = weight ? A(weight[j]) : A(1), b = bias ? A(bias[j]) : A(0);
      o[j] = T((A(xr[j]) - mean) * rstd * w + b);
    }
  });
}

template <typename T, typename A>
__global__ void __launch_bounds__(kThreads)
    layer_norm_backward_kernel(T* __restrict__ grad_input, const T* __restrict__ dy,
                               const T* __restrict__ x, const T* __restrict__ weight,
                               const T* __restrict__ mean, const T* __restrict__ rstd,
                               int64_t rows, int64_t len) {
  for_each_row(rows, [&](int64_t row, bool valid) {
    const T* xr = x + row * len;
    const T* g = dy + row * len;
    const A mu = A(mean[row]), r = A(rstd[row]);
    Pair<A> acc{A(0), A(0)};
    for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
      const A wdy = A(g[j]) * (weight ? A(weight[j]) : A(1));
      acc.a += wdy;
      acc.b += wdy * (A(xr[j]) - mu) * r;
    }
    acc = group_reduce(acc, PairSum());
    if (!valid) return;
    const A mean_wdy = acc.a / A(len), mean_wdy_xhat = acc.b / A(len);
    T* o = grad_input + row * len;
    for (int64_t j = threadIdx.x; j < len; j += blockDim.x) {
      const A wdy = A(g[j]) * (weight ? A(weight[j]) : A(1));
      o[j] = T(r * (wdy - mean_wdy - (A(xr[j]) - mu) * r * mean_wdy_xhat));
    }
  });
}

// Column sums of dy * xhat and dy over a split of the rows: block
// (column tile, split), 32 consecutive columns per warp row.
template <typename T, typename A>
__global__ void __launch_bounds__(kThreads)
    layer_norm_param_partials_kernel(Pair<A>* __restrict__ partials, const T* __restrict__ dy,
                                     const T* __restrict__ x, const T* __restrict__ mean,
                                     const T* __restrict__ rstd, int64_t M, int64_t K) {
  __shared__ Pair<A> tile[kColumnRows][kColumns + 1];
  const int64_t j = int64_t(blockIdx.x) * kColumns + threadIdx.x;
  Pair<A> acc{A(0), A(0)};
  if (j < K) {
    for (int64_t r = int64_t(blockIdx.y) * kColumnRows + threadIdx.y; r < M;
         r += int64_t(kColumnRows) * gridDim.y) {
      const A g = A(dy[r * K + j]);
      acc.a += g * (A(x[r * K + j]) - A(mean[r])) * A(rstd[r]);
      acc.b += g;
    }
  }
  tile[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y != 0 || j >= K) return;
  for (int y = 1; y < kColumnRows; ++y) acc = PairSum()(acc, tile[y][threadIdx.x]);
  partials[int64_t(blockIdx.y) * K + j] = acc;
}

template <typename T, typename A>
__global__ void __launch_bounds__(kThreads)
    sum_partials_kernel(T* __restrict__ first, T* __restrict__ second,
                        const Pair<A>* __restrict__ partials, int64_t splits, int64_t K) {
  const int64_t j = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= K) return;
  Pair<A> acc{A(0), A(0)};
  for (int64_t k = 0; k < splits; ++k) acc = PairSum()(acc, partials[k * K + j]);
  first[j] = T(acc.a);
  second[j] = T(acc.b);
}

dim3 row_block(const char* op, int64_t len, int threads_per_row) {
  if (threads_per_row == 0) threads_per_row = len >= kBlockRowLength ? kThreads : 32;
  EMBER_CHECK(threads_per_row % 32 == 0 && threads_per_row >= 32 && threads_per_row <= kThreads,
              op, ": threads_per_row must be a multiple of 32 in [32, ", kThreads, "], got ",
              threads_per_row);
  return dim3(unsigned(threads_per_row), unsigned(kThreads / threads_per_row));
}

dim3 row_grid(int64_t rows, const dim3& block) {
  return dim3(unsigned(std::max<int64_t>(1, std::min(ceil_div<int64_t>(rows, block.y),
                                                     kMaxBlocks))));
}

int64_t param_splits(int64_t M) {
  return std::max<int64_t>(1, std::min(ceil_div<int64_t>(M, 32 * kColumnRows), kMaxSplits));
}

// --- group norm -------------------------------------------------------------

template <typename T, typename A>
struct GroupNormForwardCoef {
  const A* stats;
  int64_t groups, per_group;
  const T* weight;
  const T* bias;
  __device__ __forceinline__ RowCoef<A> operator()(int64_t n, int64_t c) const {
    const int64_t r = n * groups + c / per_group;
    const A w = weight ? A(weight[c]) : A(1), b = bias ? A(bias[c]) : A(0);
    return {A(0), stats[2 * r + 1] * w, stats[2 * r], b};
  }
};

// Per (n, c) row of S: sum of dy and of dy * (x - mean of its group).
template <typename T, typename A>
__global__ void __launch_bounds__(kThreads)
    group_norm_channel_sums_kernel(Pair<A>* __restrict__ sums, const T* __restrict__ dy,
                                   const T* __restrict__ x, const T* __restrict__ mean,
                                   int64_t rows, int64_t C, int64_t S, int64_t groups,
                                   int64_t per_group) {
  for_each_row(rows, [&](int64_t row, bool valid) {
    const int64_t n = row / C;
    const A mu = A(mean[n * groups + (row - n * C) / per_group]);
    Pair<A> acc{A(0), A(0)};
    for (int64_t s = threadIdx.x; s < S; s += blockDim.x) {
      const A g = A(dy[row * S + s]);
      acc.a += g;
      acc.b += g * (A(x[row * S + s]) - mu);
    }
    acc = group_reduce(acc, PairSum());
    if (valid && threadIdx.x == 0) sums[row] = acc;
  });
}

// A thread per (n, g): the grad_input coefficients of the group.
template <typename T, typename A>
__global__ void __launch_bounds__(kThreads)
    group_norm_group_coef_kernel(RowCoef<A>* __restrict__ coefs, const Pair<A>* __restrict__ sums,
                                 const T* __restrict__ weight, const T* __restrict__ mean,
                                 const T* __restrict__ rstd, int64_t N, int64_t groups,
                                 int64_t per_group, int64_t len) {
  const int64_t r = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= N * groups) return;
  const int64_t c0 = (r % groups) * per_group, n = r / groups;
  const int64_t C = groups * per_group;
  A sum_wdy = A(0), sum_wdy_xc = A(0);
  for (int64_t k = 0; k < per_group; ++k) {
    const A w = weight ? A(weight[c0 + k]) : A(1);
    const Pair<A> s = sums[n * C + c0 + k];
    sum_wdy += w * s.a;
    sum_wdy_xc += w * s.b;
  }
  const A rs = A(rstd[r]);
  const A mean_wdy_xhat = sum_wdy_xc * rs / A(len);
  coefs[r] = {rs, -rs * rs * mean_wdy_xhat, A(mean[r]), -rs * sum_wdy / A(len)};
}

// A thread per channel: grad_weight and grad_bias over the samples.
template <typename T, typename A>
__global__ void __launch_bounds__(kThreads)
    group_norm_param_kernel(T* __restrict__ grad_weight, T* __restrict__ grad_bias,
                            const Pair<A>* __restrict__ sums, const T* __restrict__ rstd,
                            int64_t N, int64_t C, int64_t groups, int64_t per_group) {
  const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  const int64_t g = c / per_group;
  A dw = A(0), db = A(0);
  for (int64_t n = 0; n < N; ++n) {
    const Pair<A> s = sums[n * C + c];
    dw += s.b * A(rstd[n * groups + g]);
    db += s.a;
  }
  grad_weight[c] = T(dw);
  grad_bias[c] = T(db);
}

template <typename T, typename A>
struct GroupNormBackwardCoef {
  const RowCoef<A>* coefs;
  int64_t groups, per_group;
  const T* weight;
  __device__ __forceinline__ RowCoef<A> operator()(int64_t n, int64_t c) const {
    RowCoef<A> k = coefs[n * groups + c / per_group];
    k.a_dy *= weight ? A(weight[c]) : A(1);
    return k;
  }
};

const void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

}  // namespace

size_t layer_norm_workspace_bytes(DType dtype, int64_t M, int64_t K) {
  return size_t(param_splits(M) * K) * 2 * acc_size(dtype);
}

void layer_norm_raw(DType dtype, void* out, void* mean, void* rstd, const void* x, int64_t M,
                    int64_t K, const void* weight, const void* bias, double eps,
                    int threads_per_row) {
  dispatch("layer_norm", dtype, [&](auto zero) {
    using T = decltype(zero);
    using A = typename AccOf<T>::type;
    const dim3 block = row_block("layer_norm", K, threads_per_row);
    if (M == 0) return;
    launch(row_norm_kernel<T, A>, row_grid(M, block), block, 0, current_stream(),
           static_cast<T*>(out), static_cast<T*>(mean), static_cast<T*>(rstd),
           static_cast<A*>(nullptr), static_cast<const T*>(x), M, K,
           static_cast<const T*>(weight), static_cast<const T*>(bias), A(eps), true);
  });
}

void layer_norm_backward_raw(DType dtype, void* grad_input, void* grad_weight, void* grad_bias,
                             const void* grad_out, const void* x, const void* weight,
                             const void* mean, const void* rstd, int64_t M, int64_t K,
                             void* workspace, int threads_per_row) {
  dispatch("layer_norm_backward", dtype, [&](auto zero) {
    using T = decltype(zero);
    using A = typename AccOf<T>::type;
    const dim3 block = row_block("layer_norm_backward", K, threads_per_row);
    if (K == 0) return;
    if (M > 0) {
      launch(layer_norm_backward_kernel<T, A>, row_grid(M, block), block, 0, current_stream(),
             static_cast<T*>(grad_input), static_cast<const T*>(grad_out),
             static_cast<const T*>(x), static_cast<const T*>(weight),
             static_cast<const T*>(mean), static_cast<const T*>(rstd), M, K);
    }
    const int64_t splits = param_splits(M);
    auto* partials = static_cast<Pair<A>*>(workspace);
    launch(layer_norm_param_partials_kernel<T, A>,
           dim3(unsigned(ceil_div<int64_t>(K, kColumns)), unsigned(splits)),
           dim3(kColumns, kColumnRows), 0, current_stream(), partials,
           static_cast<const T*>(grad_out), static_cast<const T*>(x),
           static_cast<const T*>(mean), static_cast<const T*>(rstd), M, K);
    launch(sum_partials_kernel<T, A>, dim3(unsigned(ceil_div<int64_t>(K, kThreads))),
           dim3(kThreads), 0, current_stream(), static_cast<T*>(grad_weight),
           static_cast<T*>(grad_bias), partials, splits, K);
  });
}

void layer_norm(const Tensor& out, const Tensor& mean, const Tensor& rstd, const Tensor& x,
                const Tensor& weight, const Tensor& bias, double eps) {
  const Tensor w = weight.defined() ? weight.contiguous() : weight;
  const Tensor b = bias.defined() ? bias.contiguous() : bias;
  layer_norm_raw(x.dtype(), out.raw_data(), mean.raw_data(), rstd.raw_data(), x.raw_data(),
                 x.size(0), x.size(1), data_or_null(w), data_or_null(b), eps);
}

void layer_norm_backward(const Tensor& grad_input, const Tensor& grad_weight,
                         const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                         const Tensor& weight, const Tensor& mean, const Tensor& rstd) {
  const int64_t M = x.size(0), K = x.size(1);
  const Tensor w = weight.defined() ? weight.contiguous() : weight;
  Tensor scratch = workspace(layer_norm_workspace_bytes(x.dtype(), M, K), x);
  layer_norm_backward_raw(x.dtype(), grad_input.raw_data(), grad_weight.raw_data(),
                          grad_bias.raw_data(), grad_out.raw_data(), x.raw_data(),
                          data_or_null(w), mean.raw_data(), rstd.raw_data(), M, K,
                          scratch.raw_data());
}

size_t group_norm_workspace_bytes(DType dtype, const GroupNormShape& s) {
  const size_t a = acc_size(dtype);
  return size_t(s.N * s.C) * 2 * a + size_t(s.N * s.groups) * 4 * a;
}

void group_norm_raw(DType dtype, void* out, void* mean, void* rstd, const void* x,
                    const GroupNormShape& s, const void* weight, const void* bias, double eps,
                    void* workspace) {
  dispatch("group_norm", dtype, [&](auto zero) {
    using T = decltype(zero);
    using A = typename AccOf<T>::type;
    const int64_t rows = s.N * s.groups, per_group = s.C / s.groups, len = per_group * s.S;
    if (rows == 0) return;
    const dim3 block = row_block("group_norm", len, 0);
    A* stats = static_cast<A*>(workspace);
    launch(row_norm_kernel<T, A>, row_grid(rows, block), block, 0, current_stream(),
           static_cast<T*>(nullptr), static_cast<T*>(mean), static_cast<T*>(rstd), stats,
           static_cast<const T*>(x), rows, len, static_cast<const T*>(nullptr),
           static_cast<const T*>(nullptr), A(eps), false);
    launch_channel_rows(static_cast<T*>(out), static_cast<const T*>(x),
                        static_cast<const T*>(nullptr), s.N, s.C, s.S,
                        GroupNormForwardCoef<T, A>{stats, s.groups, per_group,
                                                   static_cast<const T*>(weight),
                                                   static_cast<const T*>(bias)});
  });
}

void group_norm_backward_raw(DType dtype, void* grad_input, void* grad_weight, void* grad_bias,
                             const void* grad_out, const void* x, const GroupNormShape& s,
                             const void* weight, const void* mean, const void* rstd,
                             void* workspace) {
  dispatch("group_norm_backward", dtype, [&](auto zero) {
    using T = decltype(zero);
    using A = typename AccOf<T>::type;
    const int64_t per_group = s.C / s.groups, rows = s.N * s.C;
    if (s.C == 0) return;
    auto* sums = static_cast<Pair<A>*>(workspace);
    auto* coefs = at_bytes<RowCoef<A>>(workspace, size_t(rows) * sizeof(Pair<A>));
    const T* w = static_cast<const T*>(weight);
    if (rows > 0) {
      const dim3 block = row_block("group_norm_backward", s.S, 0);
      launch(group_norm_channel_sums_kernel<T, A>, row_grid(rows, block), block, 0,
             current_stream(), sums, static_cast<const T*>(grad_out), static_cast<const T*>(x),
             static_cast<const T*>(mean), rows, s.C, s.S, s.groups, per_group);
      launch(group_norm_group_coef_kernel<T, A>,
             dim3(unsigned(ceil_div<int64_t>(s.N * s.groups, kThreads))), dim3(kThreads), 0,
             current_stream(), coefs, sums, w, static_cast<const T*>(mean),
             static_cast<const T*>(rstd), s.N, s.groups, per_group, per_group * s.S);
      launch_channel_rows(static_cast<T*>(grad_input), static_cast<const T*>(x),
                          static_cast<const T*>(grad_out), s.N, s.C, s.S,
                          GroupNormBackwardCoef<T, A>{coefs, s.groups, per_group, w});
    }
    launch(group_norm_param_kernel<T, A>, dim3(unsigned(ceil_div<int64_t>(s.C, kThreads))),
           dim3(kThreads), 0, current_stream(), static_cast<T*>(grad_weight),
           static_cast<T*>(grad_bias), sums, static_cast<const T*>(rstd), s.N, s.C, s.groups,
           per_group);
  });
}

void group_norm(const Tensor& out, const Tensor& mean, const Tensor& rstd, const Tensor& x,
                int64_t groups, const Tensor& weight, const Tensor& bias, double eps) {
  const GroupNormShape s{x.size(0), x.size(1), x.size(2), groups};
  const Tensor w = weight.defined() ? weight.contiguous() : weight;
  const Tensor b = bias.defined() ? bias.contiguous() : bias;
  Tensor scratch = workspace(group_norm_workspace_bytes(x.dtype(), s), x);
  group_norm_raw(x.dtype(), out.raw_data(), mean.raw_data(), rstd.raw_data(), x.raw_data(), s,
                 data_or_null(w), data_or_null(b), eps, scratch.raw_data());
}

void group_norm_backward(const Tensor& grad_input, const Tensor& grad_weight,
                         const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                         int64_t groups, const Tensor& weight, const Tensor& mean,
                         const Tensor& rstd) {
  const GroupNormShape s{x.size(0), x.size(1), x.size(2), groups};
  const Tensor w = weight.defined() ? weight.contiguous() : weight;
  Tensor scratch = workspace(group_norm_workspace_bytes(x.dtype(), s), x);
  group_norm_backward_raw(x.dtype(), grad_input.raw_data(), grad_weight.raw_data(),
                          grad_bias.raw_data(), grad_out.raw_data(), x.raw_data(), s,
                          data_or_null(w), mean.raw_data(), rstd.raw_data(), scratch.raw_data());
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
