// Tensor's arithmetic operators (+ - * / and their reflections) and its
// reshape and view methods in C.
//
// They are the most common ops in user code, and through the Python path
// (operator -> op function -> Function.apply -> forward -> _C) each cost
// two Python frames and a pybind11 dispatch more than the work. Here a
// Tensor with a Tensor or a Python int/float goes straight to ember::binary
// (a reshape or view with int sizes to Tensor::reshape / view) and, when
// recording, builds the same node, ctx and saved tensors as the op's Python
// forward (Add, Sub, Mul, Div in ember/ops/elementwise.py;
// _Reshape in ember/ops/shape.py), so the backward is the Python one. Any
// other operand goes to the Python op function, which handles it or raises.
#include <memory>

#include "autograd/graph.h"
#include "python/bind.h"

namespace ember {
namespace autograd {

namespace {

struct BinaryOperator {
  BinaryOp op;
  bool reflected;
  PyObject* function;  // the Function subclass whose node is recorded
  PyObject* fallback;  // the Python op function, called with the operator's arguments
};

// A Python int or float as a Scalar (bools, other numbers and ints past
// int64 are left to the Python path).
bool python_scalar(PyObject* o, Scalar* s) {
  if (PyFloat_CheckExact(o)) {
    *s = Scalar(PyFloat_AS_DOUBLE(o));
    return true;
  }
  if (PyLong_CheckExact(o)) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow != 0 || (v == -1 && PyErr_Occurred())) {
      PyErr_Clear();
      return false;
    }
    *s = Scalar(static_cast<int64_t>(v));
    return true;
  }
  return false;
}

// Which operands the op's backward reads, as its Python forward saves them:
// Mul keeps each input for the other's gradient, Div keeps the divisor and,
// for the divisor's gradient, the dividend.
bool save_operands(BinaryOp op, ContextObject* ctx, PyObject* a, PyObject* b) {
  bool needs_a = PyTuple_GET_ITEM(ctx->needs_input_grad, 0) == Py_True;
  bool needs_b = PyTuple_GET_ITEM(ctx->needs_input_grad, 1) == Py_True;
  PyObject* saved[2];
  switch (op) {
    case BinaryOp::mul:
      saved[0] = needs_b ? a : nullptr;
      saved[1] = needs_a ? b : nullptr;
      return save_for_backward(ctx, saved, 2);
    case BinaryOp::div:
      saved[0] = needs_b ? a : nullptr;
      saved[1] = b;
      return save_for_backward(ctx, saved, 2);
    default:
      return true;
  }
}

PyObject* call_binary(const BinaryOperator& self, PyObject* const* args, Py_ssize_t nargs) {
  PyObject* x = args[0];
  PyObject* y = args[1];
  PyObject* a = self.reflected ? y : x;
  PyObject* b = self.reflected ? x : y;
  bool a_tensor = is_tensor(a);
  bool b_tensor = is_tensor(b);
  Scalar scalar;
  if (!(a_tensor && b_tensor) && !(a_tensor && python_scalar(b, &scalar)) &&
      !(b_tensor && python_scalar(a, &scalar))) {
    return PyObject_Vectorcall(self.fallback, args, static_cast<size_t>(nargs), nullptr);
  }
  const Tensor* ta = a_tensor ? cpp_tensor(reinterpret_cast<TensorObject*>(a)->data) : nullptr;
  const Tensor* tb = b_tensor ? cpp_tensor(reinterpret_cast<TensorObject*>(b)->data) : nullptr;
  if ((a_tensor && ta == nullptr) || (b_tensor && tb == nullptr)) {
    PyErr_SetString(PyExc_TypeError, "a Tensor without _C data");
    return nullptr;
  }
  bool record = grad_enabled() && ((a_tensor && reinterpret_cast<TensorObject*>(a)->requires_grad) ||
                                   (b_tensor && reinterpret_cast<TensorObject*>(b)->requires_grad));
  Tensor scalar_operand;
  try {
    if (!a_tensor) scalar_operand = scalar_tensor(scalar, *tb);
    if (!b_tensor) scalar_operand = scalar_tensor(scalar, *ta);
    if (!record) {
      return make_tensor_from(binary(self.op, a_tensor ? *ta : scalar_operand,
                                     b_tensor ? *tb : scalar_operand));
    }
  } catch (...) {
    set_error_from_exception();
    return nullptr;
  }

  // Recording: the operands as Tensors (a number becomes a 0-d one, as the
  // Python path makes it), then the same steps as Function.apply.
  PyObject* operands[2] = {a, b};
  PyObject* made = nullptr;
  if (!a_tensor || !b_tensor) {
    PyObject* data = wrap_cpp_tensor(scalar_operand);
    if (data == nullptr) return nullptr;
    made = make_tensor(data, false, nullptr, 0);
    Py_DECREF(data);
    if (made == nullptr) return nullptr;
    operands[a_tensor ? 1 : 0] = made;
  }
  std::unique_ptr<PyObject, void (*)(PyObject*)> made_ref(made, [](PyObject* o) { Py_XDECREF(o); });
  Call call;
  if (!call.prepare(operands, 2) || !save_operands(self.op, call.ctx, operands[0], operands[1])) {
    return nullptr;
  }
  const Tensor* da = cpp_tensor(reinterpret_cast<TensorObject*>(operands[0])->data);
  const Tensor* db = cpp_tensor(reinterpret_cast<TensorObject*>(operands[1])->data);
  PyObject* raw = nullptr;
  try {
    raw = wrap_cpp_tensor(binary(self.op, *da, *db));
  } catch (...) {
    set_error_from_exception();
  }
  if (raw == nullptr) return nullptr;
  PyObject* out = call.finish(self.function, raw);
  Py_DECREF(raw);
  return out;
}

PyObject* binary_method(PyObject* capsule, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 2) {
    PyErr_SetString(PyExc_TypeError, "a Tensor operator takes exactly one other operand");
    return nullptr;
  }
  auto* self = static_cast<BinaryOperator*>(PyCapsule_GetPointer(capsule, nullptr));
  if (self == nullptr) return nullptr;
  return call_binary(*self, args, nargs);
}

