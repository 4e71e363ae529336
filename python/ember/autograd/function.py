"""Function, its ctx, and the graph nodes the engine walks.

A differentiable op is a Function subclass:

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):                 # x: Tensor; returns _C tensor(s)
            out = _C.exp(x._data)
            ctx.save_for_backward(out)       # an output: saved without a cycle
            return out

        @staticmethod
        def backward(ctx, grad):             # grad: Tensor; written in Tensor ops
            (out,) = ctx.saved_tensors       # so create_graph=True works
            return grad * out

`Exp.apply(x)` runs forward and, when grad mode is on and an input requires
grad, records a Node whose edges point at the inputs' producers.
"""

from __future__ import annotations

import weakref

from .. import _C
from . import grad_mode

_CTensor = _C.Tensor
_grad_state = grad_mode._state
Tensor = None  # ember.Tensor, set by ember.tensor once the class exists


class Context:
    """Per-call scratch space handed to forward and backward.

    Attributes:
        needs_input_grad: one bool per forward argument.
    """

    # Slots keep the per-call object small and quick to build; __dict__ stays
    # so that forward can stash arbitrary values (ctx.dim = dim).
    __slots__ = (
        "__dict__",
        "_freed",
        "_node",
        "_non_differentiable",
        "_output_meta",
        "_saved",
        "needs_input_grad",
    )

    def __init__(self):
        self.needs_input_grad = ()
        self._saved = None
        self._freed = False
        self._node = None
        self._non_differentiable = ()
        self._output_meta = None

    def save_for_backward(self, *tensors) -> None:
        """Keeps inputs (Tensors) or outputs (_C tensors) for backward.

        Their versions are recorded: an in-place change before backward is
        reported instead of giving a wrong gradient.
        """
        saved = []
        for t in tensors:
            if t is None:
                saved.append(None)
            elif type(t) is _CTensor:
                saved.append((t, t.version))
            else:
                saved.append((t, t._data.version))
        self._saved = saved

    def mark_non_differentiable(self, *outputs) -> None:
        """Marks outputs (the _C tensors forward returns) that carry no gradient."""
        self._non_differentiable = tuple(id(o) for o in outputs)

    @property
    def saved_tensors(self) -> tuple:

        if self._freed:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or to access saved "
                "tensors after they were freed). Saved tensors are freed after backward; "
                "pass retain_graph=True to the first backward() to keep them."
            )
        if self._saved is None:
            return ()
        out = []
        node = self._node() if self._node is not None else None
        for entry in self._saved:
            if entry is None:
                out.append(None)
                continue
            t, version = entry
            data = t if isinstance(t, _C.Tensor) else t._data
            if data.version != version:
                name = type(node).__name__ if node is not None else "a node"
                raise RuntimeError(
                    f"one of the tensors needed for gradient computation has been modified by "
                    f"an in-place operation: {data!r} is at version {data.version}, expected "
                    f"version {version} (saved by {name})"
                )
            if isinstance(t, _C.Tensor):
                t = _wrap_saved_output(t, node)
            out.append(t)
        return tuple(out)

    def _free(self) -> None:
        self._saved = None
        self._freed = True


class _UnrecordedContext(Context):
    """The ctx of a call that records no node: nothing is kept for a backward
    that cannot happen, so saving costs nothing."""

    __slots__ = ()

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad

    def save_for_backward(self, *tensors) -> None:
        pass

    def mark_non_differentiable(self, *outputs) -> None:
        pass


def _wrap_saved_output(data, node):
    """Rebuilds the Tensor for a saved output, attached to its own node."""
    if node is not None:
        for nr, out_id in enumerate(node.output_ids):
            if out_id == id(data):
                return Tensor._make(data, True, node, nr)
    return Tensor._make(data, False, None, 0)


