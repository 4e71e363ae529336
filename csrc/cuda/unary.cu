// CUDA kernels for the unary maths (exp, log, sqrt, sin, ..., rounding) and
// the activations, forward and fused backward, in float32/float64, and in
// float16/bfloat16 through the float functors (values widened on load, the
// float result rounded once on store, 8 values per 16-byte pack). As in
// elementwise.cu, a vectorised grid-stride kernel (16-byte loads and stores)
// serves contiguous operands and a strided grid-stride kernel every other
// layout. Loads are plain, not __ldg: the in-place ops pass one array as
// both input and output. Maths goes through the correctly named float and
// double functions (expf / exp, ...) so that host and device builds pick the
// same precision.
#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "cuda/device/grid.cuh"
#include "cuda/device/in_float.cuh"
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

// --- precision-matched maths ------------------------------------------------

#define EMBER_UNARY_MATH(name, float_fn, double_fn)                                  \
  __device__ __forceinline__ float name(float v) { return float_fn(v); }            \
  __device__ __forceinline__ double name(double v) { return double_fn(v); }

EMBER_UNARY_MATH(m_exp, expf, exp)
EMBER_UNARY_MATH(m_log, logf, log)
EMBER_UNARY_MATH(m_log1p, log1pf, log1p)
EMBER_UNARY_MATH(m_expm1, expm1f, expm1)
EMBER_UNARY_MATH(m_sqrt, sqrtf, sqrt)
EMBER_UNARY_MATH(m_sin, sinf, sin)
EMBER_UNARY_MATH(m_cos, cosf, cos)
EMBER_UNARY_MATH(m_tanh, tanhf, tanh)
EMBER_UNARY_MATH(m_erf, erff, erf)
EMBER_UNARY_MATH(m_floor, floorf, floor)
EMBER_UNARY_MATH(m_ceil, ceilf, ceil)
// rint rounds half to even under the default rounding mode, like PyTorch.
EMBER_UNARY_MATH(m_round, rintf, rint)
EMBER_UNARY_MATH(m_trunc, truncf, trunc)

#undef EMBER_UNARY_MATH

// Never overflows exp(): for negative x it is written through exp(x).
template <typename T>
__device__ __forceinline__ T sigmoid(T x) {
  if (x >= T(0)) return T(1) / (T(1) + m_exp(-x));
  T e = m_exp(x);
  return e / (T(1) + e);
}

template <typename T>
struct GeluConst {
  static constexpr T kInvSqrt2 = T(0.70710678118654752440);
  static constexpr T kInvSqrt2Pi = T(0.39894228040143267794);
  static constexpr T kSqrt2OverPi = T(0.79788456080286535588);
  static constexpr T kCubic = T(0.044715);
};

// --- forward functors -------------------------------------------------------

// One functor per op; alpha and beta carry the activations' parameters
// (leaky_relu slope, elu alpha, softplus beta and threshold).
#define EMBER_UNARY_FUNCTOR(Name, expr)                                   \
  struct Name {                                                           \
    double alpha = 0, beta = 0;                                           \
    template <typename T>                                                 \
    __device__ __forceinline__ T operator()(T v) const {                  \
      const T a = T(alpha), b = T(beta);                                  \
      (void)a;                                                            \
      (void)b;                                                            \
      return expr;                                                        \
    }                                                                     \
  };

