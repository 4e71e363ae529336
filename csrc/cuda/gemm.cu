// CUDA GEMM: C = alpha * A * B + beta * C in float32 and float64, one problem
// or a batch (blockIdx.z), operands of any strides. Each block owns a tile of
// C; the A and B panels it needs go through double-buffered shared memory
// (the next K slice is fetched into registers while the current one is
// multiplied) and each thread accumulates a register block of C. Operands
// contiguous along M/N or along K are fetched with 16-byte vector loads; any
// other layout with scalar loads. float32 can instead use TF32 tensor cores
// through WMMA when matmul_allow_tf32() is set.
#include <algorithm>
#include <atomic>
#include <numeric>
#include <vector>

#include "core/check.h"
#include "cuda/device/grid.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

#include "cuda/runtime.h"

#if defined(EMBER_CUDA_EMU)
#include "cuda_emu_wmma.h"
#else
#include <mma.h>
#endif

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

// How a tile loader reads an operand seen as an X x K matrix (X is M for A,
// N for B): 16-byte vectors along X or along K, or one element at a time.
enum class Load { x_vector, k_vector, scalar };

// Shared-memory rows are padded by 4 elements: the transposing stores of a
// K-contiguous operand then fall in distinct banks, and rows stay 16-byte
// aligned for vector reads.
constexpr int kPad = 4;

// Block tile kM x kN, K slice kK, each thread a kTM x kTN block of C (in
// 4 x 4 pieces spread over the tile, so neighbouring threads read
// neighbouring shared memory).
template <int M, int N, int K, int TM, int TN>
struct SimtTiles {
  static constexpr int kM = M, kN = N, kK = K, kTM = TM, kTN = TN;
  static constexpr int kThreads = (M / TM) * (N / TN);
  static constexpr bool kTensorCores = false;
};
// TF32 WMMA: 8 warps in a 2 x 4 grid, each a 64 x 32 piece of 4 x 2
// accumulator fragments of 16 x 16.
struct Tf32Tiles {
  static constexpr int kM = 128, kN = 128, kK = 16;
  static constexpr int kThreads = 256;
  static constexpr int kWarpM = 64, kWarpN = 32;
  static constexpr bool kTensorCores = true;
};

using FloatLarge = SimtTiles<128, 128, 8, 8, 8>;
using FloatSmall = SimtTiles<64, 64, 16, 4, 4>;
using DoubleLarge = SimtTiles<64, 64, 8, 4, 4>;
using DoubleSmall = SimtTiles<32, 32, 8, 4, 4>;

// Below this many large tiles (about one wave on a big GPU) the small tiles
// keep more SMs busy.
constexpr int64_t kLargeTileBlocks = 128;

template <typename T>
struct Args {
  int64_t M, N, K;
  T alpha, beta;
  const T* a;
  int64_t a_row_stride, a_col_stride;
  const T* b;
  int64_t b_row_stride, b_col_stride;
  T* c;
  int64_t c_row_stride, c_col_stride;
  int64_t batch, a_batch_stride, b_batch_stride, c_batch_stride;
  const int64_t* offsets;
  // Scalar loads: whether consecutive threads walk K (the smaller stride).
  bool a_k_fastest, b_k_fastest;
  // C's rows are contiguous and 16-byte aligned: vector epilogue.
  bool c_vector;
};

// Fetches kX x kK tiles of an operand into registers, then stores them to
// shared memory as [k][x] rows of kX + kPad elements. Out-of-range elements
// are zeros, so the multiply needs no predicates.
template <typename T, Load kMode, int kX, int kK, int kThreads>
struct TileLoader {
  using Vec = grid::Pack<T>;
  static constexpr int kV = Vec::kSize;
  static constexpr int kPerThread = kX * kK / kThreads;
  static constexpr int kLd = kX + kPad;
  static_assert(kPerThread % kV == 0 && kPerThread * kThreads == kX * kK,
                "a tile must split into whole vectors per thread");

  T reg[kPerThread];

