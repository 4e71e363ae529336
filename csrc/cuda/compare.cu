// CUDA kernels for the exact elementwise ops around the arithmetic ones:
// comparisons and logical_and/or/xor into bool outputs, where, clamp, and
// the unary ops that are defined on integers and bool (logical_not,
// bitwise_not, abs, sign, square, relu, the rounding ops), for every dtype
// the CPU kernel supports. float16 and bfloat16 operands are widened to float
// for every test and computation (clamp rounds its float result once on
// store); where copies their bits. As in elementwise.cu, a vectorised grid-stride
// kernel (16-byte input loads, one aligned store for the outputs) serves
// contiguous operands and broadcast scalars, and a strided grid-stride kernel
// every other layout. Loads are plain, not __restrict__: the in-place forms
// (clamp_, abs_, ...) pass one array as both input and output.
#include <algorithm>
#include <limits>
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
using exact::wrapping_mul;
using exact::wrapping_negate;
using grid::aligned16;
using grid::blocks_for;
using grid::kThreads;
using grid::Pack;

// N outputs of one thread, written as a single aligned store.
template <typename T, int N>
struct alignas(sizeof(T) * N) Lanes {
  T v[N];
};

inline bool aligned_to(const void* p, size_t bytes) {
  return reinterpret_cast<uintptr_t>(p) % bytes == 0;
}

// --- functors ---------------------------------------------------------------

#define EMBER_COMPARE_FUNCTOR(Name, expr)                                     \
  struct Name {                                                               \
    template <typename T>                                                     \
    __device__ __forceinline__ bool operator()(T x, T y) const { return expr; } \
  };

EMBER_COMPARE_FUNCTOR(EqOp, x == y)
EMBER_COMPARE_FUNCTOR(NeOp, x != y)
EMBER_COMPARE_FUNCTOR(LtOp, x < y)
EMBER_COMPARE_FUNCTOR(LeOp, x <= y)
EMBER_COMPARE_FUNCTOR(GtOp, x > y)
EMBER_COMPARE_FUNCTOR(GeOp, x >= y)
EMBER_COMPARE_FUNCTOR(LogicalAndOp, bool(x) && bool(y))
EMBER_COMPARE_FUNCTOR(LogicalOrOp, bool(x) || bool(y))
EMBER_COMPARE_FUNCTOR(LogicalXorOp, bool(x) != bool(y))

#undef EMBER_COMPARE_FUNCTOR

// Unary functors take a second, unused argument so that they share the
// binary kernels (which do not load it).
struct LogicalNotOp {
  template <typename T>
  __device__ __forceinline__ bool operator()(T v, T) const { return !v; }
};
struct BitwiseNotOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T v, T) const { return T(~v); }
  __device__ __forceinline__ bool operator()(bool v, bool) const { return !v; }
};
struct NegOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T v, T) const { return wrapping_negate(v); }
};
struct AbsOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T v, T) const { return v < 0 ? wrapping_negate(v) : v; }
};
struct SignOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T v, T) const { return T((T(0) < v) - (v < T(0))); }
};
struct SquareOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T v, T) const { return wrapping_mul(v, v); }
};
struct ReluOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T v, T) const { return v > T(0) ? v : T(0); }
};
struct IdentityOp {
  template <typename T>
  __device__ __forceinline__ T operator()(T v, T) const { return v; }
};

// An absent bound is the type's extreme (or infinity), which no value
// crosses, so one formula serves every combination; NaN compares false both
// ways and passes through.
template <typename T>
struct ClampOp {
  T low, high;
  __device__ __forceinline__ T operator()(T v, T) const {
    return v < low ? low : (v > high ? high : v);
  }
};
// An empty range (min > max) clamps everything to max, as in PyTorch.
template <typename T>
struct ClampEmptyOp {
  T high;
  __device__ __forceinline__ T operator()(T v, T) const { return v != v ? v : high; }
};

using in_float::in_acc;