PyMethodDef binary_method_def = {
    "binary_operator", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(binary_method)),
    METH_FASTCALL, "a Tensor arithmetic operator"};

struct ViewMethod {
  bool must_view;      // view: never copy; reshape: copy when strides don't allow a view
  PyObject* function;  // _Reshape
  PyObject* fallback;  // the Python reshape / view
};

// The new shape from f(2, 3) or f((2, 3)) / f([2, 3]); false (no error) for
// anything but Python ints, which the Python path converts or rejects.
bool shape_arguments(PyObject* const* args, Py_ssize_t n, Shape* shape) {
  PyObject* const* items = args;
  if (n == 1 && !PyLong_Check(args[0])) {
    if (!PyList_Check(args[0]) && !PyTuple_Check(args[0])) return false;
    n = PySequence_Fast_GET_SIZE(args[0]);
    items = PySequence_Fast_ITEMS(args[0]);
  }
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (!PyLong_Check(items[i])) return false;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(items[i], &overflow);
    if (overflow != 0 || (v == -1 && PyErr_Occurred())) {
      PyErr_Clear();
      return false;
    }
    shape->push_back(static_cast<int64_t>(v));
  }
  return true;
}

PyObject* call_view(const ViewMethod& self, PyObject* const* args, Py_ssize_t nargs) {
  PyObject* x = args[0];
  Shape shape;
  if (!is_tensor(x) || !shape_arguments(args + 1, nargs - 1, &shape)) {
    return PyObject_Vectorcall(self.fallback, args, static_cast<size_t>(nargs), nullptr);
  }
  auto* tx = reinterpret_cast<TensorObject*>(x);
  const Tensor* data = cpp_tensor(tx->data);
  if (data == nullptr) {
    PyErr_SetString(PyExc_TypeError, "a Tensor without _C data");
    return nullptr;
  }
  PyObject* raw = nullptr;
  try {
    raw = wrap_cpp_tensor(self.must_view ? data->view(shape) : data->reshape(shape));
  } catch (...) {
    set_error_from_exception();
  }
  if (raw == nullptr) return nullptr;
  PyObject* out = nullptr;
  if (!grad_enabled() || !tx->requires_grad) {
    out = make_tensor(raw, false, nullptr, 0);
  } else {
    // As _Reshape.apply(x, shape, must_view): the ctx keeps x's shape.
    PyObject* shape_list = PyList_New(0);  // stands for the argument; not kept
    PyObject* call_args[3] = {x, shape_list, self.must_view ? Py_True : Py_False};
    Call call;
    PyObject* old_shape = nullptr;
    try {
      old_shape = python::int_tuple(data->shape()).release().ptr();
    } catch (...) {
      set_error_from_exception();
    }
    if (shape_list != nullptr && old_shape != nullptr && call.prepare(call_args, 3) &&
        PyObject_SetAttr(reinterpret_cast<PyObject*>(call.ctx), names.shape, old_shape) == 0) {
      out = call.finish(self.function, raw);
    }
    Py_XDECREF(shape_list);
    Py_XDECREF(old_shape);
  }
  Py_DECREF(raw);
  if (out != nullptr) {  // a view of x's root, for the in-place checks
    auto* t = reinterpret_cast<TensorObject*>(out);
    PyObject* base = is_none(tx->base) ? x : tx->base;
    Py_INCREF(base);
    Py_XSETREF(t->base, base);
  }
  return out;
}

