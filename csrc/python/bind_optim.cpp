// Bindings: fused optimizer update kernels. Optional state is passed as None.
#include <optional>

#include "ops/optim.h"
#include "python/bind.h"

namespace ember {
namespace python {

namespace {
Tensor or_undefined(const std::optional<Tensor>& t) { return t ? *t : Tensor(); }
}  // namespace

void bind_optim(py::module_& m) {
  m.def(
      "sgd_step",
      [](Tensor& param, const Tensor& grad, const std::optional<Tensor>& momentum_buffer,
         double lr, double momentum, double dampening, double weight_decay, bool nesterov,
         bool maximize, bool first_step) {
        sgd_step(param, grad, or_undefined(momentum_buffer), lr, momentum, dampening,
                 weight_decay, nesterov, maximize, first_step);
      },
      py::arg("param"), py::arg("grad"), py::arg("momentum_buffer"), py::arg("lr"),
      py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"),
      py::arg("maximize"), py::arg("first_step"));
  m.def(
      "adam_step",
      [](Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
         const std::optional<Tensor>& max_exp_avg_sq, double lr, double beta1, double beta2,
         double eps, double weight_decay, int64_t step, bool decoupled, bool maximize) {
        adam_step(param, grad, exp_avg, exp_avg_sq, or_undefined(max_exp_avg_sq), lr, beta1,
                  beta2, eps, weight_decay, step, decoupled, maximize);
      },
      py::arg("param"), py::arg("grad"), py::arg("exp_avg"), py::arg("exp_avg_sq"),
      py::arg("max_exp_avg_sq"), py::arg("lr"), py::arg("beta1"), py::arg("beta2"),
      py::arg("eps"), py::arg("weight_decay"), py::arg("step"), py::arg("decoupled"),
      py::arg("maximize"));
  m.def(
      "rmsprop_step",
      [](Tensor& param, const Tensor& grad, const Tensor& square_avg,
         const std::optional<Tensor>& grad_avg, const std::optional<Tensor>& momentum_buffer,
         double lr, double alpha, double eps, double weight_decay, double momentum,
         bool maximize) {
        rmsprop_step(param, grad, square_avg, or_undefined(grad_avg),
                     or_undefined(momentum_buffer), lr, alpha, eps, weight_decay, momentum,
                     maximize);
      },
      py::arg("param"), py::arg("grad"), py::arg("square_avg"), py::arg("grad_avg"),
      py::arg("momentum_buffer"), py::arg("lr"), py::arg("alpha"), py::arg("eps"),
      py::arg("weight_decay"), py::arg("momentum"), py::arg("maximize"));
  m.def("adagrad_step", &adagrad_step, py::arg("param"), py::arg("grad"), py::arg("state_sum"),
        py::arg("lr"), py::arg("lr_decay"), py::arg("eps"), py::arg("weight_decay"),
        py::arg("step"), py::arg("maximize"));
}

}  // namespace python
}  // namespace ember
