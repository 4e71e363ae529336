// CUDA conv2d (NCHW, any stride, padding, dilation and groups) as implicit
// GEMMs: no im2col buffer; each block gathers its operand tiles straight from
// the tensors into shared memory (zero outside the image), double-buffered,
// and every thread accumulates an 8x4 register block.
//   forward:      out[(n, oh, ow), oc]  = sum over (c, kh, kw) of input x weight
//   grad input:   gin[(n, ih, iw), c]   = sum over (oc, kh, kw) of grad_out x weight,
//                 gathering the grad_out pixel each tap came from (none when the
//                 stride skips it)
//   grad weight:  gw[(c, kh, kw), oc]   = sum over (n, oh, ow) of input x grad_out,
//                 the reduction split across blocks into partial tiles that a
//                 second kernel adds in a fixed order (deterministic)
//   grad bias:    a block per channel, warp shuffles then shared memory.
// Groups run on blockIdx.z. Index decompositions use multiply-shift division
// by divisors fixed at launch, done once per gathered element, never per FMA.
// float16/bfloat16 operands are converted to float as they are gathered: the
// shared tiles, the accumulators and the split-K partials are float, and each
// output is rounded to 16 bits once, when it is stored.
#include <algorithm>
#include <initializer_list>

#include "core/check.h"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

constexpr int kThreads = 256;
// Block tile (rows of the GEMM x columns x reduction step) and each thread's
// share: 16 x 16 threads, each holding kThreadM x kThreadN accumulators.
constexpr int kTileM = 128, kTileN = 64, kTileK = 8;
constexpr int kThreadM = 8, kThreadN = 4;
constexpr int kThreadsM = kTileM / (kThreadM / 2) / 2;  // 16
// Row padding of the shared tiles: k-major stores from k-fast loaders would
// otherwise hit one bank 8 times.
constexpr int kPad = 4;
constexpr int kMaxSplits = 64;
// About two waves of blocks on an H100 (132 SMs), the split-K target.
constexpr int64_t kTargetBlocks = 264;

static_assert(kThreads == kThreadsM * (kTileN / kThreadN), "thread grid must cover the tile");
static_assert(kThreads % kTileM == 0 && kThreads % kTileK == 0, "loader mappings");

// n / d and n % d for a divisor fixed on the host (Granlund-Montgomery: a
// multiply-high, an add and a shift; exact for every 32-bit n).
struct FastDivmod {
  uint32_t divisor = 1, multiplier = 1, shift = 0;

  FastDivmod() = default;
  explicit FastDivmod(uint32_t d) : divisor(d) {
    while ((uint64_t(1) << shift) < d) ++shift;
    multiplier = uint32_t(((uint64_t(1) << 32) * ((uint64_t(1) << shift) - d)) / d + 1);
  }
  __host__ __device__ __forceinline__ int div(int n) const {
    const uint32_t high = uint32_t((uint64_t(uint32_t(n)) * multiplier) >> 32);
    return int((uint64_t(high) + uint32_t(n)) >> shift);
  }
};

// The conv's sizes in 32-bit form (the host checks they fit) with the
// divisors the gathers need.
struct ConvParams {
  int batch, in_c, in_h, in_w, out_c, kernel_h, kernel_w, out_h, out_w;
  int stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  int groups, group_in, group_out, taps, rows;  // rows: group_in * taps
  int in_plane, out_plane;
  FastDivmod by_taps, by_kernel_w, by_out_w, by_out_plane, by_in_w, by_in_plane;
  FastDivmod by_stride_h, by_stride_w;
};

// Tile row i of this thread: two runs of four, half a tile apart, so that
// neighbouring threads store neighbouring pixels.
__device__ __forceinline__ int thread_row(int i) {
  return (i / 4) * (kTileM / 2) + int(threadIdx.x % kThreadsM) * 4 + i % 4;
}
__device__ __forceinline__ int thread_col(int j) {
  return int(threadIdx.x / kThreadsM) * kThreadN + j;
}

template <typename T>
struct alignas(16) Tiles {
  T a[2][kTileK][kTileM + kPad];
  T b[2][kTileK][kTileN + kPad];
};

