// CPU fused optimizer updates: one pass per parameter per step that reads the
// gradient and updates the parameter and every state tensor in place.
// Operands arrive with one shape and one floating dtype (checked by
// ops/optim.cpp); unused optional state is an undefined Tensor.
#pragma once

#include "core/tensor.h"

namespace ember {
namespace cpu {

// SGD with optional momentum (PyTorch's rule); `momentum_buffer` is read only
// when momentum != 0, and initialised from the gradient when `first_step`.
void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer, double lr,
              double momentum, double dampening, double weight_decay, bool nesterov,
              bool maximize, bool first_step);

// Adam / AdamW (`decoupled`), with AMSGrad when `max_exp_avg_sq` is defined.
void adam_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
               const Tensor& exp_avg_sq, const Tensor& max_exp_avg_sq, double lr, double beta1,
               double beta2, double eps, double weight_decay, int64_t step, bool decoupled,
               bool maximize);

// RMSprop; `grad_avg` defined when centered, `momentum_buffer` when momentum > 0.
void rmsprop_step(const Tensor& param, const Tensor& grad, const Tensor& square_avg,
                  const Tensor& grad_avg, const Tensor& momentum_buffer, double lr, double alpha,
                  double eps, double weight_decay, double momentum, bool maximize);

// Adagrad with the already decayed learning rate `clr`.
void adagrad_step(const Tensor& param, const Tensor& grad, const Tensor& state_sum, double clr,
                  double eps, double weight_decay, bool maximize);

}  // namespace cpu
}  // namespace ember
