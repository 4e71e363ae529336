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

The bookkeeping (apply, the ctx, the nodes' edges and the backward engine) is
C, in csrc/autograd/; this module adds the Python faces of those objects.
"""

from __future__ import annotations

from .. import _C

Tensor = None  # ember.Tensor, set by ember.tensor once the class exists

# The per-call ctx: needs_input_grad, save_for_backward / saved_tensors,
# mark_non_differentiable, and any attribute forward sets (ctx.dim = dim).
# Saved tensors' versions are recorded, so an in-place change before backward
# is reported instead of giving a wrong gradient; saved outputs come back as
# Tensors attached to their node.
Context = _C.Context


class Node(_C.Node):
    """A recorded call: its Function, ctx, and one edge per forward argument.

    The edges and each argument's shape and dtype live in the C++ object
    (`next_functions` shows the edges); the engine (_C.run_backward) reads them.
    """

    __slots__ = ()
    function = None  # the Function subclass, set on each per-Function node type

    def name(self) -> str:
        return type(self).__name__

    def register_prehook(self, output_nr, hook):
        if self.pre_hooks is None:
            self.pre_hooks = {}
        self.pre_hooks.setdefault(output_nr, []).append(hook)
        return _HookHandle(self.pre_hooks[output_nr], hook)

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"


class AccumulateGrad(Node):
    """The node for a leaf tensor (`variable`): adds the incoming gradient
    into `.grad`. Made by the graph the first time the leaf is used."""

    __slots__ = ()

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

    # Function.apply(*args, **kwargs) runs forward and, when grad mode is on and
    # an argument requires grad, records a node whose edges point at the
    # arguments' producers.
    apply = classmethod(_C.function_apply)