EMBER_UNARY_FUNCTOR(NegOp, -v)
EMBER_UNARY_FUNCTOR(AbsOp, v < T(0) ? -v : v)
EMBER_UNARY_FUNCTOR(SignOp, T((T(0) < v) - (v < T(0))))
EMBER_UNARY_FUNCTOR(ExpOp, m_exp(v))
EMBER_UNARY_FUNCTOR(LogOp, m_log(v))
EMBER_UNARY_FUNCTOR(Log1pOp, m_log1p(v))
EMBER_UNARY_FUNCTOR(Expm1Op, m_expm1(v))
EMBER_UNARY_FUNCTOR(SqrtOp, m_sqrt(v))
EMBER_UNARY_FUNCTOR(RsqrtOp, T(1) / m_sqrt(v))
EMBER_UNARY_FUNCTOR(SinOp, m_sin(v))
EMBER_UNARY_FUNCTOR(CosOp, m_cos(v))
EMBER_UNARY_FUNCTOR(TanhOp, m_tanh(v))
EMBER_UNARY_FUNCTOR(SigmoidOp, sigmoid(v))
EMBER_UNARY_FUNCTOR(ReciprocalOp, T(1) / v)
EMBER_UNARY_FUNCTOR(SquareOp, v * v)
EMBER_UNARY_FUNCTOR(FloorOp, m_floor(v))
EMBER_UNARY_FUNCTOR(CeilOp, m_ceil(v))
EMBER_UNARY_FUNCTOR(RoundOp, m_round(v))
EMBER_UNARY_FUNCTOR(TruncOp, m_trunc(v))
EMBER_UNARY_FUNCTOR(ReluOp, v > T(0) ? v : T(0))
EMBER_UNARY_FUNCTOR(SiluOp, v * sigmoid(v))
EMBER_UNARY_FUNCTOR(GeluOp, T(0.5) * v * (T(1) + m_erf(v * GeluConst<T>::kInvSqrt2)))
EMBER_UNARY_FUNCTOR(GeluTanhOp,
                    T(0.5) * v *
                        (T(1) + m_tanh(GeluConst<T>::kSqrt2OverPi *
                                       (v + GeluConst<T>::kCubic * v * v * v))))
EMBER_UNARY_FUNCTOR(LeakyReluOp, v > T(0) ? v : v * a)
EMBER_UNARY_FUNCTOR(EluOp, v > T(0) ? v : a * m_expm1(v))
EMBER_UNARY_FUNCTOR(SoftplusOp, v * a > b ? v : m_log1p(m_exp(v * a)) / a)

#undef EMBER_UNARY_FUNCTOR

// --- fused backward functors: grad_in = g * op'(v) ----------------------------

#define EMBER_GRAD_FUNCTOR(Name, expr)                                    \
  struct Name {                                                           \
    double alpha = 0, beta = 0;                                           \
    template <typename T>                                                 \
    __device__ __forceinline__ T operator()(T g, T v) const {             \
      const T a = T(alpha), b = T(beta);                                  \
      (void)a;                                                            \
      (void)b;                                                            \
      expr                                                                \
    }                                                                     \
  };

EMBER_GRAD_FUNCTOR(ReluGrad, return v > T(0) ? g : T(0);)
EMBER_GRAD_FUNCTOR(LeakyReluGrad, return v > T(0) ? g : g * a;)
EMBER_GRAD_FUNCTOR(EluGrad, return v > T(0) ? g : g * a * m_exp(v);)
EMBER_GRAD_FUNCTOR(SoftplusGrad, return v * a > b ? g : g * sigmoid(v * a);)
EMBER_GRAD_FUNCTOR(SiluGrad, const T s = sigmoid(v); return g * s * (T(1) + v * (T(1) - s));)
EMBER_GRAD_FUNCTOR(GeluGrad, using C = GeluConst<T>;
                   return g * (T(0.5) * (T(1) + m_erf(v * C::kInvSqrt2)) +
                               v * C::kInvSqrt2Pi * m_exp(T(-0.5) * v * v));)
EMBER_GRAD_FUNCTOR(GeluTanhGrad, using C = GeluConst<T>;
                   const T t = m_tanh(C::kSqrt2OverPi * (v + C::kCubic * v * v * v));
                   return g * (T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) *
                                                         C::kSqrt2OverPi *
                                                         (T(1) + T(3) * C::kCubic * v * v));)

#undef EMBER_GRAD_FUNCTOR

