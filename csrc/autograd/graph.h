// The autograd graph as CPython objects: the fields of ember.Tensor that
// autograd reads, the graph's nodes, the ctx handed to forward and backward,
// Function.apply and the backward engine.
//
// The backward formulas stay in Python (each op's Function.backward); what is
// here is the bookkeeping that runs once per op and once per node, which in
// Python cost several microseconds per node (objects per edge, attribute
// dictionaries, a frame per helper). Everything runs with the GIL held.
#pragma once

#include <Python.h>

#include <algorithm>
#include <vector>

#include "core/tensor.h"
#include "ops/elementwise.h"

namespace ember {
namespace autograd {

// ember.Tensor's base: the wrapped C++ tensor and its autograd state. The
// Python class adds no fields, so C code builds instances of it directly.
struct TensorObject {
  PyObject_HEAD
  PyObject* data;         // the _C.Tensor
  PyObject* grad;         // NULL or None: no gradient yet
  PyObject* grad_fn;      // the Node that produced it; NULL or None for a leaf
  PyObject* accumulator;  // weakref to the leaf's AccumulateGrad node
  PyObject* hooks;        // list of a leaf's gradient hooks
  PyObject* base;         // the tensor a view was taken from
  PyObject* weakreflist;
  long long output_nr;    // which output of grad_fn this is
  char requires_grad;
  char retains_grad;
};

// An edge of the graph: the node that receives a gradient, and which of its
// outputs the gradient belongs to. The node reference is owned.
struct Edge {
  PyObject* node;
  long long nr;
};

// A shape stored in NodeState::dims: dims[offset, offset + ndim).
struct DimsRef {
  int32_t offset = 0;
  int32_t ndim = 0;
};

// The shape and dtype of an argument that requires grad: kept instead of the
// tensor (which would keep its memory alive) so that the engine can reduce a
// broadcast gradient back to the argument.
struct ArgMeta {
  bool present;
  DType dtype;
  DimsRef shape;
};

struct OutputMeta {
  PyObject* id;  // the _C.Tensor forward returned; compared, never dereferenced
  DType dtype;
  Device device;
  DimsRef shape;
};

// What a node records, in arrays that live inside the node for the usual
// few arguments and dims (no allocation per op).
struct NodeState {
  SmallVector<Edge, 3> edges;  // one per forward argument; node NULL: no gradient
  SmallVector<ArgMeta, 3> arg_meta;
  SmallVector<OutputMeta, 1> outputs;
  SmallVector<int64_t, 12> dims;