  // The tile at (x0, k0) of an X x K operand, element (x, k) at
  // base[x * x_stride + k * k_stride].
  __device__ __forceinline__ void fetch(const T* __restrict__ base, int64_t x_stride,
                                        int64_t k_stride, int64_t X, int64_t K, int64_t x0,
                                        int64_t k0, bool k_fastest) {
    const unsigned tid = threadIdx.x;
    if constexpr (kMode == Load::scalar) {
      EMBER_UNROLL
      for (int j = 0; j < kPerThread; ++j) {
        int xx, kk;
        position(tid + j * kThreads, k_fastest, xx, kk);
        const int64_t x = x0 + xx, k = k0 + kk;
        reg[j] = x < X && k < K ? base[x * x_stride + k * k_stride] : T(0);
      }
    } else {
      EMBER_UNROLL
      for (int j = 0; j < kPerThread / kV; ++j) {
        int xx, kk;
        position(tid + j * kThreads, false, xx, kk);
        const int64_t x = x0 + xx, k = k0 + kk;
        const T* p = base + x * x_stride + k * k_stride;
        const bool whole = kMode == Load::x_vector ? k < K && x + kV <= X : x < X && k + kV <= K;
        if (whole) {
          const Vec v = *reinterpret_cast<const Vec*>(p);
          EMBER_UNROLL
          for (int i = 0; i < kV; ++i) reg[j * kV + i] = v.v[i];
        } else {
          EMBER_UNROLL
          for (int i = 0; i < kV; ++i) {
            const bool in = kMode == Load::x_vector ? k < K && x + i < X : x < X && k + i < K;
            reg[j * kV + i] = in ? p[i] : T(0);
          }
        }
      }
    }
  }

  __device__ __forceinline__ void store(T* __restrict__ tile, bool k_fastest) const {
    const unsigned tid = threadIdx.x;
    if constexpr (kMode == Load::scalar) {
      EMBER_UNROLL
      for (int j = 0; j < kPerThread; ++j) {
        int xx, kk;
        position(tid + j * kThreads, k_fastest, xx, kk);
        tile[kk * kLd + xx] = reg[j];
      }
    } else {
      EMBER_UNROLL
      for (int j = 0; j < kPerThread / kV; ++j) {
        int xx, kk;
        position(tid + j * kThreads, false, xx, kk);
        if constexpr (kMode == Load::x_vector) {
          Vec v;
          EMBER_UNROLL
          for (int i = 0; i < kV; ++i) v.v[i] = reg[j * kV + i];
          *reinterpret_cast<Vec*>(tile + kk * kLd + xx) = v;
        } else {
          EMBER_UNROLL
          for (int i = 0; i < kV; ++i) tile[(kk + i) * kLd + xx] = reg[j * kV + i];
        }
      }
    }
  }

 private:
  // Where item `id` of the tile sits: vectors run along the contiguous dim;
  // scalar items along K when k_fastest, else along X.
  __device__ __forceinline__ static void position(unsigned id, bool k_fastest, int& xx,
                                                  int& kk) {
    if constexpr (kMode == Load::x_vector) {
      kk = id / (kX / kV);
      xx = id % (kX / kV) * kV;
    } else if constexpr (kMode == Load::k_vector) {
      xx = id / (kK / kV);
      kk = id % (kK / kV) * kV;
    } else if (k_fastest) {
      xx = id / kK;
      kk = id % kK;
    } else {
      kk = id / kX;
      xx = id % kX;
    }
  }
};

// Four consecutive elements from 16-byte aligned shared memory.
template <typename T>
__device__ __forceinline__ void read4(T* dst, const T* src) {
  using Vec = grid::Pack<T>;
  EMBER_UNROLL
  for (int v = 0; v < 4 / Vec::kSize; ++v) {
    const Vec p = reinterpret_cast<const Vec*>(src)[v];
    EMBER_UNROLL
    for (int e = 0; e < Vec::kSize; ++e) dst[v * Vec::kSize + e] = p.v[e];
  }
}

// Where problem z's operands start.
template <typename T>
struct Problem {
  const T* a;
  const T* b;
  T* c;
};

template <typename T>
__device__ __forceinline__ Problem<T> problem(const Args<T>& args, int64_t z) {
  if (args.offsets != nullptr) {
    const int64_t* o = args.offsets + 3 * z;
    return {args.a + o[0], args.b + o[1], args.c + o[2]};
  }
  return {args.a + z * args.a_batch_stride, args.b + z * args.b_batch_stride,
          args.c + z * args.c_batch_stride};
}

