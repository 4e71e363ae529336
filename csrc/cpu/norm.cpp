// CPU normalisation kernels (see norm.h): one-pass shifted statistics in
// double, fused affine, fused backward. Batch norm runs in parallel over channels,
// layer and group norm over rows (and over channels for the weight grads).
#include "cpu/norm.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/parallel.h"
#include "cpu/vec_math.h"

namespace ember {
namespace cpu {

namespace {

// A strided 1-D parameter read as double; an undefined tensor reads as
// `fallback` so absent weights/biases need no special case in the loops.
struct Param {
  const char* base = nullptr;
  int64_t stride = 0;
  bool is_double = false;
  double fallback = 0;

  Param(const Tensor& t, double fallback_value) : fallback(fallback_value) {
    if (!t.defined()) return;
    base = static_cast<const char*>(t.raw_data());
    stride = t.stride(0) * int64_t(t.element_size());
    is_double = t.dtype() == DType::float64;
  }
  double operator[](int64_t i) const {
    if (!base) return fallback;
    const char* p = base + i * stride;
    return is_double ? *reinterpret_cast<const double*>(p) : *reinterpret_cast<const float*>(p);
  }
};

template <typename T>
void store(const Tensor& t, int64_t i, double v) {
  *reinterpret_cast<T*>(static_cast<char*>(t.raw_data()) + i * t.stride(0) * int64_t(sizeof(T))) =
      T(v);
}

int64_t grain_for(int64_t work_per_item) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work_per_item, 1));
}

// ---------------------------------------------------------------------------
// The contiguous inner loops. The statistics and the normalise/grad passes
// convert to double (a large mean cancels in x * scale + shift), which the
// baseline x86-64 target does two lanes at a time without FMA: at that width
// these loops, not memory, set the speed. So each loop is written once with
// vector extensions of W doubles and compiled for AVX-512 (W = 8) and
// AVX2+FMA (W = 4) inside wrappers with those targets, chosen at run time.

// Every function taking or returning a vector is inlined into a wrapper
// built for the matching target, so no call passes vectors across the ABI
// that -Wpsabi warns about.
#pragma GCC diagnostic ignored "-Wpsabi"

#define EMBER_NORM_INLINE __attribute__((always_inline)) inline

template <int W>
struct Wide;
template <>
struct Wide<4> {
  typedef double D __attribute__((vector_size(32)));
  typedef float F __attribute__((vector_size(16)));
};
template <>
struct Wide<8> {
  typedef double D __attribute__((vector_size(64)));
  typedef float F __attribute__((vector_size(32)));
};

template <int W>
EMBER_NORM_INLINE typename Wide<W>::D load_wide(const float* p) {
  typename Wide<W>::F v;
  std::memcpy(&v, p, sizeof(v));
  return __builtin_convertvector(v, typename Wide<W>::D);
}
// GCC 12 splits the 8-lane conversions into 4-lane halves and inserts; the
// single AVX-512 instruction is a third of the work per vector. Not
// always_inline: only the AVX-512 wrappers may inline them, which they do
// once the generic loop is inlined there.
template <>
__attribute__((target("avx512f"))) inline Wide<8>::D load_wide<8>(const float* p) {
  // The maskz forms here: the plain ones read an undefined source that GCC 12
  // warns about.
  return Wide<8>::D(_mm512_maskz_cvtps_pd(__mmask8(0xff), _mm256_loadu_ps(p)));
}
template <int W>
EMBER_NORM_INLINE typename Wide<W>::D load_wide(const double* p) {
  typename Wide<W>::D v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}
template <int W>
EMBER_NORM_INLINE void store_wide(float* p, typename Wide<W>::D v) {
  const auto f = __builtin_convertvector(v, typename Wide<W>::F);
  std::memcpy(p, &f, sizeof(f));
}
template <>
__attribute__((target("avx512f"))) inline void store_wide<8>(float* p, Wide<8>::D v) {
  _mm256_storeu_ps(p, _mm512_maskz_cvtpd_ps(__mmask8(0xff), __m512d(v)));
}
template <int W>
EMBER_NORM_INLINE void store_wide(double* p, typename Wide<W>::D v) {
  std::memcpy(p, &v, sizeof(v));
}
template <int W>
EMBER_NORM_INLINE double lane_total(typename Wide<W>::D v) {
  double t = 0;
  for (int k = 0; k < W; ++k) t += v[k];
  return t;
}

