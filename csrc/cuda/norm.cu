// CUDA batch, layer and group norm, forward and backward. Statistics are
// Welford (mean, M2) per thread merged with Chan's formula across a warp by
// shuffles, across warps through shared memory and, for batch norm, across
// the blocks that split a channel through a small workspace; accumulation is
// float for float32 and double for float64. Layer norm gives a row to a warp
// (short rows) or a block (long rows). Every per-element pass over (N, C, S)
// goes through one kernel that gives each (n, c) row a group of threads sized
// to S (one thread for S = 1, so (N, C) inputs stay coalesced) and computes
// the row's coefficients once, so no index division happens per element.
#include <math.h>

#include <algorithm>

#include "core/check.h"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxWarps = kThreads / 32;
constexpr int64_t kMaxBlocks = 65535;
// Rows at least this long get a whole block each; shorter ones one warp.
constexpr int64_t kBlockRowLength = 1024;
// The most blocks that split one batch-norm channel or the rows of layer
// norm's parameter gradients; their partials are merged in a second pass.
constexpr int64_t kMaxSplits = 64;
// Layer norm's parameter gradients: a block sums 32 columns over 8 row lanes.
constexpr int kColumns = 32;
constexpr int kColumnRows = kThreads / kColumns;

template <typename T>
struct AccOf {
  using type = float;
};
template <>
struct AccOf<double> {
  using type = double;
};

__device__ __forceinline__ float m_rsqrt(float v) { return 1.0f / sqrtf(v); }
__device__ __forceinline__ double m_rsqrt(double v) { return 1.0 / sqrt(v); }

template <typename A>
struct Welford {
  A count, mean, m2;
};

template <typename A>
__device__ __forceinline__ void welford_add(Welford<A>& w, A v) {
  w.count += A(1);
  const A delta = v - w.mean;
  w.mean += delta / w.count;
  w.m2 += delta * (v - w.mean);
}

struct WelfordMerge {
  template <typename A>
  __device__ __forceinline__ Welford<A> operator()(const Welford<A>& a,
                                                   const Welford<A>& b) const {
    const A count = a.count + b.count;
    if (count == A(0)) return a;
    const A delta = b.mean - a.mean;
    const A fraction = b.count / count;
    return {count, a.mean + delta * fraction, a.m2 + b.m2 + delta * delta * a.count * fraction};
  }
};

template <typename A>
struct Pair {
  A a, b;
};

struct PairSum {
  template <typename A>
  __device__ __forceinline__ Pair<A> operator()(const Pair<A>& x, const Pair<A>& y) const {
    return {x.a + y.a, x.b + y.b};
  }
};

template <typename A>
__device__ __forceinline__ Welford<A> shuffle(const Welford<A>& w, int lane, bool xor_mode) {
  if (xor_mode) {
    return {__shfl_xor_sync(0xffffffffu, w.count, lane), __shfl_xor_sync(0xffffffffu, w.mean, lane),
            __shfl_xor_sync(0xffffffffu, w.m2, lane)};
  }
  return {__shfl_sync(0xffffffffu, w.count, lane), __shfl_sync(0xffffffffu, w.mean, lane),
          __shfl_sync(0xffffffffu, w.m2, lane)};
}
template <typename A>
__device__ __forceinline__ Pair<A> shuffle(const Pair<A>& p, int lane, bool xor_mode) {
  if (xor_mode) {
    return {__shfl_xor_sync(0xffffffffu, p.a, lane), __shfl_xor_sync(0xffffffffu, p.b, lane)};
  }
  return {__shfl_sync(0xffffffffu, p.a, lane), __shfl_sync(0xffffffffu, p.b, lane)};
}

// Merges v across each warp; every lane gets lane 0's result (a Welford
// merge is not exactly symmetric, so lanes must not keep their own).
template <typename V, typename Merge>
__device__ __forceinline__ V warp_reduce(V v, Merge merge) {
  EMBER_UNROLL
  for (int mask = 16; mask > 0; mask /= 2) v = merge(v, shuffle(v, mask, true));
  return shuffle(v, 0, false);
}

// Merges v across the blockDim.x threads of this row group (threadIdx.y);
// all threads of the block must call it (it has barriers).
template <typename V, typename Merge>
__device__ V group_reduce(V v, Merge merge) {
  __shared__ V partial[kMaxWarps];
  v = warp_reduce(v, merge);
  const int warps = int(blockDim.x) / 32;
  if (warps == 1) return v;
  const int first = int(threadIdx.y) * warps;
  if (threadIdx.x % 32 == 0) partial[first + int(threadIdx.x) / 32] = v;
  __syncthreads();
  V total = partial[first];
  for (int w = 1; w < warps; ++w) total = merge(total, partial[first + w]);
  // The next call writes `partial` again: nobody may still be reading it.
  __syncthreads();
  return total;
}

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

// --- rows of (N, C, S): out = a_dy * dy + a_x * (x - center) + add ----------

template <typename A>
struct RowCoef {
  A a_dy, a_x, center, add;
};

