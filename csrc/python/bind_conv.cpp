// Bindings: conv ops (conv2d) and pooling.
#include <optional>

#include "ops/conv.h"
#include "ops/pool.h"
#include "python/bind.h"

namespace ember {
namespace python {

void bind_conv(py::module_& m) {
  m.def(
      "conv2d",
      [](const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias,
         const Shape& stride, const Shape& padding, const Shape& dilation, int64_t groups) {
        return conv2d(input, weight, bias.value_or(Tensor()), stride, padding, dilation, groups);
      },
      py::arg("input"), py::arg("weight"), py::arg("bias").none(true), py::arg("stride"),
      py::arg("padding"), py::arg("dilation"), py::arg("groups"));
  m.def("conv2d_backward", &conv2d_backward);
  m.def("conv2d_algorithm", &conv2d_algorithm, py::arg("input"), py::arg("weight"),
        py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("groups"));
  m.def("max_pool2d", &max_pool2d, py::arg("input"), py::arg("kernel_size"), py::arg("stride"),
        py::arg("padding"), py::arg("dilation"), py::arg("ceil_mode"),
        py::arg("return_indices") = true);
  m.def("max_pool2d_backward", &max_pool2d_backward);
  m.def("avg_pool2d", &avg_pool2d);
  m.def("avg_pool2d_backward", &avg_pool2d_backward);
  m.def("adaptive_avg_pool2d", &adaptive_avg_pool2d);
  m.def("adaptive_avg_pool2d_backward", &adaptive_avg_pool2d_backward);
}

}  // namespace python
}  // namespace ember
