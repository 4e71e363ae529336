// CPU reductions over any set of dims. Each output reduces one contiguous row
// (the input permuted to [kept..., reduced...]) with independent lanes folded
// into a wider accumulator, so the loops vectorise and the error grows with
// n/1024 rather than n. A sum whose reduced dims lead (a bias gradient) adds
// whole rows to the output instead.
#include "cpu/reduce.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include "core/parallel.h"
#include "cpu/blocked_sum.h"
#include "cpu/widen.h"

namespace ember {
namespace cpu {

Tensor kept_then_reduced(const Tensor& x, const Shape& dims, int64_t& outer, int64_t& inner) {
  Shape order;
  outer = 1;
  inner = 1;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (!std::binary_search(dims.begin(), dims.end(), d)) {
      order.push_back(d);
      outer *= x.size(d);
    }
  }
  for (int64_t d : dims) {
    order.push_back(d);
    inner *= x.size(d);
  }
  return x.permute(order);
}

namespace {

template <typename T>
using wide_t = std::conditional_t<std::is_floating_point_v<T>, double, T>;

template <typename T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::isnan(v);
  } else {
    (void)v;
    return false;
  }
}

// b replaces a when it is more extreme, or NaN (which then sticks).
template <typename T, bool kMax>
inline T pick(T a, T b) {
  if (is_nan(b)) return b;
  return (kMax ? b > a : b < a) ? b : a;
}

// The max (min) of n >= 1 contiguous values, eight lanes at a time.
template <typename T, bool kMax>
T extreme_contiguous(const T* x, int64_t n) {
  constexpr int kLanes = 8;
  T best = x[0];
  int64_t i = 0;
  if (n >= kLanes) {
    T lanes[kLanes];
    for (int k = 0; k < kLanes; ++k) lanes[k] = x[k];
    for (i = kLanes; i + kLanes <= n; i += kLanes)
      for (int k = 0; k < kLanes; ++k) lanes[k] = pick<T, kMax>(lanes[k], x[i + k]);
    for (int k = 0; k < kLanes; ++k) best = pick<T, kMax>(best, lanes[k]);
  }
  for (; i < n; ++i) best = pick<T, kMax>(best, x[i]);
  return best;
}

// Calls f(j, row, n) for every output position j, row being the n reduced
// values of that position, contiguous.
template <typename T, typename F>
void for_each_row(const Tensor& x, const Shape& dims, const F& f) {
  int64_t outer, inner;
  Tensor rows = kept_then_reduced(x, dims, outer, inner).reshape({outer, inner}).contiguous();
  const T* in = static_cast<const T*>(rows.raw_data());
  parallel_for(0, outer, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t j = lo; j < hi; ++j) f(j, in + j * inner, inner);
               });
}

// Calls f(j, row, result_row, n) and writes the result rows back into
// `result` (contiguous, x's shape) at the positions the rows came from.
template <typename T, typename F>
void map_rows(const Tensor& result, const Tensor& x, const Shape& dims, const F& f) {
  int64_t outer, inner;
  Tensor perm = kept_then_reduced(x, dims, outer, inner);
  Tensor rows = perm.reshape({outer, inner}).contiguous();
  Tensor result_perm = kept_then_reduced(result, dims, outer, inner);
  bool direct = result_perm.is_contiguous();
  Tensor target = direct ? result_perm : Tensor::empty(perm.shape(), result.dtype());
  const T* in = static_cast<const T*>(rows.raw_data());
  T* res = static_cast<T*>(target.raw_data());
  parallel_for(0, outer, std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(inner, 1)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t j = lo; j < hi; ++j) f(j, in + j * inner, res + j * inner, inner);
               });
  if (!direct) result_perm.copy_(target);
}

// A keepdim-shaped per-row operand as a flat contiguous array of T.
template <typename T>
Tensor per_row(const Tensor& t) {
  return t.to(dtype_of<T>::value).contiguous();
}

