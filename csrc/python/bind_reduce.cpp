// Bindings: reductions.
#include "ops/reduce.h"
#include "python/bind.h"

namespace ember {
namespace python {

void bind_reduce(py::module_& m) {
  m.def("sum", &sum, py::arg("x"), py::arg("dims") = Shape{}, py::arg("keepdim") = false);
}

}  // namespace python
}  // namespace ember
