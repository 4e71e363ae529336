// CPU loss kernels (see loss.h): a numerically stable log-softmax fused into
// cross entropy (max subtracted, exp sums in double), class-weighted nll,
// and the pointwise losses with their derivatives in one pass.
#include "cpu/loss.h"

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "core/iter.h"
#include "core/parallel.h"
#include "cpu/vec_math.h"

namespace ember {
namespace cpu {

namespace {

int64_t grain_for(int64_t work_per_item) {
  return std::max<int64_t>(1, kParallelGrain / std::max<int64_t>(work_per_item, 1));
}

// Class weight c as double; 1 for every class when no weight is given.
struct ClassWeight {
  const char* base = nullptr;
  int64_t stride = 0;
  bool is_double = false;

  explicit ClassWeight(const Tensor& w) {
    if (!w.defined()) return;
    base = static_cast<const char*>(w.raw_data());
    stride = w.stride(0) * int64_t(w.element_size());
    is_double = w.dtype() == DType::float64;
  }
  double operator[](int64_t c) const {
    if (!base) return 1.0;
    const char* p = base + c * stride;
    return is_double ? *reinterpret_cast<const double*>(p) : *reinterpret_cast<const float*>(p);
  }
};

// Element (n, d) of a 2-D view with any strides.
template <typename T>
T at2(const Tensor& t, int64_t n, int64_t d) {
  return static_cast<const T*>(t.raw_data())[n * t.stride(0) + d * t.stride(1)];
}

// log(sum_c exp(x[c * D])) over C classes, summed in double (float32 and
// float64 rows with D == 1 take the vector kernels; float32 in one pass).
template <typename T>
double logsumexp(const T* x, int64_t C, int64_t D) {
  if constexpr (std::is_same_v<T, float>) {
    if (D == 1) return vec::log_sum_exp(x, C);
  }
  if constexpr (std::is_same_v<T, double>) {
    if (D == 1) {
      const T max = vec::max(x, C);
      if (std::isinf(max)) return max;
      return max + std::log(vec::exp_sum(x, max, nullptr, C));
    }
  }
  double max = -INFINITY;
  for (int64_t c = 0; c < C; ++c) max = std::max<double>(max, x[c * D]);
  if (std::isinf(max)) return max;
  double sum = 0;
  for (int64_t c = 0; c < C; ++c) sum += std::exp(double(x[c * D]) - max);
  return max + std::log(sum);
}

template <typename T>
void cross_entropy_kernel(const Tensor& loss, const Tensor& lse_t, const Tensor& sample_weight,
                          const Tensor& input, const Tensor& target, const Tensor& weight,
                          int64_t ignore_index, double smoothing) {
  const int64_t N = input.size(0), C = input.size(1), D = input.size(2);
  const T* x = input.data<T>();
  const int64_t* t = target.data<int64_t>();
  T* out = loss.data<T>();
  T* lse_out = lse_t.data<T>();
  T* sw = sample_weight.data<T>();
  ClassWeight w(weight);
  parallel_for(0, N * D, grain_for(C), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const int64_t n = i / D, d = i % D;
      const T* row = x + n * C * D + d;
      const double lse = logsumexp(row, C, D);
      lse_out[i] = T(lse);
      const int64_t cls = t[i];
      if (cls == ignore_index) {
        out[i] = 0;
        sw[i] = 0;
        continue;
      }
      const double wt = w[cls];
      double value = wt * (lse - row[cls * D]);
      if (smoothing > 0) {
        double smooth = 0;
        for (int64_t c = 0; c < C; ++c) smooth += w[c] * (lse - row[c * D]);
        value = (1 - smoothing) * value + smoothing / double(C) * smooth;
      }
      out[i] = T(value);
      sw[i] = T(wt);
    }
  });
}

template <typename T>
void cross_entropy_probs_kernel(const Tensor& loss, const Tensor& lse_t, const Tensor& input,
                                const Tensor& target, const Tensor& weight, double smoothing) {
  const int64_t N = input.size(0), C = input.size(1), D = input.size(2);
  const T* x = input.data<T>();
  const T* p = target.data<T>();
  T* out = loss.data<T>();
  T* lse_out = lse_t.data<T>();
  ClassWeight w(weight);
  parallel_for(0, N * D, grain_for(C), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const int64_t n = i / D, d = i % D;
      const T* row = x + n * C * D + d;
      const T* prob = p + n * C * D + d;
      const double lse = logsumexp(row, C, D);
      lse_out[i] = T(lse);
      double value = 0;
      for (int64_t c = 0; c < C; ++c) {
        double tc = (1 - smoothing) * prob[c * D] + smoothing / double(C);
        value += w[c] * tc * (lse - row[c * D]);
      }
      out[i] = T(value);
    }
  });
}

