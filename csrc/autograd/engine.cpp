// The backward engine: each node once, in topological order, its incoming
// gradients summed per output. A gradient whose shape or dtype differs from
// the argument it belongs to (broadcasting, promotion) is reduced and cast
// here, in one place (Python's _fit_to_input), so no op's backward has to.
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "autograd/graph.h"
#include "python/bind.h"

namespace ember {
namespace autograd {

namespace py = pybind11;

namespace {

struct GradModeGuard {
  bool previous;
  explicit GradModeGuard(bool mode) : previous(grad_enabled()) { set_grad_enabled(mode); }
  ~GradModeGuard() { set_grad_enabled(previous); }
};

NodeObject* as_node(PyObject* o) { return reinterpret_cast<NodeObject*>(o); }

size_t output_count(PyObject* node) {
  NodeState* s = as_node(node)->state;
  return s == nullptr || s->outputs.empty() ? 1 : s->outputs.size();
}

const char* node_name(PyObject* node) { return Py_TYPE(node)->tp_name; }

// Calls each hook on *grad; a hook's non-None result replaces the gradient.
bool run_hooks(PyObject* hooks, PyObject** grad) {
  PyObject* snapshot = PySequence_Tuple(hooks);  // a hook may add or remove hooks
  if (snapshot == nullptr) return false;
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(snapshot); ++i) {
    PyObject* result = PyObject_CallOneArg(PyTuple_GET_ITEM(snapshot, i), *grad);
    if (result == nullptr) {
      Py_DECREF(snapshot);
      return false;
    }
    if (result == Py_None) Py_DECREF(result);
    else Py_SETREF(*grad, result);
  }
  Py_DECREF(snapshot);
  return true;
}

// One backward pass. Owns every reference it takes; the destructor drops
// whatever an error left behind.
class Backward {
 public:
  Backward(bool retain_graph, bool create_graph)
      : retain_graph_(retain_graph), create_graph_(create_graph) {}

  ~Backward() {
    for (auto& entry : buffers_) {
      for (PyObject* g : entry.second) Py_XDECREF(g);
    }
    for (PyObject* node : order_) Py_DECREF(node);
    for (Edge& e : roots_) Py_XDECREF(e.node);
    for (Edge& e : targets_) Py_XDECREF(e.node);
    for (PyObject* g : captured_) Py_XDECREF(g);
  }

  // Seeds the output tensors' edges with their gradients.
  bool seed(PyObject* tensors, PyObject* grads) {
    Py_ssize_t n = PySequence_Fast_GET_SIZE(tensors);
    if (PySequence_Fast_GET_SIZE(grads) != n) {
      PyErr_SetString(PyExc_ValueError, "backward: one gradient per output is needed");
      return false;
    }
    for (Py_ssize_t i = 0; i < n; ++i) {
      PyObject* t = PySequence_Fast_GET_ITEM(tensors, i);
      if (!is_tensor(t)) {
        PyErr_Format(PyExc_TypeError, "backward: expected Tensors, got %s", Py_TYPE(t)->tp_name);
        return false;
      }
      Edge e{nullptr, 0};
      if (!gradient_edge(reinterpret_cast<TensorObject*>(t), &e)) return false;
      roots_.push_back(e);
      if (!accumulate(e, PySequence_Fast_GET_ITEM(grads, i))) return false;
    }
    return true;
  }

  // autograd.grad: capture the gradients reaching these tensors instead.
  bool set_targets(PyObject* inputs) {
    Py_ssize_t n = PySequence_Fast_GET_SIZE(inputs);
    captured_.assign(static_cast<size_t>(n), nullptr);
    for (Py_ssize_t i = 0; i < n; ++i) {
      PyObject* t = PySequence_Fast_GET_ITEM(inputs, i);
      if (!is_tensor(t)) {
        PyErr_Format(PyExc_TypeError, "grad: expected Tensors as inputs, got %s",
                     Py_TYPE(t)->tp_name);
        return false;
      }
      Edge e{nullptr, 0};
      if (!gradient_edge(reinterpret_cast<TensorObject*>(t), &e)) return false;
      targets_.push_back(e);
      target_index_[{e.node, e.nr}].push_back(static_cast<size_t>(i));
    }
    return true;
  }

