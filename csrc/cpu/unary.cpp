// CPU kernels for unary maths, activations (forward and fused backward) and
// clamp (see elementwise.h). float16 and bfloat16 run the float32 kernels on
// widened inputs, rounding each result once (cpu/widen.h).
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "core/iter.h"
#include "cpu/elementwise.h"
#include "cpu/vec_math.h"
#include "cpu/widen.h"

namespace ember {
namespace cpu {

namespace {

constexpr int64_t kMathGrain = 4096;

// Applies f to each element of x: a vectorisable loop on contiguous runs.
template <typename T, typename F>
void map(const Tensor& out, const Tensor& x, const F& f, int64_t grain = kMathGrain) {
  for_each_run<2>({out, x}, [&](char** p, const int64_t* s, int64_t n) {
    if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
      auto* o = reinterpret_cast<T*>(p[0]);
      const auto* in = reinterpret_cast<const T*>(p[1]);
      for (int64_t i = 0; i < n; ++i) o[i] = f(in[i]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<T*>(p[0] + i * s[0]) = f(*reinterpret_cast<const T*>(p[1] + i * s[1]));
    }
  }, grain);
}

// Like map, but float32 and float64 go through the vector kernel `op` (f is
// the scalar form for other dtypes). Strided runs are gathered into a small
// buffer so that every layout gives the same bits.
template <typename T, typename F>
void map_vec(vec::MapOp op, const Tensor& out, const Tensor& x, const F& f) {
  if constexpr (!std::is_same_v<T, float> && !std::is_same_v<T, double>) {
    map<T>(out, x, f);
  } else {
    for_each_run<2>({out, x}, [&](char** p, const int64_t* s, int64_t n) {
      if (s[0] == sizeof(T) && s[1] == sizeof(T)) {
        vec::map(op, reinterpret_cast<const T*>(p[1]), reinterpret_cast<T*>(p[0]), n);
        return;
      }
      constexpr int64_t kChunk = 256;
      T buffer[kChunk];
      for (int64_t start = 0; start < n; start += kChunk) {
        const int64_t len = std::min(kChunk, n - start);
        for (int64_t i = 0; i < len; ++i)
          buffer[i] = *reinterpret_cast<const T*>(p[1] + (start + i) * s[1]);
        vec::map(op, buffer, buffer, len);
        for (int64_t i = 0; i < len; ++i)
          *reinterpret_cast<T*>(p[0] + (start + i) * s[0]) = buffer[i];
      }
    }, kMathGrain);
  }
}

// out = f(grad, x) over three operands of one dtype.
template <typename T, typename F>
void map_grad(const Tensor& out, const Tensor& grad, const Tensor& x, const F& f) {
  for_each_run<3>({out, grad, x}, [&](char** p, const int64_t* s, int64_t n) {
    if (s[0] == sizeof(T) && s[1] == sizeof(T) && s[2] == sizeof(T)) {
      auto* o = reinterpret_cast<T*>(p[0]);
      const auto* g = reinterpret_cast<const T*>(p[1]);
      const auto* in = reinterpret_cast<const T*>(p[2]);
      for (int64_t i = 0; i < n; ++i) o[i] = f(g[i], in[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) {
        *reinterpret_cast<T*>(p[0] + i * s[0]) = f(*reinterpret_cast<const T*>(p[1] + i * s[1]),
                                                   *reinterpret_cast<const T*>(p[2] + i * s[2]));
      }
    }
  }, kMathGrain);
}

// Never overflows exp(): for negative x it is written through exp(x).
template <typename T>
T sigmoid(T x) {
  if (x >= 0) return T(1) / (T(1) + std::exp(-x));
  T e = std::exp(x);
  return e / (T(1) + e);
}

template <typename T>
struct Gelu {
  static constexpr T kInvSqrt2 = T(0.70710678118654752440);
  static constexpr T kInvSqrt2Pi = T(0.39894228040143267794);
  static constexpr T kSqrt2OverPi = T(0.79788456080286535588);
  static constexpr T kCubic = T(0.044715);

  static T exact(T x) { return T(0.5) * x * (T(1) + std::erf(x * kInvSqrt2)); }
  static T exact_grad(T x) {
    return T(0.5) * (T(1) + std::erf(x * kInvSqrt2)) + x * kInvSqrt2Pi * std::exp(T(-0.5) * x * x);
  }
  static T tanh_form(T x) {
    return T(0.5) * x * (T(1) + std::tanh(kSqrt2OverPi * (x + kCubic * x * x * x)));
  }
  static T tanh_grad(T x) {
    T t = std::tanh(kSqrt2OverPi * (x + kCubic * x * x * x));
    return T(0.5) * (T(1) + t) +
           T(0.5) * x * (T(1) - t * t) * kSqrt2OverPi * (T(1) + T(3) * kCubic * x * x);
  }
};

template <typename T>
void float_unary(UnaryOp op, const Tensor& out, const Tensor& x, T alpha, T beta) {
  switch (op) {
    case UnaryOp::exp: return map_vec<T>(vec::MapOp::exp, out, x, [](T v) { return std::exp(v); });
    case UnaryOp::log: return map_vec<T>(vec::MapOp::log, out, x, [](T v) { return std::log(v); });
    case UnaryOp::log1p: return map<T>(out, x, [](T v) { return std::log1p(v); });
    case UnaryOp::expm1: return map<T>(out, x, [](T v) { return std::expm1(v); });
    case UnaryOp::sqrt: return map<T>(out, x, [](T v) { return std::sqrt(v); });
    case UnaryOp::rsqrt: return map<T>(out, x, [](T v) { return T(1) / std::sqrt(v); });
    case UnaryOp::sin: return map<T>(out, x, [](T v) { return std::sin(v); });
    case UnaryOp::cos: return map<T>(out, x, [](T v) { return std::cos(v); });
    case UnaryOp::tanh:
      return map_vec<T>(vec::MapOp::tanh, out, x, [](T v) { return std::tanh(v); });
    case UnaryOp::sigmoid:
      return map_vec<T>(vec::MapOp::sigmoid, out, x, [](T v) { return sigmoid(v); });
    case UnaryOp::reciprocal: return map<T>(out, x, [](T v) { return T(1) / v; });
    case UnaryOp::floor: return map<T>(out, x, [](T v) { return std::floor(v); });
    case UnaryOp::ceil: return map<T>(out, x, [](T v) { return std::ceil(v); });
    // nearbyint rounds half to even under the default rounding mode, like PyTorch.
    case UnaryOp::round: return map<T>(out, x, [](T v) { return std::nearbyint(v); });
    case UnaryOp::trunc: return map<T>(out, x, [](T v) { return std::trunc(v); });
    case UnaryOp::silu:
      return map_vec<T>(vec::MapOp::silu, out, x, [](T v) { return v * sigmoid(v); });
    case UnaryOp::gelu: return map<T>(out, x, [](T v) { return Gelu<T>::exact(v); });
    case UnaryOp::gelu_tanh: return map<T>(out, x, [](T v) { return Gelu<T>::tanh_form(v); });
    case UnaryOp::leaky_relu:
      return map<T>(out, x, [alpha](T v) { return v > 0 ? v : v * alpha; });
    case UnaryOp::elu:
      return map<T>(out, x, [alpha](T v) { return v > 0 ? v : alpha * std::expm1(v); });
    case UnaryOp::softplus:
      return map<T>(out, x, [alpha, beta](T v) {
        return v * alpha > beta ? v : std::log1p(std::exp(v * alpha)) / alpha;
      });
    default:
      EMBER_FAIL(runtime, unary_op_name(op), ": no CPU kernel");
  }
}

// Integer negation and products wrap on overflow (as in PyTorch) rather
// than being undefined: they go through the unsigned type.
template <typename T>
T wrapping_negate(T v) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(std::make_unsigned_t<T>(0) - static_cast<std::make_unsigned_t<T>>(v));
  } else {
    return -v;
  }
}

template <typename T>
T wrapping_square(T v) {
  if constexpr (std::is_integral_v<T>) {
    auto u = static_cast<std::make_unsigned_t<T>>(v);
    return static_cast<T>(u * u);
  } else {
    return v * v;
  }
}

// The ops that are defined for every numeric dtype (and bool where PyTorch
// allows it); true is returned when `op` was one of them.
template <typename T>
bool exact_unary(UnaryOp op, const Tensor& out, const Tensor& x) {
  switch (op) {
    case UnaryOp::logical_not: map<T>(out, x, [](T v) { return T(!v); }, kParallelGrain); return true;
    case UnaryOp::neg:
      if constexpr (std::is_same_v<T, bool>) break;
      else map<T>(out, x, [](T v) { return wrapping_negate(v); }, kParallelGrain);
      return true;
    case UnaryOp::abs:
      if constexpr (std::is_same_v<T, bool>) break;
      else map<T>(out, x, [](T v) { return v < 0 ? wrapping_negate(v) : v; }, kParallelGrain);
      return true;
    case UnaryOp::sign:
      if constexpr (std::is_same_v<T, bool>) break;
      else map<T>(out, x, [](T v) { return T((T(0) < v) - (v < T(0))); }, kParallelGrain);
      return true;
    case UnaryOp::square:
      if constexpr (std::is_same_v<T, bool>) break;
      else map<T>(out, x, [](T v) { return wrapping_square(v); }, kParallelGrain);
      return true;
    case UnaryOp::relu:
      if constexpr (std::is_same_v<T, bool>) break;
      else map<T>(out, x, [](T v) { return v > T(0) ? v : T(0); }, kParallelGrain);
      return true;
    case UnaryOp::bitwise_not:
      if constexpr (std::is_same_v<T, bool>) {
        map<T>(out, x, [](T v) { return !v; }, kParallelGrain);
      } else if constexpr (std::is_integral_v<T>) {
        map<T>(out, x, [](T v) { return T(~v); }, kParallelGrain);
      } else {
        break;
      }
      return true;
    case UnaryOp::floor:
    case UnaryOp::ceil:
    case UnaryOp::round:
    case UnaryOp::trunc:
      if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        map<T>(out, x, [](T v) { return v; }, kParallelGrain);
        return true;
      }
      break;
    default:
      break;
  }
  return false;
}

}  // namespace