// --- out = op(a, b) with Out and In types -----------------------------------

// Where an operand comes from: a contiguous array, one broadcast value, or
// nowhere (the second operand of a unary op).
enum class Operand { array, scalar, none };

template <typename Out, typename In, typename Op, Operand kA, Operand kB>
__global__ void __launch_bounds__(kThreads)
    map_vector_kernel(Out* out, const In* a, const In* b, int64_t n, Op op) {
  constexpr int kPack = Pack<In>::kSize;
  const int64_t packs = n / kPack;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const In a_scalar = kA == Operand::scalar ? load_uniform(a) : In(0);
  const In b_scalar = kB == Operand::scalar ? load_uniform(b) : In(0);
  for (int64_t p = first; p < packs; p += stride) {
    Pack<In> x, y;
    Lanes<Out, kPack> r;
    if (kA == Operand::array) x = reinterpret_cast<const Pack<In>*>(a)[p];
    if (kB == Operand::array) y = reinterpret_cast<const Pack<In>*>(b)[p];
    EMBER_UNROLL
    for (int k = 0; k < kPack; ++k) {
      r.v[k] = op(kA == Operand::array ? x.v[k] : a_scalar,
                  kB == Operand::array ? y.v[k] : b_scalar);
    }
    reinterpret_cast<Lanes<Out, kPack>*>(out)[p] = r;
  }
  for (int64_t i = packs * kPack + first; i < n; i += stride) {
    out[i] = op(kA == Operand::array ? a[i] : a_scalar, kB == Operand::array ? b[i] : b_scalar);
  }
}

template <typename Out, typename In, typename Op, bool kUnary>
__global__ void __launch_bounds__(kThreads)
    map_strided_kernel(Out* out, const In* a, const In* b, BinaryGeometry g, Op op) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += stride) {
    int64_t rest = i, out_offset = 0, a_offset = 0, b_offset = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      const int64_t index = rest % g.sizes[d];
      rest /= g.sizes[d];
      out_offset += index * g.out_strides[d];
      a_offset += index * g.a_strides[d];
      b_offset += index * g.b_strides[d];
    }
    out[out_offset] = op(a[a_offset], kUnary ? In(0) : b[b_offset]);
  }
}

// After merging, a fully contiguous layout is one dimension of stride 1.
inline bool flat_output(const BinaryGeometry& g) { return g.ndim == 1 && g.out_strides[0] == 1; }

inline Operand operand_kind(bool flat, int64_t stride, const void* p) {
  if (flat && stride == 1 && aligned16(p)) return Operand::array;
  if (flat && stride == 0) return Operand::scalar;
  return Operand::none;
}

template <typename Out, typename In, Operand kA, Operand kB, typename Op>
void launch_vector(Out* out, const In* a, const In* b, int64_t n, Op op) {
  const int blocks = blocks_for(ceil_div<int64_t>(n, Pack<In>::kSize));
  launch(map_vector_kernel<Out, In, Op, kA, kB>, dim3(blocks), dim3(kThreads), 0,
         current_stream(), out, a, b, n, op);
}

template <typename Out, typename In, typename Op>
void run_binary(Out* out, const In* a, const In* b, const BinaryGeometry& g, Op typed_op) {
  if (g.numel == 0) return;
  auto op = in_acc<In>(typed_op);
  using KernelOp = decltype(op);
  const bool flat = flat_output(g) && aligned_to(out, sizeof(Lanes<Out, Pack<In>::kSize>));
  const Operand ka = operand_kind(flat, g.a_strides[0], a);
  const Operand kb = operand_kind(flat, g.b_strides[0], b);
  if (ka == Operand::array && kb == Operand::array) {
    launch_vector<Out, In, Operand::array, Operand::array>(out, a, b, g.numel, op);
  } else if (ka == Operand::array && kb == Operand::scalar) {
    launch_vector<Out, In, Operand::array, Operand::scalar>(out, a, b, g.numel, op);
  } else if (ka == Operand::scalar && kb == Operand::array) {
    launch_vector<Out, In, Operand::scalar, Operand::array>(out, a, b, g.numel, op);
  } else {
    launch(map_strided_kernel<Out, In, KernelOp, false>, dim3(blocks_for(g.numel)),
           dim3(kThreads), 0, current_stream(), out, a, b, g, op);
  }
}