  bool run() {
    topological_order();
    if (!targets_.empty()) mark_needed();
    GradModeGuard mode(create_graph_);
    for (PyObject* node : order_) {
      auto it = buffers_.find(node);
      if (it == buffers_.end()) continue;
      std::vector<PyObject*> grads = std::move(it->second);
      buffers_.erase(it);
      bool ok = run_node(node, grads);
      for (PyObject* g : grads) Py_XDECREF(g);
      if (!ok) return false;
    }
    return true;
  }

  PyObject* result() {
    if (targets_.empty()) Py_RETURN_NONE;
    PyObject* out = PyList_New(static_cast<Py_ssize_t>(captured_.size()));
    if (out == nullptr) return nullptr;
    for (size_t i = 0; i < captured_.size(); ++i) {
      PyObject* g = captured_[i] != nullptr ? captured_[i] : Py_None;
      Py_INCREF(g);
      PyList_SET_ITEM(out, static_cast<Py_ssize_t>(i), g);
    }
    return out;
  }

 private:
  // Adds grad (borrowed) into the buffer of edge.node's output edge.nr.
  bool accumulate(const Edge& edge, PyObject* grad) {
    auto& buf = buffers_[edge.node];
    if (buf.empty()) buf.assign(output_count(edge.node), nullptr);
    if (edge.nr < 0 || static_cast<size_t>(edge.nr) >= buf.size()) {
      PyErr_Format(PyExc_RuntimeError, "%s: no output %lld", node_name(edge.node), edge.nr);
      return false;
    }
    PyObject*& slot = buf[static_cast<size_t>(edge.nr)];
    if (slot == nullptr) {
      Py_INCREF(grad);
      slot = grad;
      return true;
    }
    PyObject* sum = PyNumber_Add(slot, grad);
    if (sum == nullptr) return false;
    Py_SETREF(slot, sum);
    return true;
  }

  // Kahn's algorithm on dependency counts, from the roots.
  void topological_order() {
    std::unordered_map<PyObject*, int> deps;
    std::unordered_set<PyObject*> seen;
    std::vector<PyObject*> stack;
    for (const Edge& e : roots_) {
      if (seen.insert(e.node).second) stack.push_back(e.node);
    }
    std::vector<PyObject*> ready_nodes;
    while (!stack.empty()) {
      PyObject* node = stack.back();
      stack.pop_back();
      NodeState* s = as_node(node)->state;
      if (s == nullptr) continue;
      for (const Edge& e : s->edges) {
        if (e.node == nullptr) continue;
        ++deps[e.node];
        if (seen.insert(e.node).second) stack.push_back(e.node);
      }
    }
    for (PyObject* node : seen) {
      if (deps.find(node) == deps.end()) ready_nodes.push_back(node);
    }
    while (!ready_nodes.empty()) {
      PyObject* node = ready_nodes.back();
      ready_nodes.pop_back();
      Py_INCREF(node);
      order_.push_back(node);
      NodeState* s = as_node(node)->state;
      if (s == nullptr) continue;
      for (const Edge& e : s->edges) {
        if (e.node == nullptr) continue;
        if (--deps[e.node] == 0) ready_nodes.push_back(e.node);
      }
    }
  }

  // With targets, only nodes that lead to one need to run.
  void mark_needed() {
    for (const Edge& e : targets_) needed_.insert(e.node);
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      NodeState* s = as_node(*it)->state;
      if (s == nullptr) continue;
      for (const Edge& e : s->edges) {
        if (e.node != nullptr && needed_.count(e.node)) {
          needed_.insert(*it);
          break;
        }
      }
    }
  }

  bool run_pre_hooks(NodeObject* node, std::vector<PyObject*>& grads) {
    if (node->pre_hooks == nullptr || !PyDict_Check(node->pre_hooks) ||
        PyDict_GET_SIZE(node->pre_hooks) == 0) {
      return true;
    }
    PyObject* items = PyDict_Items(node->pre_hooks);
    if (items == nullptr) return false;
    bool ok = true;
    for (Py_ssize_t i = 0; ok && i < PyList_GET_SIZE(items); ++i) {
      PyObject* item = PyList_GET_ITEM(items, i);
      long long nr = PyLong_AsLongLong(PyTuple_GET_ITEM(item, 0));
      if (nr == -1 && PyErr_Occurred()) ok = false;
      else if (nr >= 0 && static_cast<size_t>(nr) < grads.size() && grads[nr] != nullptr)
        ok = run_hooks(PyTuple_GET_ITEM(item, 1), &grads[nr]);
    }
    Py_DECREF(items);
    return ok;
  }