template <typename T>
void cross_entropy_backward_kernel(const Tensor& grad_input, const Tensor& grad,
                                   const Tensor& input, const Tensor& target,
                                   const Tensor& weight, const Tensor& lse_t,
                                   int64_t ignore_index, double smoothing) {
  const int64_t N = input.size(0), C = input.size(1), D = input.size(2);
  const T* x = input.data<T>();
  const int64_t* t = target.data<int64_t>();
  const T* lse_p = lse_t.data<T>();
  T* gx = grad_input.data<T>();
  ClassWeight w(weight);
  double weight_total = 0;
  for (int64_t c = 0; c < C; ++c) weight_total += w[c];
  parallel_for(0, N * D, grain_for(C), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const int64_t n = i / D, d = i % D;
      const T* row = x + n * C * D + d;
      T* g_row = gx + n * C * D + d;
      const int64_t cls = t[i];
      if (cls == ignore_index) {
        for (int64_t c = 0; c < C; ++c) g_row[c * D] = 0;
        continue;
      }
      const double g = at2<T>(grad, n, d), lse = lse_p[i];
      const double wt = w[cls] * (1 - smoothing), smooth = smoothing / double(C);
      for (int64_t c = 0; c < C; ++c) {
        const double prob = std::exp(double(row[c * D]) - lse);
        double v = wt * (prob - (c == cls ? 1.0 : 0.0));
        if (smoothing > 0) v += smooth * (prob * weight_total - w[c]);
        g_row[c * D] = T(g * v);
      }
    }
  });
}

template <typename T>
void cross_entropy_probs_backward_kernel(const Tensor& grad_input, const Tensor& grad,
                                         const Tensor& input, const Tensor& target,
                                         const Tensor& weight, const Tensor& lse_t,
                                         double smoothing) {
  const int64_t N = input.size(0), C = input.size(1), D = input.size(2);
  const T* x = input.data<T>();
  const T* p = target.data<T>();
  const T* lse_p = lse_t.data<T>();
  T* gx = grad_input.data<T>();
  ClassWeight w(weight);
  parallel_for(0, N * D, grain_for(C), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const int64_t n = i / D, d = i % D;
      const T* row = x + n * C * D + d;
      const T* prob = p + n * C * D + d;
      T* g_row = gx + n * C * D + d;
      const double g = at2<T>(grad, n, d), lse = lse_p[i];
      double weighted_target = 0;
      for (int64_t c = 0; c < C; ++c)
        weighted_target += w[c] * ((1 - smoothing) * prob[c * D] + smoothing / double(C));
      for (int64_t c = 0; c < C; ++c) {
        const double tc = (1 - smoothing) * prob[c * D] + smoothing / double(C);
        const double softmax = std::exp(double(row[c * D]) - lse);
        g_row[c * D] = T(g * (softmax * weighted_target - w[c] * tc));
      }
    }
  });
}

template <typename T>
void nll_loss_kernel(const Tensor& loss, const Tensor& sample_weight, const Tensor& input,
                     const Tensor& target, const Tensor& weight, int64_t ignore_index) {
  const int64_t N = input.size(0), C = input.size(1), D = input.size(2);
  const T* x = input.data<T>();
  const int64_t* t = target.data<int64_t>();
  T* out = loss.data<T>();
  T* sw = sample_weight.data<T>();
  ClassWeight w(weight);
  parallel_for(0, N * D, kParallelGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const int64_t cls = t[i];
      if (cls == ignore_index) {
        out[i] = 0;
        sw[i] = 0;
        continue;
      }
      const int64_t n = i / D, d = i % D;
      const double wt = w[cls];
      out[i] = T(-wt * x[(n * C + cls) * D + d]);
      sw[i] = T(wt);
    }
  });
}

template <typename T>
void nll_loss_backward_kernel(const Tensor& grad_input, const Tensor& grad, const Tensor& target,
                              const Tensor& weight, int64_t ignore_index) {
  const int64_t N = grad_input.size(0), C = grad_input.size(1), D = grad_input.size(2);
  const int64_t* t = target.data<int64_t>();
  T* gx = grad_input.data<T>();
  ClassWeight w(weight);
  parallel_for(0, N * D, kParallelGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const int64_t cls = t[i];
      if (cls == ignore_index) continue;
      const int64_t n = i / D, d = i % D;
      gx[(n * C + cls) * D + d] = T(-w[cls] * double(at2<T>(grad, n, d)));
    }
  });
}

