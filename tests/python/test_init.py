"""nn.init (distributions, bounds, determinism, gains) and nn.utils (gradient
clipping, parameter vectors), against PyTorch where it has the thing."""

import math

import numpy as np
import pytest

import ember as em
from ember import nn
from ember.nn import init


def _np(t):
    return t.detach().numpy()


@pytest.mark.parametrize("args", [("linear",), ("conv2d",), ("sigmoid",), ("tanh",), ("relu",),
                                  ("leaky_relu",), ("leaky_relu", 0.2), ("selu",)])
def test_calculate_gain_matches_torch(args):
    torch = pytest.importorskip("torch")
    assert init.calculate_gain(*args) == pytest.approx(torch.nn.init.calculate_gain(*args))


def test_calculate_gain_bad_input():
    with pytest.raises(ValueError, match="calculate_gain"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="calculate_gain"):
        init.calculate_gain("leaky_relu", "x")


def test_uniform_normal_constant():
    t = em.empty(200, 300)
    assert init.uniform_(t, -2.0, 3.0) is t
    a = _np(t)
    assert a.min() >= -2.0 and a.max() < 3.0 and abs(a.mean() - 0.5) < 0.03
    assert abs(a.std() - 5 / math.sqrt(12)) < 0.02
    init.normal_(t, 1.0, 0.5)
    a = _np(t)
    assert abs(a.mean() - 1.0) < 0.01 and abs(a.std() - 0.5) < 0.01
    init.constant_(t, 0.25)
    assert np.all(_np(t) == 0.25)
    assert np.all(_np(init.zeros_(t)) == 0) and np.all(_np(init.ones_(t)) == 1)
    d = init.eye_(em.empty(3, 4, dtype=em.float64))
    np.testing.assert_array_equal(_np(d), np.eye(3, 4))


@pytest.mark.parametrize("shape", [(300, 200), (64, 32, 3, 3), (100, 50, 7)])
def test_xavier_and_kaiming_statistics(shape):
    fan_in = shape[1] * int(np.prod(shape[2:]))
    fan_out = shape[0] * int(np.prod(shape[2:]))
    t = em.empty(*shape)
    std = math.sqrt(2.0 / (fan_in + fan_out))
    a = _np(init.xavier_uniform_(t))
    assert np.abs(a).max() <= math.sqrt(3) * std and abs(a.std() - std) < 0.05 * std
    a = _np(init.xavier_normal_(t, gain=2.0))
    assert abs(a.std() - 2 * std) < 0.05 * std * 2
    a = _np(init.kaiming_uniform_(t, a=math.sqrt(5)))
    bound = 1 / math.sqrt(fan_in)
    assert np.abs(a).max() <= bound and np.abs(a).max() > 0.95 * bound
    a = _np(init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"))
    std = math.sqrt(2.0 / fan_out)
    assert abs(a.std() - std) < 0.05 * std and abs(a.mean()) < 0.05 * std


def test_orthogonal():
    for shape in [(5, 8), (8, 5), (4, 2, 3)]:
        t = init.orthogonal_(em.empty(*shape, dtype=em.float64), gain=2.0)
        m = _np(t).reshape(shape[0], -1)
        small = min(m.shape)
        gram = m @ m.T if m.shape[0] == small else m.T @ m
        np.testing.assert_allclose(gram, 4 * np.eye(small), atol=1e-10)
    with pytest.raises(ValueError, match="orthogonal_"):
        init.orthogonal_(em.empty(3))


def test_init_is_deterministic_under_manual_seed_and_not_recorded():
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.kaiming_normal_,
               init.orthogonal_):
        em.manual_seed(7)
        a = _np(fn(em.empty(6, 5)))
        em.manual_seed(7)
        np.testing.assert_array_equal(_np(fn(em.empty(6, 5))), a)
        b = _np(fn(em.empty(6, 5)))
        assert not np.array_equal(a, b)
    p = nn.Parameter(em.zeros(3, 4))
    init.kaiming_uniform_(p)
    assert p.requires_grad and p.grad_fn is None and p.is_leaf


def test_init_bad_input():
    with pytest.raises(ValueError, match="xavier_uniform_.*2 dimensions"):
        init.xavier_uniform_(em.empty(5))
    with pytest.raises(ValueError, match="kaiming_normal_.*mode"):
        init.kaiming_normal_(em.empty(3, 3), mode="fan_avg")
    with pytest.raises(TypeError, match="normal_"):
        init.normal_(em.zeros(3, dtype=em.int64))
    with pytest.raises(TypeError, match="uniform_"):
        init.uniform_([1.0, 2.0])
    with pytest.raises(ValueError, match="eye_"):
        init.eye_(em.empty(2, 2, 2))


