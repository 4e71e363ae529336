// Function.apply: runs an op's forward and, when grad mode is on and an
// argument requires grad, records its node. Also the grad-mode flag and the
// helpers that move tensors between C++ and Python.
#include <pybind11/pybind11.h>

#include "autograd/graph.h"
#include "python/bind.h"

namespace ember {
namespace autograd {

namespace py = pybind11;

Registry registry;

namespace {

thread_local bool grad_mode = true;  // per thread, like PyTorch's

bool needs_grad(PyObject* arg) {
  return is_tensor(arg) && reinterpret_cast<TensorObject*>(arg)->requires_grad;
}

// ctx.needs_input_grad: whether each argument requires grad (all False when
// the call is not recorded). The tuples of up to four arguments are made once
// and shared.
PyObject* needs_input_grad(PyObject* const* args, Py_ssize_t n, bool record) {
  constexpr Py_ssize_t kCached = 4;
  static PyObject* cache[kCached + 1][1u << kCached] = {};
  PyObject** slot = nullptr;
  if (n <= kCached) {
    unsigned mask = 0;
    for (Py_ssize_t i = 0; record && i < n; ++i) mask |= unsigned(needs_grad(args[i])) << i;
    slot = &cache[n][mask];
    if (*slot != nullptr) {
      Py_INCREF(*slot);
      return *slot;
    }
  }
  PyObject* t = PyTuple_New(n);
  if (t == nullptr) return nullptr;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* flag = record && needs_grad(args[i]) ? Py_True : Py_False;
    Py_INCREF(flag);
    PyTuple_SET_ITEM(t, i, flag);
  }
  if (slot != nullptr) {
    Py_INCREF(t);
    *slot = t;
  }
  return t;
}

}  // namespace

ContextObject* new_context(bool recorded) {
  auto* c = reinterpret_cast<ContextObject*>(ContextType.tp_alloc(&ContextType, 0));
  if (c == nullptr) return nullptr;
  c->recorded = recorded;
  // Holding only bools, a ctx can't be part of a reference cycle until it
  // saves tensors or gets attributes; until then the cycle collector need
  // not walk it (see track_context).
  PyObject_GC_UnTrack(c);
  return c;
}

namespace {

// Wraps forward's outputs (one _C.Tensor or a tuple of them) as Tensors that
// are outside the graph.
PyObject* wrap_unrecorded(PyObject* raw) {
  if (!PyTuple_Check(raw)) return make_tensor(raw, false, nullptr, 0);
  Py_ssize_t n = PyTuple_GET_SIZE(raw);
  PyObject* out = PyTuple_New(n);
  for (Py_ssize_t i = 0; out != nullptr && i < n; ++i) {
    PyObject* t = make_tensor(PyTuple_GET_ITEM(raw, i), false, nullptr, 0);
    if (t == nullptr) Py_CLEAR(out);
    else PyTuple_SET_ITEM(out, i, t);
  }
  return out;
}

bool non_differentiable(const ContextObject* ctx, PyObject* output) {
  if (ctx->non_differentiable == nullptr) return false;
  for (PyObject* id : *ctx->non_differentiable) {
    if (id == output) return true;
  }
  return false;
}

// Fills node's output metadata from forward's result and returns the
// Tensors: those of floating dtype not marked non-differentiable are
// attached to the node.
PyObject* wrap_recorded(PyObject* cls, PyObject* raw, NodeObject* node, ContextObject* ctx) {
  bool single = !PyTuple_Check(raw);
  Py_ssize_t n = single ? 1 : PyTuple_GET_SIZE(raw);
  auto& outputs = node->state->outputs;
  outputs.reserve(static_cast<size_t>(n));
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* o = single ? raw : PyTuple_GET_ITEM(raw, i);
    const Tensor* t = cpp_tensor(o);
    if (t == nullptr) {
      PyErr_Format(PyExc_TypeError,
                   "%s.forward returned a %s; it must return _C tensors (or a tuple of them)",
                   reinterpret_cast<PyTypeObject*>(cls)->tp_name, Py_TYPE(o)->tp_name);
      return nullptr;
    }
    outputs.push_back(OutputMeta{o, t->dtype(), t->device(), node->state->add_dims(t->shape())});
  }
  PyObject* result = single ? nullptr : PyTuple_New(n);
  if (!single && result == nullptr) return nullptr;
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject* o = single ? raw : PyTuple_GET_ITEM(raw, i);
    bool differentiable = is_floating(outputs[i].dtype) && !non_differentiable(ctx, o);
    PyObject* t = differentiable ? make_tensor(o, true, reinterpret_cast<PyObject*>(node), i)
                                 : make_tensor(o, false, nullptr, 0);
    if (single) return t;
    if (t == nullptr) {
      Py_DECREF(result);
      return nullptr;
    }
    PyTuple_SET_ITEM(result, i, t);
  }
  return result;
}

}  // namespace

