"""The backward engine (_C.run_backward) and the one piece of it in Python.

The engine runs each node once, in topological order, summing the gradients
that arrive at each output. A gradient whose shape or dtype differs from the
argument it belongs to (broadcasting, promotion) is reduced and cast by
`_fit_to_input`, in one place, so no op's backward has to.
"""

from __future__ import annotations

from .. import _C


def _fit_to_input(grad, shape, dtype):
    """Sums a broadcast gradient down to the argument's shape and dtype."""
    if grad._data.shape != shape:
        grad = grad.sum_to_size(shape)
    if grad._data.dtype != dtype and dtype.is_floating_point:
        grad = grad.to(dtype)
    return grad


def run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=None):
    """Backpropagates from `outputs` seeded with `grad_outputs`.

    With `inputs` (autograd.grad), returns the gradients reaching those
    tensors instead of accumulating into leaves' `.grad`.
    """
    return _C.run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs)