// acc += A[:, k_begin:k_end] * B[k_begin:k_end, :] for the block's tile.
// The loaders gather a tile of step k0 into registers (fetch, converting to
// the accumulator type A) and then into shared memory (put); the next step's
// fetch overlaps this step's FMAs.
template <typename A, typename LoadA, typename LoadB>
__device__ __forceinline__ void gemm_tile(LoadA& load_a, LoadB& load_b, int k_begin, int k_end,
                                          A (&acc)[kThreadM][kThreadN]) {
  __shared__ Tiles<A> tiles;
  typename LoadA::Regs ra;
  typename LoadB::Regs rb;
  load_a.fetch(k_begin, ra);
  load_b.fetch(k_begin, rb);
  load_a.put(tiles.a[0], ra);
  load_b.put(tiles.b[0], rb);
  __syncthreads();
  const int col0 = thread_col(0), row0 = thread_row(0);
  int buf = 0;
  for (int k0 = k_begin; k0 < k_end; k0 += kTileK) {
    const bool more = k0 + kTileK < k_end;
    if (more) {
      load_a.fetch(k0 + kTileK, ra);
      load_b.fetch(k0 + kTileK, rb);
    }
    EMBER_UNROLL
    for (int kk = 0; kk < kTileK; ++kk) {
      A a[kThreadM], b[kThreadN];
      EMBER_UNROLL
      for (int i = 0; i < kThreadM / 2; ++i) {
        a[i] = tiles.a[buf][kk][row0 + i];
        a[i + kThreadM / 2] = tiles.a[buf][kk][row0 + kTileM / 2 + i];
      }
      EMBER_UNROLL
      for (int j = 0; j < kThreadN; ++j) b[j] = tiles.b[buf][kk][col0 + j];
      EMBER_UNROLL
      for (int i = 0; i < kThreadM; ++i) {
        EMBER_UNROLL
        for (int j = 0; j < kThreadN; ++j) acc[i][j] += a[i] * b[j];
      }
    }
    if (more) {
      load_a.put(tiles.a[buf ^ 1], ra);
      load_b.put(tiles.b[buf ^ 1], rb);
      __syncthreads();
      buf ^= 1;
    }
  }
}

// Loader thread mappings. m-fast: a thread owns one tile row and
// kThreads / kTileM-strided steps of k (neighbouring threads read
// neighbouring pixels). k-fast: a thread owns one k of each step and
// kThreads / kTileK-strided rows.
constexpr int kMFastSteps = kTileK / (kThreads / kTileM);  // 4 values per thread
constexpr int kKFastRowsA = kTileM / (kThreads / kTileK);  // 4
constexpr int kKFastRowsB = kTileN / (kThreads / kTileK);  // 2

__device__ __forceinline__ int mfast_row() { return int(threadIdx.x % kTileM); }
__device__ __forceinline__ int mfast_k(int j) {
  return int(threadIdx.x / kTileM) + j * (kThreads / kTileM);
}
__device__ __forceinline__ int kfast_k() { return int(threadIdx.x % kTileK); }
__device__ __forceinline__ int kfast_row(int j) {
  return int(threadIdx.x / kTileK) + j * (kThreads / kTileK);
}

// ---- forward ---------------------------------------------------------------

// A[(n, oh, ow), (c, kh, kw)] = input[n, c, oh*s - p + kh*d, ow*s - p + kw*d].
template <typename T>
struct ForwardInput {
  using A = acc_t<T>;
  struct Regs {
    A v[kMFastSteps];
  };
  const ConvParams& p;
  const T* image = nullptr;
  int ih0 = 0, iw0 = 0;
  bool valid = false;

  __device__ ForwardInput(const ConvParams& params, const T* input, int group, int m0)
      : p(params) {
    const int m = m0 + mfast_row();
    valid = m < p.batch * p.out_plane;
    if (!valid) return;
    const int n = p.by_out_plane.div(m), pixel = m - n * p.out_plane;
    const int oh = p.by_out_w.div(pixel), ow = pixel - oh * p.out_w;
    image = input + (int64_t(n) * p.in_c + int64_t(group) * p.group_in) * p.in_plane;
    ih0 = oh * p.stride_h - p.pad_h;
    iw0 = ow * p.stride_w - p.pad_w;
  }
  __device__ __forceinline__ void fetch(int k0, Regs& r) const {
    EMBER_UNROLL
    for (int j = 0; j < kMFastSteps; ++j) {
      const int k = k0 + mfast_k(j);
      A v = A(0);
      if (valid && k < p.rows) {
        const int c = p.by_taps.div(k), tap = k - c * p.taps;
        const int kh = p.by_kernel_w.div(tap), kw = tap - kh * p.kernel_w;
        const int ih = ih0 + kh * p.dilation_h, iw = iw0 + kw * p.dilation_w;
        if (unsigned(ih) < unsigned(p.in_h) && unsigned(iw) < unsigned(p.in_w))
          v = A(image[int64_t(c) * p.in_plane + ih * p.in_w + iw]);
      }
      r.v[j] = v;
    }
  }
  __device__ __forceinline__ void put(A (*tile)[kTileM + kPad], const Regs& r) const {
    EMBER_UNROLL
    for (int j = 0; j < kMFastSteps; ++j) tile[mfast_k(j)][mfast_row()] = r.v[j];
  }
};