// C(m, n .. n + 3) = alpha * acc + beta * C for the columns inside N.
template <typename T>
__device__ __forceinline__ void write4(const Args<T>& args, T* c, int64_t m, int64_t n,
                                       const T* acc) {
  using Vec = grid::Pack<T>;
  T* p = c + m * args.c_row_stride + n * args.c_col_stride;
  if (args.c_vector && n + 4 <= args.N) {
    EMBER_UNROLL
    for (int v = 0; v < 4 / Vec::kSize; ++v) {
      Vec out;
      if (args.beta != T(0)) out = reinterpret_cast<const Vec*>(p)[v];
      EMBER_UNROLL
      for (int e = 0; e < Vec::kSize; ++e) {
        const T r = args.alpha * acc[v * Vec::kSize + e];
        out.v[e] = args.beta != T(0) ? r + args.beta * out.v[e] : r;
      }
      reinterpret_cast<Vec*>(p)[v] = out;
    }
    return;
  }
  EMBER_UNROLL
  for (int j = 0; j < 4; ++j) {
    if (n + j >= args.N) break;
    T& out = p[j * args.c_col_stride];
    const T r = args.alpha * acc[j];
    out = args.beta != T(0) ? r + args.beta * out : r;
  }
}

// The K loop shared by both kernels: fetch slice 0, then for every slice
// fetch the next one into registers, multiply the current one from shared
// memory (multiply(a_tile, b_tile)) and store the next one into the other
// buffer. One barrier per slice suffices: the buffer written in an
// iteration was last read in the previous one, before its barrier.
template <typename T, typename Tiles, Load kA, Load kB, typename Multiply>
__device__ __forceinline__ void k_loop(const Args<T>& args, const Problem<T>& p, int64_t m0,
                                       int64_t n0, T* a_tiles, T* b_tiles,
                                       const Multiply& multiply) {
  constexpr int kBK = Tiles::kK;
  using ALoader = TileLoader<T, kA, Tiles::kM, kBK, Tiles::kThreads>;
  using BLoader = TileLoader<T, kB, Tiles::kN, kBK, Tiles::kThreads>;
  constexpr int kASize = kBK * ALoader::kLd, kBSize = kBK * BLoader::kLd;
  ALoader a_loader;
  BLoader b_loader;
  const int64_t slices = ceil_div<int64_t>(args.K, kBK);
  if (slices == 0) return;
  auto fetch = [&](int64_t k0) {
    a_loader.fetch(p.a, args.a_row_stride, args.a_col_stride, args.M, args.K, m0, k0,
                   args.a_k_fastest);
    b_loader.fetch(p.b, args.b_col_stride, args.b_row_stride, args.N, args.K, n0, k0,
                   args.b_k_fastest);
  };
  fetch(0);
  a_loader.store(a_tiles, args.a_k_fastest);
  b_loader.store(b_tiles, args.b_k_fastest);
  __syncthreads();
  for (int64_t s = 0; s < slices; ++s) {
    const int cur = int(s & 1);
    const bool more = s + 1 < slices;
    if (more) fetch((s + 1) * kBK);
    multiply(a_tiles + cur * kASize, b_tiles + cur * kBSize);
    if (more) {
      a_loader.store(a_tiles + (cur ^ 1) * kASize, args.a_k_fastest);
      b_loader.store(b_tiles + (cur ^ 1) * kBSize, args.b_k_fastest);
    }
    __syncthreads();
  }
}