  bool capture(PyObject* node, const std::vector<PyObject*>& grads) {
    for (size_t nr = 0; nr < grads.size(); ++nr) {
      if (grads[nr] == nullptr) continue;
      auto it = target_index_.find({node, static_cast<long long>(nr)});
      if (it == target_index_.end()) continue;
      for (size_t i : it->second) {
        Py_INCREF(grads[nr]);
        Py_XSETREF(captured_[i], grads[nr]);
      }
    }
    return true;
  }

  bool accumulate_leaf(PyObject* node, std::vector<PyObject*>& grads) {
    auto* leaf = reinterpret_cast<TensorObject*>(as_node(node)->variable);
    if (leaf != nullptr && !is_none(leaf->hooks) && PyObject_IsTrue(leaf->hooks) == 1) {
      if (!run_hooks(leaf->hooks, &grads[0])) return false;
    }
    PyObject* args = PyTuple_Pack(1, grads[0]);
    if (args == nullptr) return false;
    PyObject* r = PyObject_CallMethodOneArg(node, names.apply, args);
    Py_DECREF(args);
    Py_XDECREF(r);
    return r != nullptr;
  }

  // Zeros for outputs that received no gradient (an unused output).
  bool fill_missing(PyObject* node, std::vector<PyObject*>& grads) {
    NodeState* s = as_node(node)->state;
    for (size_t nr = 0; nr < grads.size(); ++nr) {
      if (grads[nr] != nullptr) continue;
      if (s == nullptr || nr >= s->outputs.size()) {
        PyErr_Format(PyExc_RuntimeError, "%s: no gradient for output %zu", node_name(node), nr);
        return false;
      }
      const OutputMeta& o = s->outputs[nr];
      PyObject* data = nullptr;
      try {
        data = wrap_cpp_tensor(Tensor::zeros(s->shape(o.shape), o.dtype, o.device));
      } catch (...) {
        set_error_from_exception();
      }
      if (data == nullptr) return false;
      grads[nr] = make_tensor(data, false, nullptr, 0);
      Py_DECREF(data);
      if (grads[nr] == nullptr) return false;
    }
    return true;
  }

  PyObject* call_backward(PyObject* node, const std::vector<PyObject*>& grads) {
    PyObject* type = reinterpret_cast<PyObject*>(Py_TYPE(node));
    PyObject* function = PyObject_GetAttr(type, names.function);
    if (function == nullptr) return nullptr;
    PyObject* backward = PyObject_GetAttr(function, names.backward);
    Py_DECREF(function);
    if (backward == nullptr) return nullptr;
    std::vector<PyObject*> stack(grads.size() + 1);
    stack[0] = as_node(node)->ctx != nullptr ? as_node(node)->ctx : Py_None;
    for (size_t i = 0; i < grads.size(); ++i) stack[i + 1] = grads[i];
    PyObject* result = PyObject_Vectorcall(backward, stack.data(), stack.size(), nullptr);
    Py_DECREF(backward);
    return result;
  }

  // Passes one input gradient (borrowed) along its edge, fitted to the
  // argument's shape and dtype.
  bool send(PyObject* node, const Edge& edge, const ArgMeta& meta, PyObject* grad) {
    const NodeState& state = *as_node(node)->state;
    if (!is_tensor(grad)) {
      PyErr_Format(PyExc_TypeError, "%s returned a %s as a gradient", node_name(node),
                   Py_TYPE(grad)->tp_name);
      return false;
    }
    const Tensor* data = cpp_tensor(reinterpret_cast<TensorObject*>(grad)->data);
    if (data == nullptr) {
      PyErr_Format(PyExc_TypeError, "%s returned a Tensor without data", node_name(node));
      return false;
    }
    if (!meta.present || (data->dtype() == meta.dtype && state.same_dims(meta.shape, data->shape()))) {
      return accumulate(edge, grad);
    }
    PyObject* fitted = nullptr;
    try {
      py::object shape = python::int_tuple(state.shape(meta.shape));
      py::object dtype = python::dtype_object(meta.dtype);
      fitted = PyObject_CallFunctionObjArgs(registry.fit_to_input, grad, shape.ptr(), dtype.ptr(),
                                            nullptr);
    } catch (...) {
      set_error_from_exception();
    }
    if (fitted == nullptr) return false;
    bool ok = accumulate(edge, fitted);
    Py_DECREF(fitted);
    return ok;
  }

