// Fused optimizer update entry points: operand checks (shape, dtype, device,
// writability), hyperparameter checks the kernels rely on, device dispatch,
// and the version bumps that mark the in-place writes.
#include "ops/optim.h"

#include <cmath>
#include <initializer_list>
#include <vector>

#include "cpu/optim.h"
#include "cuda/kernels.h"
#include "ops/elementwise.h"

namespace ember {
namespace {

struct Operand {
  const char* name;
  const Tensor* tensor;
};

// Every defined operand must match the parameter: same shape, dtype and
// device, a floating dtype, and (for those written) no self-overlapping view.
void check_operands(const char* op, const Tensor& param, const Tensor& grad,
                    std::initializer_list<Operand> state) {
  EMBER_CHECK_KIND(type, param.defined(), op, ": expected a parameter tensor, got an undefined one");
  EMBER_CHECK_KIND(type, grad.defined(), op, ": expected a gradient tensor, got an undefined one");
  EMBER_CHECK_KIND(type, is_floating(param.dtype()), op,
                   ": parameters must be floating point, got ", param.str());
  auto check_like = [&](const char* name, const Tensor& t) {
    EMBER_CHECK(t.shape() == param.shape(), op, ": ", name, " has shape ", shape_str(t.shape()),
                " but the parameter has shape ", shape_str(param.shape()));
    EMBER_CHECK_KIND(type, t.dtype() == param.dtype(), op, ": ", name, " is ", t.str(),
                     " but the parameter is ", param.str());
    EMBER_CHECK(t.device() == param.device(), op, ": ", name, " is ", t.str(),
                " but the parameter is ", param.str());
  };
  check_like("grad", grad);
  check_writable(op, param);
  for (const Operand& s : state) {
    if (!s.tensor->defined()) continue;
    check_like(s.name, *s.tensor);
    check_writable(op, *s.tensor);
  }
}

void check_finite_nonnegative(const char* op, const char* name, double value) {
  EMBER_CHECK(std::isfinite(value) && value >= 0, op, ": invalid ", name, " ", value,
              " (expected a finite value >= 0)");
}

void check_unit_interval(const char* op, const char* name, double value) {
  EMBER_CHECK(value >= 0 && value < 1, op, ": invalid ", name, " ", value,
              " (expected 0 <= ", name, " < 1)");
}

void bump(std::initializer_list<const Tensor*> tensors) {
  for (const Tensor* t : tensors)
    if (t->defined()) t->bump_version();
}

// The CUDA kernels update contiguous memory: a strided operand is updated
// through a contiguous copy that is written back afterwards.
class DenseOperands {
 public:
  explicit DenseOperands(std::initializer_list<const Tensor*> tensors) {
    for (const Tensor* t : tensors) {
      originals_.push_back(t);
      dense_.push_back(t->defined() && !t->is_contiguous() ? t->contiguous() : *t);
    }
  }
  const Tensor& operator[](size_t i) const { return dense_[i]; }
  void write_back() const {
    for (size_t i = 0; i < dense_.size(); ++i) {
      if (originals_[i]->defined() && !originals_[i]->is_contiguous())
        Tensor(*originals_[i]).copy_(dense_[i]);
    }
  }

