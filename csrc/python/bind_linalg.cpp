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
}

}  // namespace python
}  // namespace ember
