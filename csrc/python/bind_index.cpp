// Bindings: index ops.
#include "python/bind.h"

namespace ember {
namespace python {

void bind_index(py::module_& m) {}

}  // namespace python
}  // namespace ember