// acc[0] += sum(x - shift), acc[1] += sum((x - shift)^2) over x[0..n). With
// the shift a value of the same data, the squares stay small even when the
// mean is large, so the variance sumsq/n - (sum/n)^2 keeps its digits; two
// accumulators per sum hide the add latency.
template <int W, typename T>
EMBER_NORM_INLINE void shifted_sums_impl(const T* x, int64_t n, double shift, double* acc) {
  using D = typename Wide<W>::D;
  const D s = D{} + shift;
  D sum0{}, sum1{}, sq0{}, sq1{};
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    const D d0 = load_wide<W>(x + i) - s, d1 = load_wide<W>(x + i + W) - s;
    sum0 += d0;
    sum1 += d1;
    sq0 += d0 * d0;
    sq1 += d1 * d1;
  }
  double sum = lane_total<W>(sum0 + sum1), sq = lane_total<W>(sq0 + sq1);
  for (; i < n; ++i) {
    const double d = double(x[i]) - shift;
    sum += d;
    sq += d * d;
  }
  acc[0] += sum;
  acc[1] += sq;
}

// y = x * scale + shift over [0, n), in double.
template <int W, typename T>
EMBER_NORM_INLINE void affine_impl(const T* x, T* y, int64_t n, double scale, double shift) {
  using D = typename Wide<W>::D;
  const D a = D{} + scale, b = D{} + shift;
  int64_t i = 0;
  for (; i + W <= n; i += W) store_wide<W>(y + i, load_wide<W>(x + i) * a + b);
  for (; i < n; ++i) y[i] = T(double(x[i]) * scale + shift);
}

// y = (x - mean) * rstd * w + b with a weight and bias per element.
template <int W, typename T>
EMBER_NORM_INLINE void affine_each_impl(const T* x, T* y, int64_t n, double mean, double rstd,
                                        const double* w, const double* b) {
  using D = typename Wide<W>::D;
  const D m = D{} + mean, r = D{} + rstd;
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    store_wide<W>(y + i, (load_wide<W>(x + i) - m) * r * load_wide<W>(w + i) + load_wide<W>(b + i));
  }
  for (; i < n; ++i) y[i] = T((double(x[i]) - mean) * rstd * w[i] + b[i]);
}

// acc[0] += sum(g * w), acc[1] += sum(g * w * (x - mean)) over [0, n), w
// per element or 1 when null.
template <int W, typename T>
EMBER_NORM_INLINE void grad_sums_impl(const T* g, const T* x, const double* w, int64_t n,
                                      double mean, double* acc) {
  using D = typename Wide<W>::D;
  const D m = D{} + mean;
  D sum0{}, sum1{}, dot0{}, dot1{};
  int64_t i = 0;
  for (; i + 2 * W <= n; i += 2 * W) {
    D g0 = load_wide<W>(g + i), g1 = load_wide<W>(g + i + W);
    if (w) {
      g0 *= load_wide<W>(w + i);
      g1 *= load_wide<W>(w + i + W);
    }
    sum0 += g0;
    sum1 += g1;
    dot0 += g0 * (load_wide<W>(x + i) - m);
    dot1 += g1 * (load_wide<W>(x + i + W) - m);
  }
  double sum = lane_total<W>(sum0 + sum1), dot = lane_total<W>(dot0 + dot1);
  for (; i < n; ++i) {
    const double gw = double(g[i]) * (w ? w[i] : 1.0);
    sum += gw;
    dot += gw * (double(x[i]) - mean);
  }
  acc[0] += sum;
  acc[1] += dot;
}

// dx = g * w * cg + (x - mean) * cx + c0 over [0, n), w per element or 1
// when null: the input gradient of every norm once its sums are known.
template <int W, typename T>
EMBER_NORM_INLINE void grad_input_impl(const T* g, const T* x, const double* w, T* dx, int64_t n,
                                       double mean, double cg, double cx, double c0) {
  using D = typename Wide<W>::D;
  const D m = D{} + mean, a = D{} + cg, b = D{} + cx, c = D{} + c0;
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    D gv = load_wide<W>(g + i) * a;
    if (w) gv *= load_wide<W>(w + i);
    store_wide<W>(dx + i, gv + (load_wide<W>(x + i) - m) * b + c);
  }
  for (; i < n; ++i) {
    const double gw = double(g[i]) * cg * (w ? w[i] : 1.0);
    dx[i] = T(gw + (double(x[i]) - mean) * cx + c0);
  }
}