// True when x is contiguous and the reduced dims lead: the output is then
// best built by folding whole rows of x into it (vectorised across the row).
bool reduced_dims_lead(const Tensor& x, const Shape& dims) {
  int64_t outer, inner;
  kept_then_reduced(x, dims, outer, inner);
  return x.is_contiguous() && !dims.empty() && dims.back() == int64_t(dims.size()) - 1 &&
         inner > 1 && outer > 1;
}

// Elements per task of a full sum (a multiple of sum_contiguous's block).
constexpr int64_t kSumChunk = int64_t(1) << 16;

template <typename T>
void sum_kernel(const Tensor& out, const Tensor& x, const Shape& dims) {
  int64_t outer, inner;
  kept_then_reduced(x, dims, outer, inner);
  T* o = static_cast<T*>(out.raw_data());
  if (reduced_dims_lead(x, dims)) {
    const T* in = static_cast<const T*>(x.raw_data());
    int64_t grain = std::max<int64_t>(1, kParallelGrain / inner);
    parallel_for(0, outer, grain, [&](int64_t lo, int64_t hi) {
      std::vector<wide_t<T>> acc(hi - lo, 0);
      for (int64_t r = 0; r < inner; ++r) {
        const T* row = in + r * outer;
        for (int64_t j = lo; j < hi; ++j) acc[j - lo] += row[j];
      }
      for (int64_t j = lo; j < hi; ++j) o[j] = T(acc[j - lo]);
    });
    return;
  }
  if (outer == 1 && inner >= 2 * kSumChunk) {
    // A full sum is one long row: its fixed-size chunks are summed in
    // parallel (one row would keep one thread) and added in order, so the
    // result does not depend on the thread count.
    Tensor flat = kept_then_reduced(x, dims, outer, inner).reshape({inner}).contiguous();
    const T* in = static_cast<const T*>(flat.raw_data());
    std::vector<wide_t<T>> partial((inner + kSumChunk - 1) / kSumChunk);
    parallel_for(0, int64_t(partial.size()), 1, [&](int64_t lo, int64_t hi) {
      for (int64_t c = lo; c < hi; ++c)
        partial[c] = sum_contiguous<T, wide_t<T>>(in + c * kSumChunk,
                                                  std::min(kSumChunk, inner - c * kSumChunk));
    });
    wide_t<T> total = 0;
    for (wide_t<T> value : partial) total += value;
    o[0] = T(total);
    return;
  }
  for_each_row<T>(x, dims, [&](int64_t j, const T* row, int64_t n) {
    o[j] = T(sum_contiguous<T, wide_t<T>>(row, n));
  });
}

template <typename T>
void prod_kernel(const Tensor& out, const Tensor& x, const Shape& dims) {
  T* o = static_cast<T*>(out.raw_data());
  for_each_row<T>(x, dims, [&](int64_t j, const T* row, int64_t n) {
    if constexpr (std::is_floating_point_v<T>) {
      double acc = 1;
      for (int64_t i = 0; i < n; ++i) acc *= row[i];
      o[j] = T(acc);
    } else {
      // Unsigned arithmetic wraps on overflow like PyTorch's, without UB.
      uint64_t acc = 1;
      for (int64_t i = 0; i < n; ++i) acc *= uint64_t(row[i]);
      o[j] = T(acc);
    }
  });
}

template <typename T, bool kMax>
void amax_kernel(const Tensor& out, const Tensor& x, const Shape& dims) {
  T* o = static_cast<T*>(out.raw_data());
  if (reduced_dims_lead(x, dims)) {
    int64_t outer, inner;
    kept_then_reduced(x, dims, outer, inner);
    const T* in = static_cast<const T*>(x.raw_data());
    int64_t grain = std::max<int64_t>(1, kParallelGrain / inner);
    parallel_for(0, outer, grain, [&](int64_t lo, int64_t hi) {
      std::copy(in + lo, in + hi, o + lo);
      for (int64_t r = 1; r < inner; ++r) {
        const T* row = in + r * outer;
        for (int64_t j = lo; j < hi; ++j) o[j] = pick<T, kMax>(o[j], row[j]);
      }
    });
    return;
  }
  for_each_row<T>(x, dims, [&](int64_t j, const T* row, int64_t n) {
    o[j] = extreme_contiguous<T, kMax>(row, n);
  });
}

