"""Reductions, softmax/log_softmax and cumsum: forward against numpy, gradients
by gradcheck, comparisons with PyTorch, empty inputs and bad arguments."""

from __future__ import annotations

import numpy as np
import pytest
from op_check import assert_close, check_op, rand

import ember as em

SHAPES_DIMS = [
    ((7,), None), ((7,), 0), ((1, 5), 1), ((4, 1, 3), (0, 2)), ((3, 5, 2), -1),
    ((3, 5, 2), (1,)), ((2, 3, 4), None), ((13, 3), 0), ((33,), 0), ((2, 129), 1),
]


def _np_dims(dim):
    return tuple(dim) if isinstance(dim, (tuple, list)) else dim


def _softmax_np(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


@pytest.mark.parametrize("shape,dim", SHAPES_DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_sum_mean_prod(shape, dim, keepdim, device):
    x = rand(*shape)
    d = _np_dims(dim)
    check_op(lambda t: em.sum(t, dim, keepdim), lambda a: a.sum(axis=d, keepdims=keepdim), x, device=device)
    check_op(lambda t: em.mean(t, dim, keepdim), lambda a: a.mean(axis=d, keepdims=keepdim), x, device=device)
    check_op(lambda t: t.prod(dim, keepdim), lambda a: a.prod(axis=d, keepdims=keepdim),
             rand(*shape, low=0.5, high=1.5), device=device)


@pytest.mark.parametrize("shape,dim", SHAPES_DIMS)
@pytest.mark.parametrize("keepdim", [False, True])
def test_amax_amin(shape, dim, keepdim, device):
    x = rand(*shape)
    d = _np_dims(dim)
    check_op(lambda t: em.amax(t, dim, keepdim), lambda a: a.max(axis=d, keepdims=keepdim), x, device=device)
    check_op(lambda t: t.amin(dim, keepdim), lambda a: a.min(axis=d, keepdims=keepdim), x, device=device)


@pytest.mark.parametrize("shape,dim", [((7,), 0), ((1, 5), 1), ((3, 5, 2), -1), ((13, 3), 0),
                                       ((2, 129), 1), ((4, 1, 3), 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_with_dim(shape, dim, keepdim, device):
    x = rand(*shape)
    check_op(lambda t: em.max(t, dim, keepdim).values,
             lambda a: a.max(axis=dim, keepdims=keepdim), x, device=device)
    check_op(lambda t: t.min(dim=dim, keepdim=keepdim)[0],
             lambda a: a.min(axis=dim, keepdims=keepdim), x, device=device)
    t = em.tensor(x, device=device)
    out = em.max(t, dim, keepdim)
    assert type(out).__name__ == "max" and out.indices.dtype == em.int64
    np.testing.assert_array_equal(out.indices.cpu().numpy(), x.argmax(axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(em.argmin(t, dim, keepdim).cpu().numpy(),
                                  x.argmin(axis=dim, keepdims=keepdim))
    np.testing.assert_array_equal(t.argmax(dim).cpu().numpy(), x.argmax(axis=dim))


def test_max_min_without_dim_and_flat_argmax(device):
    x = rand(3, 7)
    check_op(lambda t: em.max(t), lambda a: a.max(), x, device=device)
    check_op(lambda t: t.min(), lambda a: a.min(), x, device=device)
    assert em.tensor(x, device=device).argmax().item() == x.argmax()
    assert em.tensor(x, device=device).argmin().item() == x.argmin()
    assert em.tensor(x, device=device).argmax(keepdim=True).shape == (1, 1)


def test_ties_split_gradient_evenly_and_max_dim_routes_to_index(device):
    x = em.tensor([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]], requires_grad=True, device=device)
    em.amax(x, 1).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [[0, 0.5, 0.5], [1 / 3] * 3])
    x.grad = None
    em.max(x).backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [[0, 0.5, 0.5], [0, 0, 0]])
    x.grad = None
    em.max(x, 1).values.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [[0, 1, 0], [1, 0, 0]])


def test_integer_reductions(device):
    a = np.array([[3, -1, 4], [1, 5, -9]], dtype=np.int64)
    t = em.tensor(a, device=device)
    assert t.sum().dtype == em.int64 and t.sum().item() == a.sum()
    assert t.prod(1).tolist() == a.prod(1).tolist()
    assert t.amax(0).tolist() == a.max(0).tolist()
    assert t.max(1).indices.tolist() == a.argmax(1).tolist()
    assert t.cumsum(1).tolist() == a.cumsum(1).tolist()
    assert em.tensor(a.astype(np.int32), device=device).sum().dtype == em.int64
    with pytest.raises(TypeError, match="mean"):
        t.mean()
    assert t.mean(dtype=em.float64).item() == pytest.approx(a.mean())
    assert em.logsumexp(t, 1).dtype == em.float32


@pytest.mark.parametrize("shape,dim", SHAPES_DIMS)
@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_std(shape, dim, correction, device):
    x = rand(*shape)
    d = _np_dims(dim)
    n = x.size if dim is None else int(np.prod([x.shape[i] for i in np.atleast_1d(d)]))
    if n - correction <= 0:
        return
    check_op(lambda t: em.var(t, dim, correction=correction),
             lambda a: a.var(axis=d, ddof=correction), x, device=device)
    check_op(lambda t: t.std(dim, keepdim=True, correction=correction),
             lambda a: a.std(axis=d, ddof=correction, keepdims=True), x, device=device)


def test_var_unbiased_forms(device):
    x = rand(4, 5)
    t = em.tensor(x, device=device)
    assert_close(em.var(t, unbiased=False), x.var(), 1e-6, 1e-6)
    assert_close(em.var(t, False), x.var(), 1e-6, 1e-6)
    assert_close(em.std(t, 1, True), x.std(axis=1, ddof=1), 1e-6, 1e-6)
    assert np.isnan(em.var(em.tensor([1.0], device=device)).item())


@pytest.mark.parametrize("shape,dim", [s for s in SHAPES_DIMS if s[1] is not None])
@pytest.mark.parametrize("keepdim", [False, True])
def test_logsumexp(shape, dim, keepdim, device):
    x = rand(*shape, low=-3, high=3)
    d = _np_dims(dim)
    check_op(lambda t: em.logsumexp(t, dim, keepdim),
             lambda a: np.log(np.exp(a).sum(axis=d, keepdims=keepdim)), x, device=device)


def test_logsumexp_is_stable(device):
    t = em.tensor([[1000.0, 1000.0], [-1000.0, -1000.0]], device=device)
    np.testing.assert_allclose(em.logsumexp(t, 1).cpu().numpy(), [1000 + np.log(2), -1000 + np.log(2)])
    assert em.logsumexp(em.tensor([-np.inf, -np.inf], device=device), 0).item() == -np.inf


@pytest.mark.parametrize("p", [2, "fro", 1, 3, 0.5, float("inf"), float("-inf")])
@pytest.mark.parametrize("shape,dim", [((7,), None), ((4, 1, 3), (0, 2)), ((3, 5), 1),
                                       ((13, 3), 0)])
def test_norm(p, shape, dim, device):
    x = rand(*shape)
    d = _np_dims(dim)
    q = 2 if p == "fro" else p

    def ref(a):
        a = np.abs(a)
        if q == float("inf"):
            return a.max(axis=d)
        if q == float("-inf"):
            return a.min(axis=d)
        return (a ** q).sum(axis=d) ** (1 / q)

    check_op(lambda t: em.norm(t, p, dim), ref, x, device=device)
    check_op(lambda t: t.norm(p, dim, keepdim=True),
             lambda a: np.expand_dims(ref(a), d if d is not None else tuple(range(a.ndim)))
             if d is not None else ref(a).reshape([1] * a.ndim), x, device=device)


def test_norm_of_zero_has_zero_gradient(device):
    x = em.zeros(3, requires_grad=True, device=device)
    x.norm().backward()
    assert x.grad.tolist() == [0, 0, 0]
    assert em.norm(em.tensor([3.0, 0.0, -4.0], device=device), 0).item() == 2


@pytest.mark.parametrize("shape,dim", [((7,), 0), ((1, 5), 1), ((1, 5), 0), ((3, 5, 2), -1),
                                       ((3, 5, 2), 1), ((13, 300), 0), ((2, 129), 1), ((), 0)])
def test_softmax_log_softmax(shape, dim, device):
    x = rand(*shape, low=-3, high=3)
    check_op(lambda t: em.softmax(t, dim), lambda a: _softmax_np(a, dim if a.ndim else None), x, device=device)
    check_op(lambda t: t.log_softmax(dim),
             lambda a: np.log(_softmax_np(a, dim if a.ndim else None)), x, device=device)
    F = em.nn.functional
    check_op(lambda t: F.softmax(t, dim=dim), lambda a: _softmax_np(a, dim if a.ndim else None),
             x, grad=False, device=device)


def test_softmax_double_backward_and_stability(device):
    x = em.tensor(rand(3, 5), dtype=em.float64, requires_grad=True, device=device)
    em.autograd.gradgradcheck(lambda t: em.softmax(t, 1), (x,))
    em.autograd.gradgradcheck(lambda t: em.log_softmax(t, 0), (x,))
    big = em.tensor([[1000.0, 0.0, -1000.0]], device=device)
    np.testing.assert_allclose(em.softmax(big, 1).cpu().numpy(), [[1, 0, 0]], atol=1e-7)
    np.testing.assert_allclose(em.log_softmax(big, 1).cpu().numpy(), [[0, -1000, -2000]])


@pytest.mark.parametrize("shape,dim", [((7,), 0), ((1, 5), 1), ((3, 5, 2), -1), ((3, 5, 2), 1),
                                       ((13, 300), 0), ((2, 129), 1)])
def test_cumsum(shape, dim, device):
    x = rand(*shape)
    check_op(lambda t: em.cumsum(t, dim), lambda a: np.cumsum(a, axis=dim), x, device=device)


def test_double_backward_of_compositions(device):
    x = em.tensor(rand(3, 4), dtype=em.float64, requires_grad=True, device=device)
    for fn in (lambda t: em.var(t, 1), lambda t: em.std(t, 0), lambda t: em.logsumexp(t, 1),
               lambda t: em.logsumexp(t, (0, 1)), lambda t: em.prod(t, 1)):
        em.autograd.gradgradcheck(fn, (x,))


def test_empty_reductions(device):
    e = em.zeros(0, 3, device=device)
    assert em.sum(e).item() == 0 and em.prod(e).item() == 1
    assert em.sum(e, 0).tolist() == [0, 0, 0] and em.prod(e, 0).tolist() == [1, 1, 1]
    assert np.isnan(em.mean(e).item())
    assert em.amax(e, 1).shape == (0,)
    assert em.logsumexp(e, 0).tolist() == [-np.inf] * 3
    assert em.softmax(e, 0).shape == (0, 3) and em.cumsum(e, 0).shape == (0, 3)
    assert em.norm(e).item() == 0
    for fn, name in ((lambda: em.max(e), "max"), (lambda: em.amax(e, 0), "amax"),
                     (lambda: em.argmax(e), "argmax"), (lambda: em.min(e, 0), "min"),
                     (lambda: em.argmin(e, 0), "argmin"), (lambda: e.amin(), "amin")):
        with pytest.raises(IndexError, match=name):
            fn()


def test_prod_gradient_with_zeros(device):
    torch = pytest.importorskip("torch")
    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]])
    t = em.tensor(x, requires_grad=True, device=device)
    t.prod(1).sum().backward()
    r = torch.tensor(x, requires_grad=True)
    r.prod(1).sum().backward()
    np.testing.assert_allclose(t.grad.cpu().numpy(), r.grad.cpu().numpy())