// dw += g * (x - mean) * rstd and db += g, element by element over [0, n):
// one row's share of layer norm's parameter grads.
template <int W, typename T>
EMBER_NORM_INLINE void column_sums_impl(const T* g, const T* x, int64_t n, double mean,
                                        double rstd, double* dw, double* db) {
  using D = typename Wide<W>::D;
  const D m = D{} + mean, r = D{} + rstd;
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    const D gv = load_wide<W>(g + i);
    store_wide<W>(dw + i, load_wide<W>(dw + i) + gv * (load_wide<W>(x + i) - m) * r);
    store_wide<W>(db + i, load_wide<W>(db + i) + gv);
  }
  for (; i < n; ++i) {
    dw[i] += double(g[i]) * (double(x[i]) - mean) * rstd;
    db[i] += double(g[i]);
  }
}

// The loops above for one target, as a table of plain function pointers.
template <typename T>
struct Loops {
  void (*shifted_sums)(const T* x, int64_t n, double shift, double* acc);
  void (*affine)(const T* x, T* y, int64_t n, double scale, double shift);
  void (*affine_each)(const T* x, T* y, int64_t n, double mean, double rstd, const double* w,
                      const double* b);
  void (*grad_sums)(const T* g, const T* x, const double* w, int64_t n, double mean, double* acc);
  void (*grad_input)(const T* g, const T* x, const double* w, T* dx, int64_t n, double mean,
                     double cg, double cx, double c0);
  void (*column_sums)(const T* g, const T* x, int64_t n, double mean, double rstd, double* dw,
                      double* db);
};

#define EMBER_NORM_LOOPS(Name, W, TARGET)                                                      \
  struct Name {                                                                                \
    template <typename T>                                                                      \
    TARGET static void shifted_sums(const T* x, int64_t n, double shift, double* acc) {       \
      shifted_sums_impl<W>(x, n, shift, acc);                                                  \
    }                                                                                          \
    template <typename T>                                                                      \
    TARGET static void affine(const T* x, T* y, int64_t n, double scale, double shift) {      \
      affine_impl<W>(x, y, n, scale, shift);                                                   \
    }                                                                                          \
    template <typename T>                                                                      \
    TARGET static void affine_each(const T* x, T* y, int64_t n, double mean, double rstd,     \
                                   const double* w, const double* b) {                        \
      affine_each_impl<W>(x, y, n, mean, rstd, w, b);                                          \
    }                                                                                          \
    template <typename T>                                                                      \
    TARGET static void grad_sums(const T* g, const T* x, const double* w, int64_t n,          \
                                 double mean, double* acc) {                                   \
      grad_sums_impl<W>(g, x, w, n, mean, acc);                                                \
    }                                                                                          \
    template <typename T>                                                                      \
    TARGET static void grad_input(const T* g, const T* x, const double* w, T* dx, int64_t n,  \
                                  double mean, double cg, double cx, double c0) {              \
      grad_input_impl<W>(g, x, w, dx, n, mean, cg, cx, c0);                                    \
    }                                                                                          \
    template <typename T>                                                                      \
    TARGET static void column_sums(const T* g, const T* x, int64_t n, double mean, double rstd, \
                                   double* dw, double* db) {                                   \
      column_sums_impl<W>(g, x, n, mean, rstd, dw, db);                                        \
    }                                                                                          \
    template <typename T>                                                                      \
    static Loops<T> table() {                                                                  \
      return {&shifted_sums<T>, &affine<T>,     &affine_each<T>,                               \
              &grad_sums<T>,    &grad_input<T>, &column_sums<T>};                              \
    }                                                                                          \
  };

EMBER_NORM_LOOPS(Avx512Loops, 8, __attribute__((target("avx512f"))))
EMBER_NORM_LOOPS(Avx2Loops, 4, __attribute__((target("avx2,fma"))))
EMBER_NORM_LOOPS(BaselineLoops, 4, )
#undef EMBER_NORM_LOOPS

// The widest loops this CPU runs (looked up once per type).
template <typename T>
const Loops<T>& loops() {
  static const Loops<T> table = [] {
    switch (vec::best_isa()) {
      case vec::Isa::avx512: return Avx512Loops::table<T>();
      case vec::Isa::avx2: return Avx2Loops::table<T>();
      default: return BaselineLoops::table<T>();
    }
  }();
  return table;
}