template <typename T, bool kMax>
void arg_extreme_kernel(const Tensor& values, const Tensor& indices, const Tensor& x,
                        const Shape& dims) {
  T* v = static_cast<T*>(values.raw_data());
  int64_t* idx = static_cast<int64_t*>(indices.raw_data());
  for_each_row<T>(x, dims, [&](int64_t j, const T* row, int64_t n) {
    T best = row[0];
    int64_t where = 0;
    for (int64_t i = 1; i < n && !is_nan(best); ++i) {
      if (is_nan(row[i]) || (kMax ? row[i] > best : row[i] < best)) {
        best = row[i];
        where = i;
      }
    }
    v[j] = best;
    idx[j] = where;
  });
}

template <typename T>
void var_kernel(const Tensor& out, const Tensor& x, const Shape& dims, double correction,
                bool take_sqrt) {
  T* o = static_cast<T*>(out.raw_data());
  for_each_row<T>(x, dims, [&](int64_t j, const T* row, int64_t n) {
    T mean = T(sum_contiguous<T, double>(row, n) / double(n));
    auto square = [mean](T v) { return (v - mean) * (v - mean); };
    double squares = sum_contiguous<T, double>(row, n, square);
    double result = squares / std::max(0.0, double(n) - correction);
    o[j] = T(take_sqrt ? std::sqrt(result) : result);
  });
}

template <typename T>
void logsumexp_kernel(const Tensor& out, const Tensor& x, const Shape& dims) {
  T* o = static_cast<T*>(out.raw_data());
  for_each_row<T>(x, dims, [&](int64_t j, const T* row, int64_t n) {
    if (n == 0) {
      o[j] = -std::numeric_limits<T>::infinity();
      return;
    }
    T peak = extreme_contiguous<T, true>(row, n);
    if (std::isinf(peak) || std::isnan(peak)) {
      o[j] = peak;
      return;
    }
    double total = sum_contiguous<T, double>(row, n, [peak](T v) { return std::exp(v - peak); });
    o[j] = T(double(peak) + std::log(total));
  });
}

template <typename T>
void norm_kernel(const Tensor& out, const Tensor& x, const Shape& dims, double p) {
  T* o = static_cast<T*>(out.raw_data());
  for_each_row<T>(x, dims, [&](int64_t j, const T* row, int64_t n) {
    double result;
    if (std::isinf(p)) {
      double best = std::fabs(double(row[0]));
      for (int64_t i = 1; i < n && !std::isnan(best); ++i) {
        double a = std::fabs(double(row[i]));
        if (std::isnan(a) || (p > 0 ? a > best : a < best)) best = a;
      }
      result = best;
    } else if (p == 0) {
      result = sum_contiguous<T, double>(row, n, [](T v) { return T(v != 0); });
    } else if (p == 1) {
      result = sum_contiguous<T, double>(row, n, [](T v) { return std::fabs(v); });
    } else if (p == 2) {
      result = std::sqrt(sum_contiguous<T, double>(row, n, [](T v) { return v * v; }));
    } else {
      T power = T(p);
      auto term = [power](T v) { return std::pow(std::fabs(v), power); };
      result = std::pow(sum_contiguous<T, double>(row, n, term), 1.0 / p);
    }
    o[j] = T(result);
  });
}