using in_float::in_acc;

// --- kernels ----------------------------------------------------------------

template <typename T, typename Op>
__global__ void unary_vector_kernel(T* out, const T* x, int64_t n, Op op) {
  constexpr int kPack = Pack<T>::kSize;
  const int64_t packs = n / kPack;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (int64_t p = first; p < packs; p += stride) {
    Pack<T> r = reinterpret_cast<const Pack<T>*>(x)[p];
    EMBER_UNROLL
    for (int k = 0; k < kPack; ++k) r.v[k] = op(r.v[k]);
    reinterpret_cast<Pack<T>*>(out)[p] = r;
  }
  for (int64_t i = packs * kPack + first; i < n; i += stride) out[i] = op(x[i]);
}

// The geometry's a_strides are x's (b_strides are unused).
template <typename T, typename Op>
__global__ void unary_strided_kernel(T* out, const T* x, BinaryGeometry g, Op op) {
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += stride) {
    int64_t rest = i, out_offset = 0, x_offset = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
      int64_t index = rest % g.sizes[d];
      rest /= g.sizes[d];
      out_offset += index * g.out_strides[d];
      x_offset += index * g.a_strides[d];
    }
    out[out_offset] = op(x[x_offset]);
  }
}

template <typename T, typename Op>
__global__ void grad_vector_kernel(T* out, const T* grad, const T* x, int64_t n, Op op) {
  constexpr int kPack = Pack<T>::kSize;
  const int64_t packs = n / kPack;
  const int64_t stride = int64_t(gridDim.x) * blockDim.x;
  const int64_t first = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  for (int64_t p = first; p < packs; p += stride) {
    Pack<T> g = reinterpret_cast<const Pack<T>*>(grad)[p];
    const Pack<T> v = reinterpret_cast<const Pack<T>*>(x)[p];
    EMBER_UNROLL
    for (int k = 0; k < kPack; ++k) g.v[k] = op(g.v[k], v.v[k]);
    reinterpret_cast<Pack<T>*>(out)[p] = g;
  }
  for (int64_t i = packs * kPack + first; i < n; i += stride) out[i] = op(grad[i], x[i]);
}

// After merging, a fully contiguous layout is one dimension of stride 1.
bool contiguous_flat(const BinaryGeometry& g) {
  return g.ndim == 1 && g.out_strides[0] == 1 && g.a_strides[0] == 1;
}

template <typename T, typename Op>
void run_forward(T* out, const T* x, const BinaryGeometry& g, Op typed_op) {
  if (g.numel == 0) return;
  auto op = in_acc<T>(typed_op);
  using KernelOp = decltype(op);
  if (contiguous_flat(g) && aligned16(out) && aligned16(x)) {
    const int blocks = blocks_for(ceil_div<int64_t>(g.numel, Pack<T>::kSize));
    launch(unary_vector_kernel<T, KernelOp>, dim3(blocks), dim3(kThreads), 0, current_stream(),
           out, x, g.numel, op);
  } else {
    launch(unary_strided_kernel<T, KernelOp>, dim3(blocks_for(g.numel)), dim3(kThreads), 0,
           current_stream(), out, x, g, op);
  }
}

template <typename T, typename Op>
void run_backward(T* out, const T* grad, const T* x, const BinaryGeometry& g, Op typed_op) {
  if (g.numel == 0) return;
  auto op = in_acc<T>(typed_op);
  using KernelOp = decltype(op);
  if (contiguous_flat(g) && g.b_strides[0] == 1 && aligned16(out) && aligned16(grad) &&
      aligned16(x)) {
    const int blocks = blocks_for(ceil_div<int64_t>(g.numel, Pack<T>::kSize));
    launch(grad_vector_kernel<T, KernelOp>, dim3(blocks), dim3(kThreads), 0, current_stream(),
           out, grad, x, g.numel, op);
  } else {
    // The geometry's a_strides are grad's, its b_strides x's.
    launch(grid::strided_kernel<T, KernelOp>, dim3(blocks_for(g.numel)), dim3(kThreads), 0,
           current_stream(), out, grad, x, g, op);
  }
}

