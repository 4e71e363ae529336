// CPU fused optimizer updates. Each kernel walks its operands once through
// for_each_run; a contiguous run uses plain indexed loops the compiler can
// vectorise, any other run the strided loop. Optional state that is not in
// use is replaced by the parameter itself as a placeholder operand, which the
// update never touches, so one layout serves every option combination.
// float16/bfloat16 parameters and state are updated in float (A = acc_t<T>)
// and rounded once when stored, as the CUDA kernels do.
#include "cpu/optim.h"

#include <cmath>
#include <type_traits>

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
      // A local copy of an update that holds its constants by value: they
      // stay in registers instead of being reloaded after every store (a
      // store might alias them), which kept the loop scalar.
      const Update body = update;
      for (int64_t i = 0; i < n; ++i) body(ptr, i);
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

// Calls f(std::true_type) or f(std::false_type): an option tested inside an
// update becomes a compile-time constant, so the loop has no branch left and
// vectorises (GCC does not vectorise a loop with control flow in it).
template <typename F>
void with_flag(bool flag, const F& f) {
  if (flag)
    f(std::true_type{});
  else
    f(std::false_type{});
}

}  // namespace

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, double lr,
              double momentum, double dampening, double weight_decay, bool nesterov,
              bool maximize, bool first_step) {
  Tensor buffer = or_placeholder(momentum_buffer, param);
  EMBER_DISPATCH_FLOAT_AND_HALF(param.dtype(), "sgd_step", [&] {
    using T = scalar_t;
    using A = acc_t<T>;
    const A lr_t = A(lr), mom = A(momentum), keep = A(1 - dampening), wd = A(weight_decay);
    const A sign = maximize ? A(-1) : A(1);
    with_flag(momentum != 0, [&](auto use_momentum) {
      with_flag(first_step, [&](auto first) {
        with_flag(nesterov, [&](auto look_ahead) {
          run_update<T, 3>({param, grad, buffer}, [=](const std::array<T*, 3>& p, int64_t i) {
            const A w = A(p[0][i]);
            A d = sign * A(p[1][i]) + wd * w;
            if constexpr (decltype(use_momentum)::value) {
              A b = decltype(first)::value ? d : mom * A(p[2][i]) + keep * d;
              p[2][i] = T(b);
              d = decltype(look_ahead)::value ? d + mom * b : b;
            }
            p[0][i] = T(w - lr_t * d);
          });
        });
      });
    });
  });
}

void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
               const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq, double lr, double beta1,
               double beta2, double eps, double weight_decay, int64_t step, bool decoupled,
               bool maximize) {
  const bool amsgrad = max_exp_avg_sq.defined();
  Tensor max_sq = or_placeholder(max_exp_avg_sq, param);
  EMBER_DISPATCH_FLOAT_AND_HALF(param.dtype(), "adam_step", [&] {
    using T = scalar_t;
    using A = acc_t<T>;
    const double bias1 = 1 - std::pow(beta1, double(step));
    const double bias2 = 1 - std::pow(beta2, double(step));
    const A step_size = A(lr / bias1);
    const A bias2_sqrt = A(std::sqrt(bias2));
    const A b1 = A(beta1), b2 = A(beta2), eps_t = A(eps);
    const A sign = maximize ? A(-1) : A(1);
    const A coupled_wd = decoupled ? A(0) : A(weight_decay);
    const A decay = decoupled ? A(1 - lr * weight_decay) : A(1);
    run_update<T, 5>({param, grad, exp_avg, exp_avg_sq, max_sq},
                     [=](const std::array<T*, 5>& p, int64_t i) {
      A w = A(p[0][i]) * decay;
      A g = sign * A(p[1][i]) + coupled_wd * w;
      A m = b1 * A(p[2][i]) + (A(1) - b1) * g;
      A v = b2 * A(p[3][i]) + (A(1) - b2) * g * g;
      p[2][i] = T(m);
      p[3][i] = T(v);
      if (amsgrad) {
        v = std::max(A(p[4][i]), v);
        p[4][i] = T(v);
      }
      A denom = std::sqrt(v) / bias2_sqrt + eps_t;
      p[0][i] = T(w - step_size * m / denom);
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
  EMBER_DISPATCH_FLOAT_AND_HALF(param.dtype(), "rmsprop_step", [&] {
    using T = scalar_t;
    using A = acc_t<T>;
    const A lr_t = A(lr), a = A(alpha), eps_t = A(eps), wd = A(weight_decay), mom = A(momentum);
    const A sign = maximize ? A(-1) : A(1);
    run_update<T, 5>({param, grad, square_avg, mean, buffer},
                     [=](const std::array<T*, 5>& p, int64_t i) {
      const A w = A(p[0][i]);
      A g = sign * A(p[1][i]) + wd * w;
      A sq = a * A(p[2][i]) + (A(1) - a) * g * g;
      p[2][i] = T(sq);
      A var = sq;
      if (centered) {
        A mu = a * A(p[3][i]) + (A(1) - a) * g;
        p[3][i] = T(mu);
        var = sq - mu * mu;
      }
      A avg = std::sqrt(var) + eps_t;
      if (use_momentum) {
        A b = mom * A(p[4][i]) + g / avg;
        p[4][i] = T(b);
        p[0][i] = T(w - lr_t * b);
      } else {
        p[0][i] = T(w - lr_t * g / avg);
      }
    });
  });
}

void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& state_sum, double clr,
                  double eps, double weight_decay, bool maximize) {
  EMBER_DISPATCH_FLOAT_AND_HALF(param.dtype(), "adagrad_step", [&] {
    using T = scalar_t;
    using A = acc_t<T>;
    const A clr_t = A(clr), eps_t = A(eps), wd = A(weight_decay);
    const A sign = maximize ? A(-1) : A(1);
    run_update<T, 3>({param, grad, state_sum}, [=](const std::array<T*, 3>& p, int64_t i) {
      const A w = A(p[0][i]);
      A g = sign * A(p[1][i]) + wd * w;
      A s = A(p[2][i]) + g * g;
      p[2][i] = T(s);
      p[0][i] = T(w - clr_t * g / (std::sqrt(s) + eps_t));
    });
  });
}

}  // namespace cpu
}  // namespace ember
