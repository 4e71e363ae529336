// The three object types of the graph: TensorBase (ember.Tensor's fields),
// Node and Context. Their behaviour beyond fields (apply, the engine) is in
// function.cpp and engine.cpp.
#include "autograd/graph.h"

#include <structmember.h>

#include <memory>
#include <utility>
#include <string>

namespace ember {
namespace autograd {

PyTypeObject TensorBaseType = {PyVarObject_HEAD_INIT(nullptr, 0)};
PyTypeObject NodeType = {PyVarObject_HEAD_INIT(nullptr, 0)};
PyTypeObject ContextType = {PyVarObject_HEAD_INIT(nullptr, 0)};
Names names;

namespace {

// Each type lists the references it owns once (a `references` function that
// calls f on each); its tp_traverse and tp_clear are these walks of the list.
template <typename Object, const auto& references>
int traverse_slot(PyObject* self, visitproc visit, void* arg) {
  int result = 0;
  references(reinterpret_cast<Object*>(self), [&](PyObject*& ref) {
    if (result == 0 && ref != nullptr) result = visit(ref, arg);
  });
  return result;
}

template <typename Object, const auto& references>
int clear_slot(PyObject* self) {
  references(reinterpret_cast<Object*>(self), [](PyObject*& ref) { Py_CLEAR(ref); });
  return 0;
}

// ------------------------------------------------------------------ TensorBase

constexpr auto tensor_references = [](TensorObject* t, auto&& f) {
  f(t->data);
  f(t->grad);
  f(t->grad_fn);
  f(t->accumulator);
  f(t->hooks);
  f(t->base);
};

constexpr auto tensor_clear = clear_slot<TensorObject, tensor_references>;

void tensor_dealloc(PyObject* self) {
  PyObject_GC_UnTrack(self);
  if (reinterpret_cast<TensorObject*>(self)->weakreflist != nullptr) PyObject_ClearWeakRefs(self);
  tensor_clear(self);
  Py_TYPE(self)->tp_free(self);
}

PyObject* get_flag(char* flag) { return PyBool_FromLong(*flag); }

int set_flag(char* flag, PyObject* value, const char* name) {
  if (value == nullptr) {
    PyErr_Format(PyExc_AttributeError, "cannot delete %s", name);
    return -1;
  }
  int truth = PyObject_IsTrue(value);
  if (truth < 0) return -1;
  *flag = static_cast<char>(truth);
  return 0;
}

PyObject* tensor_get_requires_grad(PyObject* self, void*) {
  return get_flag(&reinterpret_cast<TensorObject*>(self)->requires_grad);
}
int tensor_set_requires_grad(PyObject* self, PyObject* value, void*) {
  return set_flag(&reinterpret_cast<TensorObject*>(self)->requires_grad, value, "requires_grad");
}
PyObject* tensor_get_retains_grad(PyObject* self, void*) {
  return get_flag(&reinterpret_cast<TensorObject*>(self)->retains_grad);
}
int tensor_set_retains_grad(PyObject* self, PyObject* value, void*) {
  return set_flag(&reinterpret_cast<TensorObject*>(self)->retains_grad, value, "_retains_grad");
}

// Tensor._make(data, requires_grad, grad_fn, output_nr): the constructor ops
// use, without argument processing.
PyObject* tensor_make(PyObject* cls, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 4) {
    PyErr_SetString(PyExc_TypeError, "Tensor._make(data, requires_grad, grad_fn, output_nr)");
    return nullptr;
  }
  int requires_grad = PyObject_IsTrue(args[1]);
  long long nr = PyLong_AsLongLong(args[3]);
  if (requires_grad < 0 || (nr == -1 && PyErr_Occurred())) return nullptr;
  auto* type = reinterpret_cast<PyTypeObject*>(cls);
  auto* t = reinterpret_cast<TensorObject*>(type->tp_alloc(type, 0));
  if (t == nullptr) return nullptr;
  Py_INCREF(args[0]);
  t->data = args[0];
  t->requires_grad = static_cast<char>(requires_grad);
  if (!is_none(args[2])) {
    Py_INCREF(args[2]);
    t->grad_fn = args[2];
  }
  t->output_nr = nr;
  return reinterpret_cast<PyObject*>(t);
}

// t._edge() -> (node, output_nr): where t's gradient goes.
PyObject* tensor_edge(PyObject* self, PyObject*) {
  Edge edge;
  if (!gradient_edge(reinterpret_cast<TensorObject*>(self), &edge)) return nullptr;
  PyObject* nr = PyLong_FromLongLong(edge.nr);
  if (nr == nullptr) {
    Py_DECREF(edge.node);
    return nullptr;
  }
  PyObject* pair = PyTuple_Pack(2, edge.node, nr);
  Py_DECREF(edge.node);
  Py_DECREF(nr);
  return pair;
}

PyMemberDef tensor_members[] = {
    {"_data", T_OBJECT_EX, offsetof(TensorObject, data), 0, "the wrapped _C.Tensor"},
    {"grad", T_OBJECT, offsetof(TensorObject, grad), 0, "the accumulated gradient, or None"},
    {"grad_fn", T_OBJECT, offsetof(TensorObject, grad_fn), 0,
     "the node that produced this tensor (None for a leaf)"},
    {"_accumulator", T_OBJECT, offsetof(TensorObject, accumulator), 0, nullptr},
    {"_hooks", T_OBJECT, offsetof(TensorObject, hooks), 0, nullptr},
    {"_base", T_OBJECT, offsetof(TensorObject, base), 0, nullptr},
    {"_output_nr", T_LONGLONG, offsetof(TensorObject, output_nr), 0, nullptr},
    {nullptr, 0, 0, 0, nullptr},
};

PyGetSetDef tensor_getset[] = {
    {"requires_grad", tensor_get_requires_grad, tensor_set_requires_grad,
     "whether operations on this tensor are recorded for backward", nullptr},
    {"_retains_grad", tensor_get_retains_grad, tensor_set_retains_grad, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyMethodDef tensor_methods[] = {
    {"_make", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(tensor_make)),
     METH_FASTCALL | METH_CLASS, "Tensor._make(data, requires_grad, grad_fn, output_nr)"},
    {"_edge", tensor_edge, METH_NOARGS, "the (node, output_nr) that receives this tensor's gradient"},
    {nullptr, nullptr, 0, nullptr},
};

// ------------------------------------------------------------------ Node

constexpr auto node_references = [](NodeObject* n, auto&& f) {
  f(n->ctx);
  f(n->pre_hooks);
  f(n->variable);
  if (n->state != nullptr) {
    for (Edge& e : n->state->edges) f(e.node);
  }
};

constexpr auto node_clear = clear_slot<NodeObject, node_references>;

void node_dealloc(PyObject* self) {
  PyObject_GC_UnTrack(self);
  auto* n = reinterpret_cast<NodeObject*>(self);
  if (n->weakreflist != nullptr) PyObject_ClearWeakRefs(self);
  node_clear(self);
  if (n->state != nullptr) n->state->~NodeState();
  n->state = nullptr;
  Py_TYPE(self)->tp_free(self);
}

PyObject* node_new(PyTypeObject* type, PyObject*, PyObject*) {
  return reinterpret_cast<PyObject*>(new_node(type));
}

// PyTorch's view of the edges: ((node, output_nr) or (None, 0), ...).
PyObject* node_next_functions(PyObject* self, void*) {
  NodeState* state = reinterpret_cast<NodeObject*>(self)->state;
  Py_ssize_t n = state == nullptr ? 0 : static_cast<Py_ssize_t>(state->edges.size());
  PyObject* out = PyTuple_New(n);
  if (out == nullptr) return nullptr;
  for (Py_ssize_t i = 0; i < n; ++i) {
    const Edge& e = state->edges[i];
    PyObject* pair = e.node == nullptr ? Py_BuildValue("(Oi)", Py_None, 0)
                                       : Py_BuildValue("(OL)", e.node, e.nr);
    if (pair == nullptr) {
      Py_DECREF(out);
      return nullptr;
    }
    PyTuple_SET_ITEM(out, i, pair);
  }
  return out;
}

PyMemberDef node_members[] = {
    {"ctx", T_OBJECT, offsetof(NodeObject, ctx), READONLY, "the ctx of the recorded call"},
    {"pre_hooks", T_OBJECT, offsetof(NodeObject, pre_hooks), 0,
     "dict: output_nr -> hooks run on that output's gradient"},
    {"variable", T_OBJECT, offsetof(NodeObject, variable), READONLY,
     "AccumulateGrad: the leaf tensor"},
    {nullptr, 0, 0, 0, nullptr},
};

PyGetSetDef node_getset[] = {
    {"next_functions", node_next_functions, nullptr,
     "((node, output_nr) or (None, 0)) per forward argument", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

// ------------------------------------------------------------------ Context

constexpr auto context_references = [](ContextObject* c, auto&& f) {
  f(c->dict);
  f(c->needs_input_grad);
  f(c->node);
  if (c->saved != nullptr) {
    for (SavedTensor& s : *c->saved) f(s.object);
  }
};

int context_clear(PyObject* self) {
  free_saved(reinterpret_cast<ContextObject*>(self));  // detaches the list before its decrefs
  return clear_slot<ContextObject, context_references>(self);
}

void context_dealloc(PyObject* self) {
  PyObject_GC_UnTrack(self);
  auto* c = reinterpret_cast<ContextObject*>(self);
  context_clear(self);
  delete c->non_differentiable;
  c->non_differentiable = nullptr;
  Py_TYPE(self)->tp_free(self);
}

PyObject* context_new(PyTypeObject* type, PyObject*, PyObject*) {
  auto* c = reinterpret_cast<ContextObject*>(type->tp_alloc(type, 0));
  if (c == nullptr) return nullptr;
  c->recorded = true;
  c->needs_input_grad = PyTuple_New(0);
  return reinterpret_cast<PyObject*>(c);
}

// ctx.save_for_backward(*tensors).
PyObject* context_save_for_backward(PyObject* self, PyObject* const* args, Py_ssize_t nargs) {
  if (!save_for_backward(reinterpret_cast<ContextObject*>(self), args, nargs)) return nullptr;
  Py_RETURN_NONE;
}

// ctx.mark_non_differentiable(*outputs): outputs that carry no gradient.
PyObject* context_mark_non_differentiable(PyObject* self, PyObject* const* args,
                                          Py_ssize_t nargs) {
  auto* c = reinterpret_cast<ContextObject*>(self);
  if (!c->recorded) Py_RETURN_NONE;
  if (c->non_differentiable == nullptr) c->non_differentiable = new std::vector<PyObject*>();
  c->non_differentiable->assign(args, args + nargs);
  Py_RETURN_NONE;
}

PyObject* version_error(PyObject* data, uint64_t now, uint64_t expected, PyObject* node) {
  PyObject* repr = PyObject_Repr(data);
  if (repr == nullptr) return nullptr;
  std::string name = node != nullptr ? Py_TYPE(node)->tp_name : "a node";
  auto dot = name.rfind('.');
  if (dot != std::string::npos) name = name.substr(dot + 1);
  PyErr_Format(PyExc_RuntimeError,
               "one of the tensors needed for gradient computation has been modified by an "
               "in-place operation: %U is at version %llu, expected version %llu (saved by %s)",
               repr, static_cast<unsigned long long>(now), static_cast<unsigned long long>(expected),
               name.c_str());
  Py_DECREF(repr);
  return nullptr;
}

// A saved output comes back as a Tensor attached to its own node, so that a
// backward written in Tensor ops can be differentiated again.
PyObject* saved_output(PyObject* data, NodeObject* node) {
  if (node != nullptr && node->state != nullptr) {
    const auto& outputs = node->state->outputs;
    for (size_t nr = 0; nr < outputs.size(); ++nr) {
      if (outputs[nr].id == data) {
        return make_tensor(data, true, reinterpret_cast<PyObject*>(node), static_cast<long long>(nr));
      }
    }
  }
  return make_tensor(data, false, nullptr, 0);
}

PyObject* context_saved_tensors(PyObject* self, void*) {
  auto* c = reinterpret_cast<ContextObject*>(self);
  if (c->freed) {
    PyErr_SetString(PyExc_RuntimeError,
                    "Trying to backward through the graph a second time (or to access saved "
                    "tensors after they were freed). Saved tensors are freed after backward; "
                    "pass retain_graph=True to the first backward() to keep them.");
    return nullptr;
  }
  if (c->saved == nullptr) return PyTuple_New(0);
  PyObject* node = c->node != nullptr ? PyWeakref_GetObject(c->node) : nullptr;
  if (node == Py_None) node = nullptr;
  const auto& saved = *c->saved;
  PyObject* out = PyTuple_New(static_cast<Py_ssize_t>(saved.size()));
  if (out == nullptr) return nullptr;
  for (size_t i = 0; i < saved.size(); ++i) {
    const SavedTensor& s = saved[i];
    PyObject* item = nullptr;
    if (s.object == nullptr) {
      Py_INCREF(Py_None);
      item = Py_None;
    } else {
      PyObject* data = s.is_output ? s.object : reinterpret_cast<TensorObject*>(s.object)->data;
      const Tensor* t = data == nullptr ? nullptr : cpp_tensor(data);
      if (t != nullptr && t->version() != s.version) {
        Py_DECREF(out);
        return version_error(data, t->version(), s.version, node);
      }
      if (s.is_output) {
        item = saved_output(s.object, reinterpret_cast<NodeObject*>(node));
        if (item == nullptr) {
          Py_DECREF(out);
          return nullptr;
        }
      } else {
        Py_INCREF(s.object);
        item = s.object;
      }
    }
    PyTuple_SET_ITEM(out, static_cast<Py_ssize_t>(i), item);
  }
  return out;
}

// A ctx starts untracked by the cycle collector (new_context); saved tensors
// or attributes can close a cycle (an in-place op's node saving the tensor
// that then points back at the node), so from then on it is tracked.
void track_context(PyObject* self) {
  if (!PyObject_GC_IsTracked(self)) PyObject_GC_Track(self);
}

int context_setattro(PyObject* self, PyObject* name, PyObject* value) {
  int result = PyObject_GenericSetAttr(self, name, value);
  track_context(self);
  return result;
}

PyObject* context_get_dict(PyObject* self, void* closure) {
  PyObject* dict = PyObject_GenericGetDict(self, closure);
  track_context(self);
  return dict;
}

int context_set_dict(PyObject* self, PyObject* value, void* closure) {
  int result = PyObject_GenericSetDict(self, value, closure);
  track_context(self);
  return result;
}

PyMemberDef context_members[] = {
    {"needs_input_grad", T_OBJECT, offsetof(ContextObject, needs_input_grad), 0,
     "one bool per forward argument: whether it needs a gradient"},
    {nullptr, 0, 0, 0, nullptr},
};

PyGetSetDef context_getset[] = {
    {"saved_tensors", context_saved_tensors, nullptr,
     "the tensors given to save_for_backward, checked for in-place changes", nullptr},
    {"__dict__", context_get_dict, context_set_dict, nullptr, nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyMethodDef context_methods[] = {
    {"save_for_backward",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(context_save_for_backward)),
     METH_FASTCALL, "keeps inputs (Tensors) or outputs (_C tensors) for backward"},
    {"mark_non_differentiable",
     reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(context_mark_non_differentiable)),
     METH_FASTCALL, "marks outputs (the _C tensors forward returns) that carry no gradient"},
    {nullptr, nullptr, 0, nullptr},
};

void ready(PyTypeObject& type, const char* name, Py_ssize_t size, const char* doc) {
  type.tp_name = name;
  type.tp_basicsize = size;
  type.tp_doc = doc;
  type.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC;
}

}  // namespace

void free_saved(ContextObject* ctx) {
  if (ctx->saved == nullptr) return;
  std::vector<SavedTensor>* saved = ctx->saved;
  ctx->saved = nullptr;  // before the decrefs, which may run arbitrary code
  for (SavedTensor& s : *saved) Py_XDECREF(s.object);
  delete saved;
}

bool save_for_backward(ContextObject* c, PyObject* const* args, Py_ssize_t nargs) {
  if (!c->recorded) return true;  // no backward can follow: nothing to keep
  auto saved = std::make_unique<std::vector<SavedTensor>>();
  saved->reserve(static_cast<size_t>(nargs));
  for (Py_ssize_t i = 0; i < nargs; ++i) {
    PyObject* o = args[i];
    SavedTensor s{nullptr, 0, false};
    if (o != nullptr && o != Py_None) {
      const Tensor* data = nullptr;
      if (is_tensor(o)) {
        data = cpp_tensor(reinterpret_cast<TensorObject*>(o)->data);
      } else {
        data = cpp_tensor(o);
        s.is_output = true;
      }
      if (data == nullptr) {
        PyErr_Format(PyExc_TypeError,
                     "save_for_backward: expected Tensors (or the _C tensors forward returns) or "
                     "None, got %s", Py_TYPE(o)->tp_name);
        for (SavedTensor& done : *saved) Py_XDECREF(done.object);
        return false;
      }
      Py_INCREF(o);
      s.object = o;
      s.version = data->version();
    }
    saved->push_back(s);
  }
  free_saved(c);
  c->saved = saved.release();
  track_context(reinterpret_cast<PyObject*>(c));
  return true;
}

NodeObject* new_node(PyTypeObject* type) {
  auto* n = reinterpret_cast<NodeObject*>(type->tp_alloc(type, 0));
  if (n == nullptr) return nullptr;
  n->state = new (n->storage) NodeState();
  return n;
}

bool init_types() {
  ready(TensorBaseType, "ember._C.TensorBase", sizeof(TensorObject),
        "ember.Tensor's fields: the wrapped _C.Tensor and its autograd state");
  TensorBaseType.tp_flags |= Py_TPFLAGS_BASETYPE;
  TensorBaseType.tp_new = PyType_GenericNew;
  TensorBaseType.tp_dealloc = tensor_dealloc;
  TensorBaseType.tp_traverse = traverse_slot<TensorObject, tensor_references>;
  TensorBaseType.tp_clear = tensor_clear;
  TensorBaseType.tp_weaklistoffset = offsetof(TensorObject, weakreflist);
  TensorBaseType.tp_members = tensor_members;
  TensorBaseType.tp_getset = tensor_getset;
  TensorBaseType.tp_methods = tensor_methods;

  ready(NodeType, "ember._C.Node", sizeof(NodeObject),
        "a recorded call: its ctx and one edge per forward argument");
  NodeType.tp_flags |= Py_TPFLAGS_BASETYPE;
  NodeType.tp_new = node_new;
  NodeType.tp_dealloc = node_dealloc;
  NodeType.tp_traverse = traverse_slot<NodeObject, node_references>;
  NodeType.tp_clear = node_clear;
  NodeType.tp_weaklistoffset = offsetof(NodeObject, weakreflist);
  NodeType.tp_members = node_members;
  NodeType.tp_getset = node_getset;

  ready(ContextType, "ember._C.Context", sizeof(ContextObject),
        "the ctx of one Function call: needs_input_grad, saved tensors, and any attribute "
        "forward sets for backward");
  ContextType.tp_new = context_new;
  ContextType.tp_dealloc = context_dealloc;
  ContextType.tp_traverse = traverse_slot<ContextObject, context_references>;
  ContextType.tp_clear = context_clear;
  ContextType.tp_dictoffset = offsetof(ContextObject, dict);
  ContextType.tp_setattro = context_setattro;
  ContextType.tp_members = context_members;
  ContextType.tp_getset = context_getset;
  ContextType.tp_methods = context_methods;

  const std::pair<PyObject**, const char*> wanted[] = {
      {&names.apply, "apply"},       {&names.backward, "backward"},
      {&names.forward, "forward"},   {&names.function, "function"},
      {&names.node_type, "_node_type"}, {&names.shape, "shape"}};
  for (const auto& [slot, name] : wanted) {
    *slot = PyUnicode_InternFromString(name);
    if (*slot == nullptr) return false;
  }
  return PyType_Ready(&TensorBaseType) == 0 && PyType_Ready(&NodeType) == 0 &&
         PyType_Ready(&ContextType) == 0;
}

}  // namespace autograd
}  // namespace ember
