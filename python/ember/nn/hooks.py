"""Full backward hooks: identity Functions around a module's inputs and
outputs catch grad_output on the way in and grad_input on the way out."""

from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor


class _Identity(Function):
    """Passes tensors through; its backward hands the gradients to `on_grad`."""

    @staticmethod
    def forward(ctx, on_grad, *tensors):
        ctx.on_grad = on_grad
        return tuple(t._data for t in tensors)

    @staticmethod
    def backward(ctx, *grads):
        return (None, *ctx.on_grad(grads))


def attach_backward_hooks(module, args):
    """Routes `args` through an identity node; returns the new args and a
    function that does the same for the forward's output."""
    state = {"grad_output": None}
    tensor_pos = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]

    def run_hooks(grad_input):
        for hook in list(module._backward_hooks.values()):
            result = hook(module, grad_input, state["grad_output"])
            if result is not None:
                grad_input = tuple(result)
        return grad_input

    args = list(args)
    if tensor_pos:
        wrapped = _Identity.apply(run_hooks, *[args[i] for i in tensor_pos])
        for i, t in zip(tensor_pos, wrapped if isinstance(wrapped, tuple) else (wrapped,)):
            args[i] = t

    def on_output_grad(grads):
        state["grad_output"] = grads
        if not tensor_pos:
            run_hooks((None,))
        return grads

    def finish(output):
        outs = output if isinstance(output, tuple) else (output,)
        pos = [i for i, o in enumerate(outs) if isinstance(o, Tensor) and o.requires_grad]
        if not pos:
            return output
        wrapped = _Identity.apply(on_output_grad, *[outs[i] for i in pos])
        wrapped = wrapped if isinstance(wrapped, tuple) else (wrapped,)
        new = list(outs)
        for i, t in zip(pos, wrapped):
            new[i] = t
        return tuple(new) if isinstance(output, tuple) else new[0]

    return tuple(args), finish
