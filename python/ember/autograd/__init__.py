"""Automatic differentiation: Function, backward, grad, grad modes, gradcheck."""

from __future__ import annotations

from .engine import run_backward
from .function import Context, Function, Node
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = [
    "Context",
    "Function",
    "GradcheckError",
    "Node",
    "backward",
    "enable_grad",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "no_grad",
    "set_grad_enabled",
]


def _as_tuple(x):
    if x is None:
        return ()
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _seed_grads(outputs, grad_outputs):
    from .. import creation

    seeds = []
    for out, g in zip(outputs, grad_outputs):
        if g is None:
            if out.numel() != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs; the output has "
                    f"shape {list(out.shape)}: pass a gradient of that shape"
                )
            g = creation.ones_like(out)
        elif list(g.shape) != list(out.shape):
            raise RuntimeError(
                f"mismatch in shape: the gradient has shape {list(g.shape)} and the output "
                f"has shape {list(out.shape)}"
            )
        seeds.append(g)
    return seeds


def _check_outputs(outputs):
    for out in outputs:
        if not out.requires_grad:
            raise RuntimeError(
                "element 0 of tensors does not require grad and does not have a grad_fn "
                "(was it computed under no_grad, or from tensors without requires_grad=True?)"
            )


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulates the gradients of `tensors` into the `.grad` of graph leaves.

    Args:
        tensors: a tensor or a sequence of tensors to differentiate.
        grad_tensors: their gradients (None for one-element tensors).
        retain_graph: keep saved tensors for another backward (default: create_graph).
        create_graph: record the backward pass for higher-order gradients.
        inputs: if given, only these leaves accumulate gradients.
    """
    tensors = _as_tuple(tensors)
    grads = _as_tuple(grad_tensors) or (None,) * len(tensors)
    _check_outputs(tensors)
    seeds = _seed_grads(tensors, grads)
    if retain_graph is None:
        retain_graph = create_graph
    if inputs is not None:
        inputs = _as_tuple(inputs)
        result = run_backward(tensors, seeds, retain_graph, create_graph, inputs)
        for t, g in zip(inputs, result):
            if g is None:
                continue
            if t.grad is not None:
                t.grad = t.grad + (g if create_graph else g.detach())
            else:
                # Own memory, as AccumulateGrad gives: g may be a broadcast view
                # or shared with another input's gradient.
                t.grad = g if create_graph else g.detach().clone()
        return
    run_backward(tensors, seeds, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """The gradients of `outputs` with respect to `inputs` (not accumulated).

    Args:
        outputs: a tensor or sequence of tensors.
        inputs: the tensors to differentiate with respect to.
        grad_outputs: gradients of the outputs (None for one-element outputs).
        retain_graph: keep the graph for another backward (default: create_graph).
        create_graph: make the returned gradients differentiable.
        allow_unused: return None for an input the outputs don't depend on
            instead of raising.

    Returns:
        A tuple with one gradient per input.

    Example:
        >>> x = em.tensor(3.0, requires_grad=True)
        >>> (g,) = em.autograd.grad(x ** 3, x, create_graph=True)   # 27
    """
    outputs = _as_tuple(outputs)
    inputs = _as_tuple(inputs)
    grads = _as_tuple(grad_outputs) or (None,) * len(outputs)
    _check_outputs(outputs)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} does not require grad")
    seeds = _seed_grads(outputs, grads)
    if retain_graph is None:
        retain_graph = create_graph
    result = run_backward(outputs, seeds, retain_graph, create_graph, inputs)
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"grad: input {i} was not used in the graph of the outputs "
                "(pass allow_unused=True to get None for it)"
            )
    return tuple(g if g is None or create_graph else g.detach() for g in result)
