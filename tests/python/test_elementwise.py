"""Elementwise ops: forward against numpy and gradients by gradcheck (odd,
broadcast, strided and empty shapes), comparisons with PyTorch, in-place
forms, promotion, and the errors bad input must raise."""

import math

import numpy as np
import pytest
from op_check import assert_close, check_op, rand

import ember as em

erf = np.vectorize(math.erf, otypes=[np.float64])


def same(actual, expected, atol=0.0, rtol=0.0, what=""):
    """assert_close with a list or array of expected values."""
    assert_close(actual, np.asarray(expected), atol, rtol, what)


def np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def np_floor_divide(a, b):
    return np.floor_divide(a, b)


UNARY = {
    "abs": (em.abs, np.abs, {}),
    "neg": (em.neg, np.negative, {}),
    "exp": (em.exp, np.exp, {}),
    "log": (em.log, np.log, {"low": 0.2, "high": 3.0}),
    "log1p": (em.log1p, np.log1p, {"low": -0.5, "high": 3.0}),
    "expm1": (em.expm1, np.expm1, {}),
    "sqrt": (em.sqrt, np.sqrt, {"low": 0.2, "high": 3.0}),
    "rsqrt": (em.rsqrt, lambda x: 1 / np.sqrt(x), {"low": 0.2, "high": 3.0}),
    "sin": (em.sin, np.sin, {"low": -3.0, "high": 3.0}),
    "cos": (em.cos, np.cos, {"low": -3.0, "high": 3.0}),
    "tanh": (em.tanh, np.tanh, {"low": -3.0, "high": 3.0}),
    "sigmoid": (em.sigmoid, np_sigmoid, {"low": -5.0, "high": 5.0}),
    "reciprocal": (em.reciprocal, lambda x: 1 / x, {"low": 0.5, "high": 2.0}),
    "square": (em.square, np.square, {}),
    "sign": (em.sign, np.sign, {}),
    "floor": (em.floor, np.floor, {"low": -3.0, "high": 3.0}),
    "ceil": (em.ceil, np.ceil, {"low": -3.0, "high": 3.0}),
    "round": (em.round, np.round, {"low": -3.0, "high": 3.0}),
    "trunc": (em.trunc, np.trunc, {"low": -3.0, "high": 3.0}),
    "relu": (em.relu, lambda x: np.maximum(x, 0), {}),
    "gelu": (em.gelu, lambda x: 0.5 * x * (1 + erf(x / np.sqrt(2))), {"low": -3.0, "high": 3.0}),
    "gelu_tanh": (lambda x: em.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
                  {"low": -3.0, "high": 3.0}),
    "silu": (em.silu, lambda x: x * np_sigmoid(x), {"low": -4.0, "high": 4.0}),
    "leaky_relu": (lambda x: em.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x), {}),
    "elu": (lambda x: em.elu(x, alpha=1.5), lambda x: np.where(x > 0, x, 1.5 * np.expm1(x)), {}),
    "softplus": (lambda x: em.softplus(x, beta=2.0, threshold=3.0),
                 lambda x: np.where(2 * x > 3, x, np.log1p(np.exp(2 * x)) / 2),
                 {"low": -3.0, "high": 3.0}),
    "clamp": (lambda x: em.clamp(x, -0.5, 0.6), lambda x: np.clip(x, -0.5, 0.6), {}),
    "clamp_min": (lambda x: em.clamp_min(x, -0.3), lambda x: np.maximum(x, -0.3), {}),
    "clamp_max": (lambda x: em.clamp_max(x, 0.3), lambda x: np.minimum(x, 0.3), {}),
}

SHAPES = [(1,), (7,), (3, 1, 5), (2, 33), (129,)]


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("shape", SHAPES)
def test_unary_forward_and_gradient(name, shape, device):
    fn, ref, limits = UNARY[name]
    check_op(fn, ref, rand(*shape, **limits), device=device)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_empty_and_scalar(name, device):
    fn, ref, limits = UNARY[name]
    check_op(fn, ref, rand(0, 3, **limits), grad=False, device=device)
    check_op(fn, ref, np.array(rand(1, **limits)[0]), device=device)