bool grad_enabled() { return grad_mode; }
void set_grad_enabled(bool enabled) { grad_mode = enabled; }

// _C.Tensor's pybind11 type record, looked up once: a caster per call looks
// it up in a hash map each time, which was 7% of a recorded op.
static const py::detail::type_info* tensor_type_info() {
  static const py::detail::type_info* info = py::detail::get_type_info(typeid(Tensor));
  return info;
}

const Tensor* cpp_tensor(PyObject* o) {
  if (o == nullptr) return nullptr;  // a Tensor made by __new__ and never initialised
  const py::detail::type_info* info = tensor_type_info();
  if (info != nullptr && Py_TYPE(o) == info->type) {
    auto* inst = reinterpret_cast<py::detail::instance*>(o);
    return static_cast<const Tensor*>(inst->get_value_and_holder(info, false).value_ptr());
  }
  py::detail::make_caster<Tensor> caster;
  if (!caster.load(py::handle(o), false)) return nullptr;
  return &py::detail::cast_op<const Tensor&>(caster);
}

PyObject* wrap_cpp_tensor(Tensor t) {
  try {
    return py::cast(std::move(t)).release().ptr();
  } catch (...) {
    set_error_from_exception();
    return nullptr;
  }
}

PyObject* make_tensor(PyObject* data, bool requires_grad, PyObject* grad_fn, long long output_nr) {
  PyTypeObject* type = registry.tensor;
  if (type == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "ember.Tensor is not registered with _C");
    return nullptr;
  }
  auto* t = reinterpret_cast<TensorObject*>(type->tp_alloc(type, 0));
  if (t == nullptr) return nullptr;
  Py_INCREF(data);
  t->data = data;
  t->requires_grad = requires_grad;
  if (grad_fn != nullptr) {
    Py_INCREF(grad_fn);
    t->grad_fn = grad_fn;
  }
  t->output_nr = output_nr;
  return reinterpret_cast<PyObject*>(t);
}

bool gradient_edge(TensorObject* t, Edge* edge) {
  if (!is_none(t->grad_fn)) {
    Py_INCREF(t->grad_fn);
    *edge = Edge{t->grad_fn, t->output_nr};
    return true;
  }
  PyObject* acc = is_none(t->accumulator) ? nullptr : PyWeakref_GetObject(t->accumulator);
  if (acc != nullptr && acc != Py_None) {
    Py_INCREF(acc);
    *edge = Edge{acc, 0};
    return true;
  }
  if (registry.accumulate_grad == nullptr) {
    PyErr_SetString(PyExc_RuntimeError, "AccumulateGrad is not registered with _C");
    return false;
  }
  NodeObject* node = new_node(registry.accumulate_grad);
  if (node == nullptr) return false;
  Py_INCREF(t);
  node->variable = reinterpret_cast<PyObject*>(t);
  PyObject* ref = PyWeakref_NewRef(reinterpret_cast<PyObject*>(node), nullptr);
  if (ref == nullptr) {
    Py_DECREF(node);
    return false;
  }
  Py_XSETREF(t->accumulator, ref);
  *edge = Edge{reinterpret_cast<PyObject*>(node), 0};
  return true;
}

Call::~Call() {
  for (Edge& e : state.edges) Py_XDECREF(e.node);
  Py_XDECREF(reinterpret_cast<PyObject*>(ctx));
}

