"""float16/bfloat16 matrix products: matmul, mm, bmm, dot and linear, forward
and backward, on every device. Products accumulate in float and round once,
so a result is checked against the float64 product of the 16-bit inputs
within half an ulp of the 16-bit type plus float rounding of K additions (the
order of the additions differs between kernels), and against PyTorch's CPU
result where torch is installed."""

import numpy as np
import pytest
from half_check import HALF_DTYPES, check_half, half_inputs

import ember as em

try:
    import torch
except ImportError:  # pragma: no cover - torch is a test-only reference
    torch = None

EPS = {em.float16: 2.0 ** -10, em.bfloat16: 2.0 ** -7}
TORCH_DTYPES = {em.float16: "float16", em.bfloat16: "bfloat16"}


def values(t):
    return np.asarray(t.cpu().float().tolist(), dtype=np.float64)


def assert_product(out, a, b, dtype, what=""):
    """out (16-bit) is a @ b (16-bit inputs) computed in float and rounded once."""
    assert out.dtype == dtype, f"{what}: dtype {out.dtype}"
    av, bv = values(a), values(b)
    expected = np.matmul(av, bv)
    magnitude = np.matmul(np.abs(av), np.abs(bv))
    k = av.shape[-1]
    bound = EPS[dtype] / 2 * np.abs(expected) + 2.0 ** -23 * (k + 2) * magnitude + 2.0 ** -24
    error = np.abs(values(out) - expected)
    assert (error <= bound).all(), f"{what}: worst excess {(error - bound).max()}"


PRODUCT_SHAPES = [
    ((1, 1), (1, 1)),
    ((31, 33), (33, 17)),
    ((33, 129), (129, 31)),
    ((16, 16), (16, 16)),
    ((65, 24), (24, 72)),
    ((2, 1, 5, 7), (3, 7, 4)),
    ((7,), (7, 9)),
    ((9, 7), (7,)),
    ((129,), (129,)),
]


@pytest.mark.parametrize("dtype", HALF_DTYPES)
@pytest.mark.parametrize("shapes", PRODUCT_SHAPES, ids=lambda s: f"{s[0]}@{s[1]}")
def test_matmul(device, dtype, shapes):
    (a, b), widened = half_inputs(*shapes, dtype=dtype, device=device)
    out = check_half(em.matmul, (a, b), widened, dtype=dtype, rtol=EPS[dtype], atol=1e-6,
                     what=f"matmul {shapes}")
    assert_product(out, a, b, dtype, f"matmul {shapes}")


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_mm_bmm_dot(device, dtype):
    (a, b), _ = half_inputs((33, 40), (40, 17), dtype=dtype, device=device, seed=1)
    assert_product(em.mm(a, b), a, b, dtype, "mm")
    (a, b), _ = half_inputs((3, 17, 40), (3, 40, 31), dtype=dtype, device=device, seed=2)
    assert_product(em.bmm(a, b), a, b, dtype, "bmm")
    (a, b), _ = half_inputs((65,), (65,), dtype=dtype, device=device, seed=3)
    out = em.dot(a, b)
    assert out.shape == () and out.dtype == dtype
    assert_product(out, a, b, dtype, "dot")


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_transposed_and_strided_operands(device, dtype):
    (a, b, at, bt), _ = half_inputs((31, 24), (24, 33), (24, 31), (33, 24), dtype=dtype,
                                    device=device, seed=4)
    for x, y, what in [(a, b, "nn"), (at.t(), b, "tn"), (a, bt.t(), "nt"), (at.t(), bt.t(), "tt")]:
        assert_product(em.matmul(x, y), x, y, dtype, what)
    (big, other), _ = half_inputs((40, 50), (3, 25, 30), dtype=dtype, device=device, seed=5)
    x, y = big[1:32:1, ::2], other[:, :, ::3].transpose(1, 2)[:, :, :25]
    assert not x.is_contiguous()
    assert_product(em.matmul(x, other[0]), x, other[0], dtype, "sliced")
    assert_product(em.matmul(y, big[:25, :7]), y, big[:25, :7], dtype, "batched strided")


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_matmul_backward(device, dtype):
    # No broadcast batch dims: their grads would be summed by the reduction
    # kernels, not by a product.
    (a, b, g), _ = half_inputs((17, 33), (33, 9), (17, 9), dtype=dtype, device=device, seed=6)
    a.requires_grad_()
    b.requires_grad_()
    em.matmul(a, b).backward(g)
    assert a.grad.dtype == dtype and b.grad.dtype == dtype
    assert_product(a.grad, g, b.detach().t(), dtype, "grad a")
    assert_product(b.grad, a.detach().t(), g, dtype, "grad b")


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_mm_and_bmm_backward(device, dtype):
    (a, b, g), _ = half_inputs((3, 5, 16), (3, 16, 7), (3, 5, 7), dtype=dtype, device=device,
                               seed=7)
    a.requires_grad_()
    b.requires_grad_()
    em.bmm(a, b).backward(g)
    assert a.grad.dtype == dtype and b.grad.dtype == dtype
    assert_product(a.grad, g, b.detach().transpose(1, 2), dtype, "bmm grad a")
    assert_product(b.grad, a.detach().transpose(1, 2), g, dtype, "bmm grad b")
    (x, w, gy), _ = half_inputs((8, 12), (12, 6), (8, 6), dtype=dtype, device=device, seed=8)
    x.requires_grad_()
    em.mm(x, w).backward(gy)
    assert x.grad.dtype == dtype
    assert_product(x.grad, gy, w.t(), dtype, "mm grad")


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_linear(device, dtype):
    (x, w, gy), _ = half_inputs((24, 40), (10, 40), (24, 10), dtype=dtype, device=device,
                                seed=9)
    x.requires_grad_()
    w.requires_grad_()
    out = em.nn.functional.linear(x, w)
    assert_product(out, x.detach(), w.detach().t(), dtype, "linear")
    out.backward(gy)
    assert x.grad.dtype == dtype and w.grad.dtype == dtype
    assert_product(x.grad, gy, w.detach(), dtype, "linear grad x")
    assert_product(w.grad, gy.t(), x.detach(), dtype, "linear grad w")


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_linear_with_bias(device, dtype):
    (x, w, bias), _ = half_inputs((5, 24), (10, 24), (10,), dtype=dtype, device=device, seed=10)
    out = em.nn.functional.linear(x, w, bias)
    assert out.dtype == dtype
    # The bias is the GEMM's addend: x @ w.T + bias in float, rounded once.
    xv, wv, bv = values(x), values(w), values(bias)
    expected = xv @ wv.T + bv
    magnitude = np.abs(xv) @ np.abs(wv.T) + np.abs(bv)
    k = xv.shape[-1] + 1
    bound = EPS[dtype] / 2 * np.abs(expected) + 2.0 ** -23 * (k + 2) * magnitude + 2.0 ** -24
    assert (np.abs(values(out) - expected) <= bound).all()