// B[(c, kh, kw), oc] = weight[oc, c, kh, kw] (the group's rows x group_out).
template <typename T>
struct ForwardWeight {
  using A = acc_t<T>;
  struct Regs {
    A v[kKFastRowsB];
  };
  const T* weight;
  int rows, cols, n0;

  __device__ __forceinline__ void fetch(int k0, Regs& r) const {
    const int k = k0 + kfast_k();
    EMBER_UNROLL
    for (int j = 0; j < kKFastRowsB; ++j) {
      const int oc = n0 + kfast_row(j);
      r.v[j] = oc < cols && k < rows ? A(weight[int64_t(oc) * rows + k]) : A(0);
    }
  }
  __device__ __forceinline__ void put(A (*tile)[kTileN + kPad], const Regs& r) const {
    EMBER_UNROLL
    for (int j = 0; j < kKFastRowsB; ++j) tile[kfast_k()][kfast_row(j)] = r.v[j];
  }
};

template <typename T>
__global__ void __launch_bounds__(kThreads)
    conv2d_forward_kernel(T* __restrict__ out, const T* __restrict__ input,
                          const T* __restrict__ weight, const T* __restrict__ bias,
                          ConvParams p) {
  const int group = int(blockIdx.z);
  const int m0 = int(blockIdx.x) * kTileM, n0 = int(blockIdx.y) * kTileN;
  ForwardInput<T> load_a(p, input, group, m0);
  ForwardWeight<T> load_b{weight + int64_t(group) * p.group_out * p.rows, p.rows, p.group_out,
                          n0};
  acc_t<T> acc[kThreadM][kThreadN] = {};
  gemm_tile(load_a, load_b, 0, p.rows, acc);
  const int channel0 = group * p.group_out + n0;
  EMBER_UNROLL
  for (int i = 0; i < kThreadM; ++i) {
    const int m = m0 + thread_row(i);
    if (m >= p.batch * p.out_plane) continue;
    const int n = p.by_out_plane.div(m), pixel = m - n * p.out_plane;
    T* dst = out + (int64_t(n) * p.out_c + channel0) * p.out_plane + pixel;
    EMBER_UNROLL
    for (int j = 0; j < kThreadN; ++j) {
      const int col = thread_col(j);
      if (n0 + col >= p.group_out) continue;
      dst[int64_t(col) * p.out_plane] =
          T(acc[i][j] + (bias ? acc_t<T>(bias[channel0 + col]) : acc_t<T>(0)));
    }
  }
}

// ---- grad input ------------------------------------------------------------

// A[(n, ih, iw), (oc, kh, kw)] = grad_out[n, oc, oh, ow] where
// oh*s - p + kh*d == ih (and likewise for w); 0 when no output pixel read
// input pixel (ih, iw) through that tap.
template <typename T>
struct GradOutGather {
  using A = acc_t<T>;
  struct Regs {
    A v[kMFastSteps];
  };
  const ConvParams& p;
  const T* image = nullptr;
  int th0 = 0, tw0 = 0;
  bool valid = false;

  __device__ GradOutGather(const ConvParams& params, const T* grad_out, int group, int m0)
      : p(params) {
    const int m = m0 + mfast_row();
    valid = m < p.batch * p.in_plane;
    if (!valid) return;
    const int n = p.by_in_plane.div(m), pixel = m - n * p.in_plane;
    const int ih = p.by_in_w.div(pixel), iw = pixel - ih * p.in_w;
    image = grad_out + (int64_t(n) * p.out_c + int64_t(group) * p.group_out) * p.out_plane;
    th0 = ih + p.pad_h;
    tw0 = iw + p.pad_w;
  }
  __device__ __forceinline__ void fetch(int k0, Regs& r) const {
    EMBER_UNROLL
    for (int j = 0; j < kMFastSteps; ++j) {
      const int k = k0 + mfast_k(j);
      A v = A(0);
      if (valid && k < p.group_out * p.taps) {
        const int oc = p.by_taps.div(k), tap = k - oc * p.taps;
        const int kh = p.by_kernel_w.div(tap), kw = tap - kh * p.kernel_w;
        const int th = th0 - kh * p.dilation_h, tw = tw0 - kw * p.dilation_w;
        if (th >= 0 && tw >= 0) {
          const int oh = p.by_stride_h.div(th), ow = p.by_stride_w.div(tw);
          if (oh * p.stride_h == th && ow * p.stride_w == tw && oh < p.out_h && ow < p.out_w)
            v = A(image[int64_t(oc) * p.out_plane + oh * p.out_w + ow]);
        }
      }
      r.v[j] = v;
    }
  }
  __device__ __forceinline__ void put(A (*tile)[kTileM + kPad], const Regs& r) const {
    EMBER_UNROLL
    for (int j = 0; j < kMFastSteps; ++j) tile[mfast_k(j)][mfast_row()] = r.v[j];
  }
};

