// CUDA GEMM for float16 and bfloat16: 16-bit operands, float accumulation,
// C = round(alpha * sum + beta * C) once per element, as PyTorch does. By
// default on tensor cores through WMMA (m16n16k16, 16-bit fragments, float
// accumulators): float16 WMMA exists on every target (sm_70+), bfloat16 WMMA
// from sm_80; without it (or when set_gemm_16bit_tensor_cores(false)) a SIMT
// kernel loads the same 16-bit tiles and multiplies in float. Both share the
// double-buffered, 16-byte-load tile pipeline of gemm_tiles.cuh.
#include <atomic>
#include <type_traits>

#include "cuda/gemm_tiles.cuh"

#if defined(EMBER_CUDA_EMU)
#include "cuda_emu_wmma.h"
#else
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>
#endif

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

namespace wmma = nvcuda::wmma;

// The element type WMMA fragments take for a 16-bit storage type (same bits).
#if defined(EMBER_CUDA_EMU)
template <typename T>
using WmmaElement = T;
#else
template <typename T>
using WmmaElement = std::conditional_t<std::is_same<T, Half>::value, __half, __nv_bfloat16>;
#endif

// Whether this compilation has WMMA for T: the host pass and the harness
// compile every body; a device pass below sm_80 has no bfloat16 fragments.
#if defined(__CUDA_ARCH__)
constexpr int kDeviceArch = __CUDA_ARCH__;
#else
constexpr int kDeviceArch = 1000;
#endif
template <typename T>
constexpr bool kWmmaCompiled = kDeviceArch >= (std::is_same<T, Half>::value ? 700 : 800);

// Block tile M x N, K slice K, warps in an (M / WM) x (N / WN) grid, each a
// WM x WN piece of (WM / 16) x (WN / 16) accumulator fragments.
template <int M, int N, int K, int WM, int WN>
struct WmmaTiles {
  static constexpr int kM = M, kN = N, kK = K, kWarpM = WM, kWarpN = WN;
  static constexpr int kWarps = (M / WM) * (N / WN);
  static constexpr int kThreads = 32 * kWarps;
};

using WmmaLarge = WmmaTiles<128, 128, 32, 64, 32>;
using WmmaSmall = WmmaTiles<64, 64, 32, 32, 16>;
// SIMT tiles whose loaders move whole 8-element vectors per thread.
using SimtLarge = SimtTiles<128, 128, 16, 8, 8>;
using SimtSmall = SimtTiles<64, 64, 32, 4, 4>;