bool Call::prepare(PyObject* const* args, Py_ssize_t n) {
  record = false;
  if (grad_mode) {
    for (Py_ssize_t i = 0; i < n && !record; ++i) record = needs_grad(args[i]);
  }
  ctx = new_context(record);
  if (ctx == nullptr) return false;
  ctx->needs_input_grad = needs_input_grad(args, n, record);
  if (ctx->needs_input_grad == nullptr) return false;
  if (!record) return true;
  state.edges.assign(static_cast<size_t>(n), Edge{nullptr, 0});
  state.arg_meta.assign(static_cast<size_t>(n), ArgMeta{false, DType::float32, DimsRef{}});
  for (Py_ssize_t i = 0; i < n; ++i) {
    if (!needs_grad(args[i])) continue;
    auto* t = reinterpret_cast<TensorObject*>(args[i]);
    const Tensor* data = cpp_tensor(t->data);
    if (data == nullptr) {
      PyErr_SetString(PyExc_TypeError, "a Tensor without _C data requires grad");
      return false;
    }
    if (!gradient_edge(t, &state.edges[i])) return false;
    state.arg_meta[i] = ArgMeta{true, data->dtype(), state.add_dims(data->shape())};
  }
  return true;
}

PyObject* Call::finish(PyObject* cls, PyObject* raw) {
  if (!record) return wrap_unrecorded(raw);
  PyObject* node_type = PyObject_GetAttr(cls, names.node_type);
  if (node_type == nullptr) return nullptr;
  if (!PyType_Check(node_type) ||
      !PyType_IsSubtype(reinterpret_cast<PyTypeObject*>(node_type), &NodeType)) {
    PyErr_Format(PyExc_TypeError, "%s._node_type must be a Node subclass",
                 reinterpret_cast<PyTypeObject*>(cls)->tp_name);
    Py_DECREF(node_type);
    return nullptr;
  }
  NodeObject* node = new_node(reinterpret_cast<PyTypeObject*>(node_type));
  Py_DECREF(node_type);
  if (node == nullptr) return nullptr;
  ContextObject* c = ctx;
  node->ctx = reinterpret_cast<PyObject*>(c);  // the node owns the ctx from here
  ctx = nullptr;
  *node->state = std::move(state);
  state.edges.clear();
  PyObject* out = nullptr;
  if (c->saved != nullptr) {
    c->node = PyWeakref_NewRef(reinterpret_cast<PyObject*>(node), nullptr);
  }
  if (c->saved == nullptr || c->node != nullptr) out = wrap_recorded(cls, raw, node, c);
  Py_DECREF(node);  // the outputs hold it
  return out;
}

// _C.function_apply(cls, *args, **kwargs), installed as the classmethod
// Function.apply.
PyObject* function_apply(PyObject*, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames) {
  if (nargs < 1) {
    PyErr_SetString(PyExc_TypeError, "function_apply(cls, *args, **kwargs)");
    return nullptr;
  }
  PyObject* cls = args[0];
  PyObject* const* fargs = args + 1;
  Py_ssize_t n = nargs - 1;
  Py_ssize_t nkw = kwnames == nullptr ? 0 : PyTuple_GET_SIZE(kwnames);

  Call call;
  if (!call.prepare(fargs, n)) return nullptr;
  PyObject* forward = PyObject_GetAttr(cls, names.forward);
  if (forward == nullptr) return nullptr;
  // forward(ctx, *args, **kwargs): the keyword values follow the positional
  // arguments in `args`.
  std::vector<PyObject*> stack(static_cast<size_t>(1 + n + nkw));
  stack[0] = reinterpret_cast<PyObject*>(call.ctx);
  for (Py_ssize_t i = 0; i < n + nkw; ++i) stack[static_cast<size_t>(1 + i)] = fargs[i];
  PyObject* raw = PyObject_Vectorcall(forward, stack.data(), static_cast<size_t>(1 + n), kwnames);
  Py_DECREF(forward);
  if (raw == nullptr) return nullptr;
  PyObject* out = call.finish(cls, raw);
  Py_DECREF(raw);
  return out;
}

void set_error_from_exception() {
  try {
    throw;
  } catch (py::error_already_set& e) {
    e.restore();
  } catch (const Error& e) {
    python::set_python_error(e);
  } catch (const std::bad_alloc&) {
    PyErr_SetString(PyExc_MemoryError, "out of memory (std::bad_alloc)");
  } catch (const std::exception& e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
  }
}

}  // namespace autograd
}  // namespace ember
