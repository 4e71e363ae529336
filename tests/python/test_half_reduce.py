"""float16/bfloat16 reductions, cumsum and softmax on every device.

Each op runs on 16-bit inputs and is compared with the same op on their float32
widenings (half_check): order-free results (max/min, their indices, and
every CPU result, which is the float32 kernel rounded once) bit for bit, sums
within a 16-bit tolerance. Results keep the 16-bit dtype (indices are int64),
and so do the gradients. Where PyTorch is installed its CPU 16-bit results are
a second reference.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from half_check import HALF_DTYPES, check_half, half_inputs

import ember as em
from ember import _C

try:
    import torch
except ImportError:  # pragma: no cover - torch is a test-only reference
    torch = None

SHAPE = (5, 37)
# One unit in the last place of each dtype, relative to the value.
ULP = {em.float16: 2.0**-10, em.bfloat16: 2.0**-7}


def _tol(dtype):
    return {"rtol": ULP[dtype], "atol": 1e-4}


def _exact_on_cpu(device, dtype):
    """Bit for bit on the CPU (the float32 kernel, rounded once); a 16-bit
    tolerance on cuda, whose sums run in another order."""
    return {"ulps": 0} if device == "cpu" else _tol(dtype)


def _torch_dtype(dtype):
    return torch.float16 if dtype == em.float16 else torch.bfloat16


def _values(t: em.Tensor) -> np.ndarray:
    return np.asarray(t.cpu().float().tolist(), dtype=np.float32)


def _check_torch(out: em.Tensor, torch_fn, x: em.Tensor, dtype, scale=1.0):
    """out against torch_fn on the same 16-bit values on the CPU."""
    if torch is None:
        return
    tx = torch.tensor(_values(x)).to(_torch_dtype(dtype))
    expected = torch_fn(tx).float().numpy()
    np.testing.assert_allclose(_values(out), expected, rtol=2 * ULP[dtype], atol=1e-3 * scale)


REDUCTIONS = {
    "sum": (lambda x: em.sum(x, 1), lambda t: t.sum(1)),
    "sum_all": (lambda x: em.sum(x), lambda t: t.sum()),
    "mean": (lambda x: em.mean(x, 0), lambda t: t.mean(0)),
    "var": (lambda x: em.var(x, 1), lambda t: t.var(1)),
    "std": (lambda x: em.std(x, 0, correction=0), lambda t: t.std(0, correction=0)),
    "logsumexp": (lambda x: em.logsumexp(x, 1), lambda t: torch.logsumexp(t, 1)),
    "norm": (lambda x: em.norm(x, dim=1), lambda t: torch.linalg.vector_norm(t, dim=1)),
    "norm3": (lambda x: em.norm(x, 3, dim=1), lambda t: torch.linalg.vector_norm(t, 3, dim=1)),
    "cumsum": (lambda x: em.cumsum(x, 1), lambda t: torch.cumsum(t, 1)),
    "cumsum0": (lambda x: em.cumsum(x, 0), lambda t: torch.cumsum(t, 0)),
}


@pytest.mark.parametrize("dtype", HALF_DTYPES)
@pytest.mark.parametrize("name", sorted(REDUCTIONS))
def test_sums_and_moments(device, dtype, name):
    fn, torch_fn = REDUCTIONS[name]
    inputs = half_inputs(SHAPE, dtype=dtype, device=device)
    out = check_half(fn, *inputs, dtype=dtype, what=name, **_tol(dtype))
    _check_torch(out, torch_fn, inputs[0][0], dtype, scale=SHAPE[1])


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_prod(device, dtype):
    inputs = half_inputs(SHAPE, dtype=dtype, device=device, low=0.8, high=1.25)
    out = check_half(lambda x: em.prod(x, 1), *inputs, dtype=dtype, what="prod", **_tol(dtype))
    _check_torch(out, lambda t: t.prod(1), inputs[0][0], dtype)


@pytest.mark.parametrize("dtype", HALF_DTYPES)
@pytest.mark.parametrize("name", ["amax", "amin", "max", "min"])
def test_extremes_bit_exact(device, dtype, name):
    inputs = half_inputs(SHAPE, dtype=dtype, device=device)
    if name in ("amax", "amin"):
        fn = (lambda x: getattr(em, name)(x, 1))
    else:
        fn = (lambda x: getattr(em, name)(x, 1)[0])
    out = check_half(fn, *inputs, dtype=dtype, what=name)
    _check_torch(out, lambda t: getattr(torch, name)(t, 1) if name[0] == "a"
                 else getattr(torch, name)(t, 1).values, inputs[0][0], dtype)


@pytest.mark.parametrize("dtype", HALF_DTYPES)
@pytest.mark.parametrize("is_max", [True, False])
def test_indices_with_ties_and_nan(device, dtype, is_max):
    # Small integers: many ties, the first one wins; a NaN wins its row.
    values = np.random.default_rng(1).integers(-3, 4, size=SHAPE).astype(np.float32)
    values[2, 20] = np.nan
    x = em.tensor(values, dtype=dtype).to(device)
    wide = x.cpu().float()
    op, arg = (em.max, em.argmax) if is_max else (em.min, em.argmin)
    result, index = op(x, 1)
    assert result.dtype == dtype and index.dtype == em.int64
    want_values, want_index = op(wide, 1)
    assert index.cpu().tolist() == want_index.tolist()
    assert arg(x, 1).cpu().tolist() == want_index.tolist()
    assert arg(x).cpu().item() == arg(wide).item()
    np.testing.assert_array_equal(_values(result), want_values.numpy())
    if torch is not None:
        t = torch.tensor(values).to(_torch_dtype(dtype))
        expected = (torch.max if is_max else torch.min)(t, 1)
        assert index.cpu().tolist() == expected.indices.tolist()


@pytest.mark.parametrize("dtype", HALF_DTYPES)
@pytest.mark.parametrize("log", [False, True])
@pytest.mark.parametrize("dim", [0, 1])
def test_softmax_forward(device, dtype, log, dim):
    fn = (lambda x: em.log_softmax(x, dim)) if log else (lambda x: em.softmax(x, dim))
    inputs = half_inputs(SHAPE, dtype=dtype, device=device, low=-4.0, high=4.0)
    out = check_half(fn, *inputs, dtype=dtype, what="softmax", **_exact_on_cpu(device, dtype))
    torch_fn = torch.log_softmax if log else torch.softmax
    _check_torch(out, lambda t: torch_fn(t, dim), inputs[0][0], dtype)


def _backward(fn, x: em.Tensor, dtype):
    """x's gradient of fn(x) from an explicit upstream gradient of `dtype`'s
    values (in the output's dtype)."""
    leaf = x.detach().requires_grad_(True)
    out = fn(leaf)
    rng = np.random.default_rng(2)
    upstream = em.tensor(rng.uniform(-1, 1, size=out.shape).astype(np.float32), dtype=dtype).to(out.dtype)
    out.backward(upstream.to(x.device))
    return leaf.grad, upstream


BACKWARDS = {
    "sum": (lambda x: em.sum(x, 1), lambda t: t.sum(1)),
    "softmax": (lambda x: em.softmax(x, 1), lambda t: torch.softmax(t, 1)),
    "softmax0": (lambda x: em.softmax(x, 0), lambda t: torch.softmax(t, 0)),
    "log_softmax": (lambda x: em.log_softmax(x, 1), lambda t: torch.log_softmax(t, 1)),
    "cumsum": (lambda x: em.cumsum(x, 1), lambda t: torch.cumsum(t, 1)),
    "norm1": (lambda x: em.norm(x, 1, dim=1), lambda t: torch.linalg.vector_norm(t, 1, dim=1)),
    "norm3": (lambda x: em.norm(x, 3, dim=1), lambda t: torch.linalg.vector_norm(t, 3, dim=1)),
    "norm_inf": (lambda x: em.norm(x, math.inf, dim=1),
                 lambda t: torch.linalg.vector_norm(t, math.inf, dim=1)),
}


@pytest.mark.parametrize("dtype", HALF_DTYPES)
@pytest.mark.parametrize("name", sorted(BACKWARDS))
def test_backward(device, dtype, name):
    fn, torch_fn = BACKWARDS[name]
    (x,), _ = half_inputs(SHAPE, dtype=dtype, device=device)
    grad, upstream = _backward(fn, x, dtype)
    assert grad.dtype == dtype and grad.shape == x.shape
    wide_grad, _ = _backward(fn, x.cpu().float(), dtype)
    np.testing.assert_allclose(_values(grad), _values(wide_grad), rtol=ULP[dtype],
                               atol=1e-4 * SHAPE[1], err_msg=name)
    if torch is not None:
        t = torch.tensor(_values(x)).to(_torch_dtype(dtype)).requires_grad_(True)
        torch_fn(t).backward(torch.tensor(_values(upstream)).to(_torch_dtype(dtype)))
        np.testing.assert_allclose(_values(grad), t.grad.float().numpy(), rtol=4 * ULP[dtype],
                                   atol=2e-2 if dtype == em.bfloat16 else 4e-3, err_msg=name)


def _wrap(t) -> em.Tensor:
    return em.Tensor._make(t, False, None, 0)


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_backward_kernels(device, dtype):
    """The kernels behind prod's and max's gradients, on 16-bit operands."""
    grad = em.tensor(np.linspace(-1, 1, SHAPE[0]).astype(np.float32).reshape(-1, 1), dtype=dtype)
    values = np.random.default_rng(3).uniform(0.8, 1.25, size=SHAPE).astype(np.float32)
    values[1, 4] = 0.0
    values[2, [3, 9]] = 0.0
    x = em.tensor(values, dtype=dtype).to(device)
    got = _C.prod_backward(grad.to(device)._data, x._data, [1])
    want = _C.prod_backward(grad.float()._data, x.cpu().float()._data, [1])
    assert got.dtype == dtype
    np.testing.assert_allclose(_values(_wrap(got)), _values(_wrap(want)), rtol=ULP[dtype],
                               atol=1e-6)

    # Small integers: ties share the gradient; shares like 1/3 are the float32
    # ones rounded once.
    ties = np.random.default_rng(4).integers(-3, 4, size=SHAPE).astype(np.float32)
    x = em.tensor(ties, dtype=dtype).to(device)
    top = em.amax(x, 1, keepdim=True)
    got = _C.extreme_weights(x._data, top._data, [1])
    want = _C.extreme_weights(x.cpu().float()._data, top.cpu().float()._data, [1])
    assert got.dtype == dtype
    np.testing.assert_array_equal(_values(_wrap(got)), _values(_wrap(want).to(dtype)))


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_long_rows_accumulate_in_float(device, dtype):
    """4096 ones sum to 4096 exactly (a 16-bit accumulator would stall at 2048
    in float16 and at 256 in bfloat16), also along a block-per-row launch."""
    x = em.ones((2, 4096), dtype=dtype).to(device)
    assert em.sum(x, 1).cpu().tolist() == [4096.0, 4096.0]
    assert em.cumsum(x, 1)[:, -1].cpu().tolist() == [4096.0, 4096.0]
    np.testing.assert_allclose(_values(em.softmax(x, 1)), 1 / 4096, rtol=ULP[dtype])