// Shared memory holds A as [k][m] (a col_major matrix_a) and B as [k][n] (a
// row_major matrix_b), as for gemm_kernel. Fragment pointers are 32-byte
// aligned: rows are multiples of 16 elements apart (32 bytes each) and
// fragments start at columns that are multiples of 16.
template <typename T, typename Tiles, Load kA, Load kB>
__global__ void __launch_bounds__(Tiles::kThreads) gemm_wmma_kernel(Args<T> args) {
  if constexpr (kWmmaCompiled<T>) {
    using W = WmmaElement<T>;
    constexpr int kBM = Tiles::kM, kBN = Tiles::kN, kBK = Tiles::kK;
    constexpr int kLdA = kBM + kPad<T>, kLdB = kBN + kPad<T>;
    constexpr int kFM = Tiles::kWarpM / 16, kFN = Tiles::kWarpN / 16;
    constexpr int kTileBytes = 2 * kBK * (kLdA + kLdB) * int(sizeof(T));
    constexpr int kScratchBytes = Tiles::kWarps * 256 * int(sizeof(float));
    static_assert(kBK % 16 == 0 && kLdA % 8 == 0 && kLdB % 8 == 0,
                  "WMMA needs 32-byte aligned fragments and ldm a multiple of 16 bytes");
    // The tiles, and after the K loop each warp's 16 x 16 float scratch.
    alignas(32) __shared__ unsigned char smem[kTileBytes > kScratchBytes ? kTileBytes
                                                                         : kScratchBytes];
    T* a_tiles = reinterpret_cast<T*>(smem);
    T* b_tiles = a_tiles + 2 * kBK * kLdA;
    const int warp = int(threadIdx.x) / 32, lane = int(threadIdx.x) % 32;
    const int warp_m = warp / (kBN / Tiles::kWarpN) * Tiles::kWarpM;
    const int warp_n = warp % (kBN / Tiles::kWarpN) * Tiles::kWarpN;
    const int64_t m0 = int64_t(blockIdx.x) * kBM;
    const int64_t n_tiles = ceil_div<int64_t>(args.N, kBN);
    for (int64_t z = blockIdx.z; z < args.batch; z += gridDim.z) {
      const Problem<T> p = problem(args, z);
      for (int64_t nt = blockIdx.y; nt < n_tiles; nt += gridDim.y) {
        const int64_t n0 = nt * kBN;
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[kFM][kFN];
        EMBER_UNROLL
        for (int i = 0; i < kFM; ++i) {
          EMBER_UNROLL
          for (int j = 0; j < kFN; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
        }
        k_loop<T, Tiles, kA, kB>(args, p, m0, n0, a_tiles, b_tiles,
                                 [&](const T* a_tile, const T* b_tile) {
          EMBER_UNROLL
          for (int ks = 0; ks < kBK; ks += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, W, wmma::col_major> a[kFM];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, W, wmma::row_major> b[kFN];
            EMBER_UNROLL
            for (int i = 0; i < kFM; ++i) {
              wmma::load_matrix_sync(
                  a[i], reinterpret_cast<const W*>(a_tile + ks * kLdA + warp_m + i * 16), kLdA);
            }
            EMBER_UNROLL
            for (int j = 0; j < kFN; ++j) {
              wmma::load_matrix_sync(
                  b[j], reinterpret_cast<const W*>(b_tile + ks * kLdB + warp_n + j * 16), kLdB);
            }
            EMBER_UNROLL
            for (int i = 0; i < kFM; ++i) {
              EMBER_UNROLL
              for (int j = 0; j < kFN; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
            }
          }
        });
        // Fragments leave through the warp's scratch so the edges, alpha/beta
        // and the rounding to T take write4's path.
        float* scratch = reinterpret_cast<float*>(smem) + warp * 256;
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
  }
}

template <typename T, typename Tiles>
struct WmmaKernels {
  template <Load kA, Load kB>
  static auto get() {
    return &gemm_wmma_kernel<T, Tiles, kA, kB>;
  }
};

std::atomic<bool>& tensor_cores_flag() {
  static std::atomic<bool> flag{true};
  return flag;
}

// Whether the loaded WMMA kernel for T has its body: bfloat16 needs code
// built for compute_80 or newer (a newer GPU running PTX JIT-compiled from
// compute_75 would get the empty body), float16 any of our targets.
template <typename T>
bool wmma_available() {
#if defined(EMBER_CUDA_EMU)
  return true;
#else
  const int needed = std::is_same<T, Half>::value ? 70 : 80;
  cudaFuncAttributes attr;
  auto kernel = gemm_wmma_kernel<T, WmmaSmall, Load::scalar, Load::scalar>;
  if (cudaFuncGetAttributes(&attr, kernel) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return attr.ptxVersion >= needed && attr.binaryVersion >= needed;
#endif
}

template <typename T>
void gemm_16bit_typed(const GemmProblem& g, GemmTiles tiles) {
  Load a, b;
  const Args<T> args = args_of<T>(g, a, b);
  if (gemm_16bit_tensor_cores() && wmma_available<T>()) {
    if (resolve_tiles<WmmaLarge>(g, tiles) == GemmTiles::large) {
      return launch_tiles<WmmaKernels<T, WmmaLarge>, WmmaLarge>(a, b, args);
    }
    return launch_tiles<WmmaKernels<T, WmmaSmall>, WmmaSmall>(a, b, args);
  }
  if (resolve_tiles<SimtLarge>(g, tiles) == GemmTiles::large) {
    return launch_tiles<SimtKernels<T, SimtLarge>, SimtLarge>(a, b, args);
  }
  return launch_tiles<SimtKernels<T, SimtSmall>, SimtSmall>(a, b, args);
}

}  // namespace

bool gemm_16bit_tensor_cores() { return tensor_cores_flag().load(std::memory_order_relaxed); }

void set_gemm_16bit_tensor_cores(bool use) {
  tensor_cores_flag().store(use, std::memory_order_relaxed);
}

void gemm_16bit(DType dtype, const GemmProblem& g, GemmTiles tiles) {
  if (dtype == DType::float16) return gemm_16bit_typed<Half>(g, tiles);
  EMBER_CHECK(dtype == DType::bfloat16, "gemm_16bit: not a 16-bit dtype: ", dtype_name(dtype));
  gemm_16bit_typed<BFloat16>(g, tiles);
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
