// CUDA GEMM: C = alpha * A * B + beta * C in float32 and float64, one problem
// or a batch (blockIdx.z), operands of any strides, through the tiled kernels
// of gemm_tiles.cuh: each thread accumulates a register block of C. float32
// can instead use TF32 tensor cores through WMMA when matmul_allow_tf32() is
// set. float16 and bfloat16 go to gemm_wmma.cu.
#include <algorithm>
#include <atomic>
#include <numeric>
#include <vector>

#include "cuda/gemm_tiles.cuh"
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

// TF32 WMMA: 8 warps in a 2 x 4 grid, each a 64 x 32 piece of 4 x 2
// accumulator fragments of 16 x 16.
struct Tf32Tiles {
  static constexpr int kM = 128, kN = 128, kK = 16;
  static constexpr int kThreads = 256;
  static constexpr int kWarpM = 64, kWarpN = 32;
};
// Checked in every compilation (the kernel body exists only for sm_80+).
static_assert(Tf32Tiles::kK % 8 == 0 && Tf32Tiles::kWarpM % 16 == 0 && Tf32Tiles::kWarpN % 16 == 0,
              "TF32 warp tiles are whole m16n16k8 fragments");

using FloatLarge = SimtTiles<128, 128, 8, 8, 8>;
using FloatSmall = SimtTiles<64, 64, 16, 4, 4>;
using DoubleLarge = SimtTiles<64, 64, 8, 4, 4>;
using DoubleSmall = SimtTiles<32, 32, 8, 4, 4>;

namespace wmma = nvcuda::wmma;

// TF32 tensor-core GEMM (sm_80 and newer; an empty body elsewhere, where the
// host never launches it). Shared memory holds A as [k][m] (a col_major
// matrix_a) and B as [k][n] (a row_major matrix_b), as for gemm_kernel.
template <Load kA, Load kB>
__global__ void __launch_bounds__(Tf32Tiles::kThreads) gemm_tf32_kernel(Args<float> args) {
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
  using Tiles = Tf32Tiles;
  constexpr int kBM = Tiles::kM, kBN = Tiles::kN, kBK = Tiles::kK;
  constexpr int kLdA = kBM + kPad<float>, kLdB = kBN + kPad<float>;
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

struct Tf32Kernels {
  template <Load kA, Load kB>
  static auto get() {
    return &gemm_tf32_kernel<kA, kB>;
  }
};

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
  Load a, b;
  const Args<T> args = args_of<T>(g, a, b);
  using Large = std::conditional_t<std::is_same<T, float>::value, FloatLarge, DoubleLarge>;
  using Small = std::conditional_t<std::is_same<T, float>::value, FloatSmall, DoubleSmall>;
  if constexpr (std::is_same<T, float>::value) {
    if (matmul_allow_tf32() && tensor_cores_available()) {
      return launch_tiles<Tf32Kernels, Tf32Tiles>(a, b, args);
    }
  }
  if (resolve_tiles<Large>(g, tiles) == GemmTiles::large) {
    return launch_tiles<SimtKernels<T, Large>, Large>(a, b, args);
  }
  return launch_tiles<SimtKernels<T, Small>, Small>(a, b, args);
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
    case DType::float16:
    case DType::bfloat16: return gemm_16bit(dtype, g, tiles);
    default:
      EMBER_FAIL(type, "gemm: no CUDA kernel for dtype ", dtype_name(dtype),
                 " (float32, float64, float16 and bfloat16 have one)");
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
