// CPU kernels along one dim: softmax / log_softmax (forward and fused
// backward), cumsum, and the gather / scatter-add that route a max/min
// gradient to the chosen elements. The input is made contiguous and viewed as
// [outer, n, inner]; with inner == 1 each row is a contiguous run, otherwise
// the loops run across `inner` so they stay contiguous and vectorise.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/parallel.h"
#include "cpu/reduce.h"
#include "cpu/vec_math.h"
#include "cpu/widen.h"

namespace ember {
namespace cpu {

namespace {

// Columns of the [outer, n, inner] view handled by one task when inner > 1.
constexpr int64_t kColumnBlock = 256;

struct DimLayout {
  int64_t outer = 1, n = 1, inner = 1;
  DimLayout(const Shape& shape, int64_t dim) {
    for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
      if (d < dim) outer *= shape[d];
      if (d > dim) inner *= shape[d];
    }
    n = shape.empty() ? 1 : shape[dim];
  }
};

// Calls f(o, k0, k1) for every block of columns [k0, k1) of every outer index o.
template <typename F>
void for_each_column_block(const DimLayout& l, const F& f) {
  int64_t blocks = (l.inner + kColumnBlock - 1) / kColumnBlock;
  int64_t work = std::max<int64_t>(1, l.n * std::min(l.inner, kColumnBlock));
  parallel_for(0, l.outer * blocks, std::max<int64_t>(1, kParallelGrain / work),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t t = lo; t < hi; ++t) {
                   int64_t k0 = (t % blocks) * kColumnBlock;
                   f(t / blocks, k0, std::min(l.inner, k0 + kColumnBlock));
                 }
               });
}

template <typename F>
void for_each_row(const DimLayout& l, const F& f) {
  parallel_for(0, l.outer, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(l.n, 1)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t o = lo; o < hi; ++o) f(o);
               });
}

template <typename T>
void softmax_kernel(const Tensor& out, const Tensor& x, int64_t dim, bool log) {
  Tensor xc = x.contiguous();
  DimLayout l(x.shape(), dim);
  const T* in = static_cast<const T*>(xc.raw_data());
  T* res = static_cast<T*>(out.raw_data());
  if (l.n == 0) return;
  if (l.inner == 1) {
    for_each_row(l, [&](int64_t o) {
      const T* row = in + o * l.n;
      T* dst = res + o * l.n;
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        // float32 log_softmax needs no exps stored: the one-pass log-sum-exp
        // (whose infinite results, from an infinite maximum, are NaN here as
        // with the passes below), then the shift.
        if constexpr (std::is_same_v<T, float>) {
          if (log) {
            const double lse = vec::log_sum_exp(row, l.n);
            const T shift = std::isinf(lse) ? NAN : T(lse);
            vec::affine(row, T(1), -shift, dst, l.n);
            return;
          }
        }
        // Otherwise three passes: max, fused exp + sum (exp stored for
        // softmax), then scale or shift; each runs on the vector kernels.
        // Only the first reads memory: a row of up to a few thousand
        // elements stays in L1.
        const T peak = vec::max(row, l.n);
        const double total = vec::exp_sum(row, peak, log ? nullptr : dst, l.n);
        if (log)
          vec::affine(row, T(1), -T(peak + std::log(total)), dst, l.n);
        else
          vec::affine(dst, T(1.0 / total), T(0), dst, l.n);
        return;
      }
      T peak = row[0];
      for (int64_t i = 1; i < l.n; ++i) peak = std::max(peak, row[i]);
      double total = 0;
      if (log) {
        for (int64_t i = 0; i < l.n; ++i) total += std::exp(row[i] - peak);
        T shift = T(peak + std::log(total));
        for (int64_t i = 0; i < l.n; ++i) dst[i] = row[i] - shift;
      } else {
        for (int64_t i = 0; i < l.n; ++i) {
          dst[i] = std::exp(row[i] - peak);
          total += dst[i];
        }
        T scale = T(1.0 / total);
        for (int64_t i = 0; i < l.n; ++i) dst[i] *= scale;
      }
    });
    return;
  }
  for_each_column_block(l, [&](int64_t o, int64_t k0, int64_t k1) {
    int64_t width = k1 - k0;
    std::vector<T> peak(in + o * l.n * l.inner + k0, in + o * l.n * l.inner + k1);
    std::vector<double> total(width, 0.0);
    auto src = [&](int64_t i) { return in + (o * l.n + i) * l.inner + k0; };
    auto dst = [&](int64_t i) { return res + (o * l.n + i) * l.inner + k0; };
    for (int64_t i = 1; i < l.n; ++i)
      for (int64_t k = 0; k < width; ++k) peak[k] = std::max(peak[k], src(i)[k]);
    std::vector<T> shifted(width);
    for (int64_t i = 0; i < l.n; ++i) {
      const T* s = src(i);
      T* d = dst(i);
      if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
        for (int64_t k = 0; k < width; ++k) shifted[k] = s[k] - peak[k];
        vec::map(vec::MapOp::exp, shifted.data(), shifted.data(), width);
      } else {
        for (int64_t k = 0; k < width; ++k) shifted[k] = std::exp(s[k] - peak[k]);
      }
      for (int64_t k = 0; k < width; ++k) {
        if (!log) d[k] = shifted[k];
        total[k] += shifted[k];
      }
    }
    for (int64_t k = 0; k < width; ++k)
      total[k] = log ? peak[k] + std::log(total[k]) : 1.0 / total[k];
    for (int64_t i = 0; i < l.n; ++i) {
      const T* s = src(i);
      T* d = dst(i);
      for (int64_t k = 0; k < width; ++k) d[k] = T(log ? s[k] - total[k] : d[k] * total[k]);
    }
  });
}