 private:
  std::vector<const Tensor*> originals_;
  std::vector<Tensor> dense_;
};

}  // namespace

void sgd_step(Tensor& param, const Tensor& grad, Tensor momentum_buffer, double lr,
              double momentum, double dampening, double weight_decay, bool nesterov,
              bool maximize, bool first_step) {
  const char* op = "sgd_step";
  check_operands(op, param, grad, {{"momentum_buffer", &momentum_buffer}});
  check_finite_nonnegative(op, "momentum", momentum);
  EMBER_CHECK(momentum == 0 || momentum_buffer.defined(), op,
              ": momentum ", momentum, " needs a momentum_buffer");
  EMBER_CHECK(!nesterov || (momentum > 0 && dampening == 0), op,
              ": nesterov momentum requires a momentum and zero dampening");
  switch (param.device().type) {
    case DeviceType::cpu:
      cpu::sgd_step(param, grad, momentum == 0 ? Tensor() : momentum_buffer, lr, momentum,
                    dampening, weight_decay, nesterov, maximize, first_step);
      break;
    case DeviceType::cuda: {
      Tensor unused;
      DenseOperands d({&param, momentum == 0 ? &unused : &momentum_buffer});
      cuda::sgd_step(d[0], grad.contiguous(), d[1], lr, momentum, dampening, weight_decay,
                     nesterov, maximize, first_step);
      d.write_back();
      break;
    }
    default: no_kernel(op, param.device());
  }
  bump({&param, momentum == 0 ? &param : &momentum_buffer});
}

void adam_step(Tensor& param, const Tensor& grad, Tensor exp_avg, Tensor exp_avg_sq,
               Tensor max_exp_avg_sq, double lr, double beta1, double beta2, double eps,
               double weight_decay, int64_t step, bool decoupled, bool maximize) {
  const char* op = "adam_step";
  EMBER_CHECK_KIND(type, exp_avg.defined() && exp_avg_sq.defined(), op,
                   ": exp_avg and exp_avg_sq are required");
  check_operands(op, param, grad,
                 {{"exp_avg", &exp_avg}, {"exp_avg_sq", &exp_avg_sq},
                  {"max_exp_avg_sq", &max_exp_avg_sq}});
  check_unit_interval(op, "beta1", beta1);
  check_unit_interval(op, "beta2", beta2);
  EMBER_CHECK(step >= 1, op, ": step must be >= 1, got ", step);
  switch (param.device().type) {
    case DeviceType::cpu:
      cpu::adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
                     weight_decay, step, decoupled, maximize);
      break;
    case DeviceType::cuda: {
      DenseOperands d({&param, &exp_avg, &exp_avg_sq, &max_exp_avg_sq});
      cuda::adam_step(d[0], grad.contiguous(), d[1], d[2], d[3], lr, beta1, beta2, eps,
                      weight_decay, step, decoupled, maximize);
      d.write_back();
      break;
    }
    default: no_kernel(op, param.device());
  }
  bump({&param, &exp_avg, &exp_avg_sq, &max_exp_avg_sq});
}

void rmsprop_step(Tensor& param, const Tensor& grad, Tensor square_avg, Tensor grad_avg,
                  Tensor momentum_buffer, double lr, double alpha, double eps,
                  double weight_decay, double momentum, bool maximize) {
  const char* op = "rmsprop_step";
  EMBER_CHECK_KIND(type, square_avg.defined(), op, ": square_avg is required");
  check_operands(op, param, grad,
                 {{"square_avg", &square_avg}, {"grad_avg", &grad_avg},
                  {"momentum_buffer", &momentum_buffer}});
  check_finite_nonnegative(op, "alpha", alpha);
  check_finite_nonnegative(op, "momentum", momentum);
  EMBER_CHECK(momentum == 0 || momentum_buffer.defined(), op, ": momentum ", momentum,
              " needs a momentum_buffer");
  switch (param.device().type) {
    case DeviceType::cpu:
      cpu::rmsprop_step(param, grad, square_avg, grad_avg,
                        momentum == 0 ? Tensor() : momentum_buffer, lr, alpha, eps,
                        weight_decay, momentum, maximize);
      break;
    case DeviceType::cuda: {
      Tensor unused;
      DenseOperands d({&param, &square_avg, &grad_avg, momentum == 0 ? &unused : &momentum_buffer});
      cuda::rmsprop_step(d[0], grad.contiguous(), d[1], d[2], d[3], lr, alpha, eps, weight_decay,
                         momentum, maximize);
      d.write_back();
      break;
    }
    default: no_kernel(op, param.device());
  }
  bump({&param, &square_avg, &grad_avg, momentum == 0 ? &param : &momentum_buffer});
}

void adagrad_step(Tensor& param, const Tensor& grad, Tensor state_sum, double lr,
                  double lr_decay, double eps, double weight_decay, int64_t step, bool maximize) {
  const char* op = "adagrad_step";
  EMBER_CHECK_KIND(type, state_sum.defined(), op, ": state_sum is required");
  check_operands(op, param, grad, {{"state_sum", &state_sum}});
  check_finite_nonnegative(op, "lr_decay", lr_decay);
  EMBER_CHECK(step >= 1, op, ": step must be >= 1, got ", step);
  double clr = lr / (1 + double(step - 1) * lr_decay);
  switch (param.device().type) {
    case DeviceType::cpu:
      cpu::adagrad_step(param, grad, state_sum, clr, eps, weight_decay, maximize);
      break;
    case DeviceType::cuda: {
      DenseOperands d({&param, &state_sum});
      cuda::adagrad_step(d[0], grad.contiguous(), d[1], clr, eps, weight_decay, maximize);
      d.write_back();
      break;
    }
    default: no_kernel(op, param.device());
  }
  bump({&param, &state_sum});
}

}  // namespace ember