def test_linear_default_init_matches_torch_bounds():
    em.manual_seed(1)
    lin = nn.Linear(50, 30)
    bound = 1 / math.sqrt(50)
    w, b = _np(lin.weight), _np(lin.bias)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    em.manual_seed(1)
    np.testing.assert_array_equal(_np(nn.Linear(50, 30).weight), w)


# ---------------------------------------------------------------- nn.utils


def _params_with_grads(lib, seed=0):
    rng = np.random.default_rng(seed)
    params = []
    for shape in [(3, 4), (5,), (2, 2, 2)]:
        p = lib.tensor(rng.standard_normal(shape), requires_grad=True)
        p.grad = lib.tensor(rng.standard_normal(shape) * 3)
        params.append(p)
    return params


@pytest.mark.parametrize("max_norm,norm_type", [(1.0, 2.0), (100.0, 2.0), (0.5, 1.0),
                                                (2.0, float("inf")), (0.3, 3.0)])
def test_clip_grad_norm_matches_torch(max_norm, norm_type):
    torch = pytest.importorskip("torch")
    tp, ep = _params_with_grads(torch), _params_with_grads(em)
    t_total = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type)
    e_total = nn.utils.clip_grad_norm_(ep, max_norm, norm_type)
    assert float(e_total.item()) == pytest.approx(float(t_total), rel=1e-6)
    for t, e in zip(tp, ep):
        np.testing.assert_allclose(_np(e.grad), t.grad.numpy(), rtol=1e-6)


def test_clip_grad_value_and_vectors_match_torch():
    torch = pytest.importorskip("torch")
    tp, ep = _params_with_grads(torch), _params_with_grads(em)
    torch.nn.utils.clip_grad_value_(tp, 1.5)
    nn.utils.clip_grad_value_(ep, 1.5)
    for t, e in zip(tp, ep):
        np.testing.assert_array_equal(_np(e.grad), t.grad.numpy())
    t_vec = torch.nn.utils.parameters_to_vector(tp)
    e_vec = nn.utils.parameters_to_vector(ep)
    np.testing.assert_array_equal(_np(e_vec), t_vec.detach().numpy())
    new = np.arange(t_vec.numel(), dtype=np.float64)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), tp)
    nn.utils.vector_to_parameters(em.tensor(new), ep)
    for t, e in zip(tp, ep):
        np.testing.assert_array_equal(_np(e), t.detach().numpy())


def test_utils_behaviour_and_bad_input():
    p = em.ones(3, requires_grad=True)
    (p * em.tensor([3.0, 4.0, 0.0])).sum().backward()
    total = nn.utils.clip_grad_norm_(p, 1.0)
    assert float(total.item()) == pytest.approx(5.0)
    np.testing.assert_allclose(_np(p.grad), [0.6, 0.8, 0.0], rtol=1e-5)
    assert float(nn.utils.clip_grad_norm_([em.zeros(2, requires_grad=True)], 1.0).item()) == 0
    bad = em.ones(1, requires_grad=True)
    bad.grad = em.tensor([float("nan")])
    with pytest.raises(RuntimeError, match="clip_grad_norm_.*non-finite"):
        nn.utils.clip_grad_norm_([bad], 1.0, error_if_nonfinite=True)
    with pytest.raises(TypeError, match="clip_grad_norm_"):
        nn.utils.clip_grad_norm_(3, 1.0)
    with pytest.raises(ValueError, match="clip_grad_value_"):
        nn.utils.clip_grad_value_([p], -1.0)
    with pytest.raises(ValueError, match="vector_to_parameters.*elements"):
        nn.utils.vector_to_parameters(em.zeros(4), [p])
    with pytest.raises(ValueError, match="vector_to_parameters.*1-D"):
        nn.utils.vector_to_parameters(em.zeros(1, 3), [p])
    with pytest.raises(ValueError, match="parameters_to_vector"):
        nn.utils.parameters_to_vector([])
    vec = nn.utils.parameters_to_vector(nn.Linear(3, 2).parameters())
    assert list(vec.shape) == [8] and vec.requires_grad
