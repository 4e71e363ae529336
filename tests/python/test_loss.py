"""Losses: forward against numpy, gradients by gradcheck, PyTorch agreement
(weights, ignore_index, label smoothing, every reduction), and the errors
bad arguments raise."""

import numpy as np
import pytest
from op_check import check_op, rand

import ember as em
import ember.nn.functional as F

rng = np.random.default_rng(99)
REDUCTIONS = ["mean", "sum", "none"]


def np_reduce(loss, reduction, denominator=None):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.array(loss.sum())
    with np.errstate(invalid="ignore"):  # an empty or all-ignored mean is nan, as in PyTorch
        return np.array(loss.sum() / (loss.size if denominator is None else denominator))


def np_log_softmax(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


def np_cross_entropy(x, t, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    axis = 0 if x.ndim == 1 else 1
    c = x.shape[axis]
    logp = np.moveaxis(np_log_softmax(x, axis), axis, -1)
    w = np.ones(c) if weight is None else weight
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    picked = np.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]
    nll = -w[safe] * picked
    smooth = -(logp * w).sum(axis=-1)
    loss = np.where(valid, (1 - smoothing) * nll + smoothing / c * smooth, 0.0)
    return np_reduce(loss, reduction, np.where(valid, w[safe], 0.0).sum())


def np_nll(x, t, weight=None, ignore_index=-100, reduction="mean"):
    axis = 0 if x.ndim == 1 else 1
    lp = np.moveaxis(x, axis, -1)
    w = np.ones(x.shape[axis]) if weight is None else weight
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    loss = np.where(valid, -w[safe] * np.take_along_axis(lp, safe[..., None], -1)[..., 0], 0.0)
    return np_reduce(loss, reduction, np.where(valid, w[safe], 0.0).sum())


def targets(shape, classes, ignore=True):
    t = rng.integers(0, classes, size=shape)
    if ignore and t.size > 1:
        t.flat[1] = -100
    return t


# ---------------------------------------------------------------- cross_entropy

CLASS_SHAPES = [((7, 5), (7,)), ((3, 5, 4, 2), (3, 4, 2)), ((5,), ()), ((1, 1), (1,)),
                ((13, 3, 7), (13, 7))]


@pytest.mark.parametrize("shape,tshape", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_matches_numpy(shape, tshape, reduction, device):
    c = shape[0] if len(shape) == 1 else shape[1]
    t = targets(tshape, c)
    w = rand(c, low=0.5, high=2.0)
    check_op(lambda x: F.cross_entropy(x, em.tensor(t, device=device), reduction=reduction),
             lambda x: np_cross_entropy(x, t, reduction=reduction), rand(*shape) * 3, device=device)
    check_op(lambda x: F.cross_entropy(x, em.tensor(t, device=device), em.tensor(w, dtype=x.dtype, device=device),
                                       reduction=reduction, label_smoothing=0.2),
             lambda x: np_cross_entropy(x, t, w, reduction=reduction, smoothing=0.2),
             rand(*shape) * 3, device=device)


def test_cross_entropy_is_stable_for_huge_logits(device):
    x = em.tensor([[1e4, 0.0, -1e4], [-1e30, 1e30, 0.0]], device=device)
    loss = F.cross_entropy(x, em.tensor([0, 0], device=device), reduction="none").cpu().numpy()
    np.testing.assert_allclose(loss, [0.0, 2e30], rtol=1e-6)


def test_cross_entropy_probability_targets(device):
    p = rng.uniform(0, 1, size=(6, 4))

    def ref(x):
        return np.array((-(p * np_log_softmax(x, 1)).sum(axis=1)).mean())

    check_op(lambda x: F.cross_entropy(x, em.tensor(p, dtype=x.dtype, device=device)), ref, rand(6, 4), device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_cross_entropy_matches_torch(reduction, smoothing, device):
    torch = pytest.importorskip("torch")
    for shape, tshape in CLASS_SHAPES:
        c = shape[0] if len(shape) == 1 else shape[1]
        x, t, w = rand(*shape), targets(tshape, c), rand(c, low=0.5, high=2.0)
        for weight in (None, w):
            ex, tx = em.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
            eo = F.cross_entropy(ex, em.tensor(t, device=device), None if weight is None else em.tensor(w, device=device),
                                 reduction=reduction, label_smoothing=smoothing)
            to = torch.nn.functional.cross_entropy(
                tx, torch.tensor(t), None if weight is None else torch.tensor(w),
                reduction=reduction, label_smoothing=smoothing)
            np.testing.assert_allclose(eo.detach().cpu().numpy(), to.detach().cpu().numpy(), atol=1e-12)
            g = rand(*to.shape)
            (eo * em.tensor(g, device=device)).sum().backward()
            (to * torch.tensor(g)).sum().backward()
            np.testing.assert_allclose(ex.grad.cpu().numpy(), tx.grad.cpu().numpy(), atol=1e-12)
        p = rng.uniform(0, 1, size=shape)
        ex, tx = em.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
        eo = F.cross_entropy(ex, em.tensor(p, device=device), reduction=reduction, label_smoothing=smoothing)
        to = torch.nn.functional.cross_entropy(tx, torch.tensor(p), reduction=reduction,
                                               label_smoothing=smoothing)
        np.testing.assert_allclose(eo.detach().cpu().numpy(), to.detach().cpu().numpy(), atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5), (4,)])
def test_cross_entropy_probability_target_gradients(reduction, shape, device):
    c = shape[0] if len(shape) == 1 else shape[1]
    w = rand(c, low=0.5, high=2.0)
    inputs = (em.tensor(rand(*shape), requires_grad=True, device=device),
              em.tensor(rng.uniform(0, 1, size=shape), requires_grad=True, device=device))
    em.autograd.gradcheck(
        lambda x, p: F.cross_entropy(x, p, em.tensor(w, device=device), reduction=reduction,
                                     label_smoothing=0.1), inputs)


def test_cross_entropy_all_ignored_mean_is_nan_like_torch(device):
    loss = F.cross_entropy(em.randn(3, 4, device=device), em.tensor([-100, -100, -100], device=device))
    assert np.isnan(loss.item())


def test_cross_entropy_bad_inputs():
    x = em.randn(4, 5)
    with pytest.raises(IndexError, match="cross_entropy: target 5 is out of bounds for 5"):
        F.cross_entropy(x, em.tensor([0, 1, 5, 2]))
    with pytest.raises(IndexError, match="cross_entropy: target -3 is out of bounds"):
        F.cross_entropy(x, em.tensor([0, 1, -3, 2]))
    with pytest.raises(ValueError, match=r"cross_entropy: expected target of shape \[4\]"):
        F.cross_entropy(x, em.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"cross_entropy: expected weight of shape \[5\]"):
        F.cross_entropy(x, em.tensor([0, 1, 2, 3]), em.ones(3))
    with pytest.raises(ValueError, match="cross_entropy: reduction must be"):
        F.cross_entropy(x, em.tensor([0, 1, 2, 3]), reduction="avg")
    with pytest.raises(ValueError, match="cross_entropy: label_smoothing"):
        F.cross_entropy(x, em.tensor([0, 1, 2, 3]), label_smoothing=1.5)
    with pytest.raises(TypeError, match="cross_entropy: expected a floating-point input"):
        F.cross_entropy(em.zeros(4, 5, dtype=em.int64), em.tensor([0, 1, 2, 3]))
    with pytest.raises(TypeError, match="cross_entropy: target must be a Tensor"):
        F.cross_entropy(x, [0, 1, 2, 3])
    with pytest.raises(ValueError, match="cross_entropy: probability target of shape"):
        F.cross_entropy(x, em.randn(4, 4))


# ---------------------------------------------------------------- nll_loss

@pytest.mark.parametrize("shape,tshape", CLASS_SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_numpy(shape, tshape, reduction, device):
    c = shape[0] if len(shape) == 1 else shape[1]
    t = targets(tshape, c)
    w = rand(c, low=0.5, high=2.0)
    check_op(lambda x: F.nll_loss(x, em.tensor(t, device=device), em.tensor(w, dtype=x.dtype, device=device),
                                  reduction=reduction),
             lambda x: np_nll(x, t, w, reduction=reduction), rand(*shape), device=device)
    t = targets(tshape, c, ignore=False)
    check_op(lambda x: F.nll_loss(x, em.tensor(t, device=device), ignore_index=0, reduction=reduction),
             lambda x: np_nll(x, t, ignore_index=0, reduction=reduction), rand(*shape), device=device)


def test_nll_loss_matches_torch(device):
    torch = pytest.importorskip("torch")
    x, t, w = rand(9, 4, 3), targets((9, 3), 4), rand(4, low=0.5, high=2.0)
    for reduction in REDUCTIONS:
        ex, tx = em.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
        eo = F.nll_loss(ex, em.tensor(t, device=device), em.tensor(w, device=device), reduction=reduction)
        to = torch.nn.functional.nll_loss(tx, torch.tensor(t), torch.tensor(w),
                                          reduction=reduction)
        np.testing.assert_allclose(eo.detach().cpu().numpy(), to.detach().cpu().numpy(), atol=1e-12)
        g = rand(*to.shape)
        (eo * em.tensor(g, device=device)).sum().backward()
        (to * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(ex.grad.cpu().numpy(), tx.grad.cpu().numpy(), atol=1e-12)


def test_nll_loss_bad_inputs():
    x = em.randn(3, 4)
    with pytest.raises(IndexError, match="nll_loss: target 4 is out of bounds for 4 classes"):
        F.nll_loss(x, em.tensor([0, 4, 1]))
    with pytest.raises(TypeError, match="nll_loss: expected int64 class indices"):
        F.nll_loss(x, em.randn(3, 4))
    with pytest.raises(ValueError, match=r"nll_loss: expected target of shape \[3\]"):
        F.nll_loss(x, em.tensor([[0, 1, 1]]))
    with pytest.raises(ValueError, match="nll_loss: reduction must be"):
        F.nll_loss(x, em.tensor([0, 1, 1]), reduction=None)


# ---------------------------------------------------------------- pointwise losses

def np_smooth_l1(x, t, beta):
    d = np.abs(x - t)
    return np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)


def np_bce(x, t, w=None):
    out = -(t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log(1 - x), -100))
    return out if w is None else out * w


def np_bce_logits(x, t, w=None, pw=None):
    log_sig = -np.logaddexp(0, -x)
    log_one_minus = -np.logaddexp(0, x)
    pw = 1.0 if pw is None else pw
    out = -(pw * t * log_sig + (1 - t) * log_one_minus)
    return out if w is None else out * w


PAIRS = [((7,), (7,)), ((3, 1), (1, 4)), ((2, 5, 3), (3,)), ((1,), (6, 1)), ((0, 3), (0, 3))]


@pytest.mark.parametrize("xs,ts", PAIRS)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_regression_losses_match_numpy(xs, ts, reduction, device):
    x, t = rand(*xs), rand(*ts)
    check_op(lambda a, b: F.mse_loss(a, b, reduction=reduction),
             lambda a, b: np_reduce((a - b) ** 2, reduction), x, t, device=device)
    check_op(lambda a, b: F.l1_loss(a, b, reduction=reduction),
             lambda a, b: np_reduce(np.abs(a - b), reduction), x, t, device=device)
    for beta in (1.0, 0.3):
        check_op(lambda a, b, beta=beta: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta),
                 lambda a, b, beta=beta: np_reduce(np_smooth_l1(a, b, beta), reduction), x, t, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropies_match_numpy(reduction, device):
    x, t, w = rand(5, 3, low=0.05, high=0.95), rand(5, 3, low=0, high=1), rand(3, low=0.5)
    check_op(lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
             lambda a, b: np_reduce(np_bce(a, b), reduction), x, t, device=device)
    check_op(lambda a, b, c: F.binary_cross_entropy(a, b, c, reduction=reduction),
             lambda a, b, c: np_reduce(np_bce(a, b, c), reduction), x, t, w, device=device)
    logits, pw = rand(5, 3) * 4, rand(3, low=0.5, high=3)
    check_op(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction),
             lambda a, b: np_reduce(np_bce_logits(a, b), reduction), logits, t, device=device)

    def with_pos_weight(a, b, c):
        return F.binary_cross_entropy_with_logits(a, b, c, reduction, em.tensor(pw, dtype=a.dtype, device=device))

    check_op(with_pos_weight, lambda a, b, c: np_reduce(np_bce_logits(a, b, c, pw), reduction),
             logits, t, w, device=device)


