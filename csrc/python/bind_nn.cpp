// Bindings: normalisation, dropout, the fused LSTM and GRU cells and loss ops.
#include "ops/loss.h"
#include "ops/norm.h"
#include "ops/rnn.h"
#include "python/bind.h"

namespace ember {
namespace python {

void bind_nn(py::module_& m) {
  m.def("batch_norm", &batch_norm, py::arg("input"), py::arg("running_mean"),
        py::arg("running_var"), py::arg("weight"), py::arg("bias"), py::arg("training"),
        py::arg("momentum"), py::arg("eps"));
  m.def("batch_norm_backward", &batch_norm_backward);
  m.def("layer_norm", &layer_norm);
  m.def("layer_norm_backward", &layer_norm_backward);
  m.def("group_norm", &group_norm);
  m.def("group_norm_backward", &group_norm_backward);
  m.def("dropout", &dropout);
  m.def("lstm_cell", &lstm_cell, py::arg("gates"), py::arg("c_prev"));
  m.def(
      "lstm_cell_backward",
      [](const std::optional<Tensor>& grad_h, const std::optional<Tensor>& grad_c,
         const Tensor& gates, const Tensor& c_prev) {
        return lstm_cell_backward(grad_h.value_or(Tensor()), grad_c.value_or(Tensor()), gates,
                                  c_prev);
      },
      py::arg("grad_h").none(true), py::arg("grad_c").none(true), py::arg("gates"),
      py::arg("c_prev"));
  m.def("gru_cell", &gru_cell, py::arg("input_gates"), py::arg("hidden_gates"),
        py::arg("h_prev"));
  m.def("gru_cell_backward", &gru_cell_backward, py::arg("grad_h"), py::arg("workspace"),
        py::arg("h_prev"));

  py::enum_<Reduction>(m, "Reduction")
      .value("none", Reduction::none)
      .value("mean", Reduction::mean)
      .value("sum", Reduction::sum);
  py::enum_<PointwiseLoss>(m, "PointwiseLoss")
      .value("mse", PointwiseLoss::mse)
      .value("l1", PointwiseLoss::l1)
      .value("smooth_l1", PointwiseLoss::smooth_l1)
      .value("binary_cross_entropy", PointwiseLoss::binary_cross_entropy)
      .value("binary_cross_entropy_with_logits", PointwiseLoss::binary_cross_entropy_with_logits);
  m.def("cross_entropy", &cross_entropy);
  m.def("cross_entropy_backward", &cross_entropy_backward);
  m.def("nll_loss", &nll_loss);
  m.def("nll_loss_backward", &nll_loss_backward);
  m.def("pointwise_loss", &pointwise_loss);
  m.def("pointwise_loss_backward", &pointwise_loss_backward);
}

}  // namespace python
}  // namespace ember