// B[(oc, kh, kw), c] = weight[oc, c, kh, kw] within the group.
template <typename T>
struct TransposedWeight {
  using A = acc_t<T>;
  struct Regs {
    A v[kKFastRowsB];
  };
  const ConvParams& p;
  const T* weight;
  int n0;

  __device__ __forceinline__ void fetch(int k0, Regs& r) const {
    const int k = k0 + kfast_k();
    const bool valid = k < p.group_out * p.taps;
    const int oc = p.by_taps.div(k), tap = k - oc * p.taps;
    const T* src = weight + int64_t(oc) * p.rows + tap;
    EMBER_UNROLL
    for (int j = 0; j < kKFastRowsB; ++j) {
      const int c = n0 + kfast_row(j);
      r.v[j] = valid && c < p.group_in ? A(src[c * p.taps]) : A(0);
    }
  }
  __device__ __forceinline__ void put(A (*tile)[kTileN + kPad], const Regs& r) const {
    EMBER_UNROLL
    for (int j = 0; j < kKFastRowsB; ++j) tile[kfast_k()][kfast_row(j)] = r.v[j];
  }
};

template <typename T>
__global__ void __launch_bounds__(kThreads)
    conv2d_backward_input_kernel(T* __restrict__ grad_input, const T* __restrict__ grad_out,
                                 const T* __restrict__ weight, ConvParams p) {
  const int group = int(blockIdx.z);
  const int m0 = int(blockIdx.x) * kTileM, n0 = int(blockIdx.y) * kTileN;
  GradOutGather<T> load_a(p, grad_out, group, m0);
  TransposedWeight<T> load_b{p, weight + int64_t(group) * p.group_out * p.rows, n0};
  acc_t<T> acc[kThreadM][kThreadN] = {};
  gemm_tile(load_a, load_b, 0, p.group_out * p.taps, acc);
  const int channel0 = group * p.group_in + n0;
  EMBER_UNROLL
  for (int i = 0; i < kThreadM; ++i) {
    const int m = m0 + thread_row(i);
    if (m >= p.batch * p.in_plane) continue;
    const int n = p.by_in_plane.div(m), pixel = m - n * p.in_plane;
    T* dst = grad_input + (int64_t(n) * p.in_c + channel0) * p.in_plane + pixel;
    EMBER_UNROLL
    for (int j = 0; j < kThreadN; ++j) {
      const int col = thread_col(j);
      if (n0 + col < p.group_in) dst[int64_t(col) * p.in_plane] = T(acc[i][j]);
    }
  }
}

// ---- grad weight -----------------------------------------------------------

// A[(c, kh, kw), (n, oh, ow)] = input[n, c, oh*s - p + kh*d, ow*s - p + kw*d]:
// each thread keeps its rows' offsets and decomposes one k per step.
template <typename T>
struct InputByTap {
  using A = acc_t<T>;
  struct Regs {
    A v[kKFastRowsA];
  };
  const ConvParams& p;
  const T* input;
  int64_t channel_offset[kKFastRowsA];
  int dh[kKFastRowsA], dw[kKFastRowsA];