template <typename T>
void softmax_backward_kernel(const Tensor& grad_x, const Tensor& grad, const Tensor& y,
                             int64_t dim, bool log) {
  Tensor gc = grad.contiguous(), yc = y.contiguous();
  DimLayout l(y.shape(), dim);
  const T* g = static_cast<const T*>(gc.raw_data());
  const T* out = static_cast<const T*>(yc.raw_data());
  T* res = static_cast<T*>(grad_x.raw_data());
  if (l.n == 0) return;
  // softmax: dot = sum(g * y), gx = y * (g - dot);
  // log_softmax: dot = sum(g), gx = g - exp(y) * dot.
  if (l.inner == 1) {
    for_each_row(l, [&](int64_t o) {
      const T* gr = g + o * l.n;
      const T* yr = out + o * l.n;
      T* dst = res + o * l.n;
      double sum = 0;
      for (int64_t i = 0; i < l.n; ++i) sum += log ? gr[i] : gr[i] * yr[i];
      T dot = T(sum);
      for (int64_t i = 0; i < l.n; ++i)
        dst[i] = log ? gr[i] - std::exp(yr[i]) * dot : yr[i] * (gr[i] - dot);
    });
    return;
  }
  for_each_column_block(l, [&](int64_t o, int64_t k0, int64_t k1) {
    int64_t width = k1 - k0;
    std::vector<double> dot(width, 0.0);
    for (int64_t i = 0; i < l.n; ++i) {
      int64_t base = (o * l.n + i) * l.inner + k0;
      for (int64_t k = 0; k < width; ++k) dot[k] += log ? g[base + k] : g[base + k] * out[base + k];
    }
    for (int64_t i = 0; i < l.n; ++i) {
      int64_t base = (o * l.n + i) * l.inner + k0;
      for (int64_t k = 0; k < width; ++k) {
        T gv = g[base + k], yv = out[base + k];
        T d = T(dot[k]);
        res[base + k] = log ? gv - std::exp(yv) * d : yv * (gv - d);
      }
    }
  });
}

template <typename T>
using wide_t = std::conditional_t<std::is_floating_point_v<T>, double, T>;

template <typename T>
void cumsum_kernel(const Tensor& out, const Tensor& x, int64_t dim, bool reverse) {
  Tensor xc = x.contiguous();
  DimLayout l(x.shape(), dim);
  const T* in = static_cast<const T*>(xc.raw_data());
  T* res = static_cast<T*>(out.raw_data());
  if (l.n == 0) return;
  for_each_column_block(l, [&](int64_t o, int64_t k0, int64_t k1) {
    std::vector<wide_t<T>> acc(k1 - k0, 0);
    for (int64_t step = 0; step < l.n; ++step) {
      int64_t i = reverse ? l.n - 1 - step : step;
      int64_t base = (o * l.n + i) * l.inner + k0;
      for (int64_t k = 0; k < k1 - k0; ++k) {
        acc[k] += in[base + k];
        res[base + k] = T(acc[k]);
      }
    }
  });
}

}  // namespace

void softmax(const Tensor& out, const Tensor& x, int64_t dim, bool log) {
  if (is_half(out.dtype())) {
    return into_widened(out, [&](const Tensor& wide) { softmax(wide, widen(x), dim, log); });
  }
  EMBER_DISPATCH_FLOAT(x.dtype(), log ? "log_softmax" : "softmax",
                       [&] { softmax_kernel<scalar_t>(out, x, dim, log); });
}

void softmax_backward(const Tensor& grad_x, const Tensor& grad, const Tensor& y, int64_t dim,
                      bool log) {
  if (is_half(grad_x.dtype())) {
    return into_widened(grad_x, [&](const Tensor& wide) { softmax_backward(wide, widen(grad), widen(y), dim, log); });
  }
  EMBER_DISPATCH_FLOAT(y.dtype(), log ? "log_softmax_backward" : "softmax_backward",
                       [&] { softmax_backward_kernel<scalar_t>(grad_x, grad, y, dim, log); });
}

void cumsum(const Tensor& out, const Tensor& x, int64_t dim, bool reverse) {
  if (is_half(out.dtype())) {
    return into_widened(out, [&](const Tensor& wide) { cumsum(wide, widen(x), dim, reverse); });
  }
  EMBER_DISPATCH_NUMERIC(x.dtype(), "cumsum",
                         [&] { cumsum_kernel<scalar_t>(out, x, dim, reverse); });
}

}  // namespace cpu
}  // namespace ember