BINARY = {
    "maximum": (em.maximum, np.maximum, {}),
    "minimum": (em.minimum, np.minimum, {}),
    "pow": (em.pow, np.power, {"low": 0.5, "high": 2.0}),
    "remainder": (em.remainder, np.remainder, {"low": 0.5, "high": 3.0}),
    "floor_divide": (em.floor_divide, np_floor_divide, {"low": 0.5, "high": 3.0}),
    "div": (lambda a, b: a / b, lambda a, b: a / b, {"low": 0.5, "high": 2.0}),
}

BROADCASTS = [((7,), (7,)), ((3, 1), (4,)), ((1,), (2, 5)), ((2, 1, 3), (1, 4, 1)), ((0, 3), (3,))]


@pytest.mark.parametrize("name", sorted(BINARY))
@pytest.mark.parametrize("shapes", BROADCASTS)
def test_binary_forward_and_gradient(name, shapes, device):
    fn, ref, limits = BINARY[name]
    a, b = rand(*shapes[0], **limits), rand(*shapes[1], **limits)
    check_op(fn, ref, a, b, device=device)
    check_op(fn, ref, b, a, device=device)


@pytest.mark.parametrize("name", ["maximum", "minimum", "pow", "remainder", "floor_divide"])
def test_binary_with_python_scalars_on_either_side(name, device):
    fn, ref, limits = BINARY[name]
    x = rand(3, 5, **limits)
    check_op(lambda t: fn(t, 1.5), lambda t: ref(t, 1.5), x, device=device)
    check_op(lambda t: fn(1.5, t), lambda t: ref(1.5, t), x, device=device)


