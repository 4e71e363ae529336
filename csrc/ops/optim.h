// Fused optimizer updates: each call updates one parameter and its state
// tensors in place in a single pass (PyTorch's update rules). Pass an
// undefined Tensor for optional state that an option leaves unused.
#pragma once

#include "core/tensor.h"

namespace ember {

// SGD: d = ±grad + weight_decay * param; with momentum the buffer becomes
// momentum * buf + (1 - dampening) * d (or d itself on the first step), and
// nesterov steps along d + momentum * buf; param -= lr * d.
void sgd_step(Tensor& param, const Tensor& grad, Tensor momentum_buffer, double lr,
              double momentum, double dampening, double weight_decay, bool nesterov,
              bool maximize, bool first_step);

// Adam (decoupled = false) or AdamW (decoupled = true) at `step` (1-based);
// AMSGrad when `max_exp_avg_sq` is defined.
void adam_step(Tensor& param, const Tensor& grad, Tensor exp_avg, Tensor exp_avg_sq,
               Tensor max_exp_avg_sq, double lr, double beta1, double beta2, double eps,
               double weight_decay, int64_t step, bool decoupled, bool maximize);

// RMSprop; centered when `grad_avg` is defined, with momentum when
// `momentum_buffer` is defined.
void rmsprop_step(Tensor& param, const Tensor& grad, Tensor square_avg, Tensor grad_avg,
                  Tensor momentum_buffer, double lr, double alpha, double eps,
                  double weight_decay, double momentum, bool maximize);

// Adagrad at `step` (1-based): the learning rate decays as lr / (1 + (step - 1) * lr_decay).
void adagrad_step(Tensor& param, const Tensor& grad, Tensor state_sum, double lr,
                  double lr_decay, double eps, double weight_decay, int64_t step, bool maximize);

}  // namespace ember
