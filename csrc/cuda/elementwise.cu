// CUDA elementwise kernels for every BinaryOp (add, sub, mul, div,
// floor_divide, remainder, pow, maximum, minimum) in float32/float64,
// int32/int64 and bool where the op is defined for it, plus the zero /
// negative scans the entry points run before integer kernels; float16 and
// bfloat16 run the float functors on widened values and round once on
// store (8 of them per 16-byte pack). A vectorised
// grid-stride kernel (16-byte loads and stores) serves contiguous operands
// and a contiguous operand against a broadcast scalar; a strided
// grid-stride kernel serves every other layout (broadcasts, transposes,
// slices). The launchers take raw pointers and a merged geometry, so the
// CUDA-on-CPU tests can run them on host memory.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/check.h"
#include "cuda/device/exact.cuh"
#include "cuda/device/grid.cuh"
#include "cuda/device/in_float.cuh"
#include "cuda/kernels.h"
#include "cuda/launch.cuh"

namespace ember {
namespace cuda {
inline namespace EMBER_CUDA_BUILD {
namespace {

using exact::load_uniform;
using exact::wrapping_negate;
using grid::aligned16;
using grid::blocks_for;
using grid::kThreads;
using grid::Pack;

// Bools add as "or" and multiply as "and", like the CPU kernel.
struct AddOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T x, T y) const { return x + y; }
  __device__ __forceinline__ bool operator()(bool x, bool y) const { return x || y; }
};
struct SubOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T x, T y) const { return x - y; }
};
struct MulOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T x, T y) const { return x * y; }
  __device__ __forceinline__ bool operator()(bool x, bool y) const { return x && y; }
};
struct DivOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T x, T y) const { return x / y; }
};

// Float and double get their own functions so host and device builds pick
// the same precision.
__device__ __forceinline__ float m_fmod(float a, float b) { return fmodf(a, b); }
__device__ __forceinline__ double m_fmod(double a, double b) { return fmod(a, b); }
__device__ __forceinline__ float m_floor(float v) { return floorf(v); }
__device__ __forceinline__ double m_floor(double v) { return floor(v); }
__device__ __forceinline__ float m_copysign(float a, float b) { return copysignf(a, b); }
__device__ __forceinline__ double m_copysign(double a, double b) { return copysign(a, b); }
__device__ __forceinline__ float m_pow(float a, float b) { return powf(a, b); }
__device__ __forceinline__ double m_pow(double a, double b) { return pow(a, b); }

// Python's floor division: the quotient rounded toward -inf. Floats go
// through fmod so the result stays exact where a / b would round (the CPU
// kernel's formula); integer division by zero is refused by the caller.
struct FloorDivideOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (b == T(0)) return a / b;
      const T mod = m_fmod(a, b);
      T div = (a - mod) / b;
      if (mod != T(0) && ((b < T(0)) != (mod < T(0)))) div -= T(1);
      if (div == T(0)) return m_copysign(T(0), a / b);
      T floored = m_floor(div);
      if (div - floored > T(0.5)) floored += T(1);
      return floored;
    } else {
      // min / -1 overflows (and traps on x86): it wraps to min.
      if (b == T(-1)) return wrapping_negate(a);
      T q = a / b;
      if (a % b != 0 && ((a < 0) != (b < 0))) --q;
      return q;
    }
  }
};

// Python's remainder: the sign follows the divisor.
struct RemainderOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    T mod;
    if constexpr (std::is_floating_point_v<T>) {
      mod = m_fmod(a, b);
    } else {
      if (b == T(-1)) return T(0);
      mod = a % b;
    }
    if (mod != T(0) && ((b < T(0)) != (mod < T(0)))) mod += b;
    return mod;
  }
};

// Integers by squaring (the exponent is known to be non-negative), in
// unsigned arithmetic so overflow wraps instead of being undefined.
struct PowOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T base, T exponent) const {
    if constexpr (std::is_floating_point_v<T>) {
      return m_pow(base, exponent);
    } else {
      using U = std::make_unsigned_t<T>;
      U result = 1, b = U(base);
      while (exponent > 0) {
        if (exponent & 1) result *= b;
        b *= b;
        exponent >>= 1;
      }
      return T(result);
    }
  }
};

// NaN wins either way (a + b is NaN when one of them is).
struct MaximumOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (a != a || b != b) return a + b;
    }
    return a > b ? a : b;
  }
};
struct MinimumOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (a != a || b != b) return a + b;
    }
    return a < b ? a : b;
  }
};