def test_remainder_and_floor_divide_follow_python_signs(device):
    a = np.array([-7.0, -7.0, 7.0, 7.0, -0.5, 5.5])
    b = np.array([2.0, -2.0, 2.0, -2.0, 3.0, -2.5])
    same(em.remainder(em.tensor(a, device=device), em.tensor(b, device=device)), np.remainder(a, b), 0, 0)
    same(em.floor_divide(em.tensor(a, device=device), em.tensor(b, device=device)), np.floor_divide(a, b), 0, 0)
    ai, bi = a.astype(np.int64), np.array([2, -2, 2, -2, 3, -3])
    same(em.tensor(ai, device=device) % em.tensor(bi, device=device), ai % bi, 0, 0)
    same(em.tensor(ai, device=device) // em.tensor(bi, device=device), ai // bi, 0, 0)
    assert (em.tensor(ai, device=device) // 2).dtype == em.int64
    same(-7 // em.tensor(bi, device=device), -7 // bi, 0, 0)
    same(7 % em.tensor(bi, device=device), 7 % bi, 0, 0)


def test_div_rounding_modes(device):
    a, b = np.array([-7, 7, -3, 6, 0]), np.array([2, 2, -2, -4, 3])
    out = em.div(em.tensor(a, device=device), em.tensor(b, device=device), rounding_mode="trunc")
    assert out.dtype == em.int64
    same(out, np.trunc(a / b))
    same(em.tensor(a, device=device).div(em.tensor(b, device=device), rounding_mode="floor"), a // b)
    x = rand(3, 4) * 5
    check_op(lambda t: em.div(t, 1.5, rounding_mode="trunc"), lambda t: np.trunc(t / 1.5), x, device=device)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        em.div(em.tensor(a, device=device), 0, rounding_mode="trunc")


def test_pow_forms_and_integer_powers(device):
    x = rand(4, 3, low=0.5, high=2.0)
    check_op(lambda t: t ** 3, lambda t: t ** 3, x, device=device)
    check_op(lambda t: t ** -1.5, lambda t: t ** -1.5, x, device=device)
    check_op(lambda t: 2.0 ** t, lambda t: 2.0 ** t, x, device=device)
    check_op(lambda t: t ** 0, lambda t: t ** 0, x, device=device)
    i = np.array([[0, 1, -2], [3, 4, -5]])
    out = em.tensor(i, device=device) ** 3
    assert out.dtype == em.int64
    same(out, i ** 3, 0, 0)
    same(em.tensor(i, device=device) ** em.tensor([0, 2, 1], device=device), i ** np.array([0, 2, 1]), 0, 0)
    assert (em.tensor(i, device=device) ** 0.5).dtype == em.float32


def test_pow_gradient_at_zero_base_and_zero_exponent(device):
    a = em.tensor([0.0, 0.0, 2.0], dtype=em.float64, requires_grad=True, device=device)
    b = em.tensor([0.0, 2.0, 0.0], dtype=em.float64, requires_grad=True, device=device)
    (a ** b).sum().backward()
    same(a.grad, [0.0, 0.0, 0.0], 1e-12, 0)
    same(b.grad, [0.0, 0.0, math.log(2.0)], 1e-12, 1e-12)


def test_pow_double_backward(device):
    x = em.tensor([0.5, 1.5, 2.0], dtype=em.float64, requires_grad=True, device=device)
    (g,) = em.autograd.grad((x ** 3).sum(), x, create_graph=True)
    g.sum().backward()
    same(x.grad, 6 * x.detach().cpu().numpy(), 1e-10, 1e-10)


@pytest.mark.parametrize("fn,deriv2", [
    (em.exp, np.exp), (em.sin, lambda x: -np.sin(x)), (em.cos, lambda x: -np.cos(x)),
    (em.log, lambda x: -1 / x**2), (em.sqrt, lambda x: -0.25 * x ** -1.5),
    (em.tanh, lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)),
    (em.sigmoid, lambda x: np_sigmoid(x) * (1 - np_sigmoid(x)) * (1 - 2 * np_sigmoid(x))),
    (em.abs, lambda x: 0 * x),
])
def test_unary_double_backward(fn, deriv2, device):
    values = rand(5, low=0.3, high=2.0)
    x = em.tensor(values, dtype=em.float64, requires_grad=True, device=device)
    (g,) = em.autograd.grad(fn(x).sum(), x, create_graph=True)
    g.sum().backward()
    same(x.grad, deriv2(values), 1e-9, 1e-7)


def test_activation_double_backward_through_the_incoming_gradient(device):
    x = em.tensor(rand(6), dtype=em.float64, requires_grad=True, device=device)
    v = em.tensor(rand(6), dtype=em.float64, requires_grad=True, device=device)
    (g,) = em.autograd.grad(em.leaky_relu(x, 0.1), x, grad_outputs=v, create_graph=True)
    g.sum().backward()
    same(x.grad, np.zeros(6))
    same(v.grad, np.where(x.detach().cpu().numpy() > 0, 1.0, 0.1), 1e-12)


@pytest.mark.parametrize("fn", [
    em.relu, em.gelu, lambda x: em.gelu(x, approximate="tanh"), em.silu,
    lambda x: em.leaky_relu(x, 0.2), lambda x: em.elu(x, alpha=1.5),
    lambda x: em.softplus(x, beta=2.0, threshold=3.0),
])
def test_activation_second_derivative(fn, device):
    x = em.tensor(rand(7, low=-3.0, high=3.0), dtype=em.float64, requires_grad=True, device=device)

    def first_derivative(t):
        # gradcheck's numerical pass runs without grad on plain inputs.
        with em.enable_grad():
            if not t.requires_grad:
                t = t.detach().requires_grad_(True)
            return em.autograd.grad(fn(t).sum(), t, create_graph=True)[0]

    em.autograd.gradcheck(first_derivative, (x,), atol=1e-5, rtol=1e-3)


def test_tensor_methods(device):
    x = em.tensor(rand(3, 4), device=device)
    same(x.clamp_max(0.3), np.minimum(x.cpu().numpy(), 0.3))
    same(x.maximum(em.zeros(4, device=device)), np.maximum(x.cpu().numpy(), 0))
    same(x.relu(), np.maximum(x.cpu().numpy(), 0))
    same(x.pow(2), x.cpu().numpy() ** 2, 1e-6, 1e-6)
    same(x.abs().sqrt(), np.sqrt(np.abs(x.cpu().numpy())), 1e-6, 1e-6)
    same(x.gt(0).logical_not(), x.cpu().numpy() <= 0)
    same(abs(x), np.abs(x.cpu().numpy()))


COMPARISONS = {
    "eq": (em.eq, np.equal), "ne": (em.ne, np.not_equal), "lt": (em.lt, np.less),
    "le": (em.le, np.less_equal), "gt": (em.gt, np.greater), "ge": (em.ge, np.greater_equal),
    "logical_and": (em.logical_and, np.logical_and), "logical_or": (em.logical_or, np.logical_or),
    "logical_xor": (em.logical_xor, np.logical_xor),
}


@pytest.mark.parametrize("name", sorted(COMPARISONS))
@pytest.mark.parametrize("shapes", BROADCASTS)
def test_comparisons_give_bool(name, shapes, device):
    fn, ref = COMPARISONS[name]
    a = np.round(rand(*shapes[0]) * 2)
    b = np.round(rand(*shapes[1]) * 2)
    check_op(fn, ref, a, b, grad=False, device=device)
    check_op(fn, ref, b, a, grad=False, device=device)
    x = em.tensor(a, requires_grad=True, device=device)
    out = fn(x, 0.0)
    assert out.dtype == em.bool and not out.requires_grad
    same(out, ref(a, 0.0), 0, 0)
    same(fn(1, em.tensor(b, device=device)), ref(1, b), 0, 0)


def test_comparison_operators_and_mixed_dtypes(device):
    i = em.tensor([1, 2, 3], device=device)
    f = em.tensor([1.5, 2.0, 2.5], device=device)
    same(i == f, [False, True, False], 0, 0)
    same(i < 2.5, [True, True, False], 0, 0)
    same(i >= f, [False, True, True], 0, 0)
    same(i != 2, [True, False, True], 0, 0)
    same(f <= 2, [True, True, False], 0, 0)
    same(f > i, [True, False, False], 0, 0)


def test_logical_ops_on_any_dtype_and_operators(device):
    a = em.tensor([0, 2, 0, -1], device=device)
    b = em.tensor([0.0, 0.0, 0.5, 3.0], device=device)
    same(em.logical_and(a, b), [False, False, False, True], 0, 0)
    same(em.logical_or(a, b), [False, True, True, True], 0, 0)
    same(em.logical_xor(a, b), [False, True, True, False], 0, 0)
    same(em.logical_not(b), [True, True, False, False], 0, 0)
    p, q = a != 0, b != 0
    same(p & q, [False, False, False, True], 0, 0)
    same(p | q, [False, True, True, True], 0, 0)
    same(p ^ q, [False, True, True, False], 0, 0)
    same(~p, [True, False, True, False], 0, 0)


def test_bitwise_not(device):
    same(~em.tensor([0, 5, -3], device=device), np.invert(np.array([0, 5, -3])), 0, 0)
    assert (~em.tensor([1, 2], dtype=em.int32, device=device)).dtype == em.int32
    same(em.bitwise_not(em.tensor([True, False], device=device)), [False, True], 0, 0)


@pytest.mark.parametrize("shapes", [((7,), (7,), (7,)), ((3, 1), (4,), (1,)),
                                    ((1, 5), (2, 1), (5,)), ((0, 2), (2,), (1,))])
def test_where_broadcasts_all_three(shapes, device):
    cond = rand(*shapes[0]) > 0
    check_op(lambda x, y: em.where(em.tensor(cond, device=device), x, y),
             lambda x, y: np.where(cond, x, y), rand(*shapes[1]), rand(*shapes[2]), device=device)
    check_op(lambda x: em.where(em.tensor(cond, device=device), x, 0.25),
             lambda x: np.where(cond, x, 0.25), rand(*shapes[1]), device=device)
    check_op(lambda y: em.where(em.tensor(cond, device=device), -1.0, y),
             lambda y: np.where(cond, -1.0, y), rand(*shapes[2]), device=device)


def test_where_promotes(device):
    out = em.where(em.tensor([True, False], device=device), em.tensor([1, 2], device=device), em.tensor([0.5, 0.5], device=device))
    assert out.dtype == em.float32
    same(out, [1.0, 0.5], 0, 0)
    assert em.where(em.tensor([True], device=device), em.tensor([1], device=device), 0).dtype == em.int64


def test_clamp_with_tensor_bounds_and_edge_cases(device):
    x, lo, hi = rand(4, 5), rand(5) - 0.5, rand(4, 1) + 0.5
    check_op(lambda t, a, b: em.clamp(t, a, b), lambda t, a, b: np.minimum(np.maximum(t, a), b),
             x, lo, hi, device=device)
    t = em.tensor([float("nan"), -2.0, 2.0], device=device)
    out = em.clamp(t, min=1.0, max=0.0)
    assert math.isnan(out[0].item()) and out[1].item() == 0.0 and out[2].item() == 0.0
    i = em.tensor([-5, 0, 5], device=device)
    assert em.clamp(i, -1, 1).dtype == em.int64
    same(em.clamp(i, -1, 1), [-1, 0, 1], 0, 0)
    assert em.clamp(i, min=0.5).dtype == em.float32


def test_integer_dtypes_of_unary_ops(device):
    i = em.tensor([-3, 0, 4], device=device)
    assert em.exp(i).dtype == em.float32
    assert em.sqrt(i).dtype == em.float32
    for fn in (em.neg, em.abs, em.sign, em.square, em.floor, em.ceil, em.round, em.trunc, em.relu):
        assert fn(i).dtype == em.int64
    same(-i, [3, 0, -4], 0, 0)
    same(-em.tensor([2**63 - 1], device=device), [-(2**63 - 1)], 0, 0)
    assert np.signbit((-em.tensor([0.0], device=device)).cpu().numpy()).all()
    with pytest.raises(TypeError, match="neg: unsupported dtype bool"):
        -em.tensor([True], device=device)
    same(em.abs(i), [3, 0, 4], 0, 0)
    same(em.sign(i), [-1, 0, 1], 0, 0)
    same(em.relu(i), [0, 0, 4], 0, 0)


def test_round_half_to_even_and_decimals(device):
    same(em.round(em.tensor([0.5, 1.5, 2.5, -0.5, -1.5], device=device)), [0, 2, 2, -0, -2], 0, 0)
    same(em.round(em.tensor([1.2345, -2.5551], dtype=em.float64, device=device), decimals=2),
                 [1.23, -2.56], 1e-12, 0)


def test_sigmoid_softplus_extremes_do_not_overflow(device):
    x = em.tensor([-1000.0, 1000.0, 0.0], device=device)
    same(em.sigmoid(x), [0.0, 1.0, 0.5], 0, 0)
    same(em.softplus(x), [0.0, 1000.0, math.log(2)], 1e-6, 1e-6)


def test_large_tensor_split_across_threads():
    x = rand(301, 257)
    check_op(em.gelu, lambda v: 0.5 * v * (1 + erf(v / np.sqrt(2))), x, grad=False)
    check_op(lambda a, b: a ** b, np.power, np.abs(x) + 0.1, rand(257), grad=False)


def test_in_place_forms(device):
    for name, ref in [("relu_", lambda v: np.maximum(v, 0)), ("sigmoid_", np_sigmoid),
                      ("tanh_", np.tanh), ("exp_", np.exp), ("abs_", np.abs)]:
        v = rand(3, 4)
        t = em.tensor(v, device=device)
        assert getattr(t, name)() is t
        same(t, ref(v), 1e-6, 1e-5, what=name)
    v = rand(3, 4, low=0.1, high=2.0)
    t = em.tensor(v, device=device)
    t.sqrt_()
    same(t, np.sqrt(v), 1e-6, 1e-5)
    t = em.tensor(v, device=device)
    t.pow_(2)
    same(t, v ** 2, 1e-6, 1e-5)
    t = em.tensor(v, device=device)
    t.clamp_(0.5, 1.0)
    same(t, np.clip(v, 0.5, 1.0), 0, 0)
    t = em.tensor(rand(4), device=device)
    assert em.nn.functional.relu(t, inplace=True) is t


def test_in_place_forms_inside_the_graph(device):
    x = em.tensor(rand(5), dtype=em.float64, requires_grad=True, device=device)
    y = x * 2
    y.sigmoid_()
    y.sum().backward()
    s = np_sigmoid(2 * x.detach().cpu().numpy())
    same(x.grad, 2 * s * (1 - s), 1e-12, 1e-10)
    with pytest.raises(RuntimeError, match="relu_"):
        em.tensor([1.0], requires_grad=True, device=device).relu_()


def test_in_place_on_expanded_view_raises():
    x = em.zeros(1).expand(3)
    with pytest.raises(ValueError, match="exp.*single memory location"):
        x.exp_()
    with pytest.raises(ValueError, match="pow.*single memory location"):
        x.pow_(2)


def test_int_pow_in_place_type_error():
    with pytest.raises(TypeError, match="pow_"):
        em.tensor([1, 2]).pow_(0.5)
    with pytest.raises(TypeError, match="sqrt_"):
        em.tensor([1, 2]).sqrt_()


def test_functional_names(device):
    F = em.nn.functional
    x = em.tensor(rand(3, 4), device=device)
    for name in ("relu", "gelu", "silu", "leaky_relu", "elu", "softplus", "sigmoid", "tanh"):
        assert callable(getattr(F, name))
    same(F.leaky_relu(x, 0.3), np.where(x.cpu().numpy() > 0, x.cpu().numpy(), 0.3 * x.cpu().numpy()),
                 1e-6, 1e-6)


# ---------------------------------------------------------------- PyTorch reference
def _torch_pair(values, torch, device="cpu"):
    return em.tensor(values, dtype=em.float64, device=device), torch.tensor(values, dtype=torch.float64)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_torch(name, device):
    torch = pytest.importorskip("torch")
    tf = {
        "gelu_tanh": lambda t: torch.nn.functional.gelu(t, approximate="tanh"),
        "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.2),
        "elu": lambda t: torch.nn.functional.elu(t, alpha=1.5),
        "softplus": lambda t: torch.nn.functional.softplus(t, beta=2.0, threshold=3.0),
        "clamp": lambda t: torch.clamp(t, -0.5, 0.6),
        "clamp_min": lambda t: torch.clamp_min(t, -0.3),
        "clamp_max": lambda t: torch.clamp_max(t, 0.3),
        "gelu": torch.nn.functional.gelu,
        "silu": torch.nn.functional.silu,
    }.get(name) or getattr(torch, name)
    fn, _, limits = UNARY[name]
    values = rand(4, 7, **limits)
    x, tx = _torch_pair(values, torch, device)
    x.requires_grad_(True)
    tx.requires_grad_(True)
    out, tout = fn(x), tf(tx)
    same(out, tout.detach().cpu().numpy(), 1e-12, 1e-10)
    g = rand(4, 7)
    out.backward(em.tensor(g, dtype=em.float64, device=device))
    tout.backward(torch.tensor(g))
    same(x.grad, tx.grad.cpu().numpy(), 1e-12, 1e-10)


@pytest.mark.parametrize("name", ["maximum", "minimum", "pow", "remainder", "floor_divide"])
def test_binary_matches_torch(name, device):
    torch = pytest.importorskip("torch")
    fn, _, limits = BINARY[name]
    a, b = rand(3, 1, **limits), rand(4, **limits)
    b[0] = a[1, 0]  # a tie for maximum/minimum
    x, tx = _torch_pair(a, torch, device)
    y, ty = _torch_pair(b, torch, device)
    for t in (x, y, tx, ty):
        t.requires_grad_(True)
    out, tout = fn(x, y), getattr(torch, name)(tx, ty)
    same(out, tout.detach().cpu().numpy(), 1e-12, 1e-10)
    if name != "floor_divide":
        out.sum().backward()
        tout.sum().backward()
        same(x.grad, tx.grad.cpu().numpy(), 1e-12, 1e-10)
        same(y.grad, ty.grad.cpu().numpy(), 1e-12, 1e-10)
    ai = np.array([-7, -3, 0, 5, 9])
    bi = np.array([2, -4, 3, -2, 4])
    ours = fn(em.tensor(ai, device=device), em.tensor(np.abs(bi) if name == "pow" else bi, device=device))
    theirs = getattr(torch, name)(torch.tensor(ai), torch.tensor(np.abs(bi) if name == "pow" else bi))
    assert ours.dtype == em.int64
    same(ours, theirs.cpu().numpy(), 0, 0)


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_comparisons_match_torch(name, device):
    torch = pytest.importorskip("torch")
    a, b = np.round(rand(3, 1) * 2), np.round(rand(5) * 2)
    ours = COMPARISONS[name][0](em.tensor(a, device=device), em.tensor(b, device=device))
    theirs = getattr(torch, name)(torch.tensor(a), torch.tensor(b))
    same(ours, theirs.cpu().numpy(), 0, 0)


def test_where_and_bitwise_not_match_torch(device):
    torch = pytest.importorskip("torch")
    cond = rand(3, 1) > 0
    a, b = rand(4), rand(3, 4)
    x, tx = _torch_pair(a, torch, device)
    y, ty = _torch_pair(b, torch, device)
    for t in (x, y, tx, ty):
        t.requires_grad_(True)
    out = em.where(em.tensor(cond, device=device), x, y)
    tout = torch.where(torch.tensor(cond), tx, ty)
    same(out, tout.detach().cpu().numpy(), 0, 0)
    out.sum().backward()
    tout.sum().backward()
    same(x.grad, tx.grad.cpu().numpy(), 0, 0)
    same(y.grad, ty.grad.cpu().numpy(), 0, 0)
    i = np.array([0, 7, -8])
    same(em.bitwise_not(em.tensor(i, device=device)), torch.bitwise_not(torch.tensor(i)).cpu().numpy(), 0, 0)


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_shape_mismatch_names_the_op(name):
    fn = BINARY[name][0]
    with pytest.raises(ValueError, match=r"(maximum|minimum|pow|remainder|floor_divide|div).*"
                                         r"\[2, 3\].*\[4\]|\[4\].*\[2, 3\]"):
        fn(em.zeros(2, 3), em.ones(4))


@pytest.mark.parametrize("name", ["floor_divide", "remainder"])
def test_integer_division_by_zero_raises(name):
    fn = getattr(em, name)
    with pytest.raises(RuntimeError, match=f"{name}.*ZeroDivisionError"):
        fn(em.tensor([1, 2, 3]), em.tensor([1, 0, 1]))
    with pytest.raises(RuntimeError, match=name):
        fn(em.tensor([1, 2, 3]), 0)
    assert math.isinf(fn(em.tensor([1.0]), 0.0).item()) or name == "remainder"


def test_bad_pow_and_bool_arithmetic():
    with pytest.raises(RuntimeError, match="pow: integers to negative"):
        em.tensor([2, 3]) ** -1
    with pytest.raises(TypeError, match="pow"):
        em.tensor([True]) ** em.tensor([True])
    with pytest.raises(TypeError, match="floor_divide"):
        em.floor_divide(em.tensor([True]), em.tensor([True]))
    with pytest.raises(TypeError, match="pow"):
        em.pow(em.tensor([1.0]), "2")


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_comparison_bad_input(name):
    fn = COMPARISONS[name][0]
    with pytest.raises(ValueError, match=name):
        fn(em.zeros(2, 3), em.ones(4))
    with pytest.raises(TypeError):
        fn(em.zeros(2), "x")


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_rejects_non_tensors(name):
    fn = UNARY[name][0]
    with pytest.raises(TypeError):
        fn([1.0, 2.0])


@pytest.mark.parametrize("fn,name", [(em.exp, "exp"), (em.sqrt, "sqrt"), (em.sigmoid, "sigmoid"),
                                     (em.relu, "relu"), (em.abs, "abs"), (em.sign, "sign"),
                                     (em.floor, "floor"), (em.gelu, "gelu")])
def test_unary_bool_or_int_dtype_errors_name_the_op(fn, name):
    if name in ("relu", "abs", "sign", "floor"):
        with pytest.raises(TypeError, match=name):
            fn(em.tensor([True, False]))
    else:
        assert fn(em.tensor([True, False])).dtype == em.float32


def test_bitwise_and_logical_not_bad_input():
    with pytest.raises(TypeError, match="bitwise_not"):
        em.bitwise_not(em.tensor([1.0]))
    with pytest.raises(TypeError, match="bitwise_not"):
        em.bitwise_not(3)
    with pytest.raises(TypeError, match="logical_not"):
        em.logical_not(None)


def test_where_bad_input():
    with pytest.raises(TypeError, match="where: expected condition to be a bool"):
        em.where(em.tensor([1.0, 0.0]), em.zeros(2), em.ones(2))
    with pytest.raises(ValueError, match=r"where.*\[3\]"):
        em.where(em.tensor([True, False]), em.zeros(3), em.ones(2))
    with pytest.raises(TypeError, match="where"):
        em.where([True], em.zeros(1), em.ones(1))


def test_clamp_bad_input():
    with pytest.raises(ValueError, match="clamp: at least one"):
        em.clamp(em.zeros(2))
    with pytest.raises(TypeError, match="clamp"):
        em.clamp(em.zeros(2), "a")
    with pytest.raises(TypeError, match="clamp"):
        em.clamp(em.tensor([True]), 0, 1)
    with pytest.raises(TypeError, match="clamp_"):
        em.tensor([1, 2]).clamp_(0.5)
    with pytest.raises(ValueError, match="maximum"):
        em.clamp(em.zeros(2, 3), em.zeros(4))


def test_activation_bad_input():
    x = em.zeros(3)
    with pytest.raises(ValueError, match="gelu: approximate"):
        em.gelu(x, approximate="fast")
    with pytest.raises(TypeError, match="leaky_relu"):
        em.leaky_relu(x, "0.1")
    with pytest.raises(ValueError, match="elu"):
        em.elu(x, alpha=float("inf"))
    with pytest.raises(ValueError, match="softplus: beta"):
        em.softplus(x, beta=0)
    with pytest.raises(TypeError, match="silu"):
        em.silu(None)
    with pytest.raises(TypeError, match="relu"):
        em.relu(em.tensor([True]))


def test_mixing_cpu_and_cuda_operands_names_the_op(cuda_device):
    a, b = em.ones(3), em.ones(3, device=cuda_device)
    for name, fn in [("add", em.add), ("mul", em.mul), ("maximum", em.maximum), ("where", None)]:
        if fn is None:
            with pytest.raises((RuntimeError, ValueError), match=name):
                em.where(em.ones(3, dtype=em.bool, device=cuda_device), a, b)
            continue
        with pytest.raises((RuntimeError, ValueError), match=name):
            fn(a, b)
        with pytest.raises((RuntimeError, ValueError), match=name):
            fn(b, a)