// Each (n, c) row gets `width` threads (a power of two, S rounded up, at
// most the block); dy may be null (forward).
template <typename T, typename Coef>
__global__ void __launch_bounds__(kThreads)
    channel_rows_kernel(T* __restrict__ out, const T* __restrict__ x, const T* __restrict__ dy,
                        int64_t N, int64_t C, int64_t S, int width, Coef coef) {
  const int lane = int(threadIdx.x) % width;
  const int per_block = int(blockDim.x) / width;
  const int64_t rows = N * C;
  const int64_t step = int64_t(gridDim.x) * per_block;
  for (int64_t row = int64_t(blockIdx.x) * per_block + int(threadIdx.x) / width; row < rows;
       row += step) {
    const int64_t n = row / C;
    const auto k = coef(n, row - n * C);
    const T* xr = x + row * S;
    T* o = out + row * S;
    if (dy) {
      const T* g = dy + row * S;
      for (int64_t s = lane; s < S; s += width) {
        o[s] = T(k.a_dy * g[s] + k.a_x * (decltype(k.a_x)(xr[s]) - k.center) + k.add);
      }
    } else {
      for (int64_t s = lane; s < S; s += width) {
        o[s] = T(k.a_x * (decltype(k.a_x)(xr[s]) - k.center) + k.add);
      }
    }
  }
}

int row_width(int64_t S) {
  int width = 1;
  while (width < kThreads && width < S) width *= 2;
  return width;
}

template <typename T, typename Coef>
void launch_channel_rows(T* out, const T* x, const T* dy, int64_t N, int64_t C, int64_t S,
                         const Coef& coef) {
  if (N * C * S == 0) return;
  const int width = row_width(S);
  const int64_t blocks = std::min(ceil_div<int64_t>(N * C, kThreads / width), kMaxBlocks);
  launch(channel_rows_kernel<T, Coef>, dim3(unsigned(blocks)), dim3(kThreads), 0,
         current_stream(), out, x, dy, N, C, S, width, coef);
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

template <typename T, typename A>
__global__ void __launch_bounds__(kThreads)
    batch_norm_partials_kernel(Welford<A>* __restrict__ partials, const T* __restrict__ x,
                               int64_t N, int64_t C, int64_t S, int width) {
  const int64_t c = blockIdx.x;
  const int lane = int(threadIdx.x) % width;
  const int per_pass = int(blockDim.x) / width;
  Welford<A> acc{A(0), A(0), A(0)};
  for (int64_t n = int64_t(blockIdx.y) * per_pass + int(threadIdx.x) / width; n < N;
       n += int64_t(per_pass) * gridDim.y) {
    const T* p = x + (n * C + c) * S;
    for (int64_t s = lane; s < S; s += width) welford_add(acc, A(p[s]));
  }
  acc = group_reduce(acc, WelfordMerge());
  if (threadIdx.x == 0) partials[c * gridDim.y + blockIdx.y] = acc;
}

// A warp per channel: merges the splits (training) or reads the running
// statistics (eval), writes mean/invstd and the running-stat update.
template <typename T, typename A>
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

// --- host side --------------------------------------------------------------

// Calls body(T{}) for float32/float64; a TypeError naming `op` otherwise.
template <typename Body>
void dispatch(const char* op, DType dtype, const Body& body) {
  switch (dtype) {
    case DType::float32: return body(float{});
    case DType::float64: return body(double{});
    default:
      EMBER_FAIL(type, op, ": no CUDA kernel for dtype ", dtype_name(dtype),
                 " (float32 and float64 have one)");
  }
}

size_t acc_size(DType dtype) { return dtype == DType::float64 ? sizeof(double) : sizeof(float); }

template <typename P>
P* at_bytes(void* base, size_t offset) {
  return reinterpret_cast<P*>(static_cast<char*>(base) + offset);
}

const void* data_or_null(const Tensor& t) { return t.defined() ? t.raw_data() : nullptr; }

// A scratch buffer of `bytes` on t's device, 16-byte aligned.
Tensor workspace(size_t bytes, const Tensor& like) {
  return Tensor::empty({int64_t(std::max<size_t>(bytes, 1) + 15) / 16 * 2}, DType::float64,
                       like.device());
}

}  // namespace

ChannelParam channel_param(const Tensor& t) {
  if (!t.defined()) return {};
  return {t.raw_data(), t.stride(0)};
}

size_t batch_norm_workspace_bytes(DType dtype, const BatchNormShape& shape) {
  const size_t a = acc_size(dtype);
  const size_t partials = size_t(shape.C * batch_split(shape).splits) * 3 * a;
  return partials + size_t(shape.C) * 4 * a;
}

void batch_norm_raw(DType dtype, void* out, void* mean, void* invstd, const void* x,
                    const BatchNormShape& shape, ChannelParam running_mean,
                    ChannelParam running_var, ChannelParam weight, ChannelParam bias,
                    bool training, double momentum, double eps, void* workspace) {
  dispatch("batch_norm", dtype, [&](auto zero) {
    using T = decltype(zero);
    using A = typename AccOf<T>::type;
    if (shape.C == 0) return;
    const BatchSplit split = batch_split(shape);
    auto* partials = static_cast<Welford<A>*>(workspace);
    A* stats = at_bytes<A>(workspace, size_t(shape.C * split.splits) * sizeof(Welford<A>));
    if (training) {
      launch(batch_norm_partials_kernel<T, A>, dim3(unsigned(shape.C), unsigned(split.splits)),
             dim3(kThreads), 0, current_stream(), partials, static_cast<const T*>(x), shape.N,
             shape.C, shape.S, split.width);
    }
    const dim3 warps(32, kThreads / 32);
    launch(batch_norm_stats_kernel<T, A>, dim3(unsigned(ceil_div<int64_t>(shape.C, warps.y))),
           warps, 0, current_stream(), static_cast<T*>(mean), static_cast<T*>(invstd), stats,
           partials, split.splits, shape.C, running_mean, running_var, training, momentum, eps);
    launch_channel_rows(static_cast<T*>(out), static_cast<const T*>(x), static_cast<const T*>(nullptr),
                        shape.N, shape.C, shape.S,
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
