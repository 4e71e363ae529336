// CPU elementwise kernels (see elementwise.h).
#include "cpu/elementwise.h"

#include "core/iter.h"

namespace ember {
namespace cpu {

namespace {

// Applies f over one run: a plain loop the compiler vectorises when every
// operand is contiguous or the right operand is a broadcast scalar.
template <typename Out, typename In, typename F>
void binary_loop(const Tensor& out, const Tensor& a, const Tensor& b, const F& f) {
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
  });
}

}  // namespace

void binary(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  EMBER_DISPATCH_ALL(out.dtype(), binary_op_name(op), [&] {
    using T = scalar_t;
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
    }
  });
}

}  // namespace cpu
}  // namespace ember