// softplus(-x) = log(1 + exp(-x)) without overflow.
template <typename T>
T softplus_neg(T x) {
  return std::log1p(std::exp(-std::fabs(x))) + std::max<T>(-x, T(0));
}

template <typename T>
T clamped_log(T v) {
  return std::max<T>(std::log(v), T(-100));
}

// Value and derivatives (d/dinput, d/dtarget) of one element of each loss.
template <typename T>
struct PointwiseMath {
  PointwiseLoss kind;
  T beta;

  T value(T x, T t, T w, T pw) const {
    const T d = x - t;
    switch (kind) {
      case PointwiseLoss::mse: return d * d;
      case PointwiseLoss::l1: return std::fabs(d);
      case PointwiseLoss::smooth_l1:
        return std::fabs(d) < beta ? T(0.5) * d * d / beta : std::fabs(d) - T(0.5) * beta;
      case PointwiseLoss::binary_cross_entropy:
        return -w * (t * clamped_log(x) + (1 - t) * clamped_log(1 - x));
      case PointwiseLoss::binary_cross_entropy_with_logits:
        return w * ((1 - t) * x + (1 + (pw - 1) * t) * softplus_neg(x));
    }
    return 0;
  }

  void grads(T x, T t, T w, T pw, T& gx, T& gt) const {
    const T d = x - t;
    const T sign = T((d > 0) - (d < 0));
    switch (kind) {
      case PointwiseLoss::mse: gx = 2 * d; gt = -gx; return;
      case PointwiseLoss::l1: gx = sign; gt = -gx; return;
      case PointwiseLoss::smooth_l1:
        gx = std::fabs(d) < beta ? d / beta : sign;
        gt = -gx;
        return;
      case PointwiseLoss::binary_cross_entropy:
        gx = w * (x - t) / std::max<T>((1 - x) * x, T(1e-12));
        gt = -w * (clamped_log(x) - clamped_log(1 - x));
        return;
      case PointwiseLoss::binary_cross_entropy_with_logits: {
        const T sigmoid_neg = T(1) / (T(1) + std::exp(x));
        gx = w * ((1 - t) - (1 + (pw - 1) * t) * sigmoid_neg);
        gt = w * (-x + (pw - 1) * softplus_neg(x));
        return;
      }
    }
  }
};

template <typename T>
const T& ref(char* base, int64_t stride, int64_t i) {
  return *reinterpret_cast<const T*>(base + i * stride);
}

template <typename T>
void pointwise_kernel(PointwiseLoss kind, const Tensor& out, const Tensor& input,
                      const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                      double beta) {
  const PointwiseMath<T> math{kind, T(beta)};
  for_each_run<5>({out, input, target, weight, pos_weight},
                  [&](char** p, const int64_t* s, int64_t n) {
    if (s[0] == sizeof(T) && s[1] == sizeof(T) && s[2] == sizeof(T)) {
      T* o = reinterpret_cast<T*>(p[0]);
      const T* x = reinterpret_cast<const T*>(p[1]);
      const T* t = reinterpret_cast<const T*>(p[2]);
      for (int64_t i = 0; i < n; ++i)
        o[i] = math.value(x[i], t[i], ref<T>(p[3], s[3], i), ref<T>(p[4], s[4], i));
      return;
    }
    for (int64_t i = 0; i < n; ++i) {
      *reinterpret_cast<T*>(p[0] + i * s[0]) =
          math.value(ref<T>(p[1], s[1], i), ref<T>(p[2], s[2], i), ref<T>(p[3], s[3], i),
                     ref<T>(p[4], s[4], i));
    }
  });
}

template <typename T>
void pointwise_backward_kernel(PointwiseLoss kind, const Tensor& grad_input,
                               const Tensor& grad_target, const Tensor& grad, const Tensor& input,
                               const Tensor& target, const Tensor& weight,
                               const Tensor& pos_weight, double beta) {
  const PointwiseMath<T> math{kind, T(beta)};
  for_each_run<7>({grad_input, grad_target, grad, input, target, weight, pos_weight},
                  [&](char** p, const int64_t* s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      T gx = 0, gt = 0;
      math.grads(ref<T>(p[3], s[3], i), ref<T>(p[4], s[4], i), ref<T>(p[5], s[5], i),
                 ref<T>(p[6], s[6], i), gx, gt);
      const T g = ref<T>(p[2], s[2], i);
      *reinterpret_cast<T*>(p[0] + i * s[0]) = g * gx;
      *reinterpret_cast<T*>(p[1] + i * s[1]) = g * gt;
    }
  });
}

}  // namespace