  __device__ InputByTap(const ConvParams& params, const T* group_input, int m0)
      : p(params), input(group_input) {
    EMBER_UNROLL
    for (int j = 0; j < kKFastRowsA; ++j) {
      const int r = m0 + kfast_row(j);
      const int c = p.by_taps.div(r), tap = r - c * p.taps;
      const int kh = p.by_kernel_w.div(tap), kw = tap - kh * p.kernel_w;
      channel_offset[j] = int64_t(c) * p.in_plane;
      dh[j] = kh * p.dilation_h - p.pad_h;
      // Rows past the end never match: push them outside every image.
      dw[j] = r < p.rows ? kw * p.dilation_w - p.pad_w : -(1 << 30);
    }
  }
  __device__ __forceinline__ void fetch(int k0, Regs& r) const {
    const int k = k0 + kfast_k();
    const bool valid = k < p.batch * p.out_plane;
    const int n = p.by_out_plane.div(k), pixel = k - n * p.out_plane;
    const int oh = p.by_out_w.div(pixel), ow = pixel - oh * p.out_w;
    const T* image = input + int64_t(n) * p.in_c * p.in_plane;
    const int ih0 = oh * p.stride_h, iw0 = ow * p.stride_w;
    EMBER_UNROLL
    for (int j = 0; j < kKFastRowsA; ++j) {
      const int ih = ih0 + dh[j], iw = iw0 + dw[j];
      r.v[j] = valid && unsigned(ih) < unsigned(p.in_h) && unsigned(iw) < unsigned(p.in_w)
                   ? A(image[channel_offset[j] + ih * p.in_w + iw])
                   : A(0);
    }
  }
  __device__ __forceinline__ void put(A (*tile)[kTileM + kPad], const Regs& r) const {
    EMBER_UNROLL
    for (int j = 0; j < kKFastRowsA; ++j) tile[kfast_k()][kfast_row(j)] = r.v[j];
  }
};

// B[(n, oh, ow), oc] = grad_out[n, oc, oh, ow] within the group.
template <typename T>
struct GradOutByPixel {
  using A = acc_t<T>;
  struct Regs {
    A v[kKFastRowsB];
  };
  const ConvParams& p;
  const T* grad_out;
  int n0;

  __device__ __forceinline__ void fetch(int k0, Regs& r) const {
    const int k = k0 + kfast_k();
    const bool valid = k < p.batch * p.out_plane;
    const int n = p.by_out_plane.div(k), pixel = k - n * p.out_plane;
    const T* src = grad_out + int64_t(n) * p.out_c * p.out_plane + pixel;
    EMBER_UNROLL
    for (int j = 0; j < kKFastRowsB; ++j) {
      const int oc = n0 + kfast_row(j);
      r.v[j] = valid && oc < p.group_out ? A(src[int64_t(oc) * p.out_plane]) : A(0);
    }
  }
  __device__ __forceinline__ void put(A (*tile)[kTileN + kPad], const Regs& r) const {
    EMBER_UNROLL
    for (int j = 0; j < kKFastRowsB; ++j) tile[kfast_k()][kfast_row(j)] = r.v[j];
  }
};

// blockIdx.z = group * splits + split; split s reduces k in
// [s * chunk, (s + 1) * chunk) and writes its own (out_c, rows) slice of
// `dst`: grad_weight itself (D = T) when splits == 1, else the workspace of
// unrounded partials (D = acc_t<T>).
template <typename T, typename D>
__global__ void __launch_bounds__(kThreads)
    conv2d_backward_weight_kernel(D* __restrict__ dst, const T* __restrict__ grad_out,
                                  const T* __restrict__ input, ConvParams p, int splits,
                                  int chunk) {
  const int group = int(blockIdx.z) / splits, split = int(blockIdx.z) % splits;
  const int m0 = int(blockIdx.x) * kTileM, n0 = int(blockIdx.y) * kTileN;
  InputByTap<T> load_a(p, input + int64_t(group) * p.group_in * p.in_plane, m0);
  GradOutByPixel<T> load_b{p, grad_out + int64_t(group) * p.group_out * p.out_plane, n0};
  const int k_total = p.batch * p.out_plane;
  const int k_begin = split * chunk;
  const int k_end = k_total - k_begin < chunk ? k_total : k_begin + chunk;
  acc_t<T> acc[kThreadM][kThreadN] = {};
  gemm_tile(load_a, load_b, k_begin, k_end, acc);
  D* slice = dst + (int64_t(split) * p.out_c + int64_t(group) * p.group_out + n0) * p.rows;
  EMBER_UNROLL
  for (int j = 0; j < kThreadN; ++j) {
    const int col = thread_col(j);
    if (n0 + col >= p.group_out) continue;
    EMBER_UNROLL
    for (int i = 0; i < kThreadM; ++i) {
      const int r = m0 + thread_row(i);
      if (r < p.rows) slice[int64_t(col) * p.rows + r] = D(acc[i][j]);
    }
  }
}

// out[i] = sum over s of partial[s * size + i], s in order, rounded once.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    sum_splits_kernel(T* __restrict__ out, const acc_t<T>* __restrict__ partial, int64_t size,
                      int splits) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < size; i += step) {
    acc_t<T> total = partial[i];
    for (int s = 1; s < splits; ++s) total += partial[s * size + i];
    out[i] = T(total);
  }
}

