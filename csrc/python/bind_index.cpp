// Bindings: joining, gathering, scattering and indexing ops.
#include "ops/index.h"
#include "python/bind.h"

namespace ember {
namespace python {

void bind_index(py::module_& m) {
  m.def("cat", &cat, py::arg("tensors"), py::arg("dim") = 0);
  m.def("gather", &gather);
  m.def("scatter_", &scatter_, py::arg("self"), py::arg("dim"), py::arg("index"), py::arg("src"),
        py::arg("accumulate") = false);
  m.def("scatter_value_", &scatter_value_);
  m.def("scatter", &scatter, py::arg("input"), py::arg("dim"), py::arg("index"), py::arg("src"),
        py::arg("accumulate") = false);
  m.def("index_select", &index_select);
  m.def("index_add_", &index_add_);
  m.def("masked_fill", &masked_fill);
  m.def("masked_fill_", &masked_fill_);
  m.def("index", &index);
  m.def("index_put_", &index_put_, py::arg("self"), py::arg("indices"), py::arg("values"),
        py::arg("accumulate") = false);
  m.def("one_hot", &one_hot, py::arg("input"), py::arg("num_classes") = -1);
  m.def("pad", &pad, py::arg("input"), py::arg("pad"), py::arg("value") = Scalar(0.0));
  m.def("nonzero", &nonzero);
}

}  // namespace python
}  // namespace ember
