"""The one helper that checks an op: forward against a numpy (float64)
reference, in float32 and float64, on contiguous and non-contiguous inputs,
and backward against numerical gradients with gradcheck.

    check_op(lambda x, y: em.add(x, y), lambda x, y: x + y,
             rand(3, 1), rand(4))

Arguments that are numpy float arrays become tensors (and require grad for
the gradient check); anything else is passed through unchanged.

With `device="cuda"` the inputs are still made on the CPU from numpy and
moved with .to(device), outputs come back with .cpu() for the comparison, and
gradcheck runs on the device in float64:

    check_op(em.exp, np.exp, rand(4, 5), device="cuda")
"""

from __future__ import annotations

import numpy as np

import ember as em

try:
    import torch
except ImportError:  # PyTorch is an optional reference
    torch = None

rng = np.random.default_rng(1234)


def rand(*shape, low=-1.0, high=1.0):
    """float64 uniform samples: the usual op input."""
    return rng.uniform(low, high, size=shape)


def noncontiguous(t: em.Tensor) -> em.Tensor:
    """The same values in a strided view (every other element of a wider buffer)."""
    if t.ndim == 0 or t.numel() == 0:
        return t
    shape = list(t.shape)
    wide = em.zeros(*shape[:-1], shape[-1] * 2, dtype=t.dtype, device=t.device)
    view = em.Tensor._make(wide._data.slice(t.ndim - 1, 0, 2 * shape[-1], 2), False, None, 0)
    view._data.copy_(t._data)
    assert not view.is_contiguous() or shape[-1] == 1
    return view


def to_device(a: np.ndarray, device="cpu", dtype=None, requires_grad=False) -> em.Tensor:
    """A tensor made on the CPU from numpy, then moved to `device` (a leaf).

    Example:
        >>> x = to_device(rand(3, 4), "cuda", em.float64, requires_grad=True)
    """
    t = em.tensor(a, dtype=dtype).to(device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _to_tensors(args, dtype, device, requires_grad=False, strided=False):
    out = []
    for a in args:
        if isinstance(a, np.ndarray) and a.dtype.kind == "f":
            t = to_device(a, device, dtype)
            if strided:
                t = noncontiguous(t)
            if requires_grad:
                t.requires_grad_(True)
            out.append(t)
        elif isinstance(a, np.ndarray):
            out.append(to_device(a, device))
        else:
            out.append(a)
    return out


def _on_cpu(out):
    if isinstance(out, (tuple, list)):
        return type(out)(_on_cpu(o) for o in out)
    return out.detach().cpu() if isinstance(out, em.Tensor) else out


def _assert_on(out, device, what):
    if isinstance(out, (tuple, list)):
        for o in out:
            _assert_on(o, device, what)
    elif isinstance(out, em.Tensor):
        assert str(out.device).split(":")[0] == str(device).split(":")[0], (
            f"{what}: output on {out.device}, inputs on {device}")


def assert_close(actual, expected, atol, rtol, what=""):
    """Per-element |actual - expected| <= atol + rtol * |expected|, shapes equal."""
    if isinstance(expected, (tuple, list)):
        assert isinstance(actual, (tuple, list)) and len(actual) == len(expected), what
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, atol, rtol, f"{what}[{i}]")
        return
    a = actual.detach().cpu().numpy() if isinstance(actual, em.Tensor) else np.asarray(actual)
    e = np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape}, expected {e.shape}"
    if e.dtype == np.bool_ or a.dtype == np.bool_:
        mismatch = a != e
    else:
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
        both_nan = np.isnan(a64) & np.isnan(e64)
        mismatch = ~both_nan & ~(np.abs(a64 - e64) <= atol + rtol * np.abs(e64))
        mismatch &= ~(a64 == e64)  # equal infinities
    if mismatch.any():
        idx = np.argwhere(mismatch)[:5]
        details = ", ".join(f"{tuple(i)}: {a[tuple(i)]} vs {e[tuple(i)]}" for i in idx)
        raise AssertionError(f"{what}: {int(mismatch.sum())} of {mismatch.size} elements differ; {details}")


def check_op(ember_fn, reference_fn, *args, grad=True, device="cpu", atol=1e-5, rtol=1e-4,
             grad_atol=1e-5, grad_rtol=1e-3, float32=True):
    """Checks forward (float32 and float64, contiguous and strided) and gradients.

    Args:
        ember_fn: the ember op under test, called with the tensor arguments.
        reference_fn: the float64 numpy reference, called with the numpy arguments.
        *args: numpy arrays (become tensors on `device`) or anything else (passed through).
        grad: also run gradcheck (float64, on `device`).
        device: "cpu" or "cuda": where the inputs live and the op runs; the
            output must come back on the same device.
        atol, rtol: float32 forward tolerance (float64 uses 1e-10, 1e-7).
        grad_atol, grad_rtol: gradcheck's per-element tolerance.
        float32: also check the float32 forward.
    """
    expected = reference_fn(*args)
    dtypes = [em.float64] + ([em.float32] if float32 else [])
    for dtype in dtypes:
        tol = (atol, rtol) if dtype == em.float32 else (1e-10, 1e-7)
        for strided in (False, True):
            what = f"forward {dtype} strided={strided} on {device}"
            out = ember_fn(*_to_tensors(args, dtype, device, strided=strided))
            _assert_on(out, device, what)
            assert_close(_on_cpu(out), expected, *tol, what=what)
    if grad:
        inputs = _to_tensors(args, em.float64, device, requires_grad=True)
        em.autograd.gradcheck(ember_fn, tuple(inputs), atol=grad_atol, rtol=grad_rtol)