template <typename T>
void prod_backward_kernel(const Tensor& grad_x, const Tensor& grad, const Tensor& x,
                          const Shape& dims) {
  Tensor g = per_row<T>(grad);
  const T* gp = static_cast<const T*>(g.raw_data());
  map_rows<T>(grad_x, x, dims, [&](int64_t j, const T* row, T* res, int64_t n) {
    int64_t zeros = 0, zero_at = 0;
    double others = 1;  // product of the non-zero elements
    for (int64_t i = 0; i < n; ++i) {
      if (row[i] == T(0)) {
        ++zeros;
        zero_at = i;
      } else {
        others *= row[i];
      }
    }
    std::fill(res, res + n, T(0));
    if (zeros == 0) {
      for (int64_t i = 0; i < n; ++i) res[i] = T(gp[j] * (others / row[i]));
    } else if (zeros == 1) {
      res[zero_at] = T(gp[j] * others);
    }
  });
}

template <typename T>
void extreme_weights_kernel(const Tensor& weights, const Tensor& x, const Tensor& out,
                            const Shape& dims) {
  Tensor ref = per_row<T>(out);
  const T* rp = static_cast<const T*>(ref.raw_data());
  map_rows<T>(weights, x, dims, [&](int64_t j, const T* row, T* res, int64_t n) {
    T target = rp[j];
    bool nan_target = is_nan(target);
    int64_t count = 0;
    for (int64_t i = 0; i < n; ++i) {
      bool hit = nan_target ? is_nan(row[i]) : row[i] == target;
      res[i] = T(hit);
      count += hit;
    }
    T share = count ? T(1) / T(count) : T(0);
    for (int64_t i = 0; i < n; ++i) res[i] *= share;
  });
}

template <typename T>
T sign(T v) {
  return T((v > 0) - (v < 0));
}

template <typename T>
void norm_backward_kernel(const Tensor& grad_x, const Tensor& grad, const Tensor& x,
                          const Tensor& out, const Shape& dims, double p) {
  Tensor g = per_row<T>(grad), norms = per_row<T>(out);
  const T* gp = static_cast<const T*>(g.raw_data());
  const T* np = static_cast<const T*>(norms.raw_data());
  map_rows<T>(grad_x, x, dims, [&](int64_t j, const T* row, T* res, int64_t n) {
    T gj = gp[j], norm_j = np[j];
    if (p == 0) {
      std::fill(res, res + n, T(0));
    } else if (std::isinf(p)) {
      int64_t count = 0;
      for (int64_t i = 0; i < n; ++i) count += std::fabs(row[i]) == norm_j;
      T share = count ? gj / T(count) : T(0);
      for (int64_t i = 0; i < n; ++i)
        res[i] = std::fabs(row[i]) == norm_j ? share * sign(row[i]) : T(0);
    } else if (p == 1) {
      for (int64_t i = 0; i < n; ++i) res[i] = gj * sign(row[i]);
    } else if (norm_j == T(0)) {
      std::fill(res, res + n, T(0));
    } else if (p == 2) {
      T scale = gj / norm_j;
      for (int64_t i = 0; i < n; ++i) res[i] = scale * row[i];
    } else {
      T scale = gj / std::pow(norm_j, T(p - 1));
      for (int64_t i = 0; i < n; ++i)
        res[i] = scale * sign(row[i]) * std::pow(std::fabs(row[i]), T(p - 1));
    }
  });
}

}  // namespace

void sum(const Tensor& out, const Tensor& x, const Shape& dims) {
  if (is_half(out.dtype())) {
    return into_widened(out, [&](const Tensor& wide) { sum(wide, widen(x), dims); });
  }
  EMBER_DISPATCH_NUMERIC(x.dtype(), "sum", [&] { sum_kernel<scalar_t>(out, x, dims); });
}

void prod(const Tensor& out, const Tensor& x, const Shape& dims) {
  if (is_half(out.dtype())) {
    return into_widened(out, [&](const Tensor& wide) { prod(wide, widen(x), dims); });
  }
  EMBER_DISPATCH_NUMERIC(x.dtype(), "prod", [&] { prod_kernel<scalar_t>(out, x, dims); });
}