  bool run_node(PyObject* node, std::vector<PyObject*>& grads) {
    NodeObject* n = as_node(node);
    if (!run_pre_hooks(n, grads)) return false;
    bool is_leaf = registry.accumulate_grad != nullptr &&
                   PyObject_TypeCheck(node, registry.accumulate_grad);
    if (!targets_.empty()) {
      capture(node, grads);
      if (is_leaf || !needed_.count(node)) return true;
    }
    if (is_leaf) return accumulate_leaf(node, grads);
    for (PyObject* g : grads) {
      if (g == nullptr) {
        if (!fill_missing(node, grads)) return false;
        break;
      }
    }
    PyObject* result = call_backward(node, grads);
    if (result == nullptr) return false;
    if (!retain_graph_ && n->ctx != nullptr && Py_TYPE(n->ctx) == &ContextType) {
      auto* ctx = reinterpret_cast<ContextObject*>(n->ctx);
      free_saved(ctx);
      ctx->freed = true;
    }
    if (!PyTuple_Check(result)) {
      PyObject* one = PyTuple_Pack(1, result);
      Py_DECREF(result);
      if (one == nullptr) return false;
      result = one;
    }
    const std::vector<Edge>& edges = n->state->edges;
    Py_ssize_t count = PyTuple_GET_SIZE(result);
    if (static_cast<size_t>(count) < edges.size()) {
      PyErr_Format(PyExc_RuntimeError,
                   "%s: backward returned %zd gradients, expected %zu (one per forward argument)",
                   node_name(node), count, edges.size());
      Py_DECREF(result);
      return false;
    }
    bool ok = true;
    for (size_t i = 0; ok && i < edges.size(); ++i) {
      PyObject* grad = PyTuple_GET_ITEM(result, static_cast<Py_ssize_t>(i));
      if (edges[i].node == nullptr || grad == Py_None) continue;
      ok = send(node, edges[i], n->state->arg_meta[i], grad);
    }
    Py_DECREF(result);
    return ok;
  }

  bool retain_graph_;
  bool create_graph_;
  std::vector<Edge> roots_;
  std::vector<Edge> targets_;
  std::map<std::pair<PyObject*, long long>, std::vector<size_t>> target_index_;
  std::vector<PyObject*> captured_;
  std::unordered_set<PyObject*> needed_;
  std::vector<PyObject*> order_;
  std::unordered_map<PyObject*, std::vector<PyObject*>> buffers_;
};

}  // namespace

// _C.run_backward(tensors, grads, retain_graph, create_graph, inputs=None):
// with inputs (autograd.grad), returns the gradients reaching them as a list
// (None where none arrives) instead of accumulating into leaves' .grad.
PyObject* run_backward(PyObject*, PyObject* const* args, Py_ssize_t nargs) {
  if (nargs != 5) {
    PyErr_SetString(PyExc_TypeError,
                    "run_backward(tensors, grads, retain_graph, create_graph, inputs)");
    return nullptr;
  }
  int retain = PyObject_IsTrue(args[2]);
  int create = PyObject_IsTrue(args[3]);
  if (retain < 0 || create < 0) return nullptr;
  PyObject* tensors = PySequence_Fast(args[0], "run_backward: tensors must be a sequence");
  PyObject* grads = tensors ? PySequence_Fast(args[1], "run_backward: grads must be a sequence")
                            : nullptr;
  PyObject* inputs = nullptr;
  if (grads != nullptr && args[4] != Py_None) {
    inputs = PySequence_Fast(args[4], "run_backward: inputs must be a sequence");
  }
  PyObject* out = nullptr;
  if (grads != nullptr && (args[4] == Py_None || inputs != nullptr)) {
    Backward pass(retain != 0, create != 0);
    if ((inputs == nullptr || pass.set_targets(inputs)) && pass.seed(tensors, grads) &&
        pass.run()) {
      out = pass.result();
    }
  }
  Py_XDECREF(tensors);
  Py_XDECREF(grads);
  Py_XDECREF(inputs);
  return out;
}

}  // namespace autograd
}  // namespace ember