def test_against_torch(device):
    torch = pytest.importorskip("torch")
    x = rand(4, 6, 5)
    cases = [
        ("sum", (1,), {}), ("mean", ((0, 2),), {"keepdim": True}), ("prod", (2,), {}),
        ("amax", ((0, 1),), {}), ("amin", (-1,), {"keepdim": True}), ("logsumexp", (1,), {}),
        ("softmax", (1,), {}), ("log_softmax", (0,), {}), ("cumsum", (2,), {}),
        ("var", (1,), {"correction": 0}), ("std", ((0, 2),), {"keepdim": True}),
        ("norm", (1, 2), {}), ("norm", (float("inf"), (0, 1)), {}), ("norm", (), {}),
    ]
    for name, args, kwargs in cases:
        t = em.tensor(x, requires_grad=True, device=device)
        r = torch.tensor(x, requires_grad=True)
        out = getattr(t, name)(*args, **kwargs)
        ref = getattr(r, name)(*args, **kwargs)
        assert_close(out, ref.detach().cpu().numpy(), 1e-6, 1e-5, what=name)
        w = rand(*ref.shape)
        (out * em.tensor(w, dtype=em.float32, device=device)).sum().backward()
        (ref * torch.tensor(w, dtype=ref.dtype)).sum().backward()
        assert_close(t.grad, r.grad.cpu().numpy(), 1e-5, 1e-4, what=f"{name} grad")
    for name in ("max", "min"):
        out, ref = getattr(em.tensor(x, device=device), name)(1), getattr(torch.tensor(x), name)(1)
        np.testing.assert_array_equal(out.indices.cpu().numpy(), ref.indices.cpu().numpy())
        np.testing.assert_allclose(out.values.cpu().numpy(), ref.values.cpu().numpy())
    np.testing.assert_array_equal(em.tensor(x, device=device).argmax().item(), torch.tensor(x).argmax().item())
    nan = np.array([1.0, np.nan, 3.0])
    assert np.isnan(em.tensor(nan, device=device).max().item()) and em.tensor(nan, device=device).argmax().item() == 1


