// Bindings: conv ops.
#include "python/bind.h"

namespace ember {
namespace python {

void bind_conv(py::module_& m) {}

}  // namespace python
}  // namespace ember