// out = op(x); the geometry's b_strides are ignored.
template <typename Out, typename In, typename Op>
void run_unary(Out* out, const In* x, const BinaryGeometry& g, Op typed_op) {
  if (g.numel == 0) return;
  auto op = in_acc<In>(typed_op);
  using KernelOp = decltype(op);
  const bool flat = flat_output(g) && aligned_to(out, sizeof(Lanes<Out, Pack<In>::kSize>));
  if (operand_kind(flat, g.a_strides[0], x) == Operand::array) {
    launch_vector<Out, In, Operand::array, Operand::none>(out, x, x, g.numel, op);
  } else {
    launch(map_strided_kernel<Out, In, KernelOp, true>, dim3(blocks_for(g.numel)),
           dim3(kThreads), 0, current_stream(), out, x, x, g, op);
  }
}

template <typename T>
void compare_op(CompareOp op, bool* out, const T* a, const T* b, const BinaryGeometry& g) {
  switch (op) {
    case CompareOp::eq: return run_binary(out, a, b, g, EqOp{});
    case CompareOp::ne: return run_binary(out, a, b, g, NeOp{});
    case CompareOp::lt: return run_binary(out, a, b, g, LtOp{});
    case CompareOp::le: return run_binary(out, a, b, g, LeOp{});
    case CompareOp::gt: return run_binary(out, a, b, g, GtOp{});
    case CompareOp::ge: return run_binary(out, a, b, g, GeOp{});
    case CompareOp::logical_and: return run_binary(out, a, b, g, LogicalAndOp{});
    case CompareOp::logical_or: return run_binary(out, a, b, g, LogicalOrOp{});
    case CompareOp::logical_xor: return run_binary(out, a, b, g, LogicalXorOp{});
  }
}

// The bounds are in acc_t<T>: float for the 16-bit types, whose values are
// clamped in float (as the CPU does) and rounded on store.
template <typename T>
void clamp_op(T* out, const T* x, const BinaryGeometry& g, Scalar lo, bool has_lo, Scalar hi,
              bool has_hi) {
  using A = acc_t<T>;
  using Limits = std::numeric_limits<A>;
  const A lowest = Limits::has_infinity ? -Limits::infinity() : Limits::lowest();
  const A highest = Limits::has_infinity ? Limits::infinity() : Limits::max();
  const A low = has_lo ? lo.to<A>() : lowest;
  const A high = has_hi ? hi.to<A>() : highest;
  if (has_lo && has_hi && low > high) {
    run_unary(out, x, g, ClampEmptyOp<A>{high});
  } else {
    run_unary(out, x, g, ClampOp<A>{low, high});
  }
}

// The ops of has_exact_unary_kernel other than logical_not, out of x's type.
template <typename T>
void exact_unary_op(UnaryOp op, DType dtype, T* out, const T* x, const BinaryGeometry& g) {
  if constexpr (std::is_same_v<T, bool>) {
    if (op == UnaryOp::bitwise_not) return run_unary(out, x, g, BitwiseNotOp{});
  } else if constexpr (std::is_integral_v<T>) {
    switch (op) {
      case UnaryOp::bitwise_not: return run_unary(out, x, g, BitwiseNotOp{});
      case UnaryOp::neg: return run_unary(out, x, g, NegOp{});
      case UnaryOp::abs: return run_unary(out, x, g, AbsOp{});
      case UnaryOp::sign: return run_unary(out, x, g, SignOp{});
      case UnaryOp::square: return run_unary(out, x, g, SquareOp{});
      case UnaryOp::relu: return run_unary(out, x, g, ReluOp{});
      case UnaryOp::floor:
      case UnaryOp::ceil:
      case UnaryOp::round:
      case UnaryOp::trunc: return run_unary(out, x, g, IdentityOp{});
      default: break;
    }
  }
  EMBER_FAIL(type, unary_op_name(op), ": no CUDA kernel for dtype ", dtype_name(dtype));
}

