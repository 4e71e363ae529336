"""float16 and bfloat16 elementwise ops: binary arithmetic (tensor-tensor and
tensor-scalar), comparisons, logical ops, where, clamp, the unary maths and
the activations, forward and backward, on every device.

Each op on 16-bit inputs must give the float32 result on the widened inputs
rounded once to the 16-bit dtype: bit for bit where the maths is exact, within
one ulp on cuda for the transcendental functions (the CPU's float32 exp, tanh,
... are its own approximations). Backward passes built from several 16-bit ops
round in between, so they are held to a tolerance of a few ulps instead; the
fused activation backwards round once. PyTorch's CPU float16/bfloat16 results
are the outside reference.
"""

import numpy as np
import pytest
from half_check import HALF_DTYPES, check_half, half_inputs

import ember as em

try:
    import torch
except ImportError:  # pragma: no cover - torch is a test-only reference
    torch = None

# Units in the last place of each 16-bit dtype.
EPS = {em.float16: 2.0 ** -10, em.bfloat16: 2.0 ** -7}

SHAPES = [(1,), (31,), (33,), (129,), (3, 67)]


def torch_dtype(dtype):
    return torch.float16 if dtype == em.float16 else torch.bfloat16


def to_torch(t):
    return torch.tensor(t.cpu().float().numpy()).to(torch_dtype(t.dtype))


def assert_matches_torch(ours, theirs, dtype, ulps=2):
    """Our 16-bit result against PyTorch's, within `ulps` of the dtype
    (relative) or as much absolute error around zero."""
    got = ours.cpu().float().numpy()
    want = theirs.float().numpy()
    tol = ulps * EPS[dtype]
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True)


def ulps_for(device, exact):
    return 0 if exact or device == "cpu" else 1


# --- binary arithmetic -------------------------------------------------------

BINARY = [
    ("add", em.add, lambda a, b: torch.add(a, b)),
    ("sub", em.sub, lambda a, b: torch.sub(a, b)),
    ("mul", em.mul, lambda a, b: torch.mul(a, b)),
    ("div", em.div, lambda a, b: torch.div(a, b)),
    ("floor_divide", em.floor_divide, lambda a, b: torch.floor_divide(a, b)),
    ("remainder", em.remainder, lambda a, b: torch.remainder(a, b)),
    ("pow", em.pow, lambda a, b: torch.pow(a, b)),
    ("maximum", em.maximum, lambda a, b: torch.maximum(a, b)),
    ("minimum", em.minimum, lambda a, b: torch.minimum(a, b)),
]


@pytest.mark.parametrize("dtype", HALF_DTYPES, ids=str)
@pytest.mark.parametrize("name,fn,torch_fn", BINARY, ids=[b[0] for b in BINARY])
def test_binary_forward(device, dtype, name, fn, torch_fn):
    for shape in SHAPES:
        # Divisors away from zero keep floor_divide/remainder away from huge quotients.
        (a, b), wide = half_inputs(shape, shape, dtype=dtype, device=device, low=0.25, high=3.0,
                                   seed=len(shape) * 100 + shape[-1])
        signs = em.tensor(np.where(np.arange(shape[-1]) % 3 == 0, -1.0, 1.0), dtype=dtype)
        a = a * signs.to(device)
        wide = [wide[0] * signs.float(), wide[1]]
        out = check_half(fn, [a, b], wide, dtype=dtype, what=f"{name} {shape}")
        if torch is not None:
            assert_matches_torch(out, torch_fn(to_torch(a), to_torch(b)), dtype)


@pytest.mark.parametrize("dtype", HALF_DTYPES, ids=str)
@pytest.mark.parametrize("name,fn,torch_fn", BINARY, ids=[b[0] for b in BINARY])
def test_binary_broadcast_and_views(device, dtype, name, fn, torch_fn):
    (a, b, c), wide = half_inputs((33, 17), (17,), (17, 33), dtype=dtype, device=device,
                                  low=0.5, high=2.0)
    check_half(fn, [a, b], wide[:2], dtype=dtype, what=f"{name} row broadcast")
    check_half(lambda x, y: fn(x, y.t()), [a, c], [wide[0], wide[2]], dtype=dtype,
               what=f"{name} transposed")
    check_half(lambda x, y: fn(x[:, 1:], y[1:]), [a, b], wide[:2], dtype=dtype,
               what=f"{name} unaligned slices")
    check_half(lambda x: fn(x, x[:1]), [a], wide[:1], dtype=dtype, what=f"{name} column of one")