PyObject* view_method(PyObject* capsule, PyObject* const* args, Py_ssize_t nargs) {
  auto* self = static_cast<ViewMethod*>(PyCapsule_GetPointer(capsule, nullptr));
  if (self == nullptr) return nullptr;
  if (nargs < 1) {
    PyErr_SetString(PyExc_TypeError, "reshape/view: expected a Tensor");
    return nullptr;
  }
  return call_view(*self, args, nargs);
}

PyMethodDef view_method_def = {
    "view_method", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(view_method)),
    METH_FASTCALL, "Tensor.reshape / Tensor.view"};

// The state of a BinaryOperator or ViewMethod owns its two references.
template <typename State>
void free_state(State* state) {
  Py_XDECREF(state->function);
  Py_XDECREF(state->fallback);
  delete state;
}

template <typename State>
void destroy_state(PyObject* capsule) {
  free_state(static_cast<State*>(PyCapsule_GetPointer(capsule, nullptr)));
}

// A C function bound to `state`, wrapped in an instancemethod: that binds
// like a Python function, so it can sit in the class (as __add__, reshape)
// and receive (self, ...).
template <typename State>
PyObject* instance_method(PyMethodDef* def, State* state) {
  PyObject* capsule = PyCapsule_New(state, nullptr, destroy_state<State>);
  if (capsule == nullptr) {
    free_state(state);
    return nullptr;
  }
  PyObject* f = PyCFunction_NewEx(def, capsule, nullptr);
  Py_DECREF(capsule);
  if (f == nullptr) return nullptr;
  PyObject* method = PyInstanceMethod_New(f);
  Py_DECREF(f);
  return method;
}

}  // namespace

PyObject* make_tensor_from(Tensor t) {
  PyObject* data = wrap_cpp_tensor(std::move(t));
  if (data == nullptr) return nullptr;
  PyObject* out = make_tensor(data, false, nullptr, 0);
  Py_DECREF(data);
  return out;
}

PyObject* binary_operator(BinaryOp op, PyObject* function, PyObject* fallback, bool reflected) {
  Py_INCREF(function);
  Py_INCREF(fallback);
  return instance_method(&binary_method_def, new BinaryOperator{op, reflected, function, fallback});
}

PyObject* view_method(bool must_view, PyObject* function, PyObject* fallback) {
  Py_INCREF(function);
  Py_INCREF(fallback);
  return instance_method(&view_method_def, new ViewMethod{must_view, function, fallback});
}

}  // namespace autograd
}  // namespace ember
