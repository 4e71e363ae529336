// The pieces the CUDA GEMM kernels share (gemm.cu: float32, float64 and TF32;
// gemm_wmma.cu: float16 and bfloat16): each block owns a tile of C; the A and
// B panels it needs go through double-buffered shared memory (the next K
// slice is fetched into registers while the current one is multiplied).
// Operands contiguous along M/N or along K are fetched with 16-byte vector
// loads; any other layout with scalar loads. Included by those two files only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "core/check.h"
#include "core/half.h"
#include "cuda/device/grid.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {

// float16/bfloat16 GEMM (gemm_wmma.cu), called by gemm_raw.
void gemm_16bit(DType dtype, const GemmProblem& g, GemmTiles tiles);

namespace {

// How a tile loader reads an operand seen as an X x K matrix (X is M for A,
// N for B): 16-byte vectors along X or along K, or one element at a time.
enum class Load { x_vector, k_vector, scalar };

// Shared-memory rows are padded by 4 elements (8 of a 16-bit type): the
// transposing stores of a K-contiguous operand then fall in distinct banks,
// and rows stay 16-byte aligned for vector reads.
template <typename T>
constexpr int kPad = sizeof(T) == 2 ? 8 : 4;

// Block tile kM x kN, K slice kK, each thread a kTM x kTN block of C (in
// 4 x 4 pieces spread over the tile, so neighbouring threads read
// neighbouring shared memory).
template <int M, int N, int K, int TM, int TN>
struct SimtTiles {
  static constexpr int kM = M, kN = N, kK = K, kTM = TM, kTN = TN;
  static constexpr int kThreads = (M / TM) * (N / TN);
};

// Below this many large tiles (about one wave on a big GPU) the small tiles
// keep more SMs busy.
constexpr int64_t kLargeTileBlocks = 128;

template <typename T>
struct Args {
  int64_t M, N, K;
  // Products accumulate in acc_t<T> (float for the 16-bit types), rounded
  // once into C.
  acc_t<T> alpha, beta;
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
  static constexpr int kLd = kX + kPad<T>;
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

// Four elements of T starting 4-element aligned: one 8-byte access for the
// 16-bit types (Pack<T> holds 8 of them).
template <typename T>
struct alignas(4 * sizeof(T)) Quad {
  T v[4];
};

// Four consecutive elements from 16-byte aligned (8-byte for 16-bit types)
// shared memory, converted to the accumulation type.
template <typename T>
__device__ __forceinline__ void read4(acc_t<T>* dst, const T* src) {
  if constexpr (sizeof(T) == 2) {
    const Quad<T> q = *reinterpret_cast<const Quad<T>*>(src);
    EMBER_UNROLL
    for (int e = 0; e < 4; ++e) dst[e] = q.v[e];
  } else {
    using Vec = grid::Pack<T>;
    EMBER_UNROLL
    for (int v = 0; v < 4 / Vec::kSize; ++v) {
      const Vec p = reinterpret_cast<const Vec*>(src)[v];
      EMBER_UNROLL
      for (int e = 0; e < Vec::kSize; ++e) dst[v * Vec::kSize + e] = p.v[e];
    }
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

// alpha * acc + beta * old, rounded once to T (old is not read when beta is 0).
template <typename T>
__device__ __forceinline__ T epilogue(const Args<T>& args, acc_t<T> acc, T old) {
  using A = acc_t<T>;
  const A r = args.alpha * acc;
  return T(args.beta != A(0) ? r + args.beta * A(old) : r);
}

// C(m, n .. n + 3) = alpha * acc + beta * C for the columns inside N.
template <typename T>
__device__ __forceinline__ void write4(const Args<T>& args, T* c, int64_t m, int64_t n,
                                       const acc_t<T>* acc) {
  T* p = c + m * args.c_row_stride + n * args.c_col_stride;
  if (args.c_vector && n + 4 <= args.N) {
    if constexpr (sizeof(T) == 2) {
      Quad<T> out{};
      if (args.beta != 0.0f) out = *reinterpret_cast<const Quad<T>*>(p);
      EMBER_UNROLL
      for (int e = 0; e < 4; ++e) out.v[e] = epilogue(args, acc[e], out.v[e]);
      *reinterpret_cast<Quad<T>*>(p) = out;
    } else {
      using Vec = grid::Pack<T>;
      EMBER_UNROLL
      for (int v = 0; v < 4 / Vec::kSize; ++v) {
        Vec out{};
        if (args.beta != T(0)) out = reinterpret_cast<const Vec*>(p)[v];
        EMBER_UNROLL
        for (int e = 0; e < Vec::kSize; ++e) {
          out.v[e] = epilogue(args, acc[v * Vec::kSize + e], out.v[e]);
        }
        reinterpret_cast<Vec*>(p)[v] = out;
      }
    }
    return;
  }
  EMBER_UNROLL
  for (int j = 0; j < 4; ++j) {
    if (n + j >= args.N) break;
    T& out = p[j * args.c_col_stride];
    out = epilogue(args, acc[j], out);
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
  constexpr int kLdA = kBM + kPad<T>, kLdB = kBN + kPad<T>;
  using A = acc_t<T>;
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
      A acc[Tiles::kTM][Tiles::kTN];
      EMBER_UNROLL
      for (int i = 0; i < Tiles::kTM; ++i) {
        EMBER_UNROLL
        for (int j = 0; j < Tiles::kTN; ++j) acc[i][j] = A(0);
      }
      k_loop<T, Tiles, kA, kB>(args, p, m0, n0, a_tiles, b_tiles,
                               [&](const T* a_tile, const T* b_tile) {
        EMBER_UNROLL
        for (int kk = 0; kk < kBK; ++kk) {
          A a[Tiles::kTM], b[Tiles::kTN];
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

// The SIMT kernel for one instantiation of launch_tiles' Kernels parameter,
// which names a kernel for every pair of loaders.
template <typename T, typename Tiles>
struct SimtKernels {
  template <Load kA, Load kB>
  static auto get() {
    return &gemm_kernel<T, Tiles, kA, kB>;
  }
};

template <typename Kernels, typename Tiles, Load kA, typename T>
void launch_with_b(Load b, dim3 grid, const Args<T>& args) {
  const dim3 block(Tiles::kThreads);
  switch (b) {
    case Load::x_vector:
      return launch(Kernels::template get<kA, Load::x_vector>(), grid, block, 0,
                    current_stream(), args);
    case Load::k_vector:
      return launch(Kernels::template get<kA, Load::k_vector>(), grid, block, 0,
                    current_stream(), args);
    case Load::scalar:
      return launch(Kernels::template get<kA, Load::scalar>(), grid, block, 0, current_stream(),
                    args);
  }
}

// One launch of Kernels (tiles of Tiles) over every tile of every problem.
template <typename Kernels, typename Tiles, typename T>
void launch_tiles(Load a, Load b, const Args<T>& args) {
  const int64_t m_tiles = ceil_div<int64_t>(args.M, Tiles::kM);
  const int64_t n_tiles = ceil_div<int64_t>(args.N, Tiles::kN);
  EMBER_CHECK(m_tiles <= 0x7fffffff, "gemm: M = ", args.M, " is too large for one launch");
  const dim3 grid(unsigned(m_tiles), unsigned(std::min<int64_t>(n_tiles, 65535)),
                  unsigned(std::min<int64_t>(args.batch, 65535)));
  switch (a) {
    case Load::x_vector: return launch_with_b<Kernels, Tiles, Load::x_vector>(b, grid, args);
    case Load::k_vector: return launch_with_b<Kernels, Tiles, Load::k_vector>(b, grid, args);
    case Load::scalar: return launch_with_b<Kernels, Tiles, Load::scalar>(b, grid, args);
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

// The kernel arguments for problem g in T, and the loaders its operands allow.
template <typename T>
Args<T> args_of(const GemmProblem& g, Load& a, Load& b) {
  Args<T> args{};
  args.M = g.M;
  args.N = g.N;
  args.K = g.K;
  args.alpha = acc_t<T>(g.alpha);
  args.beta = acc_t<T>(g.beta);
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
  a = load_for(args.a, g.a_row_stride, g.a_col_stride, a_shift);
  b = load_for(args.b, g.b_col_stride, g.b_row_stride, b_shift);
  return args;
}

// The tile size for `tiles`: automatic takes the large tiles when there are
// enough of them to fill the GPU.
template <typename Large>
GemmTiles resolve_tiles(const GemmProblem& g, GemmTiles tiles) {
  if (tiles != GemmTiles::automatic) return tiles;
  const int64_t large_blocks = ceil_div<int64_t>(g.M, Large::kM) *
                               ceil_div<int64_t>(g.N, Large::kN) * g.batch;
  return large_blocks >= kLargeTileBlocks ? GemmTiles::large : GemmTiles::small;
}

}  // namespace
}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
