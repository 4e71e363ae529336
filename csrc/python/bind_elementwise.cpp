// Bindings: elementwise ops.
#include "ops/elementwise.h"
#include "python/bind.h"

namespace ember {
namespace python {

void bind_elementwise(py::module_& m) {
  py::enum_<BinaryOp>(m, "BinaryOp")
      .value("add", BinaryOp::add)
      .value("sub", BinaryOp::sub)
      .value("mul", BinaryOp::mul)
      .value("div", BinaryOp::div);
  m.def("scalar_tensor", &scalar_tensor);
  m.def("binary", &binary);
  m.def("binary_", &binary_);
}

}  // namespace python
}  // namespace ember
