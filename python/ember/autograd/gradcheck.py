"""Numerical gradient checks: autograd's Jacobian against central differences."""

from __future__ import annotations

import numpy as np


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients disagree."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _outputs(fn, inputs):
    from ..tensor import Tensor

    return tuple(o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor) and o.dtype.is_floating_point)


def _host(t) -> np.ndarray:
    """t's values as float64 numpy, from any device."""
    return t.detach().cpu().numpy().astype(np.float64)


def _numerical_jacobian(fn, inputs, i, eps):
    """J[k][a, b]: d output_k[b] / d inputs[i][a], by central differences."""
    from .grad_mode import no_grad

    x = inputs[i]
    data = x.detach()
    # A CPU input is nudged through a numpy view of its memory; a device input
    # element by element through indexing (slower, but on the device itself).
    view = data.numpy() if not data.is_cuda else data
    with no_grad():
        base = [_host(o) for o in _outputs(fn, inputs)]
        jac = [np.zeros((x.numel(), b.size)) for b in base]
        for a in range(x.numel()):
            idx = tuple(int(j) for j in np.unravel_index(a, tuple(x.shape))) if x.dim() else ()
            orig = float(view[idx])
            view[idx] = orig + eps
            plus = [_host(o).reshape(-1) for o in _outputs(fn, inputs)]
            view[idx] = orig - eps
            minus = [_host(o).reshape(-1) for o in _outputs(fn, inputs)]
            view[idx] = orig
            for k in range(len(base)):
                jac[k][a] = (plus[k] - minus[k]) / (2 * eps)
    return jac


def _analytical_jacobian(fn, inputs, diff_idx):
    """J[i][k][a, b]: d output_k[b] / d inputs[i][a], row by row with autograd."""
    from .. import creation
    from . import grad

    outputs = _outputs(fn, inputs)
    diff_inputs = [inputs[i] for i in diff_idx]
    jac = [[np.zeros((inputs[i].numel(), o.numel())) for o in outputs] for i in diff_idx]
    for k, out in enumerate(outputs):
        for b in range(out.numel()):
            seed = np.zeros(out.numel())
            seed[b] = 1.0
            g_out = creation.tensor(seed.reshape(out.shape), dtype=out.dtype, device=out.device)
            grads = grad(out, diff_inputs, grad_outputs=g_out, retain_graph=True, allow_unused=True)
            for n, g in enumerate(grads):
                if g is not None:
                    jac[n][k][:, b] = _host(g).reshape(-1)
    return jac


def gradcheck(fn, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True) -> bool:
    """Checks autograd's gradients of `fn` against central differences.

    Every floating input with requires_grad=True is checked, element by
    element, against every output element: |analytical - numerical| must be
    within atol + rtol * |numerical|. Use float64 inputs.

    Args:
        fn: a function of the inputs returning a tensor or a tuple of tensors.
        inputs: a tensor or a tuple of arguments.
        eps: the finite-difference step.
        atol, rtol: the per-element tolerance.
        raise_exception: raise GradcheckError on failure (else return False).

    Returns:
        True when every element agrees.

    Example:
        >>> x = em.randn(3, 4, dtype=em.float64, requires_grad=True)
        >>> em.autograd.gradcheck(lambda t: (t * t).sum(1), (x,))
        True
    """
    from ..tensor import Tensor

    inputs = _as_tuple(inputs)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not diff_idx:
        raise ValueError("gradcheck: no input has requires_grad=True")
    analytical = _analytical_jacobian(fn, inputs, diff_idx)
    for n, i in enumerate(diff_idx):
        numerical = _numerical_jacobian(fn, inputs, i, eps)
        for k, (a, num) in enumerate(zip(analytical[n], numerical)):
            bad = np.abs(a - num) > atol + rtol * np.abs(num)
            if bad.any():
                where = np.argwhere(bad)[:5]
                detail = ", ".join(
                    f"d out{k}[{b}] / d in{i}[{e}]: analytical {a[e, b]:.6g}, numerical {num[e, b]:.6g}"
                    for e, b in where
                )
                msg = (f"gradcheck: Jacobian mismatch for output {k} w.r.t. input {i} "
                       f"({int(bad.sum())} of {bad.size} elements): {detail}")
                if raise_exception:
                    raise GradcheckError(msg)
                return False
    return True


def gradgradcheck(fn, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  raise_exception: bool = True) -> bool:
    """Checks second derivatives: gradcheck of the vector-Jacobian product of fn.

    The output gradients are fixed random tensors, so the checked function is
    x -> grad(fn(x), x, v, create_graph=True).
    """
    from .. import creation
    from ..tensor import Tensor
    from . import grad
    from .grad_mode import enable_grad

    inputs = _as_tuple(inputs)
    diff_idx = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    rng = np.random.default_rng(0)
    vs = [creation.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype, device=o.device)
          for o in _outputs(fn, inputs)]

    def vjp(*args):
        with enable_grad():
            outs = _outputs(fn, args)
            diff = [args[i] for i in diff_idx]
            gs = grad(outs, diff, grad_outputs=vs, create_graph=True, allow_unused=True)
        return tuple(g for g in gs if g is not None)

    return gradcheck(vjp, inputs, eps=eps, atol=atol, rtol=rtol, raise_exception=raise_exception)
