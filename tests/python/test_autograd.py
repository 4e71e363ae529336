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
    with pytest.raises(RuntimeError, match="modified by an in-place operation.*MulBackward"):
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


@pytest.mark.parametrize("dtype", [em.float32, em.float64, em.int64])
@pytest.mark.parametrize("other", [3, -2.5, True, np.float32(1.5)])
def test_operators_match_the_op_functions(device, dtype, other):
    """+ - * / (and reflected) run in C for Tensor and int/float operands and
    hand every other operand to the op function: both give the same values
    and dtypes."""
    a = em.tensor([[1, -2, 4]], dtype=dtype, device=device)
    b = em.tensor([[3], [5]], dtype=dtype, device=device)
    cases = [
        (a + b, em.add(a, b)), (a - b, em.sub(a, b)), (a * b, em.mul(a, b)), (a / b, em.div(a, b)),
        (a + other, em.add(a, other)), (other + a, em.add(a, other)),
        (a - other, em.sub(a, other)), (other - a, em.ops.elementwise.rsub(a, other)),
        (a * other, em.mul(a, other)), (other * a, em.mul(a, other)),
        (a / other, em.div(a, other)), (other / a, em.ops.elementwise.rdiv(a, other)),
    ]
    for got, want in cases:
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got.cpu().numpy(), want.cpu().numpy())


def test_operators_record_the_op_nodes_and_gradients(device):
    x = em.tensor(rand(2, 3), dtype=em.float64, requires_grad=True, device=device)
    w = em.tensor(rand(3), dtype=em.float64, requires_grad=True, device=device)
    y = (2.0 - x) * w / (x + 3) - 1
    assert y.grad_fn.name() == "SubBackward"
    assert [type(n).__name__ for n, _ in y.grad_fn.next_functions if n is not None] == ["DivBackward"]
    assert em.autograd.gradcheck(lambda a, b: (2.0 - a) * b / (a + 3) - 1, (x, w))
    assert em.autograd.gradgradcheck(lambda a, b: 1.5 / a * b, (x + 2, w))


def test_operators_reject_what_the_op_functions_reject():
    a = em.ones(2)
    with pytest.raises(TypeError, match="expected a Tensor or a number"):
        a + "1"
    with pytest.raises(TypeError):
        None * a
    with pytest.raises(ValueError):
        a + em.ones(3)
    uninitialised = em.Tensor.__new__(em.Tensor)
    with pytest.raises(TypeError, match="without _C data"):
        uninitialised + 1
    with pytest.raises(TypeError, match="without _C data"):
        uninitialised.reshape(2)


def test_graph_is_freed_without_the_cycle_collector(device):
    import gc
    import weakref

    gc.disable()
    try:
        x = em.ones(3, requires_grad=True, device=device)
        h = x * 2
        y = (h * x).exp() + 1  # Mul's ctx keeps h, Exp's its output
        node = weakref.ref(y.grad_fn)
        saved = weakref.ref(h)
        del h, y
        assert node() is None and saved() is None
    finally:
        gc.enable()


def test_grad_mode_is_per_thread():
    import threading

    seen = []
    x = em.ones(2, requires_grad=True)
    with em.no_grad():
        t = threading.Thread(target=lambda: seen.append((x * 2).requires_grad))
        t.start()
        t.join()
        assert not (x * 2).requires_grad
    assert seen == [True]


def test_function_errors_name_the_function():
    class NotATensor(em.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return 1.0

        @staticmethod
        def backward(ctx, grad):
            return grad

    class TooFew(em.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return em._C.binary(em._C.BinaryOp.add, x._data, y._data)

        @staticmethod
        def backward(ctx, grad):
            return (grad,)

    class WrongType(em.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x._data.clone()

        @staticmethod
        def backward(ctx, grad):
            return 1.0

    x = em.ones(2, requires_grad=True)
    with pytest.raises(TypeError, match="NotATensor.forward returned a float"):
        NotATensor.apply(x)
    with pytest.raises(RuntimeError, match="TooFewBackward: backward returned 1 gradients, expected 2"):
        TooFew.apply(x, x).sum().backward()
    with pytest.raises(TypeError, match="WrongTypeBackward returned a float as a gradient"):
        WrongType.apply(x).sum().backward()
    with pytest.raises(TypeError, match="save_for_backward: expected Tensors"):
        class SavesANumber(em.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(2.0)
                return x._data.clone()

        SavesANumber.apply(x)


def test_cycles_through_a_ctx_are_collected():
    """A ctx is left to the cycle collector once it saves tensors or gets
    attributes: both can close a cycle back to it."""
    import gc
    import weakref

    class KeepsItself(em.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.me = ctx
            return x._data.clone()

        @staticmethod
        def backward(ctx, grad):
            return grad

    x = em.ones(2, requires_grad=True)
    y = KeepsItself.apply(x)
    node = weakref.ref(y.grad_fn)
    z = x * 1
    z.mul_(z)  # the in-place op's node saves z, and z's grad_fn is that node
    saved = weakref.ref(z)
    del y, z
    gc.collect()
    assert node() is None and saved() is None


def test_reshape_and_view_methods_match_the_op_functions(device):
    """Tensor.reshape/view run in C for Python-int shapes and hand every other
    argument (numpy ints, dtypes, floats) to the op functions."""
    x = em.tensor(rand(2, 6), dtype=em.float64, requires_grad=True, device=device)
    for args in [(3, 4), ((3, 4),), ([12],), (-1, 2), (np.int64(4), 3)]:
        for method, function in [(x.reshape, em.reshape), (x.view, em.ops.shape.view)]:
            got, want = method(*args), function(x, *args)
            assert got.shape == want.shape and got._base is x and got.grad_fn.name() == "_ReshapeBackward"
            np.testing.assert_array_equal(got.detach().cpu().numpy(), want.detach().cpu().numpy())
    y = x.reshape(3, 4).view(12)
    assert y._base is x  # views of views point at the root
    assert em.autograd.gradcheck(lambda t: (t.reshape(4, 3) * t.view(3, 4).t()).sum(), (x,))
    with em.no_grad():
        assert x.reshape(12).grad_fn is None and x.reshape(12)._base is x
    with pytest.raises(TypeError, match="sizes must be integers, got float"):
        x.reshape(1.5, 8)
    with pytest.raises(TypeError, match="view\\(dtype\\)"):
        x.view(em.float32)
    with pytest.raises(ValueError, match="reshape"):
        x.reshape(5)
    with pytest.raises((ValueError, RuntimeError), match="view"):
        x.t().view(12)  # the strides cannot express it; reshape copies
    np.testing.assert_array_equal(x.t().reshape(12).detach().cpu().numpy(),
                                  x.detach().cpu().numpy().T.reshape(12))