@pytest.mark.skipif(torch is None, reason="torch is not installed")
@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_against_torch(device, dtype):
    tdtype = getattr(torch, TORCH_DTYPES[dtype])
    (a, b, g), _ = half_inputs((33, 40), (40, 17), (33, 17), dtype=dtype, device=device,
                               seed=11)
    a.requires_grad_()
    b.requires_grad_()
    out = em.matmul(a, b)
    out.backward(g)
    ta = torch.tensor(values(a.detach()), dtype=tdtype, requires_grad=True)
    tb = torch.tensor(values(b.detach()), dtype=tdtype, requires_grad=True)
    tout = torch.matmul(ta, tb)
    tout.backward(torch.tensor(values(g), dtype=tdtype))
    # Two 16-bit results of the same float sum, rounded after additions in
    # other orders: at most an ulp or two apart.
    tol = {"rtol": 2 * EPS[dtype], "atol": 1e-3}
    np.testing.assert_allclose(values(out), tout.detach().float().numpy(), **tol)
    np.testing.assert_allclose(values(a.grad), ta.grad.float().numpy(), **tol)
    np.testing.assert_allclose(values(b.grad), tb.grad.float().numpy(), **tol)
    (x, y), _ = half_inputs((3, 20, 40), (3, 40, 9), dtype=dtype, device=device, seed=12)
    tx, ty = (torch.tensor(values(t), dtype=tdtype) for t in (x, y))
    np.testing.assert_allclose(values(em.bmm(x, y)), torch.bmm(tx, ty).float().numpy(), **tol)


def test_errors(device):
    a = em.ones(3, 4, dtype=em.float16, device=device)
    with pytest.raises(TypeError, match="same dtype"):
        em.matmul(a, em.ones(4, 2, dtype=em.bfloat16, device=device))
    with pytest.raises(TypeError, match="same dtype"):
        em.mm(a, em.ones(4, 2, device=device))
    with pytest.raises(TypeError, match="unsupported dtype int32"):
        em.matmul(em.ones(3, 4, dtype=em.int32, device=device),
                  em.ones(4, 2, dtype=em.int32, device=device))