@pytest.mark.parametrize("dtype", HALF_DTYPES, ids=str)
def test_python_scalars_keep_the_16_bit_dtype(device, dtype):
    (x,), (w,) = half_inputs((129,), dtype=dtype, device=device)
    for fn in (lambda t: t * 2.5, lambda t: 2.5 - t, lambda t: t / 3, lambda t: t + 1,
               lambda t: t ** 2, lambda t: 1.5 ** t, lambda t: t // 0.75, lambda t: t % 0.75):
        check_half(fn, [x], [w], dtype=dtype, what="scalar operand")
    y = x.clone()
    y *= 1.25
    y += 1
    assert y.dtype == dtype
    np.testing.assert_array_equal(y.cpu().float().numpy(),
                                  ((w * 1.25).to(dtype).float() + 1).to(dtype).float().numpy())
    if torch is not None:
        assert_matches_torch(x * 2.5, to_torch(x) * 2.5, dtype)


@pytest.mark.parametrize("dtype", HALF_DTYPES, ids=str)
def test_special_values(device, dtype):
    specials = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 60000.0]
    a = em.tensor([[v] for v in specials], dtype=dtype).to(device)
    b = em.tensor([specials], dtype=dtype).to(device)
    wa, wb = a.cpu().float(), b.cpu().float()
    for name, fn, _ in BINARY:
        check_half(fn, [a, b], [wa, wb], dtype=dtype, what=name)


@pytest.mark.parametrize("dtype", HALF_DTYPES, ids=str)
def test_mixed_dtypes_promote(device, dtype):
    (x,), _ = half_inputs((9,), dtype=dtype, device=device)
    assert (x + em.ones(9, dtype=em.int64).to(device)).dtype == dtype
    assert (x + em.ones(9).to(device)).dtype == em.float32
    other = em.float16 if dtype == em.bfloat16 else em.bfloat16
    assert (x + em.ones(9, dtype=other).to(device)).dtype == em.float32


# --- comparisons, logical ops, where, clamp -----------------------------------

COMPARE = ["eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_xor"]


@pytest.mark.parametrize("dtype", HALF_DTYPES, ids=str)
@pytest.mark.parametrize("name", COMPARE)
def test_comparisons_and_logical_ops(device, dtype, name):
    rng = np.random.default_rng(3)
    # Few distinct values, so ties are common; zeros for the logical ops.
    values = rng.integers(-3, 4, size=(2, 129)).astype(np.float32) / 2
    values[0, :4] = [np.nan, np.inf, -0.0, 0.0]
    values[1, :4] = [np.nan, np.inf, 0.0, -0.0]
    a = em.tensor(values[0], dtype=dtype).to(device)
    b = em.tensor(values[1], dtype=dtype).to(device)
    fn = getattr(em, name)
    got = fn(a, b)
    assert got.dtype == em.bool
    expected = fn(a.cpu().float(), b.cpu().float())
    np.testing.assert_array_equal(got.cpu().numpy(), expected.numpy())
    np.testing.assert_array_equal(fn(a, b[:1]).cpu().numpy(),
                                  fn(a.cpu().float(), b[:1].cpu().float()).numpy())
    if torch is not None:
        np.testing.assert_array_equal(got.cpu().numpy(),
                                      getattr(torch, name)(to_torch(a), to_torch(b)).numpy())


@pytest.mark.parametrize("dtype", HALF_DTYPES, ids=str)
def test_logical_not_and_where(device, dtype):
    (x, y), wide = half_inputs((33, 9), (33, 9), dtype=dtype, device=device)
    x = x * (x > 0.5)
    wide[0] = wide[0] * (wide[0] > 0.5)
    np.testing.assert_array_equal(em.logical_not(x).cpu().numpy(),
                                  em.logical_not(wide[0]).numpy())
    out = check_half(lambda a, b: em.where(a > b, a, b), [x, y], wide, dtype=dtype, what="where")
    check_half(lambda a, b: em.where(a.t() > 0, a.t(), b[:1].t()), [x, y], wide, dtype=dtype,
               what="where broadcast")
    check_half(lambda a: em.where(a > 0, a, 0.5), [x], wide[:1], dtype=dtype,
               what="where scalar")
    if torch is not None:
        tx, ty = to_torch(x), to_torch(y)
        assert_matches_torch(out, torch.where(tx > ty, tx, ty), dtype, ulps=0)


