// The ember._C module: error translation and the per-family bindings.
#include "core/check.h"
#include "python/bind.h"

namespace ember {
namespace python {

void set_python_error(const Error& e) {
  PyObject* type = PyExc_RuntimeError;
  switch (e.kind()) {
    case ErrorKind::value: type = PyExc_ValueError; break;
    case ErrorKind::type: type = PyExc_TypeError; break;
    case ErrorKind::index: type = PyExc_IndexError; break;
    case ErrorKind::memory: type = PyExc_MemoryError; break;
    case ErrorKind::not_implemented: type = PyExc_NotImplementedError; break;
    case ErrorKind::runtime: break;
  }
  PyErr_SetString(type, e.what());
}

static void translate_errors() {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      set_python_error(e);
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "out of memory (std::bad_alloc)");
    }
  });
}

}  // namespace python
}  // namespace ember

PYBIND11_MODULE(_C, m) {
  using namespace ember::python;
  m.doc() = "ember's C++ core: tensors, CPU kernels and (when built) CUDA kernels";
  translate_errors();
  bind_tensor(m);
  bind_autograd(m);
  bind_creation(m);
  bind_runtime(m);
  bind_elementwise(m);
  bind_reduce(m);
  bind_linalg(m);
  bind_conv(m);
  bind_index(m);
  bind_nn(m);
  bind_optim(m);
}