using in_float::InFloat;

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
  const T a_scalar = kA == Operand::scalar ? load_uniform(a) : T(0);
  const T b_scalar = kB == Operand::scalar ? load_uniform(b) : T(0);
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
void launch_binary(T* out, const T* a, const T* b, const BinaryGeometry& g, Op op) {
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

template <typename T, typename Op>
void run(T* out, const T* a, const T* b, const BinaryGeometry& g, Op op) {
  if constexpr (is_half_v<T>) {
    launch_binary(out, a, b, g, InFloat<Op>{op});
  } else {
    launch_binary(out, a, b, g, op);
  }
}

[[noreturn]] void unsupported(BinaryOp op, DType dtype) {
  EMBER_FAIL(type, binary_op_name(op), ": unsupported dtype ", dtype_name(dtype));
}

template <typename T>
void run_op(BinaryOp op, DType dtype, T* out, const T* a, const T* b, const BinaryGeometry& g) {
  switch (op) {
    case BinaryOp::add: return run(out, a, b, g, AddOp{});
    case BinaryOp::mul: return run(out, a, b, g, MulOp{});
    case BinaryOp::maximum: return run(out, a, b, g, MaximumOp{});
    case BinaryOp::minimum: return run(out, a, b, g, MinimumOp{});
    default: break;
  }
  if constexpr (std::is_same_v<T, bool>) {
    unsupported(op, dtype);
  } else {
    switch (op) {
      case BinaryOp::sub: return run(out, a, b, g, SubOp{});
      case BinaryOp::div: return run(out, a, b, g, DivOp{});
      case BinaryOp::floor_divide: return run(out, a, b, g, FloorDivideOp{});
      case BinaryOp::remainder: return run(out, a, b, g, RemainderOp{});
      case BinaryOp::pow: return run(out, a, b, g, PowOp{});
      default: unsupported(op, dtype);
    }
  }
}

enum class Scan { zero, negative };

__global__ void clear_flag_kernel(int* flag) { *flag = 0; }

// Sets *flag when some element of x (operand a of the geometry) is zero or
// negative. Every finder writes the same 1, so plain stores suffice.
template <typename T, Scan kScan>
__global__ void __launch_bounds__(kThreads)
    flag_operand_kernel(int* flag, const T* __restrict__ x, BinaryGeometry g) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  bool found = false;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += stride) {
    int64_t offset;
    if (g.ndim == 1) {
      offset = i * g.a_strides[0];
    } else {
      int64_t rest = i;
      offset = 0;
      for (int d = g.ndim - 1; d >= 0; --d) {
        offset += (rest % g.sizes[d]) * g.a_strides[d];
        rest /= g.sizes[d];
      }
    }
    const T v = x[offset];
    found |= kScan == Scan::zero ? v == T(0) : v < T(0);
  }
  if (found) *flag = 1;
}

template <typename T>
void run_scan(Scan scan, int* flag, const T* x, const BinaryGeometry& g) {
  launch(clear_flag_kernel, dim3(1), dim3(1), 0, current_stream(), flag);
  if (g.numel == 0) return;
  const dim3 blocks(blocks_for(g.numel)), threads(kThreads);
  const auto kernel = scan == Scan::zero ? flag_operand_kernel<T, Scan::zero>
                                          : flag_operand_kernel<T, Scan::negative>;
  launch(kernel, blocks, threads, 0, current_stream(), flag, x, g);
}

bool scan(Scan kind, const Tensor& t) {
  Tensor flag = Tensor::empty({}, DType::int32, t.device());
  BinaryGeometry g = binary_geometry("scan", t, t, t);
  integer_scan_raw(kind == Scan::negative, t.dtype(), static_cast<int*>(flag.raw_data()),
                   t.raw_data(), g);
  return flag.item().to<int>() != 0;
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
      return run_op(op, dtype, static_cast<float*>(out), static_cast<const float*>(a),
                    static_cast<const float*>(b), g);
    case DType::float64:
      return run_op(op, dtype, static_cast<double*>(out), static_cast<const double*>(a),
                    static_cast<const double*>(b), g);
    case DType::int32:
      return run_op(op, dtype, static_cast<int32_t*>(out), static_cast<const int32_t*>(a),
                    static_cast<const int32_t*>(b), g);
    case DType::int64:
      return run_op(op, dtype, static_cast<int64_t*>(out), static_cast<const int64_t*>(a),
                    static_cast<const int64_t*>(b), g);
    case DType::bool_:
      return run_op(op, dtype, static_cast<bool*>(out), static_cast<const bool*>(a),
                    static_cast<const bool*>(b), g);
    case DType::float16:
      return run_op(op, dtype, static_cast<Half*>(out), static_cast<const Half*>(a),
                    static_cast<const Half*>(b), g);
    case DType::bfloat16:
      return run_op(op, dtype, static_cast<BFloat16*>(out), static_cast<const BFloat16*>(a),
                    static_cast<const BFloat16*>(b), g);
  }
  unsupported(op, dtype);
}

void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  const char* name = binary_op_name(op);
  EMBER_CHECK(a.dtype() == out.dtype() && b.dtype() == out.dtype(), name,
              ": CUDA kernel expects operands in the output's dtype, got ", a.str(), ", ",
              b.str(), " for ", out.str());
  BinaryGeometry g = binary_geometry(name, out, a, b);
  binary_raw(op, out.dtype(), out.raw_data(), a.raw_data(), b.raw_data(), g);
}

void integer_scan_raw(bool negative, DType dtype, int* flag, const void* x,
                      const BinaryGeometry& g) {
  const Scan kind = negative ? Scan::negative : Scan::zero;
  switch (dtype) {
    case DType::int32: return run_scan(kind, flag, static_cast<const int32_t*>(x), g);
    case DType::int64: return run_scan(kind, flag, static_cast<const int64_t*>(x), g);
    default:
      EMBER_FAIL(type, negative ? "has_negative" : "has_zero", ": expected an integer tensor, got ",
                 dtype_name(dtype));
  }
}

bool has_zero(const Tensor& t) { return scan(Scan::zero, t); }
bool has_negative(const Tensor& t) { return scan(Scan::negative, t); }

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
