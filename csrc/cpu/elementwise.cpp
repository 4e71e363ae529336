// CPU kernels for binary arithmetic, comparisons, where and the value scans
// the entry points run before integer kernels (see elementwise.h). float16
// and bfloat16 operands are widened to float32 (cpu/widen.h); where copies
// them as they are.
#include "cpu/elementwise.h"

#include <atomic>
#include <cmath>
#include <type_traits>

#include "core/iter.h"
#include "cpu/widen.h"

namespace ember {
namespace cpu {

namespace {

// Transcendental work per element is far above a copy's, so threads pay off
// on smaller tensors.
constexpr int64_t kMathGrain = 4096;

// Applies f over one run: a plain loop the compiler vectorises when every
// operand is contiguous or the right operand is a broadcast scalar.
template <typename Out, typename In, typename F>
void binary_loop(const Tensor& out, const Tensor& a, const Tensor& b, const F& f,
                 int64_t grain = kParallelGrain) {
  for_each_run<3>({out, a, b}, [&](char** p, const int64_t* s, int64_t n) {
    auto* o = reinterpret_cast<Out*>(p[0]);
    const auto* x = reinterpret_cast<const In*>(p[1]);
    const auto* y = reinterpret_cast<const In*>(p[2]);
    if (s[0] == sizeof(Out) && s[1] == sizeof(In) && s[2] == sizeof(In)) {
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
    } else if (s[0] == sizeof(Out) && s[1] == sizeof(In) && s[2] == 0) {
      const In yv = *y;
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
    } else {
      for (int64_t i = 0; i < n; ++i) {
        *reinterpret_cast<Out*>(p[0] + i * s[0]) = f(*reinterpret_cast<const In*>(p[1] + i * s[1]),
                                                     *reinterpret_cast<const In*>(p[2] + i * s[2]));
      }
    }
  }, grain);
}

// Python's floor division: the quotient rounded toward -inf, computed from
// fmod so that it stays exact where a / b would round (PyTorch's formula).
template <typename T>
T floor_div(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (b == 0) return a / b;
    T mod = std::fmod(a, b);
    T div = (a - mod) / b;
    if (mod != 0 && ((b < 0) != (mod < 0))) div -= T(1);
    if (div == 0) return std::copysign(T(0), a / b);
    T floored = std::floor(div);
    if (div - floored > T(0.5)) floored += T(1);
    return floored;
  } else {
    // min / -1 overflows (and traps on x86): it wraps to min, as in PyTorch.
    if (b == T(-1)) return T(T(0) - static_cast<std::make_unsigned_t<T>>(a));
    T q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
  }
}

// Python's remainder: the sign follows the divisor.
template <typename T>
T python_mod(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    T mod = std::fmod(a, b);
    if (mod != 0 && ((b < 0) != (mod < 0))) mod += b;
    return mod;
  } else {
    if (b == T(-1)) return T(0);
    T mod = a % b;
    if (mod != 0 && ((b < 0) != (mod < 0))) mod += b;
    return mod;
  }
}

// Integer power by squaring; the exponent is known to be non-negative.
// Unsigned arithmetic makes overflow wrap (as in PyTorch) instead of being
// undefined.
template <typename T>
T int_pow(T base, T exponent) {
  using U = std::make_unsigned_t<T>;
  U result = 1, b = static_cast<U>(base);
  while (exponent > 0) {
    if (exponent & 1) result *= b;
    b *= b;
    exponent >>= 1;
  }
  return static_cast<T>(result);
}

template <typename T>
T max_propagating_nan(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return a + b;
  }
  return a > b ? a : b;
}

template <typename T>
T min_propagating_nan(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(a) || std::isnan(b)) return a + b;
  }
  return a < b ? a : b;
}

template <typename T>
void arithmetic(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  const char* name = binary_op_name(op);
  switch (op) {
    case BinaryOp::add:
      if constexpr (std::is_same_v<T, bool>) {
        return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(x || y); });
      } else {
        return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(x + y); });
      }
    case BinaryOp::sub:
      return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(x - y); });
    case BinaryOp::mul:
      if constexpr (std::is_same_v<T, bool>) {
        return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(x && y); });
      } else {
        return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(x * y); });
      }
    case BinaryOp::div:
      return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(x / y); });
    case BinaryOp::maximum:
      return binary_loop<T, T>(out, a, b, [](T x, T y) { return max_propagating_nan(x, y); });
    case BinaryOp::minimum:
      return binary_loop<T, T>(out, a, b, [](T x, T y) { return min_propagating_nan(x, y); });
    case BinaryOp::floor_divide:
    case BinaryOp::remainder:
    case BinaryOp::pow:
      break;
  }
  if constexpr (std::is_same_v<T, bool>) {
    EMBER_FAIL(type, name, ": unsupported dtype bool");
  } else {
    switch (op) {
      case BinaryOp::floor_divide:
        return binary_loop<T, T>(out, a, b, [](T x, T y) { return floor_div(x, y); });
      case BinaryOp::remainder:
        return binary_loop<T, T>(out, a, b, [](T x, T y) { return python_mod(x, y); });
      case BinaryOp::pow:
        if constexpr (std::is_floating_point_v<T>) {
          return binary_loop<T, T>(out, a, b, [](T x, T y) { return T(std::pow(x, y)); },
                                   kMathGrain);
        } else {
          return binary_loop<T, T>(out, a, b, [](T x, T y) { return int_pow(x, y); });
        }
      default:
        EMBER_FAIL(runtime, name, ": no CPU kernel");
    }
  }
}