@pytest.mark.parametrize("dtype", HALF_DTYPES, ids=str)
def test_clamp(device, dtype):
    (x,), (w,) = half_inputs((129,), dtype=dtype, device=device, low=-3, high=3)
    for lo, hi in [(-0.3, 0.7), (-1, None), (None, 1e-3), (2, -1), (0, 1)]:
        out = check_half(lambda t, lo=lo, hi=hi: em.clamp(t, lo, hi), [x], [w], dtype=dtype,
                         what=f"clamp {lo} {hi}")
        if torch is not None:
            assert_matches_torch(out, torch.clamp(to_torch(x), lo, hi), dtype, ulps=1)
    y = x.clone()
    y.clamp_(-0.5, 0.5)
    np.testing.assert_array_equal(y.cpu().float().numpy(),
                                  em.clamp(w, -0.5, 0.5).to(dtype).float().numpy())


# --- unary maths and activations ----------------------------------------------

# name, ember function, torch function, input range, exact in IEEE arithmetic
UNARY = [
    ("abs", em.abs, torch.abs if torch else None, (-3, 3), True),
    ("sign", em.sign, torch.sign if torch else None, (-3, 3), True),
    ("exp", em.exp, torch.exp if torch else None, (-8, 8), False),
    ("log", em.log, torch.log if torch else None, (0.01, 10), False),
    ("log1p", em.log1p, torch.log1p if torch else None, (-0.9, 10), False),
    ("expm1", em.expm1, torch.expm1 if torch else None, (-5, 5), False),
    ("sqrt", em.sqrt, torch.sqrt if torch else None, (0, 10), True),
    ("rsqrt", em.rsqrt, torch.rsqrt if torch else None, (0.01, 10), True),
    ("sin", em.sin, torch.sin if torch else None, (-6, 6), False),
    ("cos", em.cos, torch.cos if torch else None, (-6, 6), False),
    ("tanh", em.tanh, torch.tanh if torch else None, (-5, 5), False),
    ("sigmoid", em.sigmoid, torch.sigmoid if torch else None, (-12, 12), False),
    ("reciprocal", em.reciprocal, torch.reciprocal if torch else None, (-3, 3), True),
    ("square", em.square, torch.square if torch else None, (-3, 3), True),
    ("floor", em.floor, torch.floor if torch else None, (-5, 5), True),
    ("ceil", em.ceil, torch.ceil if torch else None, (-5, 5), True),
    ("round", em.round, torch.round if torch else None, (-5, 5), True),
    ("trunc", em.trunc, torch.trunc if torch else None, (-5, 5), True),
    ("relu", em.relu, torch.relu if torch else None, (-3, 3), True),
    ("silu", em.silu, torch.nn.functional.silu if torch else None, (-8, 8), False),
    ("gelu", em.gelu, torch.nn.functional.gelu if torch else None, (-5, 5), False),
    ("gelu_tanh", lambda t: em.gelu(t, approximate="tanh"),
     (lambda t: torch.nn.functional.gelu(t, approximate="tanh")) if torch else None, (-5, 5),
     False),
    ("leaky_relu", lambda t: em.leaky_relu(t, 0.1),
     (lambda t: torch.nn.functional.leaky_relu(t, 0.1)) if torch else None, (-3, 3), True),
    ("elu", lambda t: em.elu(t, 1.3),
     (lambda t: torch.nn.functional.elu(t, 1.3)) if torch else None, (-5, 5), False),
    ("softplus", lambda t: em.softplus(t, 2.0, 5.0),
     (lambda t: torch.nn.functional.softplus(t, 2.0, 5.0)) if torch else None, (-8, 8), False),
]

# The activations whose backward is one fused kernel (one rounding).
FUSED_BACKWARD = {"relu", "leaky_relu", "elu", "softplus", "silu", "gelu", "gelu_tanh"}