class Node:
    """A recorded call: its Function, ctx, and one edge per forward argument.

    An edge is (node, output_nr) for an argument that requires grad, else None.
    `input_meta` keeps the shape and dtype of each argument that requires
    grad (a _C.TensorMeta; None for the others) so the engine can reduce a
    broadcast gradient back to the argument's shape.
    """

    __slots__ = ("__weakref__", "ctx", "input_meta", "next_edges", "output_ids", "pre_hooks")
    function = None  # the Function subclass, set on each per-Function node type

    def __init__(self, ctx, next_edges, input_meta):
        self.ctx = ctx
        self.next_edges = next_edges
        self.input_meta = input_meta
        self.pre_hooks = None
        self.output_ids = ()

    @property
    def next_functions(self) -> tuple:
        """PyTorch's view of the edges: ((node, output_nr) or (None, 0), ...)."""
        return tuple(e if e is not None else (None, 0) for e in self.next_edges)

    def name(self) -> str:
        return type(self).__name__

    def apply(self, grads):
        """Returns one gradient (Tensor or None) per forward argument."""
        result = self.function.backward(self.ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        return result

    def register_prehook(self, output_nr, hook):
        if self.pre_hooks is None:
            self.pre_hooks = {}
        self.pre_hooks.setdefault(output_nr, []).append(hook)
        return _HookHandle(self.pre_hooks[output_nr], hook)

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"


class AccumulateGrad(Node):
    """The node for a leaf tensor: adds the incoming gradient into `.grad`."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        super().__init__(None, (), ())
        self.variable = variable

    def apply(self, grads):
        (grad,) = grads
        leaf = self.variable
        if leaf.grad is None:
            if grad.requires_grad:
                leaf.grad = grad
            else:
                # A copy of its own: the incoming gradient may be a broadcast
                # view or shared with other leaves or the caller, and .grad is
                # later updated in place (accumulation, clipping, zero_).
                leaf.grad = Tensor._make(grad._data.clone(), False, None, 0)
        elif grad.requires_grad or leaf.grad.requires_grad:
            leaf.grad = leaf.grad + grad
        else:
            _C.binary_(_C.BinaryOp.add, leaf.grad._data, grad._data)
        return ()


class _HookHandle:
    """Returned by register_hook; `remove()` unregisters the hook."""

    def __init__(self, hooks: list, hook):
        self._hooks = hooks
        self._hook = hook

    def remove(self) -> None:
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class _FunctionMeta(type):
    """Gives each Function subclass its own Node subclass (named like PyTorch's
    `AddBackward`) so graphs print readably."""

    def __init__(cls, name, bases, attrs):
        super().__init__(name, bases, attrs)
        cls._node_type = type(f"{name}Backward", (Node,), {"__slots__": (), "function": cls})


class Function(metaclass=_FunctionMeta):
    """Base class of differentiable ops: subclass and define forward/backward."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **kwargs):
        """Runs forward; records the graph when an input requires grad."""
        if getattr(_grad_state, "enabled", True):
            for a in args:
                if isinstance(a, Tensor) and a.requires_grad:
                    return cls._apply_recorded(args, kwargs)
        raw = cls.forward(_UnrecordedContext((False,) * len(args)), *args, **kwargs)
        make = Tensor._make
        if not isinstance(raw, tuple):
            return make(raw, False, None, 0)
        return tuple(make(o, False, None, 0) for o in raw)

    @classmethod
    def _apply_recorded(cls, args, kwargs):
        """apply's path when grad mode is on and some argument requires grad."""
        needs = []
        edges = []
        meta = []
        for a in args:
            if isinstance(a, Tensor) and a.requires_grad:
                needs.append(True)
                gf = a.grad_fn
                edges.append((gf, a._output_nr) if gf is not None else a._edge())
                meta.append(a._data.meta())
            else:
                needs.append(False)
                edges.append(None)
                meta.append(None)
        ctx = Context()
        ctx.needs_input_grad = tuple(needs)
        raw = cls.forward(ctx, *args, **kwargs)
        make = Tensor._make
        node = cls._node_type(ctx, tuple(edges), tuple(meta))
        if ctx._saved is not None:
            ctx._node = weakref.ref(node)
        if not isinstance(raw, tuple):
            node.output_ids = (id(raw),)
            if id(raw) not in ctx._non_differentiable and raw.is_floating_point:
                return make(raw, True, node, 0)
            return make(raw, False, None, 0)
        node.output_ids = tuple(id(o) for o in raw)
        ctx._output_meta = tuple((o.shape, o.dtype, o.device) for o in raw)
        non_diff = ctx._non_differentiable
        return tuple(
            make(o, True, node, nr)
            if id(o) not in non_diff and o.is_floating_point
            else make(o, False, None, 0)
            for nr, o in enumerate(raw)
        )