void amax(const Tensor& out, const Tensor& x, const Shape& dims, bool is_max) {
  if (is_half(out.dtype())) {
    return into_widened(out, [&](const Tensor& wide) { amax(wide, widen(x), dims, is_max); });
  }
  EMBER_DISPATCH_NUMERIC(x.dtype(), is_max ? "amax" : "amin", [&] {
    if (is_max) {
      amax_kernel<scalar_t, true>(out, x, dims);
    } else {
      amax_kernel<scalar_t, false>(out, x, dims);
    }
  });
}

void arg_extreme(const Tensor& values, const Tensor& indices, const Tensor& x, const Shape& dims,
                 bool is_max) {
  if (is_half(values.dtype())) {
    return into_widened(values, [&](const Tensor& wide) { arg_extreme(wide, indices, widen(x), dims, is_max); });
  }
  EMBER_DISPATCH_NUMERIC(x.dtype(), is_max ? "max" : "min", [&] {
    if (is_max) {
      arg_extreme_kernel<scalar_t, true>(values, indices, x, dims);
    } else {
      arg_extreme_kernel<scalar_t, false>(values, indices, x, dims);
    }
  });
}

void var(const Tensor& out, const Tensor& x, const Shape& dims, double correction, bool take_sqrt) {
  if (is_half(out.dtype())) {
    return into_widened(out, [&](const Tensor& wide) { var(wide, widen(x), dims, correction, take_sqrt); });
  }
  EMBER_DISPATCH_FLOAT(x.dtype(), take_sqrt ? "std" : "var",
                       [&] { var_kernel<scalar_t>(out, x, dims, correction, take_sqrt); });
}

void logsumexp(const Tensor& out, const Tensor& x, const Shape& dims) {
  if (is_half(out.dtype())) {
    return into_widened(out, [&](const Tensor& wide) { logsumexp(wide, widen(x), dims); });
  }
  EMBER_DISPATCH_FLOAT(x.dtype(), "logsumexp", [&] { logsumexp_kernel<scalar_t>(out, x, dims); });
}

void norm(const Tensor& out, const Tensor& x, const Shape& dims, double p) {
  if (is_half(out.dtype())) {
    return into_widened(out, [&](const Tensor& wide) { norm(wide, widen(x), dims, p); });
  }
  EMBER_DISPATCH_FLOAT(x.dtype(), "norm", [&] { norm_kernel<scalar_t>(out, x, dims, p); });
}

void prod_backward(const Tensor& grad_x, const Tensor& grad, const Tensor& x, const Shape& dims) {
  if (is_half(grad_x.dtype())) {
    return into_widened(grad_x, [&](const Tensor& wide) { prod_backward(wide, widen(grad), widen(x), dims); });
  }
  EMBER_DISPATCH_FLOAT(x.dtype(), "prod_backward",
                       [&] { prod_backward_kernel<scalar_t>(grad_x, grad, x, dims); });
}

void extreme_weights(const Tensor& weights, const Tensor& x, const Tensor& out, const Shape& dims) {
  if (is_half(weights.dtype())) {
    return into_widened(weights, [&](const Tensor& wide) { extreme_weights(wide, widen(x), widen(out), dims); });
  }
  EMBER_DISPATCH_FLOAT(x.dtype(), "extreme_weights",
                       [&] { extreme_weights_kernel<scalar_t>(weights, x, out, dims); });
}

void norm_backward(const Tensor& grad_x, const Tensor& grad, const Tensor& x, const Tensor& out,
                   const Shape& dims, double p) {
  if (is_half(grad_x.dtype())) {
    return into_widened(grad_x, [&](const Tensor& wide) { norm_backward(wide, widen(grad), widen(x), widen(out), dims, p); });
  }
  EMBER_DISPATCH_FLOAT(x.dtype(), "norm_backward",
                       [&] { norm_backward_kernel<scalar_t>(grad_x, grad, x, out, dims, p); });
}

}  // namespace cpu
}  // namespace ember