template <typename T>
void comparison(CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  switch (op) {
    case CompareOp::eq: return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x == y; });
    case CompareOp::ne: return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x != y; });
    case CompareOp::lt: return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x < y; });
    case CompareOp::le: return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x <= y; });
    case CompareOp::gt: return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x > y; });
    case CompareOp::ge: return binary_loop<bool, T>(out, a, b, [](T x, T y) { return x >= y; });
    case CompareOp::logical_and:
      return binary_loop<bool, T>(out, a, b, [](T x, T y) { return bool(x) && bool(y); });
    case CompareOp::logical_or:
      return binary_loop<bool, T>(out, a, b, [](T x, T y) { return bool(x) || bool(y); });
    case CompareOp::logical_xor:
      return binary_loop<bool, T>(out, a, b, [](T x, T y) { return bool(x) != bool(y); });
  }
}

template <typename T, typename Pred>
bool any_of(const Tensor& t, const Pred& pred) {
  std::atomic<bool> found{false};
  for_each_run<1>({t}, [&](char** p, const int64_t* s, int64_t n) {
    bool local = false;
    for (int64_t i = 0; i < n; ++i) local |= pred(*reinterpret_cast<const T*>(p[0] + i * s[0]));
    if (local) found.store(true, std::memory_order_relaxed);
  });
  return found.load();
}

}  // namespace

void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  if (is_half(out.dtype())) {
    return into_widened(out, [&](const Tensor& o) { binary(op, o, widen(a), widen(b)); });
  }
  EMBER_DISPATCH_ALL(out.dtype(), binary_op_name(op), [&] { arithmetic<scalar_t>(op, out, a, b); });
}

void compare(CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  // Widening is exact, so float32 compares the 16-bit values themselves.
  if (is_half(a.dtype())) return compare(op, out, widen(a), widen(b));
  EMBER_DISPATCH_ALL(a.dtype(), compare_op_name(op), [&] { comparison<scalar_t>(op, out, a, b); });
}

void where(const Tensor& out, const Tensor& condition, const Tensor& x, const Tensor& y) {
  EMBER_DISPATCH_ALL_AND_HALF(out.dtype(), "where", [&] {
    using T = scalar_t;
    for_each_run<4>({out, condition, x, y}, [&](char** p, const int64_t* s, int64_t n) {
      if (s[0] == sizeof(T) && s[1] == 1 && s[2] == sizeof(T) && s[3] == sizeof(T)) {
        auto* o = reinterpret_cast<T*>(p[0]);
        const auto* c = reinterpret_cast<const bool*>(p[1]);
        const auto* xv = reinterpret_cast<const T*>(p[2]);
        const auto* yv = reinterpret_cast<const T*>(p[3]);
        for (int64_t i = 0; i < n; ++i) o[i] = c[i] ? xv[i] : yv[i];
      } else {
        for (int64_t i = 0; i < n; ++i) {
          bool c = *reinterpret_cast<const bool*>(p[1] + i * s[1]);
          *reinterpret_cast<T*>(p[0] + i * s[0]) =
              c ? *reinterpret_cast<const T*>(p[2] + i * s[2])
                : *reinterpret_cast<const T*>(p[3] + i * s[3]);
        }
      }
    });
  });
}

bool has_zero(const Tensor& t) {
  return EMBER_DISPATCH_ALL(t.dtype(), "has_zero", [&] {
    return any_of<scalar_t>(t, [](scalar_t v) { return v == scalar_t(0); });
  });
}

bool has_negative(const Tensor& t) {
  return EMBER_DISPATCH_ALL(t.dtype(), "has_negative", [&] {
    return any_of<scalar_t>(t, [](scalar_t v) { return v < scalar_t(0); });
  });
}

}  // namespace cpu
}  // namespace ember
