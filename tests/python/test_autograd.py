"""The autograd engine: accumulation, broadcasting, retain/create graph,
hooks, grad(), gradcheck, no_grad, and the errors it must raise."""

import numpy as np
import pytest
from op_check import rand

import ember as em


def test_gradient_accumulates_into_leaves(device):
    x = em.tensor([1.0, 2.0], requires_grad=True, device=device)
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [5.0, 7.0])


def test_broadcast_gradients_are_reduced_once_in_the_engine(device):
    a = em.tensor(rand(3, 1), requires_grad=True, device=device)
    b = em.tensor(rand(4), requires_grad=True, device=device)
    (a * b).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    np.testing.assert_allclose(a.grad.cpu().numpy()[:, 0], np.full(3, b.detach().cpu().numpy().sum()), rtol=1e-6)
    np.testing.assert_allclose(b.grad.cpu().numpy(), np.full(4, a.detach().cpu().numpy().sum()), rtol=1e-6)


def test_long_chain_is_iterative(device):
    x = em.tensor(1.0, requires_grad=True, device=device)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_shared_subexpression_runs_each_node_once(device):
    x = em.tensor(2.0, requires_grad=True, device=device)
    y = x * x
    z = y + y * y  # dz/dx = 2x + 4x^3 = 36
    z.backward()
    assert x.grad.item() == pytest.approx(36.0)


def test_second_backward_through_freed_graph_raises():
    x = em.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_retain_graph_allows_a_second_backward(device):
    x = em.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [4.0, 8.0])


def test_create_graph_gives_higher_order_gradients(device):
    x = em.tensor(3.0, requires_grad=True, device=device)
    (g,) = em.autograd.grad(x * x * x, x, create_graph=True)
    assert g.item() == pytest.approx(27.0)
    (gg,) = em.autograd.grad(g, x)
    assert gg.item() == pytest.approx(18.0)


def test_backward_on_non_scalar_needs_a_gradient(device):
    x = em.tensor([1.0, 2.0], requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        (x * 2).backward()
    (x * 2).backward(em.tensor([1.0, 10.0], device=device))
    np.testing.assert_allclose(x.grad.cpu().numpy(), [2.0, 20.0])


def test_inplace_on_leaf_that_requires_grad_raises():
    x = em.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x.add_(1.0)
    with em.no_grad():
        x.add_(1.0)
    np.testing.assert_allclose(x.detach().numpy(), [2.0, 3.0])


def test_inplace_change_of_saved_tensor_raises():
    x = em.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    z = y * y
    y.mul_(3)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        z.sum().backward()


def test_inplace_on_non_leaf_keeps_gradients_right(device):
    x = em.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = x * 2
    y.add_(x)  # y = 3x
    y.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [3.0, 3.0])


def test_no_grad_and_set_grad_enabled(device):
    x = em.tensor([1.0], requires_grad=True, device=device)
    with em.no_grad():
        assert not (x * 2).requires_grad
        with em.enable_grad():
            assert (x * 2).requires_grad
    with em.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad

    @em.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_hooks_see_and_replace_gradients(device):
    x = em.tensor([1.0, 2.0], requires_grad=True, device=device)
    seen = []
    x.register_hook(lambda g: seen.append(g.cpu().numpy().copy()))
    y = x * 3
    handle = y.register_hook(lambda g: g * 10)
    y.sum().backward()
    np.testing.assert_allclose(seen[0], [30.0, 30.0])
    np.testing.assert_allclose(x.grad.cpu().numpy(), [30.0, 30.0])
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [3.0, 3.0])


def test_retain_grad_keeps_non_leaf_gradient(device):
    x = em.tensor([1.0, 2.0], requires_grad=True, device=device)
    y = x * 2
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.cpu().numpy(), [4.0, 8.0])


def test_grad_returns_without_accumulating(device):
    x = em.tensor([1.0, 2.0], requires_grad=True, device=device)
    w = em.tensor([3.0, 4.0], requires_grad=True, device=device)
    gx, gw = em.autograd.grad((x * w).sum(), (x, w))
    np.testing.assert_allclose(gx.cpu().numpy(), [3.0, 4.0])
    np.testing.assert_allclose(gw.cpu().numpy(), [1.0, 2.0])
    assert x.grad is None and w.grad is None
    unused = em.tensor([1.0], requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="not used"):
        em.autograd.grad((x * 2).sum(), unused)
    assert em.autograd.grad((x * 2).sum(), unused, allow_unused=True) == (None,)


def test_custom_function_with_saved_output(device):
    class Square(em.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            out = em._C.binary(em._C.BinaryOp.mul, x._data, x._data)
            ctx.save_for_backward(x)
            return out

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 2 * x

    x = em.tensor(rand(3, 2), requires_grad=True, dtype=em.float64, device=device)
    assert em.autograd.gradcheck(lambda t: Square.apply(t), (x,))
    assert em.autograd.gradgradcheck(lambda t: Square.apply(t), (x,))


def test_gradcheck_catches_a_wrong_backward():
    class Wrong(em.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return em._C.binary(em._C.BinaryOp.mul, x._data, x._data)

        @staticmethod
        def backward(ctx, grad):
            return grad  # should be 2 * x * grad

    x = em.tensor(rand(4), dtype=em.float64, requires_grad=True)
    with pytest.raises(em.autograd.GradcheckError, match="mismatch"):
        em.autograd.gradcheck(lambda t: Wrong.apply(t), (x,))
    assert not em.autograd.gradcheck(lambda t: Wrong.apply(t), (x,), raise_exception=False)


def test_graph_attributes(device):
    x = em.tensor([1.0], requires_grad=True, device=device)
    y = x * 2
    assert x.is_leaf and not y.is_leaf
    assert y.grad_fn.name() == "MulBackward"
    assert y.grad_fn.next_functions[0][0].variable is x
    assert y.detach().grad_fn is None and not y.detach().requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        em.tensor([1, 2], device=device).requires_grad_()