template <typename T, typename Tiles, Load kA, Load kB>
__global__ void __launch_bounds__(Tiles::kThreads) gemm_kernel(Args<T> args) {
  constexpr int kBM = Tiles::kM, kBN = Tiles::kN, kBK = Tiles::kK;
  constexpr int kGM = Tiles::kTM / 4, kGN = Tiles::kTN / 4;
  constexpr int kLdA = kBM + kPad, kLdB = kBN + kPad;
  alignas(16) __shared__ T a_tiles[2 * kBK * kLdA];
  alignas(16) __shared__ T b_tiles[2 * kBK * kLdB];
  const int tx = int(threadIdx.x) % (kBN / Tiles::kTN);
  const int ty = int(threadIdx.x) / (kBN / Tiles::kTN);
  const int64_t m0 = int64_t(blockIdx.x) * kBM;
  const int64_t n_tiles = ceil_div<int64_t>(args.N, kBN);
  for (int64_t z = blockIdx.z; z < args.batch; z += gridDim.z) {
    const Problem<T> p = problem(args, z);
    for (int64_t nt = blockIdx.y; nt < n_tiles; nt += gridDim.y) {
      const int64_t n0 = nt * kBN;
      T acc[Tiles::kTM][Tiles::kTN];
      EMBER_UNROLL
      for (int i = 0; i < Tiles::kTM; ++i) {
        EMBER_UNROLL
        for (int j = 0; j < Tiles::kTN; ++j) acc[i][j] = T(0);
      }
      k_loop<T, Tiles, kA, kB>(args, p, m0, n0, a_tiles, b_tiles,
                               [&](const T* a_tile, const T* b_tile) {
        EMBER_UNROLL
        for (int kk = 0; kk < kBK; ++kk) {
          T a[Tiles::kTM], b[Tiles::kTN];
          EMBER_UNROLL
          for (int g = 0; g < kGM; ++g) {
            read4(a + 4 * g, a_tile + kk * kLdA + g * (kBM / kGM) + ty * 4);
          }
          EMBER_UNROLL
          for (int h = 0; h < kGN; ++h) {
            read4(b + 4 * h, b_tile + kk * kLdB + h * (kBN / kGN) + tx * 4);
          }
          EMBER_UNROLL
          for (int i = 0; i < Tiles::kTM; ++i) {
            EMBER_UNROLL
            for (int j = 0; j < Tiles::kTN; ++j) acc[i][j] += a[i] * b[j];
          }
        }
      });
      EMBER_UNROLL
      for (int i = 0; i < Tiles::kTM; ++i) {
        const int64_t m = m0 + (i / 4) * (kBM / kGM) + ty * 4 + i % 4;
        if (m >= args.M) continue;
        EMBER_UNROLL
        for (int h = 0; h < kGN; ++h) {
          write4(args, p.c, m, n0 + h * (kBN / kGN) + tx * 4, acc[i] + 4 * h);
        }
      }
    }
  }
}

namespace wmma = nvcuda::wmma;