def test_bad_inputs():
    x = em.randn(2, 3)
    with pytest.raises(IndexError, match="sum"):
        em.sum(x, 2)
    with pytest.raises(ValueError, match="mean"):
        em.mean(x, (1, -1))
    with pytest.raises(TypeError, match="prod"):
        em.prod(x, 1.5)
    with pytest.raises(IndexError, match="amax"):
        em.amax(x, 3)
    with pytest.raises(IndexError, match="amin"):
        em.amin(x, -3)
    with pytest.raises(IndexError, match="max"):
        em.max(x, 2)
    with pytest.raises(TypeError, match="min"):
        em.min(x, (0, 1))
    with pytest.raises(IndexError, match="argmax"):
        em.argmax(x, 5)
    with pytest.raises(TypeError, match="argmin"):
        em.argmin(x, "1")
    with pytest.raises(TypeError, match="var"):
        em.var(em.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match="std"):
        em.std(x, unbiased=True, correction=1)
    with pytest.raises(IndexError, match="logsumexp"):
        em.logsumexp(x, 4)
    with pytest.raises(NotImplementedError, match="norm"):
        em.norm(x, "nuc")
    with pytest.raises(TypeError, match="norm"):
        em.norm(x, "max")
    with pytest.raises(TypeError, match="norm"):
        em.norm(em.tensor([1, 2]))
    with pytest.raises(IndexError, match="softmax"):
        em.softmax(x, 2)
    with pytest.raises(TypeError, match="log_softmax"):
        em.log_softmax(em.tensor([1, 2]), 0)
    with pytest.raises(IndexError, match="cumsum"):
        em.cumsum(x, -3)
    with pytest.raises(TypeError, match="cumsum"):
        em.cumsum(x, None)
    with pytest.raises(TypeError, match="sum"):
        em.sum([1, 2])