// --- where ------------------------------------------------------------------

template <typename T, Operand kX, Operand kY>
__global__ void __launch_bounds__(kThreads)
    where_vector_kernel(T* out, const bool* condition, const T* x, const T* y, int64_t n) {
  constexpr int kPack = Pack<T>::kSize;
  const int64_t packs = n / kPack;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  const T x_scalar = kX == Operand::scalar ? load_uniform(x) : T(0);
  const T y_scalar = kY == Operand::scalar ? load_uniform(y) : T(0);
  for (int64_t p = first; p < packs; p += stride) {
    const Lanes<bool, kPack> c = reinterpret_cast<const Lanes<bool, kPack>*>(condition)[p];
    Pack<T> xv, yv, r;
    if (kX == Operand::array) xv = reinterpret_cast<const Pack<T>*>(x)[p];
    if (kY == Operand::array) yv = reinterpret_cast<const Pack<T>*>(y)[p];
    EMBER_UNROLL
    for (int k = 0; k < kPack; ++k) {
      r.v[k] = c.v[k] ? (kX == Operand::array ? xv.v[k] : x_scalar)
                      : (kY == Operand::array ? yv.v[k] : y_scalar);
    }
    reinterpret_cast<Pack<T>*>(out)[p] = r;
  }
  for (int64_t i = packs * kPack + first; i < n; i += stride) {
    out[i] = condition[i] ? (kX == Operand::array ? x[i] : x_scalar)
                          : (kY == Operand::array ? y[i] : y_scalar);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    where_strided_kernel(T* out, const bool* condition, const T* x, const T* y, WhereGeometry g) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += stride) {
    int64_t rest = i, o = 0, c = 0, xo = 0, yo = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      const int64_t index = rest % g.sizes[d];
      rest /= g.sizes[d];
      o += index * g.strides[0][d];
      c += index * g.strides[1][d];
      xo += index * g.strides[2][d];
      yo += index * g.strides[3][d];
    }
    out[o] = condition[c] ? x[xo] : y[yo];
  }
}

template <typename T, Operand kX, Operand kY>
void launch_where_vector(T* out, const bool* condition, const T* x, const T* y, int64_t n) {
  const int blocks = blocks_for(ceil_div<int64_t>(n, Pack<T>::kSize));
  launch(where_vector_kernel<T, kX, kY>, dim3(blocks), dim3(kThreads), 0, current_stream(), out,
         condition, x, y, n);
}

template <typename T>
void where_op(T* out, const bool* condition, const T* x, const T* y, const WhereGeometry& g) {
  if (g.numel == 0) return;
  constexpr int kPack = Pack<T>::kSize;
  const bool flat = g.ndim == 1 && g.strides[0][0] == 1 && aligned16(out) &&
                    g.strides[1][0] == 1 && aligned_to(condition, kPack);
  const Operand kx = operand_kind(flat, g.strides[2][0], x);
  const Operand ky = operand_kind(flat, g.strides[3][0], y);
  if (kx == Operand::array && ky == Operand::array) {
    launch_where_vector<T, Operand::array, Operand::array>(out, condition, x, y, g.numel);
  } else if (kx == Operand::array && ky == Operand::scalar) {
    launch_where_vector<T, Operand::array, Operand::scalar>(out, condition, x, y, g.numel);
  } else if (kx == Operand::scalar && ky == Operand::array) {
    launch_where_vector<T, Operand::scalar, Operand::array>(out, condition, x, y, g.numel);
  } else if (kx == Operand::scalar && ky == Operand::scalar) {
    launch_where_vector<T, Operand::scalar, Operand::scalar>(out, condition, x, y, g.numel);
  } else {
    launch(where_strided_kernel<T>, dim3(blocks_for(g.numel)), dim3(kThreads), 0,
           current_stream(), out, condition, x, y, g);
  }
}

