// Bindings: linalg ops.
#include "python/bind.h"

namespace ember {
namespace python {

void bind_linalg(py::module_& m) {}

}  // namespace python
}  // namespace ember
