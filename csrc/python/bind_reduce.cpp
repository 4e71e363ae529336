// Bindings: reductions, softmax / log_softmax, cumsum and their backward kernels.
#include "ops/reduce.h"
#include "python/bind.h"

namespace ember {
namespace python {

void bind_reduce(py::module_& m) {
  auto x = py::arg("x");
  auto dims = py::arg("dims") = Shape{};
  auto keepdim = py::arg("keepdim") = false;
  m.def("sum", &sum, x, dims, keepdim);
  m.def("mean", &mean, x, dims, keepdim);
  m.def("prod", &prod, x, dims, keepdim);
  m.def("amax", &amax, x, dims, keepdim);
  m.def("amin", &amin, x, dims, keepdim);
  m.def("max_dim", &max_dim, x, py::arg("dim"), keepdim);
  m.def("min_dim", &min_dim, x, py::arg("dim"), keepdim);
  m.def("argmax", &argmax, x, py::arg("dim") = py::none(), keepdim);
  m.def("argmin", &argmin, x, py::arg("dim") = py::none(), keepdim);
  m.def("var", &var, x, dims, py::arg("correction") = 1.0, keepdim);
  m.def("std", &stddev, x, dims, py::arg("correction") = 1.0, keepdim);
  m.def("logsumexp", &logsumexp, x, dims, keepdim);
  m.def("norm", &norm, x, py::arg("p") = 2.0, dims, keepdim);
  m.def("softmax", &softmax, x, py::arg("dim"));
  m.def("log_softmax", &log_softmax, x, py::arg("dim"));
  m.def("softmax_backward", &softmax_backward, py::arg("grad"), py::arg("y"), py::arg("dim"));
  m.def("log_softmax_backward", &log_softmax_backward, py::arg("grad"), py::arg("y"),
        py::arg("dim"));
  m.def("cumsum", &cumsum, x, py::arg("dim"), py::arg("reverse") = false);
  m.def("prod_backward", &prod_backward, py::arg("grad"), x, dims);
  m.def("extreme_weights", &extreme_weights, x, py::arg("out"), dims);
  m.def("norm_backward", &norm_backward, py::arg("grad"), x, py::arg("out"), py::arg("p"), dims);
}

}  // namespace python
}  // namespace ember