// ---- grad bias -------------------------------------------------------------

// grad_bias[oc] = sum of grad_out[:, oc]: one block per channel walks the
// (image, pixel) pairs with a kThreads stride, advanced without division
// (`image_step`, `pixel_step`: kThreads = image_step * out_plane + pixel_step).
template <typename T>
__global__ void __launch_bounds__(kThreads)
    conv2d_backward_bias_kernel(T* __restrict__ grad_bias, const T* __restrict__ grad_out,
                                int batch, int out_c, int out_plane, int image_step,
                                int pixel_step) {
  using A = acc_t<T>;
  __shared__ A partial[kThreads / 32];
  const int oc = int(blockIdx.x);
  int n = int(threadIdx.x) / out_plane, pixel = int(threadIdx.x) % out_plane;
  A total = A(0);
  while (n < batch) {
    total += A(grad_out[(int64_t(n) * out_c + oc) * out_plane + pixel]);
    n += image_step;
    pixel += pixel_step;
    if (pixel >= out_plane) {
      pixel -= out_plane;
      ++n;
    }
  }
  EMBER_UNROLL
  for (int mask = 16; mask > 0; mask /= 2) total += __shfl_xor_sync(0xffffffffu, total, mask);
  if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = total;
  __syncthreads();
  if (threadIdx.x == 0) {
    A sum = partial[0];
    for (int w = 1; w < kThreads / 32; ++w) sum += partial[w];
    grad_bias[oc] = T(sum);
  }
}

// ---- host side -------------------------------------------------------------

ConvParams make_params(const char* op, const Conv2dGeometry& g) {
  const int64_t limit = int64_t(1) << 31;
  const int64_t taps = g.kernel_h * g.kernel_w;
  const int64_t sizes[] = {g.batch * g.out_h * g.out_w, g.batch * g.in_h * g.in_w,
                           g.in_channels * taps, g.out_channels * taps, g.pad_h + g.in_h,
                           g.pad_w + g.in_w, g.dilation_h * g.kernel_h,
                           g.dilation_w * g.kernel_w, g.stride_h * g.out_h,
                           g.stride_w * g.out_w};
  for (int64_t size : sizes) {
    EMBER_CHECK(size < limit, op, ": the CUDA kernel indexes with 32-bit integers; an extent "
                "of ", size, " is too large (split the batch)");
  }
  EMBER_CHECK(g.groups > 0 && g.groups <= 65535, op, ": the CUDA kernel runs at most 65535 "
              "groups, got ", g.groups);
  ConvParams p{};
  p.batch = int(g.batch);
  p.in_c = int(g.in_channels);
  p.in_h = int(g.in_h);
  p.in_w = int(g.in_w);
  p.out_c = int(g.out_channels);
  p.kernel_h = int(g.kernel_h);
  p.kernel_w = int(g.kernel_w);
  p.out_h = int(g.out_h);
  p.out_w = int(g.out_w);
  p.stride_h = int(g.stride_h);
  p.stride_w = int(g.stride_w);
  p.pad_h = int(g.pad_h);
  p.pad_w = int(g.pad_w);
  p.dilation_h = int(g.dilation_h);
  p.dilation_w = int(g.dilation_w);
  p.groups = int(g.groups);
  p.group_in = int(g.in_channels / g.groups);
  p.group_out = int(g.out_channels / g.groups);
  p.taps = int(taps);
  p.rows = p.group_in * p.taps;
  p.in_plane = p.in_h * p.in_w;
  p.out_plane = p.out_h * p.out_w;
  p.by_taps = FastDivmod(uint32_t(p.taps));
  p.by_kernel_w = FastDivmod(uint32_t(p.kernel_w));
  p.by_out_w = FastDivmod(uint32_t(std::max(p.out_w, 1)));
  p.by_out_plane = FastDivmod(uint32_t(std::max(p.out_plane, 1)));
  p.by_in_w = FastDivmod(uint32_t(std::max(p.in_w, 1)));
  p.by_in_plane = FastDivmod(uint32_t(std::max(p.in_plane, 1)));
  p.by_stride_h = FastDivmod(uint32_t(p.stride_h));
  p.by_stride_w = FastDivmod(uint32_t(p.stride_w));
  return p;
}

struct Split {
  int splits, chunk;
};