// TF32 tensor-core GEMM (sm_80 and newer; an empty body elsewhere, where the
// host never launches it). Shared memory holds A as [k][m] (a col_major
// matrix_a) and B as [k][n] (a row_major matrix_b), as for gemm_kernel.
template <Load kA, Load kB>
__global__ void __launch_bounds__(Tf32Tiles::kThreads) gemm_tf32_kernel(Args<float> args) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  using Tiles = Tf32Tiles;
  constexpr int kBM = Tiles::kM, kBN = Tiles::kN, kBK = Tiles::kK;
  constexpr int kLdA = kBM + kPad, kLdB = kBN + kPad;
  constexpr int kFM = Tiles::kWarpM / 16, kFN = Tiles::kWarpN / 16;
  // WMMA pointers must be 32-byte aligned: every fragment starts at a row
  // that is a multiple of 8 and a column that is a multiple of 16.
  alignas(32) __shared__ float tiles[2 * kBK * (kLdA + kLdB)];
  float* a_tiles = tiles;
  float* b_tiles = tiles + 2 * kBK * kLdA;
  const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
  const int warp_m = warp / (kBN / Tiles::kWarpN) * Tiles::kWarpM;
  const int warp_n = warp % (kBN / Tiles::kWarpN) * Tiles::kWarpN;
  const int64_t m0 = int64_t(blockIdx.x) * kBM;
  const int64_t n_tiles = ceil_div<int64_t>(args.N, kBN);
  for (int64_t z = blockIdx.z; z < args.batch; z += gridDim.z) {
    const Problem<float> p = problem(args, z);
    for (int64_t nt = blockIdx.y; nt < n_tiles; nt += gridDim.y) {
      const int64_t n0 = nt * kBN;
      wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[kFM][kFN];
      EMBER_UNROLL
      for (int i = 0; i < kFM; ++i) {
        EMBER_UNROLL
        for (int j = 0; j < kFN; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
      }
      k_loop<float, Tiles, kA, kB>(args, p, m0, n0, a_tiles, b_tiles,
                                   [&](const float* a_tile, const float* b_tile) {
        EMBER_UNROLL
        for (int ks = 0; ks < kBK; ks += 8) {
          wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::col_major>
              a[kFM];
          wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major>
              b[kFN];
          EMBER_UNROLL
          for (int i = 0; i < kFM; ++i) {
            wmma::load_matrix_sync(a[i], a_tile + ks * kLdA + warp_m + i * 16, kLdA);
            EMBER_UNROLL
            for (int e = 0; e < a[i].num_elements; ++e) {
              a[i].x[e] = wmma::__float_to_tf32(a[i].x[e]);
            }
          }
          EMBER_UNROLL
          for (int j = 0; j < kFN; ++j) {
            wmma::load_matrix_sync(b[j], b_tile + ks * kLdB + warp_n + j * 16, kLdB);
            EMBER_UNROLL
            for (int e = 0; e < b[j].num_elements; ++e) {
              b[j].x[e] = wmma::__float_to_tf32(b[j].x[e]);
            }
          }
          EMBER_UNROLL
          for (int i = 0; i < kFM; ++i) {
            EMBER_UNROLL
            for (int j = 0; j < kFN; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
          }
        }
      });
      // Fragments leave through a 16 x 16 scratch per warp (in the now idle
      // tile buffers) so the edges and alpha/beta take the scalar path.
      float* scratch = tiles + warp * 256;
      EMBER_UNROLL
      for (int i = 0; i < kFM; ++i) {
        EMBER_UNROLL
        for (int j = 0; j < kFN; ++j) {
          wmma::store_matrix_sync(scratch, acc[i][j], 16, wmma::mem_row_major);
          __syncwarp();
          const int64_t m = m0 + warp_m + i * 16 + lane / 4;
          const int64_t n = n0 + warp_n + j * 16 + lane % 4 * 4;
          EMBER_UNROLL
          for (int r = 0; r < 16; r += 8) {
            if (m + r >= args.M) continue;
            write4(args, p.c, m + r, n, scratch + (lane / 4 + r) * 16 + lane % 4 * 4);
          }
          __syncwarp();
        }
      }
      // The next tile's first fetch overwrites the scratch.
      __syncthreads();
    }
  }
#endif
}

template <typename T, typename Tiles, Load kA, Load kB>
auto kernel_for() {
  if constexpr (Tiles::kTensorCores) {
    return &gemm_tf32_kernel<kA, kB>;
  } else {
    return &gemm_kernel<T, Tiles, kA, kB>;
  }
}

template <typename T, typename Tiles, Load kA>
void launch_with_b(Load b, dim3 grid, const Args<T>& args) {
  const dim3 block(Tiles::kThreads);
  switch (b) {
    case Load::x_vector:
      return launch(kernel_for<T, Tiles, kA, Load::x_vector>(), grid, block, 0, current_stream(),
                    args);
    case Load::k_vector:
      return launch(kernel_for<T, Tiles, kA, Load::k_vector>(), grid, block, 0, current_stream(),
                    args);
    case Load::scalar:
      return launch(kernel_for<T, Tiles, kA, Load::scalar>(), grid, block, 0, current_stream(),
                    args);
  }
}

template <typename T, typename Tiles>
void launch_tiles(Load a, Load b, const Args<T>& args) {
  const int64_t m_tiles = ceil_div<int64_t>(args.M, Tiles::kM);
  const int64_t n_tiles = ceil_div<int64_t>(args.N, Tiles::kN);
  EMBER_CHECK(m_tiles <= 0x7fffffff, "gemm: M = ", args.M, " is too large for one launch");
  const dim3 grid(unsigned(m_tiles), unsigned(std::min<int64_t>(n_tiles, 65535)),
                  unsigned(std::min<int64_t>(args.batch, 65535)));
  switch (a) {
    case Load::x_vector: return launch_with_b<T, Tiles, Load::x_vector>(b, grid, args);
    case Load::k_vector: return launch_with_b<T, Tiles, Load::k_vector>(b, grid, args);
    case Load::scalar: return launch_with_b<T, Tiles, Load::scalar>(b, grid, args);
  }
}

template <typename T>
bool aligned16(const T* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

// The loads for an X x K operand: vectors along a unit stride when every
// vector of every problem is 16-byte aligned (`shift` divides all batch
// displacements; 0 when they are all 0).
template <typename T>
Load load_for(const T* data, int64_t x_stride, int64_t k_stride, int64_t shift) {
  constexpr int64_t kV = grid::Pack<T>::kSize;
  if (!aligned16(data) || shift % kV != 0) return Load::scalar;
  if (x_stride == 1 && k_stride % kV == 0) return Load::x_vector;
  if (k_stride == 1 && x_stride % kV == 0) return Load::k_vector;
  return Load::scalar;
}

int64_t abs64(int64_t v) { return v < 0 ? -v : v; }

std::atomic<bool>& allow_tf32_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

// The TF32 kernel has a body only where it was compiled for compute_80 or
// newer: a device of compute capability 8+ running PTX JIT-compiled from an
// older virtual architecture would get the empty one, so ask the kernel.
bool tensor_cores_available() {
#if defined(EMBER_CUDA_EMU)
  return true;
#else
  cudaFuncAttributes attr;
  auto kernel = gemm_tf32_kernel<Load::scalar, Load::scalar>;
  if (cudaFuncGetAttributes(&attr, kernel) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return attr.ptxVersion >= 80 && attr.binaryVersion >= 80;
#endif
}

template <typename T>
void gemm_typed(const GemmProblem& g, GemmTiles tiles) {
  Args<T> args{};
  args.M = g.M;
  args.N = g.N;
  args.K = g.K;
  args.alpha = T(g.alpha);
  args.beta = T(g.beta);
  args.a = static_cast<const T*>(g.a);
  args.a_row_stride = g.a_row_stride;
  args.a_col_stride = g.a_col_stride;
  args.b = static_cast<const T*>(g.b);
  args.b_row_stride = g.b_row_stride;
  args.b_col_stride = g.b_col_stride;
  args.c = static_cast<T*>(g.c);
  args.c_row_stride = g.c_row_stride;
  args.c_col_stride = g.c_col_stride;
  args.batch = g.batch;
  args.a_batch_stride = g.a_batch_stride;
  args.b_batch_stride = g.b_batch_stride;
  args.c_batch_stride = g.c_batch_stride;
  args.offsets = g.offsets;
  args.a_k_fastest = abs64(g.a_col_stride) < abs64(g.a_row_stride);
  args.b_k_fastest = abs64(g.b_row_stride) < abs64(g.b_col_stride);
  const bool listed = g.offsets != nullptr;
  const int64_t a_shift = listed ? g.offset_multiple : g.a_batch_stride;
  const int64_t b_shift = listed ? g.offset_multiple : g.b_batch_stride;
  const int64_t c_shift = listed ? g.offset_multiple : g.c_batch_stride;
  constexpr int64_t kV = grid::Pack<T>::kSize;
  args.c_vector = g.c_col_stride == 1 && g.c_row_stride % kV == 0 && aligned16(args.c) &&
                  c_shift % kV == 0;
  const Load a = load_for(args.a, g.a_row_stride, g.a_col_stride, a_shift);
  const Load b = load_for(args.b, g.b_col_stride, g.b_row_stride, b_shift);

  using Large = std::conditional_t<std::is_same<T, float>::value, FloatLarge, DoubleLarge>;
  using Small = std::conditional_t<std::is_same<T, float>::value, FloatSmall, DoubleSmall>;
  if constexpr (std::is_same<T, float>::value) {
    if (matmul_allow_tf32() && tensor_cores_available()) {
      return launch_tiles<float, Tf32Tiles>(a, b, args);
    }
  }
  if (tiles == GemmTiles::automatic) {
    const int64_t large_blocks = ceil_div<int64_t>(g.M, Large::kM) *
                                 ceil_div<int64_t>(g.N, Large::kN) * g.batch;
    tiles = large_blocks >= kLargeTileBlocks ? GemmTiles::large : GemmTiles::small;
  }
  if (tiles == GemmTiles::large) return launch_tiles<T, Large>(a, b, args);
  return launch_tiles<T, Small>(a, b, args);
}

}  // namespace

bool matmul_allow_tf32() { return allow_tf32_flag().load(std::memory_order_relaxed); }

void set_matmul_allow_tf32(bool allow) {
  allow_tf32_flag().store(allow, std::memory_order_relaxed);
}

void gemm_raw(DType dtype, const GemmProblem& g, GemmTiles tiles) {
  EMBER_CHECK(g.M >= 0 && g.N >= 0 && g.K >= 0 && g.batch >= 0,
              "gemm: negative size M=", g.M, " N=", g.N, " K=", g.K, " batch=", g.batch);
  if (g.M == 0 || g.N == 0 || g.batch == 0) return;
  switch (dtype) {
    case DType::float32: return gemm_typed<float>(g, tiles);
    case DType::float64: return gemm_typed<double>(g, tiles);
    default:
      EMBER_FAIL(type, "gemm: no CUDA kernel for dtype ", dtype_name(dtype),
                 " (float32 and float64 have one)");
  }
}

void gemm_batched(const Tensor& c, const Tensor& a, const Tensor& b, int64_t batch,
                  const int64_t* a_offsets, const int64_t* b_offsets, const int64_t* c_offsets,
                  double alpha, double beta) {
  GemmProblem g;
  g.M = c.size(-2);
  g.N = c.size(-1);
  g.K = a.size(-1);
  g.alpha = alpha;
  g.beta = beta;
  g.a_row_stride = a.stride(-2);
  g.a_col_stride = a.stride(-1);
  g.b_row_stride = b.stride(-2);
  g.b_col_stride = b.stride(-1);
  g.c_row_stride = c.stride(-2);
  g.c_col_stride = c.stride(-1);
  g.batch = batch;
  if (batch == 0 || c.numel() == 0) return;
  const size_t element = dtype_size(c.dtype());
  // Offsets of the first problem move the base pointers; the rest are a
  // stride per operand when they step evenly (one launch argument), else a
  // device copy of the list.
  g.a = static_cast<const char*>(a.raw_data()) + a_offsets[0] * int64_t(element);
  g.b = static_cast<const char*>(b.raw_data()) + b_offsets[0] * int64_t(element);
  g.c = static_cast<char*>(c.raw_data()) + c_offsets[0] * int64_t(element);
  auto even_step = [batch](const int64_t* offsets, int64_t& step) {
    step = batch > 1 ? offsets[1] - offsets[0] : 0;
    for (int64_t p = 2; p < batch; ++p) {
      if (offsets[p] - offsets[p - 1] != step) return false;
    }
    return true;
  };
  if (even_step(a_offsets, g.a_batch_stride) && even_step(b_offsets, g.b_batch_stride) &&
      even_step(c_offsets, g.c_batch_stride)) {
    return gemm_raw(c.dtype(), g);
  }
  std::vector<int64_t> listed(size_t(3 * batch));
  int64_t multiple = 0;
  for (int64_t p = 0; p < batch; ++p) {
    listed[3 * p] = a_offsets[p] - a_offsets[0];
    listed[3 * p + 1] = b_offsets[p] - b_offsets[0];
    listed[3 * p + 2] = c_offsets[p] - c_offsets[0];
    for (int k = 0; k < 3; ++k) multiple = std::gcd(multiple, listed[3 * p + k]);
  }
  const size_t bytes = listed.size() * sizeof(int64_t);
  const int device = c.device().index;
  void* offsets = cuda::allocate(bytes, device);
  try {
    cuda::memcpy(offsets, true, listed.data(), false, bytes);
    g.offsets = static_cast<const int64_t*>(offsets);
    g.offset_multiple = multiple;
    gemm_raw(c.dtype(), g);
  } catch (...) {
    cuda::free(offsets, bytes, device);
    throw;
  }
  // cudaFree waits for the kernel that reads the list.
  cuda::free(offsets, bytes, device);
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