@pytest.mark.parametrize("dtype", HALF_DTYPES, ids=str)
@pytest.mark.parametrize("name,fn,torch_fn,bounds,exact", UNARY, ids=[u[0] for u in UNARY])
def test_unary_forward(device, dtype, name, fn, torch_fn, bounds, exact):
    low, high = bounds
    for shape in SHAPES:
        (x,), wide = half_inputs(shape, dtype=dtype, device=device, low=low, high=high)
        out = check_half(fn, [x], wide, dtype=dtype, ulps=ulps_for(device, exact),
                         what=f"{name} {shape}")
        if torch_fn is not None:
            assert_matches_torch(out, torch_fn(to_torch(x)), dtype)
    (x,), wide = half_inputs((17, 33), dtype=dtype, device=device, low=low, high=high)
    check_half(lambda t: fn(t.t()[1:]), [x], wide, dtype=dtype, ulps=ulps_for(device, exact),
               what=f"{name} strided")


@pytest.mark.parametrize("dtype", HALF_DTYPES, ids=str)
@pytest.mark.parametrize("name,fn,torch_fn,bounds,exact", UNARY, ids=[u[0] for u in UNARY])
def test_unary_backward(device, dtype, name, fn, torch_fn, bounds, exact):
    if name in ("sign", "floor", "ceil", "round", "trunc"):
        pytest.skip("zero gradient")
    low, high = bounds
    (x, g), (wx, wg) = half_inputs((129,), (129,), dtype=dtype, device=device, low=low,
                                   high=high, seed=7)
    g = g.cpu().float().clamp(-2, 2).to(dtype).to(device)
    wg = g.cpu().float()

    def grad_of(inp, grad_out):
        leaf = inp.detach().requires_grad_()
        fn(leaf).backward(grad_out)
        return leaf.grad

    got = grad_of(x, g)
    assert got.dtype == dtype
    reference = grad_of(wx, wg)
    if name in FUSED_BACKWARD:
        check_half(lambda a, b: grad_of(a, b), [x, g], [wx, wg], dtype=dtype,
                   ulps=ulps_for(device, exact), what=f"{name} backward")
    else:
        # A composition of 16-bit ops: each rounds.
        tol = 4 * EPS[dtype]
        np.testing.assert_allclose(got.cpu().float().numpy(), reference.numpy(), rtol=tol,
                                   atol=tol * float(np.abs(reference.numpy()).max()),
                                   err_msg=f"{name} backward")
    if torch_fn is not None:
        tx = to_torch(x).requires_grad_()
        torch_fn(tx).backward(to_torch(g))
        assert_matches_torch(got, tx.grad, dtype, ulps=4)


@pytest.mark.parametrize("dtype", HALF_DTYPES, ids=str)
def test_binary_backward(device, dtype):
    (a, b, g), wide = half_inputs((65,), (65,), (65,), dtype=dtype, device=device, low=0.5,
                                  high=2.0, seed=11)
    for name, fn, torch_fn in BINARY:
        if name in ("floor_divide", "remainder"):
            continue
        leaves = [a.detach().requires_grad_(), b.detach().requires_grad_()]
        fn(*leaves).backward(g)
        wide_leaves = [wide[0].detach().requires_grad_(), wide[1].detach().requires_grad_()]
        fn(*wide_leaves).backward(wide[2])
        for got, reference in zip(leaves, wide_leaves):
            assert got.grad.dtype == dtype, name
            tol = 4 * EPS[dtype]
            np.testing.assert_allclose(got.grad.cpu().float().numpy(), reference.grad.numpy(),
                                       rtol=tol, atol=tol, err_msg=f"{name} backward")
        if torch is not None:
            ta, tb = to_torch(a).requires_grad_(), to_torch(b).requires_grad_()
            torch_fn(ta, tb).backward(to_torch(g))
            for got, theirs in zip(leaves, (ta.grad, tb.grad)):
                assert_matches_torch(got.grad, theirs, dtype, ulps=4)


@pytest.mark.parametrize("dtype", HALF_DTYPES, ids=str)
def test_in_place_unary_and_activations(device, dtype):
    (x,), (w,) = half_inputs((67,), dtype=dtype, device=device)
    for name in ("relu_", "sigmoid_", "tanh_", "exp_"):
        y = x.clone()
        getattr(em, name)(y)
        assert y.dtype == dtype
        expected = getattr(em, name.rstrip("_"))(w).to(dtype).float().numpy()
        got = y.cpu().float().numpy()
        if device == "cpu" or name == "relu_":
            np.testing.assert_array_equal(got, expected, err_msg=name)
        else:
            np.testing.assert_allclose(got, expected, rtol=EPS[dtype], err_msg=name)