// How the grad-weight reduction over batch * out_plane is cut: enough splits
// to fill the GPU, each at least 32 steps of kTileK, none empty.
Split weight_split(const ConvParams& p, int requested) {
  const int64_t k_total = int64_t(p.batch) * p.out_plane;
  const int64_t blocks = ceil_div<int64_t>(p.rows, kTileM) *
                         ceil_div<int64_t>(p.group_out, kTileN) * p.groups;
  int64_t splits = requested;
  if (splits <= 0) {
    splits = std::min<int64_t>(ceil_div<int64_t>(kTargetBlocks, blocks), kMaxSplits);
    splits = std::min(splits, ceil_div<int64_t>(k_total, 32 * kTileK));
  }
  splits = std::max<int64_t>(1, std::min<int64_t>(splits, 65535 / p.groups));
  const int64_t chunk = ceil_div<int64_t>(ceil_div(k_total, splits), kTileK) * kTileK;
  return {int(ceil_div(k_total, chunk)), int(chunk)};
}

template <typename T>
void forward_typed(T* out, const T* input, const T* weight, const T* bias,
                   const Conv2dGeometry& g) {
  const ConvParams p = make_params("conv2d", g);
  if (int64_t(p.batch) * p.out_plane * p.out_c == 0) return;
  const dim3 grid(unsigned(ceil_div(p.batch * p.out_plane, kTileM)),
                  unsigned(ceil_div(p.group_out, kTileN)), unsigned(g.groups));
  launch(conv2d_forward_kernel<T>, grid, dim3(kThreads), 0, current_stream(), out, input,
         weight, bias, p);
}

template <typename T>
void backward_input_typed(T* grad_input, const T* grad_out, const T* weight,
                          const Conv2dGeometry& g) {
  const ConvParams p = make_params("conv2d_backward", g);
  if (int64_t(p.batch) * p.in_plane * p.in_c == 0) return;
  const dim3 grid(unsigned(ceil_div(p.batch * p.in_plane, kTileM)),
                  unsigned(ceil_div(p.group_in, kTileN)), unsigned(g.groups));
  launch(conv2d_backward_input_kernel<T>, grid, dim3(kThreads), 0, current_stream(), grad_input,
         grad_out, weight, p);
}

template <typename T>
void backward_weight_typed(T* grad_weight, const T* grad_out, const T* input,
                           acc_t<T>* workspace, const Conv2dGeometry& g, int splits) {
  const ConvParams p = make_params("conv2d_backward", g);
  const int64_t size = int64_t(p.out_c) * p.rows;
  if (size == 0) return;
  if (int64_t(p.batch) * p.out_plane == 0) {
    EMBER_FAIL(value, "conv2d_backward: the CUDA grad-weight kernel needs a non-empty output");
  }
  const Split split = weight_split(p, splits);
  EMBER_CHECK(split.splits == 1 || workspace != nullptr, "conv2d_backward: the grad-weight "
              "reduction is split ", split.splits, " ways and needs a workspace");
  const dim3 grid(unsigned(ceil_div(p.rows, kTileM)), unsigned(ceil_div(p.group_out, kTileN)),
                  unsigned(g.groups * split.splits));
  if (split.splits == 1) {
    launch(conv2d_backward_weight_kernel<T, T>, grid, dim3(kThreads), 0, current_stream(),
           grad_weight, grad_out, input, p, 1, split.chunk);
    return;
  }
  launch(conv2d_backward_weight_kernel<T, acc_t<T>>, grid, dim3(kThreads), 0, current_stream(),
         workspace, grad_out, input, p, split.splits, split.chunk);
  const int64_t blocks = std::min<int64_t>(ceil_div<int64_t>(size, kThreads), 65535);
  launch(sum_splits_kernel<T>, dim3(unsigned(blocks)), dim3(kThreads), 0, current_stream(),
         grad_weight, workspace, size, split.splits);
}

template <typename T>
void backward_bias_typed(T* grad_bias, const T* grad_out, const Conv2dGeometry& g) {
  const ConvParams p = make_params("conv2d_backward", g);
  if (p.out_c == 0) return;
  const int plane = std::max(p.out_plane, 1);
  launch(conv2d_backward_bias_kernel<T>, dim3(unsigned(p.out_c)), dim3(kThreads), 0,
         current_stream(), grad_bias, grad_out, p.out_plane == 0 ? 0 : p.batch, p.out_c, plane,
         kThreads / plane, kThreads % plane);
}

}  // namespace