template <typename T>
void forward_op(UnaryOp op, T* out, const T* x, const BinaryGeometry& g, double alpha,
                double beta) {
  switch (op) {
    case UnaryOp::neg: return run_forward(out, x, g, NegOp{alpha, beta});
    case UnaryOp::abs: return run_forward(out, x, g, AbsOp{alpha, beta});
    case UnaryOp::sign: return run_forward(out, x, g, SignOp{alpha, beta});
    case UnaryOp::exp: return run_forward(out, x, g, ExpOp{alpha, beta});
    case UnaryOp::log: return run_forward(out, x, g, LogOp{alpha, beta});
    case UnaryOp::log1p: return run_forward(out, x, g, Log1pOp{alpha, beta});
    case UnaryOp::expm1: return run_forward(out, x, g, Expm1Op{alpha, beta});
    case UnaryOp::sqrt: return run_forward(out, x, g, SqrtOp{alpha, beta});
    case UnaryOp::rsqrt: return run_forward(out, x, g, RsqrtOp{alpha, beta});
    case UnaryOp::sin: return run_forward(out, x, g, SinOp{alpha, beta});
    case UnaryOp::cos: return run_forward(out, x, g, CosOp{alpha, beta});
    case UnaryOp::tanh: return run_forward(out, x, g, TanhOp{alpha, beta});
    case UnaryOp::sigmoid: return run_forward(out, x, g, SigmoidOp{alpha, beta});
    case UnaryOp::reciprocal: return run_forward(out, x, g, ReciprocalOp{alpha, beta});
    case UnaryOp::square: return run_forward(out, x, g, SquareOp{alpha, beta});
    case UnaryOp::floor: return run_forward(out, x, g, FloorOp{alpha, beta});
    case UnaryOp::ceil: return run_forward(out, x, g, CeilOp{alpha, beta});
    case UnaryOp::round: return run_forward(out, x, g, RoundOp{alpha, beta});
    case UnaryOp::trunc: return run_forward(out, x, g, TruncOp{alpha, beta});
    case UnaryOp::relu: return run_forward(out, x, g, ReluOp{alpha, beta});
    case UnaryOp::silu: return run_forward(out, x, g, SiluOp{alpha, beta});
    case UnaryOp::gelu: return run_forward(out, x, g, GeluOp{alpha, beta});
    case UnaryOp::gelu_tanh: return run_forward(out, x, g, GeluTanhOp{alpha, beta});
    case UnaryOp::leaky_relu: return run_forward(out, x, g, LeakyReluOp{alpha, beta});
    case UnaryOp::elu: return run_forward(out, x, g, EluOp{alpha, beta});
    case UnaryOp::softplus: return run_forward(out, x, g, SoftplusOp{alpha, beta});
    default:
      EMBER_FAIL(not_implemented, unary_op_name(op), ": no CUDA kernel");
  }
}

template <typename T>
void backward_op(UnaryOp op, T* out, const T* grad, const T* x, const BinaryGeometry& g,
                 double alpha, double beta) {
  switch (op) {
    case UnaryOp::relu: return run_backward(out, grad, x, g, ReluGrad{alpha, beta});
    case UnaryOp::leaky_relu: return run_backward(out, grad, x, g, LeakyReluGrad{alpha, beta});
    case UnaryOp::elu: return run_backward(out, grad, x, g, EluGrad{alpha, beta});
    case UnaryOp::softplus: return run_backward(out, grad, x, g, SoftplusGrad{alpha, beta});
    case UnaryOp::silu: return run_backward(out, grad, x, g, SiluGrad{alpha, beta});
    case UnaryOp::gelu: return run_backward(out, grad, x, g, GeluGrad{alpha, beta});
    case UnaryOp::gelu_tanh: return run_backward(out, grad, x, g, GeluTanhGrad{alpha, beta});
    default:
      EMBER_FAIL(value, unary_op_name(op), ": no fused backward kernel for this op");
  }
}

}  // namespace