void check_class_targets(const char* op, const Tensor& target, int64_t classes,
                         int64_t ignore_index) {
  const int64_t* t = target.data<int64_t>();
  for (int64_t i = 0; i < target.numel(); ++i) {
    EMBER_CHECK_KIND(index, t[i] == ignore_index || (t[i] >= 0 && t[i] < classes), op,
                     ": target ", t[i], " is out of bounds for ", classes, " classes");
  }
}

void check_probabilities(const char* op, const Tensor& input) {
  Tensor x = input.to(DType::float64).contiguous();
  const double* p = x.data<double>();
  for (int64_t i = 0; i < x.numel(); ++i) {
    EMBER_CHECK(p[i] >= 0 && p[i] <= 1, op,
                ": all elements of input should be between 0 and 1, found ", p[i]);
  }
}

void cross_entropy(const Tensor& loss, const Tensor& logsumexp, const Tensor& sample_weight,
                   const Tensor& input, const Tensor& target, const Tensor& weight,
                   int64_t ignore_index, double label_smoothing) {
  EMBER_DISPATCH_FLOAT(input.dtype(), "cross_entropy", [&] {
    cross_entropy_kernel<scalar_t>(loss, logsumexp, sample_weight, input, target, weight,
                                   ignore_index, label_smoothing);
  });
}

void cross_entropy_probs(const Tensor& loss, const Tensor& logsumexp, const Tensor& input,
                         const Tensor& target, const Tensor& weight, double label_smoothing) {
  EMBER_DISPATCH_FLOAT(input.dtype(), "cross_entropy", [&] {
    cross_entropy_probs_kernel<scalar_t>(loss, logsumexp, input, target, weight, label_smoothing);
  });
}

void cross_entropy_backward(const Tensor& grad_input, const Tensor& grad, const Tensor& input,
                            const Tensor& target, const Tensor& weight, const Tensor& logsumexp,
                            int64_t ignore_index, double label_smoothing) {
  EMBER_DISPATCH_FLOAT(input.dtype(), "cross_entropy_backward", [&] {
    cross_entropy_backward_kernel<scalar_t>(grad_input, grad, input, target, weight, logsumexp,
                                            ignore_index, label_smoothing);
  });
}

void cross_entropy_probs_backward(const Tensor& grad_input, const Tensor& grad,
                                  const Tensor& input, const Tensor& target, const Tensor& weight,
                                  const Tensor& logsumexp, double label_smoothing) {
  EMBER_DISPATCH_FLOAT(input.dtype(), "cross_entropy_backward", [&] {
    cross_entropy_probs_backward_kernel<scalar_t>(grad_input, grad, input, target, weight,
                                                  logsumexp, label_smoothing);
  });
}

void nll_loss(const Tensor& loss, const Tensor& sample_weight, const Tensor& input,
              const Tensor& target, const Tensor& weight, int64_t ignore_index) {
  EMBER_DISPATCH_FLOAT(input.dtype(), "nll_loss", [&] {
    nll_loss_kernel<scalar_t>(loss, sample_weight, input, target, weight, ignore_index);
  });
}

void nll_loss_backward(const Tensor& grad_input, const Tensor& grad, const Tensor& target,
                       const Tensor& weight, int64_t ignore_index) {
  EMBER_DISPATCH_FLOAT(grad_input.dtype(), "nll_loss_backward", [&] {
    nll_loss_backward_kernel<scalar_t>(grad_input, grad, target, weight, ignore_index);
  });
}

void pointwise_loss(PointwiseLoss kind, const Tensor& out, const Tensor& input,
                    const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                    double beta) {
  EMBER_DISPATCH_FLOAT(input.dtype(), "pointwise_loss", [&] {
    pointwise_kernel<scalar_t>(kind, out, input, target, weight, pos_weight, beta);
  });
}

void pointwise_loss_backward(PointwiseLoss kind, const Tensor& grad_input,
                             const Tensor& grad_target, const Tensor& grad, const Tensor& input,
                             const Tensor& target, const Tensor& weight, const Tensor& pos_weight,
                             double beta) {
  EMBER_DISPATCH_FLOAT(input.dtype(), "pointwise_loss_backward", [&] {
    pointwise_backward_kernel<scalar_t>(kind, grad_input, grad_target, grad, input, target,
                                        weight, pos_weight, beta);
  });
}

}  // namespace cpu
}  // namespace ember