// Mean and biased variance of a channel spread over N blocks of S values, in
// one pass: shifted by the channel's first value.
template <typename T>
void channel_stats(const Loops<T>& loop, const T* x, int64_t N, int64_t C, int64_t S, int64_t c,
                   double& mean, double& var) {
  const double shift = double(x[c * S]);
  double acc[2] = {0, 0};
  for (int64_t n = 0; n < N; ++n) loop.shifted_sums(x + (n * C + c) * S, S, shift, acc);
  const double count = double(N * S);
  const double offset = acc[0] / count;
  mean = shift + offset;
  var = std::max(acc[1] / count - offset * offset, 0.0);
}

// Mean and 1/sqrt(var + eps) of one contiguous row, in one pass.
template <typename T>
void row_stats(const Loops<T>& loop, const T* x, int64_t n, double eps, double& mean,
               double& rstd) {
  const double shift = n > 0 ? double(x[0]) : 0.0;
  double acc[2] = {0, 0};
  loop.shifted_sums(x, n, shift, acc);
  const double offset = n > 0 ? acc[0] / double(n) : 0.0;
  const double var = n > 0 ? std::max(acc[1] / double(n) - offset * offset, 0.0) : 0.0;
  mean = shift + offset;
  rstd = 1.0 / std::sqrt(var + eps);
}

// A parameter's values as doubles, once per call (`fallback` when absent).
std::vector<double> param_values(const Param& p, int64_t n) {
  std::vector<double> v(size_t(std::max<int64_t>(n, 0)));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = p[i];
  return v;
}

template <typename T>
void batch_norm_kernel(const Tensor& out, const Tensor& mean_out, const Tensor& invstd_out,
                       const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                       const Tensor& weight, const Tensor& bias, bool training, double momentum,
                       double eps) {
  const int64_t N = x.size(0), C = x.size(1), S = x.size(2);
  const T* in = x.data<T>();
  T* o = out.data<T>();
  Param w(weight, 1), b(bias, 0), rm(running_mean, 0), rv(running_var, 1);
  const Loops<T>& loop = loops<T>();
  parallel_for(0, C, grain_for(N * S), [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      double mean, invstd;
      if (training) {
        double var;
        channel_stats(loop, in, N, C, S, c, mean, var);
        invstd = 1.0 / std::sqrt(var + eps);
        if (running_mean.defined())
          store<T>(running_mean, c, (1 - momentum) * rm[c] + momentum * mean);
        if (running_var.defined()) {
          double count = double(N * S);
          double unbiased = count > 1 ? var * count / (count - 1) : var;
          store<T>(running_var, c, (1 - momentum) * rv[c] + momentum * unbiased);
        }
      } else {
        mean = rm[c];
        invstd = 1.0 / std::sqrt(rv[c] + eps);
      }
      store<T>(mean_out, c, mean);
      store<T>(invstd_out, c, invstd);
      const double scale = invstd * w[c];
      const double shift = b[c] - mean * scale;
      // In double: with a large mean, x * scale and shift nearly cancel.
      for (int64_t n = 0; n < N; ++n) {
        loop.affine(in + (n * C + c) * S, o + (n * C + c) * S, S, scale, shift);
      }
    }
  });
}

template <typename T>
void batch_norm_backward_kernel(const Tensor& grad_input, const Tensor& grad_weight,
                                const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                                const Tensor& weight, const Tensor& mean_t, const Tensor& invstd_t,
                                bool training) {
  const int64_t N = x.size(0), C = x.size(1), S = x.size(2);
  const T* in = x.data<T>();
  const T* gy = grad_out.data<T>();
  T* gx = grad_input.data<T>();
  Param w(weight, 1), mean_p(mean_t, 0), invstd_p(invstd_t, 1);
  const double count = double(N * S);
  const Loops<T>& loop = loops<T>();
  parallel_for(0, C, grain_for(N * S), [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      const double mean = mean_p[c], invstd = invstd_p[c];
      double acc[2] = {0, 0};
      for (int64_t n = 0; n < N; ++n) {
        loop.grad_sums(gy + (n * C + c) * S, in + (n * C + c) * S, nullptr, S, mean, acc);
      }
      const double sum_dy = acc[0], sum_dy_xhat = acc[1] * invstd;
      store<T>(grad_bias, c, sum_dy);
      store<T>(grad_weight, c, sum_dy_xhat);
      const double k = w[c] * invstd;
      const double mean_dy = training ? sum_dy / count : 0;
      const double mean_dy_xhat = training ? sum_dy_xhat / count : 0;
      // k * (dy - mean_dy - xhat * mean_dy_xhat) with xhat = (x - mean) * invstd.
      for (int64_t n = 0; n < N; ++n) {
        const int64_t at = (n * C + c) * S;
        loop.grad_input(gy + at, in + at, nullptr, gx + at, S, mean, k,
                        -k * invstd * mean_dy_xhat, -k * mean_dy);
      }
    }
  });
}