// Calls f with a null pointer of the C++ type of `dtype`.
template <typename F>
void dispatch(DType dtype, const char* op, F&& f) {
  switch (dtype) {
    case DType::float32: return f(static_cast<float*>(nullptr));
    case DType::float64: return f(static_cast<double*>(nullptr));
    case DType::int32: return f(static_cast<int32_t*>(nullptr));
    case DType::int64: return f(static_cast<int64_t*>(nullptr));
    case DType::bool_: return f(static_cast<bool*>(nullptr));
    case DType::float16: return f(static_cast<Half*>(nullptr));
    case DType::bfloat16: return f(static_cast<BFloat16*>(nullptr));
  }
  EMBER_FAIL(type, op, ": unsupported dtype ", dtype_name(dtype));
}

template <typename T>
using Elem = std::remove_pointer_t<T>;

}  // namespace

void compare_raw(CompareOp op, DType dtype, bool* out, const void* a, const void* b,
                 const BinaryGeometry& g) {
  dispatch(dtype, compare_op_name(op), [&](auto tag) {
    using T = Elem<decltype(tag)>;
    compare_op(op, out, static_cast<const T*>(a), static_cast<const T*>(b), g);
  });
}

void compare(CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  const char* name = compare_op_name(op);
  EMBER_CHECK(out.dtype() == DType::bool_ && a.dtype() == b.dtype(), name,
              ": CUDA kernel expects a bool output and operands of one dtype, got ", a.str(),
              ", ", b.str(), " for ", out.str());
  BinaryGeometry g = binary_geometry(name, out, a, b);
  compare_raw(op, a.dtype(), static_cast<bool*>(out.raw_data()), a.raw_data(), b.raw_data(), g);
}

WhereGeometry where_geometry(const Tensor& out, const Tensor& condition, const Tensor& x,
                             const Tensor& y) {
  const Tensor* operands[4] = {&out, &condition, &x, &y};
  for (const Tensor* t : operands) {
    EMBER_CHECK(t->shape() == out.shape(), "where: CUDA kernel expects operands expanded to the "
                "output's shape, got ", t->str(), " for ", out.str());
  }
  WhereGeometry g;
  g.numel = out.numel();
  // Dims of size 1 are dropped; a dim merges into the one before it when
  // every operand steps through both as one.
  int n = 0;
  for (int64_t d = 0; d < out.dim(); ++d) {
    const int64_t size = out.size(d);
    if (size == 1) continue;
    bool mergeable = n > 0;
    for (int k = 0; k < 4 && mergeable; ++k) {
      mergeable = g.strides[k][n - 1] == operands[k]->stride(d) * size;
    }
    if (mergeable) {
      g.sizes[n - 1] *= size;
      for (int k = 0; k < 4; ++k) g.strides[k][n - 1] = operands[k]->stride(d);
      continue;
    }
    EMBER_CHECK(n < kMaxDims, "where: the CUDA kernel indexes at most ", kMaxDims,
                " non-mergeable dimensions, got ", out.str());
    g.sizes[n] = size;
    for (int k = 0; k < 4; ++k) g.strides[k][n] = operands[k]->stride(d);
    ++n;
  }
  if (n == 0) {
    g.sizes[0] = 1;
    for (int k = 0; k < 4; ++k) g.strides[k][0] = 1;
    n = 1;
  }
  g.ndim = n;
  return g;
}

