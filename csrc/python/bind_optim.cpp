// Bindings: fused optimizer update kernels.
#include "python/bind.h"

namespace ember {
namespace python {

void bind_optim(py::module_& m) {}

}  // namespace python
}  // namespace ember
