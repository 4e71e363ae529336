// CPU fused optimizer updates. Each kernel walks its operands once through
// for_each_run; a contiguous run uses plain indexed loops the compiler can
// vectorise, any other run the strided loop. Optional state that is not in
// use is replaced by the parameter itself as a placeholder operand, which the
// update never touches, so one layout serves every option combination.
#include "cpu/optim.h"

#include <cmath>

#include "core/dtype.h"
#include "core/iter.h"

namespace ember {
namespace cpu {
namespace {

// Applies `update(i, ptrs...)` over N same-shaped operands: the callable gets
// typed pointers and an element index so the same body serves both paths.
template <typename T, size_t N, typename Update>
void run_update(const std::array<Tensor, N>& operands, const Update& update) {
  std::array<int64_t, N> sizes;
  sizes.fill(int64_t(sizeof(T)));
  for_each_run<N>(operands, [&](char** p, const int64_t* stride, int64_t n) {
    std::array<T*, N> ptr;
    for (size_t k = 0; k < N; ++k) ptr[k] = reinterpret_cast<T*>(p[k]);
    if (run_is_contiguous<N>(stride, sizes)) {
      for (int64_t i = 0; i < n; ++i) update(ptr, i);
    } else {
      std::array<int64_t, N> step;
      for (size_t k = 0; k < N; ++k) step[k] = stride[k] / int64_t(sizeof(T));
      for (int64_t i = 0; i < n; ++i) {
        std::array<T*, N> at;
        for (size_t k = 0; k < N; ++k) at[k] = ptr[k] + i * step[k];
        update(at, 0);
      }
    }
  });
}

Tensor or_placeholder(const Tensor& t, const Tensor& param) { return t.defined() ? t : param; }

}  // namespace

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, double lr,
              double momentum, double dampening, double weight_decay, bool nesterov,
              bool maximize, bool first_step) {
  Tensor buffer = or_placeholder(momentum_buffer, param);
  EMBER_DISPATCH_FLOAT(param.dtype(), "sgd_step", [&] {
    using T = scalar_t;
    const T lr_t = T(lr), mom = T(momentum), keep = T(1 - dampening), wd = T(weight_decay);
    const T sign = maximize ? T(-1) : T(1);
    const bool use_momentum = momentum != 0;
    run_update<T, 3>({param, grad, buffer}, [&](const std::array<T*, 3>& p, int64_t i) {
      T d = sign * p[1][i] + wd * p[0][i];
      if (use_momentum) {
        T b = first_step ? d : mom * p[2][i] + keep * d;
        p[2][i] = b;
        d = nesterov ? d + mom * b : b;
      }
      p[0][i] -= lr_t * d;
    });
  });
}

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
               const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq, double lr, double beta1,
               double beta2, double eps, double weight_decay, int64_t step, bool decoupled,
               bool maximize) {
  const bool amsgrad = max_exp_avg_sq.defined();
  Tensor max_sq = or_placeholder(max_exp_avg_sq, param);
  EMBER_DISPATCH_FLOAT(param.dtype(), "adam_step", [&] {
    using T = scalar_t;
    const double bias1 = 1 - std::pow(beta1, double(step));
    const double bias2 = 1 - std::pow(beta2, double(step));
    const T step_size = T(lr / bias1);
    const T bias2_sqrt = T(std::sqrt(bias2));
    const T b1 = T(beta1), b2 = T(beta2), eps_t = T(eps);
    const T sign = maximize ? T(-1) : T(1);
    const T coupled_wd = decoupled ? T(0) : T(weight_decay);
    const T decay = decoupled ? T(1 - lr * weight_decay) : T(1);
    run_update<T, 5>({param, grad, exp_avg, exp_avg_sq, max_sq},
                     [&](const std::array<T*, 5>& p, int64_t i) {
      T w = p[0][i] * decay;
      T g = sign * p[1][i] + coupled_wd * w;
      T m = b1 * p[2][i] + (T(1) - b1) * g;
      T v = b2 * p[3][i] + (T(1) - b2) * g * g;
      p[2][i] = m;
      p[3][i] = v;
      if (amsgrad) {
        v = std::max(p[4][i], v);
        p[4][i] = v;
      }
      T denom = std::sqrt(v) / bias2_sqrt + eps_t;
      p[0][i] = w - step_size * m / denom;
    });
  });
}

void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                  const Tensor& grad_avg, const Tensor& momentum_buffer, double lr, double alpha,
                  double eps, double weight_decay, double momentum, bool maximize) {
  const bool centered = grad_avg.defined();
  const bool use_momentum = momentum_buffer.defined();
  Tensor mean = or_placeholder(grad_avg, param);
  Tensor buffer = or_placeholder(momentum_buffer, param);
  EMBER_DISPATCH_FLOAT(param.dtype(), "rmsprop_step", [&] {
    using T = scalar_t;
    const T lr_t = T(lr), a = T(alpha), eps_t = T(eps), wd = T(weight_decay), mom = T(momentum);
    const T sign = maximize ? T(-1) : T(1);
    run_update<T, 5>({param, grad, square_avg, mean, buffer},
                     [&](const std::array<T*, 5>& p, int64_t i) {
      T g = sign * p[1][i] + wd * p[0][i];
      T sq = a * p[2][i] + (T(1) - a) * g * g;
      p[2][i] = sq;
      T var = sq;
      if (centered) {
        T mu = a * p[3][i] + (T(1) - a) * g;
        p[3][i] = mu;
        var = sq - mu * mu;
      }
      T avg = std::sqrt(var) + eps_t;
      if (use_momentum) {
        T b = mom * p[4][i] + g / avg;
        p[4][i] = b;
        p[0][i] -= lr_t * b;
      } else {
        p[0][i] -= lr_t * g / avg;
      }
    });
  });
}

void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& state_sum, double clr,
                  double eps, double weight_decay, bool maximize) {
  EMBER_DISPATCH_FLOAT(param.dtype(), "adagrad_step", [&] {
    using T = scalar_t;
    const T clr_t = T(clr), eps_t = T(eps), wd = T(weight_decay);
    const T sign = maximize ? T(-1) : T(1);
    run_update<T, 3>({param, grad, state_sum}, [&](const std::array<T*, 3>& p, int64_t i) {
      T g = sign * p[1][i] + wd * p[0][i];
      T s = p[2][i] + g * g;
      p[2][i] = s;
      p[0][i] -= clr_t * g / (std::sqrt(s) + eps_t);
    });
  });
}

}  // namespace cpu
}  // namespace ember
