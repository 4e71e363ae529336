// Bindings: linalg ops.
#include "ops/gemm.h"
#include "python/bind.h"

namespace ember {
namespace python {

void bind_linalg(py::module_& m) {
  m.def("matmul", &matmul);
  m.def("mm", &mm);
  m.def("bmm", &bmm);
  m.def("dot", &dot);
  m.def(
      "linear",
      [](const Tensor& input, const Tensor& weight, const std::optional<Tensor>& bias) {
        return linear(input, weight, bias.value_or(Tensor()));
      },
      py::arg("input"), py::arg("weight"), py::arg("bias").none(true));
}

}  // namespace python
}  // namespace ember