  DimsRef add_dims(const Shape& shape) {
    DimsRef ref{static_cast<int32_t>(dims.size()), static_cast<int32_t>(shape.size())};
    dims.insert(dims.end(), shape.begin(), shape.end());
    return ref;
  }
  bool same_dims(DimsRef ref, const Shape& shape) const {
    return static_cast<size_t>(ref.ndim) == shape.size() &&
           std::equal(shape.begin(), shape.end(), dims.begin() + ref.offset);
  }
  Shape shape(DimsRef ref) const {
    return Shape(dims.begin() + ref.offset, dims.begin() + ref.offset + ref.ndim);
  }
};

// A recorded call. Python subclasses (one per Function, AccumulateGrad) add
// methods only; `function` is a class attribute.
struct NodeObject {
  PyObject_HEAD
  PyObject* ctx;
  PyObject* pre_hooks;  // dict: output_nr -> list of hooks
  PyObject* variable;   // AccumulateGrad: the leaf tensor
  PyObject* weakreflist;
  NodeState* state;  // points at storage, constructed by new_node
  alignas(NodeState) unsigned char storage[sizeof(NodeState)];
};

struct SavedTensor {
  PyObject* object;  // NULL for None; an ember.Tensor (input) or a _C.Tensor (output)
  uint64_t version;
  bool is_output;
};

// The ctx of one call: needs_input_grad, saved tensors, and a __dict__ for
// whatever forward wants to keep (ctx.dim = dim).
struct ContextObject {
  PyObject_HEAD
  PyObject* dict;
  PyObject* needs_input_grad;
  PyObject* node;  // weakref to the node, set when tensors are saved
  std::vector<SavedTensor>* saved;
  std::vector<PyObject*>* non_differentiable;  // ids of outputs
  bool recorded;  // false: no node will run backward, saving is a no-op
  bool freed;
};

extern PyTypeObject TensorBaseType;
extern PyTypeObject NodeType;
extern PyTypeObject ContextType;

// Set once by ember.tensor / ember.autograd (register_classes).
struct Registry {
  PyTypeObject* tensor = nullptr;           // ember.Tensor
  PyTypeObject* accumulate_grad = nullptr;  // ember.autograd.function.AccumulateGrad
  PyObject* fit_to_input = nullptr;         // (grad, shape, dtype) -> grad
};
extern Registry registry;

// The attribute names the C code looks up, interned once by init_types.
struct Names {
  PyObject* apply;
  PyObject* backward;
  PyObject* forward;
  PyObject* function;
  PyObject* node_type;
  PyObject* shape;
};
extern Names names;

bool grad_enabled();
void set_grad_enabled(bool enabled);

inline bool is_tensor(PyObject* o) { return PyObject_TypeCheck(o, &TensorBaseType); }
inline bool is_none(PyObject* o) { return o == nullptr || o == Py_None; }

// The C++ tensor inside a _C.Tensor; nullptr (no Python error set) when `o`
// is not one.
const Tensor* cpp_tensor(PyObject* o);
// A new _C.Tensor object owning `t`.
PyObject* wrap_cpp_tensor(Tensor t);

// A new ember.Tensor outside the graph owning `t`.
PyObject* make_tensor_from(Tensor t);
// A new ember.Tensor around `data` (a _C.Tensor).
PyObject* make_tensor(PyObject* data, bool requires_grad, PyObject* grad_fn, long long output_nr);
// The edge that receives t's gradient: (grad_fn, output_nr), or the leaf's
// AccumulateGrad (made on first use). Returns a new reference in edge.node.
bool gradient_edge(TensorObject* t, Edge* edge);

bool init_types();  // PyType_Ready for the three types, and `names`
NodeObject* new_node(PyTypeObject* type);
ContextObject* new_context(bool recorded);

// One call of a Function: prepare() makes the ctx and, when grad mode is on
// and an argument requires grad, the edges and argument metadata; finish()
// wraps forward's result (one _C.Tensor or a tuple) as Tensors and, when
// recording, attaches them to a new node of cls._node_type. Both return
// false / NULL with a Python error set.
struct Call {
  ContextObject* ctx = nullptr;
  bool record = false;
  NodeState state;  // edges and argument metadata, moved into the node

  bool prepare(PyObject* const* args, Py_ssize_t n);
  PyObject* finish(PyObject* cls, PyObject* raw);
  ~Call();
};
void free_saved(ContextObject* ctx);
// ctx.save_for_backward: inputs (ember.Tensor) or outputs (_C.Tensor), with
// their versions, so that an in-place change before backward is reported
// instead of giving a wrong gradient. NULL entries stand for None.
bool save_for_backward(ContextObject* ctx, PyObject* const* tensors, Py_ssize_t n);

// Python-level entry points (METH_FASTCALL | METH_KEYWORDS where noted).
PyObject* function_apply(PyObject* self, PyObject* const* args, Py_ssize_t nargs, PyObject* kwnames);
PyObject* run_backward(PyObject* self, PyObject* const* args, Py_ssize_t nargs);
// A Tensor method for `a (op) b` (reflected: `b (op) a`), see operators.cpp.
PyObject* binary_operator(BinaryOp op, PyObject* function, PyObject* fallback, bool reflected);
// Tensor.reshape (must_view false) or Tensor.view (true), see operators.cpp.
PyObject* view_method(bool must_view, PyObject* function, PyObject* fallback);

// Sets the Python error for the C++ exception being handled.
void set_error_from_exception();

}  // namespace autograd
}  // namespace ember