void unary(UnaryOp op, const Tensor& out, const Tensor& x, double alpha, double beta) {
  if (is_half(out.dtype())) {
    return into_widened(out, [&](const Tensor& o) { unary(op, o, widen(x), alpha, beta); });
  }
  const char* name = unary_op_name(op);
  EMBER_DISPATCH_ALL(out.dtype(), name, [&] {
    using T = scalar_t;
    if (exact_unary<T>(op, out, x)) return;
    if constexpr (std::is_floating_point_v<T>) {
      float_unary<T>(op, out, x, T(alpha), T(beta));
    } else {
      EMBER_FAIL(type, name, ": unsupported dtype ", dtype_name(out.dtype()));
    }
  });
}

void activation_backward(UnaryOp op, const Tensor& grad_in, const Tensor& grad, const Tensor& x,
                         double alpha, double beta) {
  if (is_half(grad_in.dtype())) {
    return into_widened(grad_in, [&](const Tensor& o) {
      activation_backward(op, o, widen(grad), widen(x), alpha, beta);
    });
  }
  const char* name = unary_op_name(op);
  EMBER_DISPATCH_FLOAT(grad_in.dtype(), name, [&] {
    using T = scalar_t;
    const T a = T(alpha), b = T(beta);
    switch (op) {
      case UnaryOp::relu:
        return map_grad<T>(grad_in, grad, x, [](T g, T v) { return v > 0 ? g : T(0); });
      case UnaryOp::leaky_relu:
        return map_grad<T>(grad_in, grad, x, [a](T g, T v) { return v > 0 ? g : g * a; });
      case UnaryOp::elu:
        return map_grad<T>(grad_in, grad, x, [a](T g, T v) { return v > 0 ? g : g * a * std::exp(v); });
      case UnaryOp::softplus:
        return map_grad<T>(grad_in, grad, x,
                           [a, b](T g, T v) { return v * a > b ? g : g * sigmoid(v * a); });
      case UnaryOp::silu:
        return map_grad<T>(grad_in, grad, x, [](T g, T v) {
          T s = sigmoid(v);
          return g * s * (T(1) + v * (T(1) - s));
        });
      case UnaryOp::gelu:
        return map_grad<T>(grad_in, grad, x, [](T g, T v) { return g * Gelu<T>::exact_grad(v); });
      case UnaryOp::gelu_tanh:
        return map_grad<T>(grad_in, grad, x, [](T g, T v) { return g * Gelu<T>::tanh_grad(v); });
      default:
        EMBER_FAIL(value, name, ": no fused backward kernel for this op");
    }
  });
}

void clamp(const Tensor& out, const Tensor& x, Scalar lo, bool has_lo, Scalar hi, bool has_hi) {
  if (is_half(out.dtype())) {
    return into_widened(out, [&](const Tensor& o) { clamp(o, widen(x), lo, has_lo, hi, has_hi); });
  }
  EMBER_DISPATCH_NUMERIC(out.dtype(), "clamp", [&] {
    using T = scalar_t;
    const T low = lo.to<T>(), high = hi.to<T>();
    if (has_lo && has_hi && low > high) {
      // An empty range clamps everything to max, as in PyTorch; NaN stays NaN.
      map<T>(out, x, [high](T v) { return v != v ? v : high; }, kParallelGrain);
    } else if (has_lo && has_hi) {
      // NaN compares false both ways and so passes through.
      map<T>(out, x, [low, high](T v) { return v < low ? low : (v > high ? high : v); },
             kParallelGrain);
    } else if (has_lo) {
      map<T>(out, x, [low](T v) { return v < low ? low : v; }, kParallelGrain);
    } else {
      map<T>(out, x, [high](T v) { return v > high ? high : v; }, kParallelGrain);
    }
  });
}

}  // namespace cpu
}  // namespace ember