// Group norm and layer norm share the row kernels: row r (of `rows`, each
// `len` long) is normalised, then element j of it gets the affine parameter
// (r % groups_per_sample) * channels_per_row + j / inner.
struct RowLayout {
  int64_t rows, len, groups, channels, inner;
  int64_t channel(int64_t r, int64_t j) const { return (r % groups) * channels + j / inner; }
};

template <typename T>
void row_norm_kernel(const Tensor& out, const Tensor& mean_t, const Tensor& rstd_t,
                     const Tensor& x, const RowLayout& L, const Tensor& weight, const Tensor& bias,
                     double eps) {
  const T* in = x.data<T>();
  T* o = out.data<T>();
  T* mean_o = mean_t.data<T>();
  T* rstd_o = rstd_t.data<T>();
  const int64_t params = L.groups * L.channels;
  const std::vector<double> w = param_values(Param(weight, 1), params);
  const std::vector<double> b = param_values(Param(bias, 0), params);
  const Loops<T>& loop = loops<T>();
  parallel_for(0, L.rows, grain_for(L.len), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T* p = in + r * L.len;
      T* q = o + r * L.len;
      double mean, rstd;
      row_stats(loop, p, L.len, eps, mean, rstd);
      mean_o[r] = T(mean);
      rstd_o[r] = T(rstd);
      // Channel c covers `inner` consecutive elements: walk them in runs
      // instead of dividing each index.
      const double* wr = w.data() + L.channel(r, 0);
      const double* br = b.data() + L.channel(r, 0);
      if (L.inner == 1) {
        loop.affine_each(p, q, L.len, mean, rstd, wr, br);
        continue;
      }
      for (int64_t j0 = 0, k = 0; j0 < L.len; j0 += L.inner, ++k) {
        const double scale = rstd * wr[k];
        loop.affine(p + j0, q + j0, std::min(L.inner, L.len - j0), scale, br[k] - mean * scale);
      }
    }
  });
}

template <typename T>
void row_norm_backward_kernel(const Tensor& grad_input, const Tensor& grad_weight,
                              const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                              const RowLayout& L, const Tensor& weight, const Tensor& mean_t,
                              const Tensor& rstd_t) {
  const T* in = x.data<T>();
  const T* gy = grad_out.data<T>();
  T* gx = grad_input.data<T>();
  const T* mean_p = mean_t.data<T>();
  const T* rstd_p = rstd_t.data<T>();
  const int64_t params = L.groups * L.channels;
  const std::vector<double> w = param_values(Param(weight, 1), params);
  const Loops<T>& loop = loops<T>();
  parallel_for(0, L.rows, grain_for(L.len), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T* p = in + r * L.len;
      const T* g = gy + r * L.len;
      T* q = gx + r * L.len;
      const double* wr = w.data() + L.channel(r, 0);
      const double mean = mean_p[r], rstd = rstd_p[r];
      // Sums of w * dy and w * dy * (x - mean): per element, or per channel
      // run scaled by its weight.
      double acc[2] = {0, 0};
      if (L.inner == 1) {
        loop.grad_sums(g, p, wr, L.len, mean, acc);
      } else {
        for (int64_t j0 = 0, k = 0; j0 < L.len; j0 += L.inner, ++k) {
          double run[2] = {0, 0};
          loop.grad_sums(g + j0, p + j0, nullptr, std::min(L.inner, L.len - j0), mean, run);
          acc[0] += wr[k] * run[0];
          acc[1] += wr[k] * run[1];
        }
      }
      // rstd * (w * dy - mean(w * dy) - xhat * mean(w * dy * xhat)).
      const double n = double(L.len);
      const double cx = -rstd * rstd * (acc[1] * rstd) / n, c0 = -rstd * acc[0] / n;
      if (L.inner == 1) {
        loop.grad_input(g, p, wr, q, L.len, mean, rstd, cx, c0);
        continue;
      }
      for (int64_t j0 = 0, k = 0; j0 < L.len; j0 += L.inner, ++k) {
        loop.grad_input(g + j0, p + j0, nullptr, q + j0, std::min(L.inner, L.len - j0), mean,
                        rstd * wr[k], cx, c0);
      }
    }
  });
  // Parameter grads: each channel sums over every row and position that uses
  // it. A thread owns a block of channels and walks the rows in order, so
  // layer norm's columns are read contiguously.
  const int64_t samples = L.rows / L.groups;
  parallel_for(0, params, grain_for(L.rows * L.len / std::max<int64_t>(params, 1)),
               [&](int64_t lo, int64_t hi) {
    std::vector<double> dw(hi - lo, 0.0), db(hi - lo, 0.0);
    for (int64_t s = 0; s < samples; ++s) {
      if (L.inner == 1 && L.groups == 1) {  // layer norm: one row per sample
        const int64_t first = s * L.len + lo;
        loop.column_sums(gy + first, in + first, hi - lo, mean_p[s], rstd_p[s], dw.data(),
                         db.data());
        continue;
      }
      for (int64_t c = lo; c < hi; ++c) {
        const int64_t r = s * L.groups + c / L.channels;
        const int64_t first = r * L.len + (c % L.channels) * L.inner;
        double acc[2] = {0, 0};
        loop.grad_sums(gy + first, in + first, nullptr, L.inner, mean_p[r], acc);
        dw[c - lo] += acc[1] * rstd_p[r];
        db[c - lo] += acc[0];
      }
    }
    for (int64_t c = lo; c < hi; ++c) {
      store<T>(grad_weight, c, dw[c - lo]);
      store<T>(grad_bias, c, db[c - lo]);
    }
  });
}

