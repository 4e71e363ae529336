"""The measured FMA ceiling binding and the float64 vector-maths paths on the CPU."""

import math

import numpy as np
import pytest

import ember as em
import ember.nn.functional as F
from ember import _C


def test_cpu_fma_peak_binding_returns_a_positive_rate():
    for threads in (1, 2):
        gflops = _C.cpu_fma_peak(threads, 0.01)
        assert isinstance(gflops, float)
        assert math.isfinite(gflops) and gflops > 0


def test_hardware_reports_measured_and_nominal_ceilings():
    from bench import hardware

    facts = hardware.cpu_facts()
    fma = hardware.fma_ceiling(facts, 2, repeats=1, seconds=0.01)
    assert fma["source"] == "measured" and fma["per_core_gflops"] > 0
    assert fma["all_threads_gflops"] > 0 and 1 <= fma["threads"] <= 2
    assert set(hardware.fma_nominal(facts, 2)) == {"per_core_gflops", "all_threads_gflops"}


# Wide and edge inputs: the vector kernels must agree with libm (through numpy)
# to a few ulp, including overflow, underflow and the special values.
_X = np.concatenate([np.linspace(-750, 750, 3001), np.linspace(-1, 1, 1001),
                     [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, 1e-310]])


@pytest.mark.parametrize("name, ref", [
    ("exp", np.exp),
    ("tanh", np.tanh),
    ("sigmoid", lambda v: np.where(v >= 0, 1 / (1 + np.exp(-v)), np.exp(v) / (1 + np.exp(v)))),
])
def test_float64_unary_matches_numpy(name, ref):
    got = getattr(em, name)(em.from_numpy(_X)).numpy()
    with np.errstate(over="ignore", invalid="ignore"):
        want = ref(_X)
    # A few ulp each for the kernel and for the numpy reference.
    np.testing.assert_allclose(got, want, rtol=2e-15, atol=0)


def test_float64_log_matches_numpy():
    x = np.abs(_X)
    with np.errstate(divide="ignore"):
        want = np.log(x)
    np.testing.assert_allclose(em.log(em.from_numpy(x)).numpy(), want, rtol=4.5e-16, atol=0)


def test_float64_softmax_and_cross_entropy():
    rng = np.random.default_rng(0)
    s = rng.standard_normal((37, 129)) * 5
    target = rng.integers(0, 129, 37)
    shifted = s - s.max(axis=1, keepdims=True)
    log_sm = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    es = em.from_numpy(s)
    np.testing.assert_allclose(em.log_softmax(es, dim=1).numpy(), log_sm, rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose(em.softmax(es, dim=1).numpy(), np.exp(log_sm), rtol=1e-14,
                               atol=1e-300)
    loss = F.cross_entropy(es, em.from_numpy(target)).numpy()
    np.testing.assert_allclose(loss, -log_sm[np.arange(37), target].mean(), rtol=1e-14)