def test_binary_cross_entropy_with_logits_is_stable_and_bce_clamps(device):
    x = em.tensor([1000.0, -1000.0, 0.0], device=device)
    t = em.tensor([0.0, 1.0, 1.0], device=device)
    out = F.binary_cross_entropy_with_logits(x, t, reduction="none").cpu().numpy()
    np.testing.assert_allclose(out, [1000.0, 1000.0, np.log(2)], rtol=1e-6)
    out = F.binary_cross_entropy(em.tensor([0.0, 1.0], device=device), em.tensor([1.0, 0.0], device=device), reduction="none")
    np.testing.assert_allclose(out.cpu().numpy(), [100.0, 100.0])


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "smooth_l1_loss",
                                  "binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_pointwise_losses_match_torch(name, device):
    torch = pytest.importorskip("torch")
    x, t = rand(4, 7, low=0.02, high=0.98), rand(4, 7, low=0, high=1)
    for reduction in REDUCTIONS:
        ex, et = em.tensor(x, requires_grad=True, device=device), em.tensor(t, requires_grad=True, device=device)
        tx, tt = torch.tensor(x, requires_grad=True), torch.tensor(t, requires_grad=True)
        eo = getattr(F, name)(ex, et, reduction=reduction)
        to = getattr(torch.nn.functional, name)(tx, tt, reduction=reduction)
        np.testing.assert_allclose(eo.detach().cpu().numpy(), to.detach().cpu().numpy(), atol=1e-12)
        g = rand(*to.shape)
        (eo * em.tensor(g, device=device)).sum().backward()
        (to * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(ex.grad.cpu().numpy(), tx.grad.cpu().numpy(), atol=1e-12)
        np.testing.assert_allclose(et.grad.cpu().numpy(), tt.grad.cpu().numpy(), atol=1e-12)


def test_pointwise_losses_bad_inputs():
    x = em.rand(3, 4)
    with pytest.raises(ValueError, match=r"mse_loss: .*\[3, 4\].*\[5\]"):
        F.mse_loss(x, em.rand(5))
    with pytest.raises(TypeError, match="l1_loss: target .* must have the dtype of input"):
        F.l1_loss(x, em.rand(3, 4, dtype=em.float64))
    with pytest.raises(ValueError, match="smooth_l1_loss: beta must be >= 0"):
        F.smooth_l1_loss(x, x, beta=-1.0)
    with pytest.raises(ValueError, match="binary_cross_entropy: all elements of input should "
                                         "be between 0 and 1"):
        F.binary_cross_entropy(x + 1, x)
    with pytest.raises(ValueError, match="binary_cross_entropy: target of shape"):
        F.binary_cross_entropy(x, em.rand(4))
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: .*\[5\]"):
        F.binary_cross_entropy_with_logits(x, x, pos_weight=em.ones(5))
    with pytest.raises(ValueError, match="mse_loss: reduction must be"):
        F.mse_loss(x, x, reduction="mean ")
    with pytest.raises(TypeError, match="mse_loss: expected a floating-point input"):
        F.mse_loss(em.zeros(3, dtype=em.int64), em.zeros(3, dtype=em.int64))


def test_cross_entropy_target_on_another_device_names_the_op(cuda_device):
    logits = em.randn(3, 5, device=cuda_device)
    with pytest.raises((RuntimeError, ValueError), match="cross_entropy|nll_loss"):
        F.cross_entropy(logits, em.tensor([0, 4, 2]))