// Layer norm: one group per row, each element its own parameter.
RowLayout layer_layout(const Tensor& x) { return {x.size(0), x.size(1), 1, x.size(1), 1}; }

RowLayout group_layout(const Tensor& x, int64_t groups) {
  const int64_t N = x.size(0), C = x.size(1), S = x.size(2);
  return {N * groups, (C / groups) * S, groups, C / groups, S};
}

}  // namespace

void batch_norm(const Tensor& out, const Tensor& mean, const Tensor& invstd, const Tensor& x,
                const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                const Tensor& bias, bool training, double momentum, double eps) {
  EMBER_DISPATCH_FLOAT(x.dtype(), "batch_norm", [&] {
    batch_norm_kernel<scalar_t>(out, mean, invstd, x, running_mean, running_var, weight, bias,
                                training, momentum, eps);
  });
}

void batch_norm_backward(const Tensor& grad_input, const Tensor& grad_weight,
                         const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                         const Tensor& weight, const Tensor& mean, const Tensor& invstd,
                         bool training) {
  EMBER_DISPATCH_FLOAT(x.dtype(), "batch_norm_backward", [&] {
    batch_norm_backward_kernel<scalar_t>(grad_input, grad_weight, grad_bias, grad_out, x, weight,
                                         mean, invstd, training);
  });
}

void layer_norm(const Tensor& out, const Tensor& mean, const Tensor& rstd, const Tensor& x,
                const Tensor& weight, const Tensor& bias, double eps) {
  EMBER_DISPATCH_FLOAT(x.dtype(), "layer_norm", [&] {
    row_norm_kernel<scalar_t>(out, mean, rstd, x, layer_layout(x), weight, bias, eps);
  });
}

void layer_norm_backward(const Tensor& grad_input, const Tensor& grad_weight,
                         const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                         const Tensor& weight, const Tensor& mean, const Tensor& rstd) {
  EMBER_DISPATCH_FLOAT(x.dtype(), "layer_norm_backward", [&] {
    row_norm_backward_kernel<scalar_t>(grad_input, grad_weight, grad_bias, grad_out, x,
                                       layer_layout(x), weight, mean, rstd);
  });
}

void group_norm(const Tensor& out, const Tensor& mean, const Tensor& rstd, const Tensor& x,
                int64_t groups, const Tensor& weight, const Tensor& bias, double eps) {
  EMBER_DISPATCH_FLOAT(x.dtype(), "group_norm", [&] {
    row_norm_kernel<scalar_t>(out, mean, rstd, x, group_layout(x, groups), weight, bias, eps);
  });
}

void group_norm_backward(const Tensor& grad_input, const Tensor& grad_weight,
                         const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                         int64_t groups, const Tensor& weight, const Tensor& mean,
                         const Tensor& rstd) {
  EMBER_DISPATCH_FLOAT(x.dtype(), "group_norm_backward", [&] {
    row_norm_backward_kernel<scalar_t>(grad_input, grad_weight, grad_bias, grad_out, x,
                                       group_layout(x, groups), weight, mean, rstd);
  });
}

}  // namespace cpu
}  // namespace ember
