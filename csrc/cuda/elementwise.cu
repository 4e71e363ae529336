// CUDA elementwise kernels: add/sub/mul/div in float32/float64. A
// vectorised grid-stride kernel (16-byte loads and stores) serves
// contiguous operands and a contiguous operand against a broadcast scalar;
// a strided grid-stride kernel serves every other layout (broadcasts,
// transposes, slices). The launchers take raw pointers and a merged
// geometry, so the CUDA-on-CPU tests can run them on host memory.
#include <algorithm>

#include "core/check.h"
#include "cuda/device/grid.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

using grid::aligned16;
using grid::blocks_for;
using grid::kThreads;
using grid::Pack;

struct AddOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T x, T y) const { return x + y; }
};
struct SubOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T x, T y) const { return x - y; }
};
struct MulOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T x, T y) const { return x * y; }
};
struct DivOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T x, T y) const { return x / y; }
};

// Where an operand of the vector kernel comes from: a contiguous array or a
// single broadcast value.
enum class Operand { array, scalar };

template <typename T, typename Op, Operand kA, Operand kB>
__global__ void binary_vector_kernel(T* __restrict__ out, const T* __restrict__ a,
                                     const T* __restrict__ b, int64_t n, Op op) {
  constexpr int kPack = Pack<T>::kSize;
  const int64_t packs = n / kPack;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const T a_scalar = kA == Operand::scalar ? __ldg(a) : T(0);
  const T b_scalar = kB == Operand::scalar ? __ldg(b) : T(0);
  for (int64_t p = first; p < packs; p += stride) {
    Pack<T> x, y, r;
    if (kA == Operand::array) x = reinterpret_cast<const Pack<T>*>(a)[p];
    if (kB == Operand::array) y = reinterpret_cast<const Pack<T>*>(b)[p];
    EMBER_UNROLL
    for (int k = 0; k < kPack; ++k) {
      r.v[k] = op(kA == Operand::array ? x.v[k] : a_scalar,
                  kB == Operand::array ? y.v[k] : b_scalar);
    }
    reinterpret_cast<Pack<T>*>(out)[p] = r;
  }
  for (int64_t i = packs * kPack + first; i < n; i += stride) {
    out[i] = op(kA == Operand::array ? a[i] : a_scalar, kB == Operand::array ? b[i] : b_scalar);
  }
}

template <typename T, Operand kA, Operand kB, typename Op>
void launch_vector(T* out, const T* a, const T* b, int64_t n, Op op) {
  int blocks = blocks_for(ceil_div<int64_t>(n, Pack<T>::kSize));
  launch(binary_vector_kernel<T, Op, kA, kB>, dim3(blocks), dim3(kThreads), 0, current_stream(),
         out, a, b, n, op);
}

template <typename T, typename Op>
void run(T* out, const T* a, const T* b, const BinaryGeometry& g, Op op) {
  if (g.numel == 0) return;
  // After merging, a fully contiguous layout is one dimension of stride 1.
  bool flat = g.ndim == 1 && g.out_strides[0] == 1;
  auto kind = [&](const int64_t* strides) {
    if (strides[0] == 1) return 1;
    if (strides[0] == 0) return 0;
    return -1;
  };
  int a_kind = flat ? kind(g.a_strides) : -1;
  int b_kind = flat ? kind(g.b_strides) : -1;
  bool vector_ok = aligned16(out) && (a_kind != 1 || aligned16(a)) && (b_kind != 1 || aligned16(b));
  if (vector_ok && a_kind == 1 && b_kind == 1) {
    launch_vector<T, Operand::array, Operand::array>(out, a, b, g.numel, op);
  } else if (vector_ok && a_kind == 1 && b_kind == 0) {
    launch_vector<T, Operand::array, Operand::scalar>(out, a, b, g.numel, op);
  } else if (vector_ok && a_kind == 0 && b_kind == 1) {
    launch_vector<T, Operand::scalar, Operand::array>(out, a, b, g.numel, op);
  } else {
    launch(grid::strided_kernel<T, Op>, dim3(blocks_for(g.numel)), dim3(kThreads), 0,
           current_stream(), out, a, b, g, op);
  }
}

template <typename T>
void run_op(BinaryOp op, T* out, const T* a, const T* b, const BinaryGeometry& g) {
  switch (op) {
    case BinaryOp::add: return run(out, a, b, g, AddOp{});
    case BinaryOp::sub: return run(out, a, b, g, SubOp{});
    case BinaryOp::mul: return run(out, a, b, g, MulOp{});
    case BinaryOp::div: return run(out, a, b, g, DivOp{});
    default:
      EMBER_FAIL(not_implemented, binary_op_name(op), ": no CUDA kernel yet (add, sub, mul and "
                 "div have one)");
  }
}

}  // namespace

BinaryGeometry binary_geometry(const char* op, const Tensor& out, const Tensor& a,
                               const Tensor& b) {
  EMBER_CHECK(a.shape() == out.shape() && b.shape() == out.shape(), op,
              ": CUDA kernel expects operands expanded to the output's shape, got ", a.str(),
              ", ", b.str(), " for ", out.str());
  BinaryGeometry g;
  g.numel = out.numel();
  // Keep the dimensions larger than 1, merging a dimension into the one
  // before it when every operand steps through both as one.
  int64_t sizes[64], os[64], as[64], bs[64];
  int n = 0;
  for (int64_t d = 0; d < out.dim(); ++d) {
    int64_t size = out.size(d);
    if (size == 1) continue;
    if (n > 0 && os[n - 1] == out.stride(d) * size && as[n - 1] == a.stride(d) * size &&
        bs[n - 1] == b.stride(d) * size) {
      sizes[n - 1] *= size;
      os[n - 1] = out.stride(d);
      as[n - 1] = a.stride(d);
      bs[n - 1] = b.stride(d);
      continue;
    }
    EMBER_CHECK(n < kMaxDims, op, ": the CUDA kernel indexes at most ", kMaxDims,
                " non-mergeable dimensions, got ", out.str());
    sizes[n] = size;
    os[n] = out.stride(d);
    as[n] = a.stride(d);
    bs[n] = b.stride(d);
    ++n;
  }
  if (n == 0) {
    sizes[0] = 1;
    os[0] = as[0] = bs[0] = 1;
    n = 1;
  }
  g.ndim = n;
  for (int d = 0; d < n; ++d) {
    g.sizes[d] = sizes[d];
    g.out_strides[d] = os[d];
    g.a_strides[d] = as[d];
    g.b_strides[d] = bs[d];
  }
  return g;
}

void binary_raw(BinaryOp op, DType dtype, void* out, const void* a, const void* b,
                const BinaryGeometry& g) {
  switch (dtype) {
    case DType::float32:
      return run_op(op, static_cast<float*>(out), static_cast<const float*>(a),
                    static_cast<const float*>(b), g);
    case DType::float64:
      return run_op(op, static_cast<double*>(out), static_cast<const double*>(a),
                    static_cast<const double*>(b), g);
    default:
      EMBER_FAIL(type, binary_op_name(op), ": no CUDA kernel for dtype ", dtype_name(dtype),
                 " yet (float32 and float64 have one)");
  }
}

void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  const char* name = binary_op_name(op);
  EMBER_CHECK(a.dtype() == out.dtype() && b.dtype() == out.dtype(), name,
              ": CUDA kernel expects operands in the output's dtype, got ", a.str(), ", ",
              b.str(), " for ", out.str());
  BinaryGeometry g = binary_geometry(name, out, a, b);
  binary_raw(op, out.dtype(), out.raw_data(), a.raw_data(), b.raw_data(), g);
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