bool has_unary_kernel(UnaryOp op) {
  switch (op) {
    case UnaryOp::logical_not:
    case UnaryOp::bitwise_not: return false;
    default: return true;
  }
}

void unary_raw(UnaryOp op, DType dtype, void* out, const void* x, const BinaryGeometry& g,
               double alpha, double beta) {
  switch (dtype) {
    case DType::float32:
      return forward_op(op, static_cast<float*>(out), static_cast<const float*>(x), g, alpha,
                        beta);
    case DType::float64:
      return forward_op(op, static_cast<double*>(out), static_cast<const double*>(x), g, alpha,
                        beta);
    case DType::float16:
      return forward_op(op, static_cast<Half*>(out), static_cast<const Half*>(x), g, alpha,
                        beta);
    case DType::bfloat16:
      return forward_op(op, static_cast<BFloat16*>(out), static_cast<const BFloat16*>(x), g, alpha,
                        beta);
    default:
      EMBER_FAIL(type, unary_op_name(op), ": no CUDA kernel for dtype ", dtype_name(dtype),
                 " yet (the floating dtypes have one)");
  }
}

void unary(UnaryOp op, const Tensor& out, const Tensor& x, double alpha, double beta) {
  const char* name = unary_op_name(op);
  EMBER_CHECK(x.dtype() == out.dtype(), name, ": CUDA kernel expects the input in the output's "
              "dtype, got ", x.str(), " for ", out.str());
  BinaryGeometry g = binary_geometry(name, out, x, x);
  unary_raw(op, out.dtype(), out.raw_data(), x.raw_data(), g, alpha, beta);
}

void activation_backward_raw(UnaryOp op, DType dtype, void* grad_in, const void* grad,
                             const void* x, const BinaryGeometry& g, double alpha, double beta) {
  switch (dtype) {
    case DType::float32:
      return backward_op(op, static_cast<float*>(grad_in), static_cast<const float*>(grad),
                         static_cast<const float*>(x), g, alpha, beta);
    case DType::float64:
      return backward_op(op, static_cast<double*>(grad_in), static_cast<const double*>(grad),
                         static_cast<const double*>(x), g, alpha, beta);
    case DType::float16:
      return backward_op(op, static_cast<Half*>(grad_in), static_cast<const Half*>(grad),
                         static_cast<const Half*>(x), g, alpha, beta);
    case DType::bfloat16:
      return backward_op(op, static_cast<BFloat16*>(grad_in), static_cast<const BFloat16*>(grad),
                         static_cast<const BFloat16*>(x), g, alpha, beta);
    default:
      EMBER_FAIL(type, unary_op_name(op), "_backward: no CUDA kernel for dtype ",
                 dtype_name(dtype), " yet (the floating dtypes have one)");
  }
}

void activation_backward(UnaryOp op, const Tensor& grad_in, const Tensor& grad, const Tensor& x,
                         double alpha, double beta) {
  const char* name = unary_op_name(op);
  EMBER_CHECK(grad.dtype() == grad_in.dtype() && x.dtype() == grad_in.dtype(), name,
              "_backward: CUDA kernel expects operands in the output's dtype, got ", grad.str(),
              ", ", x.str(), " for ", grad_in.str());
  BinaryGeometry g = binary_geometry(name, grad_in, grad, x);
  activation_backward_raw(op, grad_in.dtype(), grad_in.raw_data(), grad.raw_data(), x.raw_data(),
                          g, alpha, beta);
}

}  // namespace EMBER_CUDA_BUILD
}  // namespace cuda
}  // namespace ember