void conv2d_forward_raw(DType dtype, void* out, const void* input, const void* weight,
                        const void* bias, const Conv2dGeometry& g) {
  EMBER_DISPATCH_FLOAT_AND_HALF(dtype, "conv2d", [&] {
    forward_typed(static_cast<scalar_t*>(out), static_cast<const scalar_t*>(input),
                  static_cast<const scalar_t*>(weight), static_cast<const scalar_t*>(bias), g);
  });
}

void conv2d_backward_input_raw(DType dtype, void* grad_input, const void* grad_out,
                               const void* weight, const Conv2dGeometry& g) {
  EMBER_DISPATCH_FLOAT_AND_HALF(dtype, "conv2d_backward", [&] {
    backward_input_typed(static_cast<scalar_t*>(grad_input),
                         static_cast<const scalar_t*>(grad_out),
                         static_cast<const scalar_t*>(weight), g);
  });
}

int64_t conv2d_backward_weight_workspace(const Conv2dGeometry& g, int splits) {
  const ConvParams p = make_params("conv2d_backward", g);
  if (int64_t(p.out_c) * p.rows == 0 || int64_t(p.batch) * p.out_plane == 0) return 0;
  const Split split = weight_split(p, splits);
  return split.splits == 1 ? 0 : int64_t(split.splits) * p.out_c * p.rows;
}

void conv2d_backward_weight_raw(DType dtype, void* grad_weight, const void* grad_out,
                                const void* input, void* workspace, const Conv2dGeometry& g,
                                int splits) {
  EMBER_DISPATCH_FLOAT_AND_HALF(dtype, "conv2d_backward", [&] {
    backward_weight_typed(static_cast<scalar_t*>(grad_weight),
                          static_cast<const scalar_t*>(grad_out),
                          static_cast<const scalar_t*>(input),
                          static_cast<acc_t<scalar_t>*>(workspace), g, splits);
  });
}

void conv2d_backward_bias_raw(DType dtype, void* grad_bias, const void* grad_out,
                              const Conv2dGeometry& g) {
  EMBER_DISPATCH_FLOAT_AND_HALF(dtype, "conv2d_backward", [&] {
    backward_bias_typed(static_cast<scalar_t*>(grad_bias),
                        static_cast<const scalar_t*>(grad_out), g);
  });
}

namespace {
void check_operands(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor& first = **tensors.begin();
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    EMBER_CHECK(t->is_contiguous() && t->dtype() == first.dtype() &&
                    t->device() == first.device(),
                op, ": CUDA kernel expects contiguous operands of one dtype on one device, got ",
                t->str(), " with ", first.str());
  }
}
}  // namespace

void conv2d_forward(const Tensor& out, const Tensor& input, const Tensor& weight,
                    const Tensor& bias, const Conv2dGeometry& g) {
  check_operands("conv2d", {&out, &input, &weight, &bias});
  conv2d_forward_raw(input.dtype(), out.raw_data(), input.raw_data(), weight.raw_data(),
                     bias.defined() ? bias.raw_data() : nullptr, g);
}

void conv2d_backward_input(const Tensor& grad_input, const Tensor& grad_out,
                           const Tensor& weight, const Conv2dGeometry& g) {
  check_operands("conv2d_backward", {&grad_input, &grad_out, &weight});
  conv2d_backward_input_raw(grad_out.dtype(), grad_input.raw_data(), grad_out.raw_data(),
                            weight.raw_data(), g);
}

void conv2d_backward_weight(const Tensor& grad_weight, const Tensor& grad_out,
                            const Tensor& input, const Conv2dGeometry& g) {
  check_operands("conv2d_backward", {&grad_weight, &grad_out, &input});
  const int64_t workspace_size = conv2d_backward_weight_workspace(g, 0);
  // The partials of a 16-bit gradient stay in float until the final sum.
  const DType partial_dtype = is_half(grad_out.dtype()) ? DType::float32 : grad_out.dtype();
  Tensor workspace;
  if (workspace_size > 0)
    workspace = Tensor::empty({workspace_size}, partial_dtype, grad_out.device());
  conv2d_backward_weight_raw(grad_out.dtype(), grad_weight.raw_data(), grad_out.raw_data(),
                             input.raw_data(), workspace.defined() ? workspace.raw_data() : nullptr,
                             g, 0);
}

void conv2d_backward_bias(const Tensor& grad_bias, const Tensor& grad_out,
                          const Conv2dGeometry& g) {
  check_operands("conv2d_backward", {&grad_bias, &grad_out});
  conv2d_backward_bias_raw(grad_out.dtype(), grad_bias.raw_data(), grad_out.raw_data(), g);
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