void where_raw(DType dtype, void* out, const bool* condition, const void* x, const void* y,
               const WhereGeometry& g) {
  dispatch(dtype, "where", [&](auto tag) {
    using T = Elem<decltype(tag)>;
    where_op(static_cast<T*>(out), condition, static_cast<const T*>(x), static_cast<const T*>(y),
             g);
  });
}

void where(const Tensor& out, const Tensor& condition, const Tensor& x, const Tensor& y) {
  EMBER_CHECK(condition.dtype() == DType::bool_ && x.dtype() == out.dtype() &&
                  y.dtype() == out.dtype(),
              "where: CUDA kernel expects a bool condition and x, y in the output's dtype, got ",
              condition.str(), ", ", x.str(), ", ", y.str(), " for ", out.str());
  WhereGeometry g = where_geometry(out, condition, x, y);
  where_raw(out.dtype(), out.raw_data(), static_cast<const bool*>(condition.raw_data()),
            x.raw_data(), y.raw_data(), g);
}

void clamp_raw(DType dtype, void* out, const void* x, const BinaryGeometry& g, Scalar lo,
               bool has_lo, Scalar hi, bool has_hi) {
  EMBER_CHECK(has_lo || has_hi, "clamp: at least one of 'min' or 'max' must not be None");
  dispatch(dtype, "clamp", [&](auto tag) {
    using T = Elem<decltype(tag)>;
    if constexpr (std::is_same_v<T, bool>) {
      EMBER_FAIL(type, "clamp: unsupported dtype bool");
    } else {
      clamp_op(static_cast<T*>(out), static_cast<const T*>(x), g, lo, has_lo, hi, has_hi);
    }
  });
}

void clamp(const Tensor& out, const Tensor& x, Scalar lo, bool has_lo, Scalar hi, bool has_hi) {
  EMBER_CHECK(x.dtype() == out.dtype(), "clamp: CUDA kernel expects the input in the output's "
              "dtype, got ", x.str(), " for ", out.str());
  BinaryGeometry g = binary_geometry("clamp", out, x, x);
  clamp_raw(out.dtype(), out.raw_data(), x.raw_data(), g, lo, has_lo, hi, has_hi);
}

bool has_exact_unary_kernel(UnaryOp op, DType dtype) {
  switch (op) {
    case UnaryOp::logical_not: return true;
    case UnaryOp::bitwise_not: return !is_floating(dtype);
    case UnaryOp::neg:
    case UnaryOp::abs:
    case UnaryOp::sign:
    case UnaryOp::square:
    case UnaryOp::relu:
    case UnaryOp::floor:
    case UnaryOp::ceil:
    case UnaryOp::round:
    case UnaryOp::trunc: return dtype == DType::int32 || dtype == DType::int64;
    default: return false;
  }
}

void exact_unary_raw(UnaryOp op, DType dtype, void* out, const void* x, const BinaryGeometry& g) {
  const char* name = unary_op_name(op);
  EMBER_CHECK_KIND(type, has_exact_unary_kernel(op, dtype), name, ": no CUDA kernel for dtype ",
                   dtype_name(dtype));
  dispatch(dtype, name, [&](auto tag) {
    using T = Elem<decltype(tag)>;
    if (op == UnaryOp::logical_not) {
      run_unary(static_cast<bool*>(out), static_cast<const T*>(x), g, LogicalNotOp{});
    } else {
      exact_unary_op(op, dtype, static_cast<T*>(out), static_cast<const T*>(x), g);
    }
  });
}

void exact_unary(UnaryOp op, const Tensor& out, const Tensor& x) {
  const char* name = unary_op_name(op);
  const DType expected = op == UnaryOp::logical_not ? DType::bool_ : x.dtype();
  EMBER_CHECK(out.dtype() == expected, name, ": CUDA kernel expects a ", dtype_name(expected),
              " output, got ", out.str(), " for ", x.str());
  BinaryGeometry g = binary_geometry(name, out, x, x);
  exact_unary_raw(op, x.dtype(), out.raw_data(), x.raw_data(), g);
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
