// Bindings: the autograd objects (TensorBase, Node, Context), Function.apply,
// the backward engine and grad mode, all written against the CPython API in
// csrc/autograd/ (fast calls, no per-call argument conversion).
#include "autograd/graph.h"
#include "python/bind.h"

namespace ember {
namespace python {

namespace {

PyObject* is_grad_enabled(PyObject*, PyObject*) { return PyBool_FromLong(autograd::grad_enabled()); }

PyObject* set_grad_enabled(PyObject*, PyObject* mode) {
  int truth = PyObject_IsTrue(mode);
  if (truth < 0) return nullptr;
  autograd::set_grad_enabled(truth != 0);
  Py_RETURN_NONE;
}

template <typename F>
PyCFunction as_cfunction(F f) {
  return reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(f));
}

PyMethodDef functions[] = {
    {"function_apply", as_cfunction(autograd::function_apply), METH_FASTCALL | METH_KEYWORDS,
     "function_apply(cls, *args, **kwargs): Function.apply (runs forward, records the node)"},
    {"run_backward", as_cfunction(autograd::run_backward), METH_FASTCALL,
     "run_backward(tensors, grads, retain_graph, create_graph, inputs): the backward engine"},
    {"is_grad_enabled", is_grad_enabled, METH_NOARGS, "whether ops record the graph (per thread)"},
    {"set_grad_enabled", set_grad_enabled, METH_O, "sets grad mode for this thread"},
};

}  // namespace

void bind_autograd(py::module_& m) {
  if (!autograd::init_types()) throw py::error_already_set();
  m.add_object("TensorBase", py::handle(reinterpret_cast<PyObject*>(&autograd::TensorBaseType)));
  m.add_object("Node", py::handle(reinterpret_cast<PyObject*>(&autograd::NodeType)));
  m.add_object("Context", py::handle(reinterpret_cast<PyObject*>(&autograd::ContextType)));
  for (PyMethodDef& def : functions) {
    PyObject* f = PyCFunction_NewEx(&def, nullptr, m.ptr());
    if (f == nullptr) throw py::error_already_set();
    m.add_object(def.ml_name, py::reinterpret_steal<py::object>(f));
  }
  m.def(
      "binary_operator",
      [](BinaryOp op, py::object function, py::function fallback, bool reflected) {
        PyObject* method = autograd::binary_operator(op, function.ptr(), fallback.ptr(), reflected);
        if (method == nullptr) throw py::error_already_set();
        return py::reinterpret_steal<py::object>(method);
      },
      py::arg("op"), py::arg("function"), py::arg("fallback"), py::arg("reflected"),
      "A Tensor method computing `self (op) other` (reflected: `other (op) self`) in C, "
      "recording function's node; operands other than Tensors and Python numbers go to "
      "fallback(self, other)");
  m.def(
      "view_method",
      [](bool must_view, py::object function, py::function fallback) {
        PyObject* method = autograd::view_method(must_view, function.ptr(), fallback.ptr());
        if (method == nullptr) throw py::error_already_set();
        return py::reinterpret_steal<py::object>(method);
      },
      py::arg("must_view"), py::arg("function"), py::arg("fallback"),
      "Tensor.view (must_view) or Tensor.reshape in C for int shapes, recording function's "
      "node; other arguments go to fallback(self, *shape)");
  m.def(
      "register_autograd_classes",
      [](py::type tensor, py::type accumulate_grad, py::function fit_to_input) {
        auto& r = autograd::registry;
        if (!PyType_IsSubtype(reinterpret_cast<PyTypeObject*>(tensor.ptr()), &autograd::TensorBaseType) ||
            !PyType_IsSubtype(reinterpret_cast<PyTypeObject*>(accumulate_grad.ptr()), &autograd::NodeType)) {
          throw py::type_error("register_autograd_classes: expected a TensorBase and a Node subclass");
        }
        r.tensor = reinterpret_cast<PyTypeObject*>(tensor.release().ptr());
        r.accumulate_grad = reinterpret_cast<PyTypeObject*>(accumulate_grad.release().ptr());
        r.fit_to_input = fit_to_input.release().ptr();
      },
      "Tells the autograd objects which classes are ember.Tensor and AccumulateGrad, and the "
      "function that fits a gradient to its argument's shape and dtype");
}

}  // namespace python
}  // namespace ember