def test_max_gradient_is_differentiable_again(device):
    x = em.tensor(rand(3, 5), dtype=em.float64, requires_grad=True, device=device)

    def squared_max(t):
        v = em.max(t, 1).values
        return v * v

    def squared_amax(t):
        v = em.amax(t, (0, 1))
        return v * v

    em.autograd.gradgradcheck(squared_max, (x,))
    em.autograd.gradgradcheck(squared_amax, (x,))


def test_zero_dim_inputs(device):
    s = em.tensor(2.5, requires_grad=True, device=device)
    for fn, value, grad in ((em.sum, 2.5, 1), (em.mean, 2.5, 1), (em.prod, 2.5, 1),
                            (em.max, 2.5, 1), (lambda t: em.max(t, 0).values, 2.5, 1),
                            (lambda t: em.logsumexp(t, 0), 2.5, 1), (em.norm, 2.5, 1),
                            (lambda t: em.softmax(t, 0), 1.0, 0),
                            (lambda t: em.cumsum(t, 0), 2.5, 1)):
        out = fn(s)
        out.backward()
        assert out.shape == () and out.item() == pytest.approx(value)
        assert s.grad.item() == pytest.approx(grad)
        s.grad = None
    assert em.argmax(s).item() == 0 and em.argmin(s, 0).item() == 0


def test_dtype_arguments_keep_gradients(device):
    x = em.tensor(rand(3, 4), dtype=em.float32, requires_grad=True, device=device)
    out = em.sum(x, 1, dtype=em.float64)
    assert out.dtype == em.float64
    out.sum().backward()
    assert x.grad.dtype == em.float32 and np.allclose(x.grad.cpu().numpy(), 1)
    assert em.softmax(x, 1, dtype=em.float64).dtype == em.float64
    assert em.cumsum(em.tensor([True, True], device=device), 0).tolist() == [1, 2]


def test_dims_accept_int_likes(device):
    x = em.randn(2, 3, 4, device=device)
    assert x.sum(range(2)).shape == (4,)
    assert x.mean(np.int64(1)).shape == (2, 4)
    assert x.amax([0, np.int32(2)]).shape == (3,)
    with pytest.raises(TypeError, match="amax"):
        x.amax(True)


@pytest.mark.parametrize("p", [2, 1, float("inf")])
def test_norm_double_backward(p, device):
    x = em.tensor(rand(3, 4), dtype=em.float64, requires_grad=True, device=device)

    def squared_norm(t):
        n = em.norm(t, p, 1)
        return n * n

    em.autograd.gradgradcheck(squared_norm, (x,))


def test_max_min_of_two_tensors_are_elementwise(device):
    a = em.tensor([1.0, 5.0, -2.0], device=device)
    b = em.tensor([3.0, 4.0, -1.0], device=device)
    assert em.max(a, b).tolist() == [3.0, 5.0, -1.0]
    assert em.min(a, b).tolist() == [1.0, 4.0, -2.0]
    assert a.where(a > 0, b).tolist() == [1.0, 5.0, -1.0]
