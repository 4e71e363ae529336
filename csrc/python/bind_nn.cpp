// Bindings: nn ops.
#include "python/bind.h"

namespace ember {
namespace python {

void bind_nn(py::module_& m) {}

}  // namespace python
}  // namespace ember
