"""The backward engine: iterative, each node once, in topological order.

Gradients arriving at a node are summed per output; a gradient whose shape
or dtype differs from the argument it belongs to (broadcasting, promotion) is
reduced and cast here, in one place, so no op's backward has to.
"""

from __future__ import annotations

from .function import AccumulateGrad
from .grad_mode import set_grad_enabled


def _topological_order(roots):
    """Nodes reachable from `roots`, each before every node it feeds into.

    Kahn's algorithm on dependency counts: two flat passes over the edges,
    cheaper per node than a depth-first walk with an iterator per node.
    """
    deps = {}
    seen = set(roots)
    stack = list(seen)
    while stack:
        node = stack.pop()
        for edge in node.next_edges:
            if edge is None:
                continue
            child = edge[0]
            deps[child] = deps.get(child, 0) + 1
            if child not in seen:
                seen.add(child)
                stack.append(child)
    ready = [r for r in seen if r not in deps]
    order = []
    while ready:
        node = ready.pop()
        order.append(node)
        for edge in node.next_edges:
            if edge is None:
                continue
            child = edge[0]
            left = deps[child] - 1
            if left:
                deps[child] = left
            else:
                del deps[child]
                ready.append(child)
    return order


def _fit_to_input(grad, meta):
    """Sums a broadcast gradient down to the argument's shape and dtype."""
    shape, dtype = meta.shape, meta.dtype
    data = grad._data
    if data.shape != shape:
        grad = grad.sum_to_size(shape)
    if data.dtype != dtype and dtype.is_floating_point:
        grad = grad.to(dtype)
    return grad


def _run_hooks(hooks, grad):
    for hook in hooks:
        result = hook(grad)
        if result is not None:
            grad = result
    return grad


def _accumulate(buffers, node, nr, grad):
    """Adds `grad` into the buffer of node's output `nr` (a list per node)."""
    buf = buffers.get(node)
    if buf is None:
        buf = buffers[node] = [None] * max(len(node.output_ids), 1)
    cur = buf[nr]
    buf[nr] = grad if cur is None else cur + grad


def run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs=None):
    """Backpropagates from `outputs` seeded with `grad_outputs`.

    With `inputs` (autograd.grad), returns the gradients reaching those
    tensors instead of accumulating into leaves' `.grad`.
    """
    from ..tensor import Tensor

    buffers = {}
    roots = []
    for out, grad in zip(outputs, grad_outputs):
        node, nr = out._edge()
        roots.append(node)
        _accumulate(buffers, node, nr, grad)

    targets = None
    if inputs is not None:
        targets = {}
        for i, t in enumerate(inputs):
            targets.setdefault(t._edge(), []).append(i)
        captured = [None] * len(inputs)

    order = _topological_order(roots)
    if targets is not None:
        # Only nodes that lead to a target need to run.
        target_nodes = {id(edge[0]) for edge in targets}
        needed = set()
        for node in reversed(order):
            if id(node) in target_nodes or any(
                e is not None and id(e[0]) in needed for e in node.next_edges
            ):
                needed.add(id(node))

    with set_grad_enabled(create_graph):
        for node in order:
            buf = buffers.pop(node, None)
            if buf is None:
                continue
            if node.pre_hooks:
                for nr, hooks in node.pre_hooks.items():
                    if buf[nr] is not None:
                        buf[nr] = _run_hooks(hooks, buf[nr])
            if targets is not None:
                for nr, grad in enumerate(buf):
                    if grad is not None:
                        for i in targets.get((node, nr), ()):
                            captured[i] = grad
                if type(node) is AccumulateGrad or id(node) not in needed:
                    continue
            if type(node) is AccumulateGrad:
                leaf = node.variable
                grad = buf[0]
                if leaf._hooks:
                    grad = _run_hooks(leaf._hooks, grad)
                node.apply((grad,))
                continue
            for grad in buf:
                if grad is None:  # `None in buf` would compare tensors with ==
                    buf = _fill_missing(node, buf)
                    break
            ctx = node.ctx
            input_grads = node.function.backward(ctx, *buf)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            if not retain_graph:
                ctx._saved = None
                ctx._freed = True
            edges = node.next_edges
            if len(input_grads) < len(edges):
                _arity_error(node, input_grads)
            for edge, meta, grad in zip(edges, node.input_meta, input_grads):
                if edge is None or grad is None:
                    continue
                if not isinstance(grad, Tensor):
                    raise TypeError(f"{node.name()} returned a {type(grad).__name__} as a gradient")
                if not grad._data.same_meta(meta):
                    grad = _fit_to_input(grad, meta)
                # The body of _accumulate, inlined: this runs once per edge.
                child, nr = edge
                cbuf = buffers.get(child)
                if cbuf is None:
                    cbuf = buffers[child] = [None] * max(len(child.output_ids), 1)
                cur = cbuf[nr]
                cbuf[nr] = grad if cur is None else cur + grad

    if targets is not None:
        return captured
    return None


def _fill_missing(node, grads):
    """Zeros for outputs that received no gradient (unused outputs)."""
    from .. import _C
    from ..tensor import Tensor

    ctx = node.ctx
    shapes = getattr(ctx, "_output_meta", None)
    filled = []
    for nr, g in enumerate(grads):
        if g is None:
            shape, dtype, device = shapes[nr]
            g = Tensor._make(_C.zeros(list(shape), dtype, device), False, None, 0)
        filled.append(g)
    return tuple(filled)


def _arity_error(node, input_grads):
    raise RuntimeError(
        f"{node.name()}: backward returned {len(input_grads)} gradients, "
        f"expected {len(node.next_edges)} (one per forward argument)"
    )
