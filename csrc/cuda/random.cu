// CUDA random fills (uniform_, normal_, randint_, bernoulli_) and the fused
// dropout forward. Element i of a draw is Philox4x32-10 at counter offset + i
// under the generator's seed (core/philox.h, the functions the CPU fills
// use), so a CUDA draw equals the CPU draw for the same seed and offset
// whatever the launch shape. Philox is compute-bound (ten rounds of 32x32
// multiplies per element), so the kernels are plain grid-stride loops with
// coalesced stores rather than vectorised ones.
#include "core/check.h"
#include "core/philox.h"
#include "cuda/device/grid.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

using grid::blocks_for;
using grid::kThreads;

template <typename T>
__global__ void __launch_bounds__(kThreads)
    random_fill_kernel(T* __restrict__ out, int64_t numel, RandomDraw draw) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < numel; i += stride) {
    const philox::Block r = philox::draw(draw.offset + uint64_t(i), draw.key);
    switch (draw.kind) {
      case RandomKind::uniform: out[i] = philox::uniform<T>(r, draw.a, draw.b); break;
      case RandomKind::normal: out[i] = philox::normal<T>(r, draw.a, draw.b); break;
      case RandomKind::randint: out[i] = philox::randint<T>(r, draw.low, draw.span); break;
      case RandomKind::bernoulli: out[i] = T(philox::bernoulli(r, draw.a) ? 1 : 0); break;
    }
  }
}

// mask = keep ? scale : 0 and out = x * mask in T, as the CPU's bernoulli_
// followed by the two multiplications computes them.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    dropout_kernel(T* __restrict__ out, T* __restrict__ mask, const T* __restrict__ x,
                   int64_t numel, uint64_t key, uint64_t offset, double keep_prob, T scale) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < numel; i += stride) {
    const bool keep = philox::bernoulli(philox::draw(offset + uint64_t(i), key), keep_prob);
    const T m = keep ? scale : T(0);
    mask[i] = m;
    out[i] = x[i] * m;
  }
}

const char* random_kind_name(RandomKind kind) {
  switch (kind) {
    case RandomKind::uniform: return "uniform_";
    case RandomKind::normal: return "normal_";
    case RandomKind::randint: return "randint";
    default: return "bernoulli_";
  }
}

template <typename T>
void launch_fill(const RandomDraw& draw, void* out, int64_t numel) {
  launch(random_fill_kernel<T>, dim3(blocks_for(numel)), dim3(kThreads), 0, current_stream(),
         static_cast<T*>(out), numel, draw);
}

}  // namespace

void random_fill_raw(const RandomDraw& draw, DType dtype, void* out, int64_t numel) {
  const char* name = random_kind_name(draw.kind);
  EMBER_CHECK(draw.kind != RandomKind::randint || draw.span > 0, name, ": empty range");
  if (numel == 0) return;
  const bool integral = dtype == DType::int64 || dtype == DType::int32;
  EMBER_CHECK_KIND(type, (integral && draw.kind == RandomKind::randint) || is_floating(dtype),
                   name, ": no CUDA kernel for dtype ", dtype_name(dtype));
  switch (dtype) {
    case DType::float32: return launch_fill<float>(draw, out, numel);
    case DType::float64: return launch_fill<double>(draw, out, numel);
    case DType::int64: return launch_fill<int64_t>(draw, out, numel);
    case DType::int32: return launch_fill<int32_t>(draw, out, numel);
    default:
      EMBER_FAIL(type, name, ": no CUDA kernel for dtype ", dtype_name(dtype),
                 " (float32, float64, and int32/int64 for randint, have one)");
  }
}

void random_fill(const RandomDraw& draw, const Tensor& t) {
  EMBER_CHECK(t.is_contiguous(), random_kind_name(draw.kind),
              ": the CUDA fill expects a contiguous tensor, got ", t.str());
  random_fill_raw(draw, t.dtype(), t.raw_data(), t.numel());
}

void dropout_raw(DType dtype, void* out, void* mask, const void* x, int64_t numel, uint64_t key,
                 uint64_t offset, double p) {
  EMBER_CHECK(p >= 0 && p < 1, "dropout: the CUDA kernel expects 0 <= p < 1, got ", p);
  if (numel == 0) return;
  const dim3 grid(blocks_for(numel)), block(kThreads);
  const double scale = 1.0 / (1 - p);
  switch (dtype) {
    case DType::float32:
      return launch(dropout_kernel<float>, grid, block, 0, current_stream(),
                    static_cast<float*>(out), static_cast<float*>(mask),
                    static_cast<const float*>(x), numel, key, offset, 1 - p, float(scale));
    case DType::float64:
      return launch(dropout_kernel<double>, grid, block, 0, current_stream(),
                    static_cast<double*>(out), static_cast<double*>(mask),
                    static_cast<const double*>(x), numel, key, offset, 1 - p, scale);
    default:
      EMBER_FAIL(type, "dropout: no CUDA kernel for dtype ", dtype_name(dtype),
                 " (float32 and float64 have one)");
  }
}

void dropout(const Tensor& out, const Tensor& mask, const Tensor& x, uint64_t key,
             uint64_t offset, double p) {
  EMBER_CHECK(out.is_contiguous() && mask.is_contiguous() && x.is_contiguous() &&
                  out.dtype() == x.dtype() && mask.dtype() == x.dtype() &&
                  out.numel() == x.numel() && mask.numel() == x.numel(),
              "dropout: the CUDA kernel expects contiguous operands of one dtype and size, got ",
              out.str(), ", ", mask.str(), " and ", x.str());
  dropout_raw(x.dtype(), out.raw_data(), mask.raw_data(), x.raw_data(), x.numel(), key, offset,
              p);
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
