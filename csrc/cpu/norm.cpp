// CPU normalisation kernels (see norm.h): two-pass statistics in double,
// fused affine, fused backward. Batch norm runs in parallel over channels,
// layer and group norm over rows (and over channels for the weight grads).
#include "cpu/norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/parallel.h"

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

// Sums in double over kLanes independent partial sums: one running sum is a
// chain of dependent additions (4 cycles each) that no compiler may reorder;
// independent lanes let the loop vectorise and pipeline.
constexpr int kLanes = 8;

struct LaneSums {
  double lane[kLanes] = {};
  double total() const {
    double t = 0;
    for (double v : lane) t += v;
    return t;
  }
};

// Adds x[0..n) into `acc`.
template <typename T>
void add_values(LaneSums& acc, const T* x, int64_t n) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) acc.lane[k] += double(x[i + k]);
  }
  for (; i < n; ++i) acc.lane[i % kLanes] += double(x[i]);
}

// Adds (x[i] - mean)^2 for i < n into `acc`.
template <typename T>
void add_squared_deviations(LaneSums& acc, const T* x, int64_t n, double mean) {
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) {
      const double d = double(x[i + k]) - mean;
      acc.lane[k] += d * d;
    }
  }
  for (; i < n; ++i) {
    const double d = double(x[i]) - mean;
    acc.lane[i % kLanes] += d * d;
  }
}

// Mean and biased variance of a channel spread over N blocks of S values.
template <typename T>
void channel_stats(const T* x, int64_t N, int64_t C, int64_t S, int64_t c, double& mean,
                   double& var) {
  LaneSums total;
  for (int64_t n = 0; n < N; ++n) add_values(total, x + (n * C + c) * S, S);
  const double count = double(N * S);
  mean = total.total() / count;
  LaneSums sq;
  for (int64_t n = 0; n < N; ++n) add_squared_deviations(sq, x + (n * C + c) * S, S, mean);
  var = sq.total() / count;
}

// Mean and 1/sqrt(var + eps) of one contiguous row.
template <typename T>
void row_stats(const T* x, int64_t n, double eps, double& mean, double& rstd) {
  LaneSums total;
  add_values(total, x, n);
  mean = n > 0 ? total.total() / double(n) : 0;
  LaneSums sq;
  add_squared_deviations(sq, x, n, mean);
  rstd = 1.0 / std::sqrt((n > 0 ? sq.total() / double(n) : 0) + eps);
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
  parallel_for(0, C, grain_for(N * S), [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      double mean, invstd;
      if (training) {
        double var;
        channel_stats(in, N, C, S, c, mean, var);
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
      for (int64_t n = 0; n < N; ++n) {
        const T* p = in + (n * C + c) * S;
        T* q = o + (n * C + c) * S;
        // In double: with a large mean, x * scale and shift nearly cancel.
        for (int64_t s = 0; s < S; ++s) q[s] = T(double(p[s]) * scale + shift);
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
  parallel_for(0, C, grain_for(N * S), [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      const double mean = mean_p[c], invstd = invstd_p[c];
      double sum_dy = 0, sum_dy_xhat = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* p = in + (n * C + c) * S;
        const T* g = gy + (n * C + c) * S;
        for (int64_t s = 0; s < S; ++s) {
          sum_dy += g[s];
          sum_dy_xhat += g[s] * (p[s] - mean);
        }
      }
      sum_dy_xhat *= invstd;
      store<T>(grad_bias, c, sum_dy);
      store<T>(grad_weight, c, sum_dy_xhat);
      const double k = w[c] * invstd;
      const double mean_dy = training ? sum_dy / count : 0;
      const double mean_dy_xhat = training ? sum_dy_xhat / count : 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* p = in + (n * C + c) * S;
        const T* g = gy + (n * C + c) * S;
        T* q = gx + (n * C + c) * S;
        for (int64_t s = 0; s < S; ++s) {
          double xhat = (p[s] - mean) * invstd;
          q[s] = T(k * (g[s] - mean_dy - xhat * mean_dy_xhat));
        }
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
  parallel_for(0, L.rows, grain_for(L.len), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T* p = in + r * L.len;
      T* q = o + r * L.len;
      double mean, rstd;
      row_stats(p, L.len, eps, mean, rstd);
      mean_o[r] = T(mean);
      rstd_o[r] = T(rstd);
      // Channel c covers `inner` consecutive elements: walk them in runs
      // instead of dividing each index.
      const double* wr = w.data() + L.channel(r, 0);
      const double* br = b.data() + L.channel(r, 0);
      if (L.inner == 1) {
        for (int64_t j = 0; j < L.len; ++j) {
          q[j] = T((double(p[j]) - mean) * rstd * wr[j] + br[j]);
        }
        continue;
      }
      for (int64_t j0 = 0, k = 0; j0 < L.len; j0 += L.inner, ++k) {
        const double scale = rstd * wr[k], shift = br[k];
        const int64_t end = std::min(j0 + L.inner, L.len);
        for (int64_t j = j0; j < end; ++j) q[j] = T((double(p[j]) - mean) * scale + shift);
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
  Param w(weight, 1);
  parallel_for(0, L.rows, grain_for(L.len), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T* p = in + r * L.len;
      const T* g = gy + r * L.len;
      T* q = gx + r * L.len;
      const double mean = mean_p[r], rstd = rstd_p[r];
      double sum_wdy = 0, sum_wdy_xhat = 0;
      for (int64_t j = 0; j < L.len; ++j) {
        double wdy = g[j] * w[L.channel(r, j)];
        sum_wdy += wdy;
        sum_wdy_xhat += wdy * (p[j] - mean) * rstd;
      }
      const double n = double(L.len);
      for (int64_t j = 0; j < L.len; ++j) {
        double xhat = (p[j] - mean) * rstd;
        q[j] = T(rstd * (g[j] * w[L.channel(r, j)] - sum_wdy / n - xhat * sum_wdy_xhat / n));
      }
    }
  });
  // Parameter grads: each channel sums over every row and position that uses
  // it. A thread owns a block of channels and walks the rows in order, so
  // layer norm's columns are read contiguously.
  const int64_t samples = L.rows / L.groups;
  const int64_t params = L.groups * L.channels;
  parallel_for(0, params, grain_for(L.rows * L.len / std::max<int64_t>(params, 1)),
               [&](int64_t lo, int64_t hi) {
    std::vector<double> dw(hi - lo, 0.0), db(hi - lo, 0.0);
    for (int64_t s = 0; s < samples; ++s) {
      for (int64_t c = lo; c < hi; ++c) {
        const int64_t r = s * L.groups + c / L.channels;
        const int64_t first = r * L.len + (c % L.channels) * L.inner;
        const double mean = mean_p[r], rstd = rstd_p[r];
        double w_acc = 0, b_acc = 0;
        for (int64_t j = 0; j < L.inner; ++j) {
          w_acc += gy[first + j] * (in[first + j] - mean) * rstd;
          b_acc += gy[first + j];
        }
        dw[c - lo] += w_acc;
        db[c - lo] += b_acc;
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
