"""Loss modules and F.kl_div against PyTorch (values and input gradients), the
legacy size_average/reduce flags, state_dict keys and bad-input errors."""

import numpy as np
import pytest

import ember as em
from ember import nn
from ember.autograd.gradcheck import gradcheck
from ember.nn import functional as F


def _np(t):
    return t.detach().cpu().numpy()


def _rng(seed=0):
    return np.random.default_rng(seed)


def _run(torch, t_loss, e_loss, x, target, target_grad=False, device="cpu"):
    e_loss.to(device)
    tx, ex = torch.tensor(x, requires_grad=True), em.tensor(x, requires_grad=True, device=device)
    tt = torch.tensor(target, requires_grad=target_grad)
    et = em.tensor(target, requires_grad=target_grad, device=device)
    t_out, e_out = t_loss(tx, tt), e_loss(ex, et)
    np.testing.assert_allclose(_np(e_out), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = _rng(5).standard_normal(t_out.shape)
    t_out.backward(torch.tensor(g))
    e_out.backward(em.tensor(g, device=device))
    np.testing.assert_allclose(_np(ex.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-7)
    if target_grad:
        np.testing.assert_allclose(_np(et.grad), tt.grad.numpy(), rtol=1e-5, atol=1e-7)


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kwargs", [{}, {"ignore_index": 1}, {"label_smoothing": 0.2},
                                    {"weight": [0.5, 1.0, 2.0, 0.1, 1.5]}])
def test_cross_entropy_loss_matches_torch(reduction, kwargs, device):
    torch = pytest.importorskip("torch")
    x = _rng().standard_normal((7, 5))
    target = np.array([0, 1, 4, 3, 1, 2, 0], dtype=np.int64)
    t_kw, e_kw = dict(kwargs), dict(kwargs)
    if "weight" in kwargs:
        t_kw["weight"] = torch.tensor(kwargs["weight"], dtype=torch.float64)
        e_kw["weight"] = em.tensor(kwargs["weight"], dtype=em.float64, device=device)
    e_loss = nn.CrossEntropyLoss(reduction=reduction, **e_kw).to(device).to(device)
    _run(torch, torch.nn.CrossEntropyLoss(reduction=reduction, **t_kw), e_loss, x, target, device=device)
    if "weight" in kwargs:
        assert list(e_loss.state_dict()) == ["weight"]


def test_cross_entropy_loss_spatial_and_probabilities(device):
    torch = pytest.importorskip("torch")
    x = _rng().standard_normal((2, 3, 4, 5))
    target = _rng(1).integers(0, 3, (2, 4, 5))
    _run(torch, torch.nn.CrossEntropyLoss(), nn.CrossEntropyLoss().to(device).to(device), x, target, device=device)
    probs = _rng(2).dirichlet(np.ones(3), size=6)
    _run(torch, torch.nn.CrossEntropyLoss(), nn.CrossEntropyLoss().to(device).to(device),
         _rng(3).standard_normal((6, 3)), probs, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss_matches_torch(reduction, device):
    torch = pytest.importorskip("torch")
    x = np.log(_rng().dirichlet(np.ones(4), size=9))
    target = _rng(1).integers(0, 4, 9)
    weight = np.array([1.0, 0.5, 2.0, 0.0])
    _run(torch, torch.nn.NLLLoss(torch.tensor(weight), reduction=reduction, ignore_index=2),
         nn.NLLLoss(em.tensor(weight, device=device), reduction=reduction, ignore_index=2).to(device).to(device), x, target, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,kwargs", [("MSELoss", {}), ("L1Loss", {}), ("SmoothL1Loss", {}),
                                         ("SmoothL1Loss", {"beta": 0.3})])
def test_regression_losses_match_torch(name, kwargs, reduction, device):
    torch = pytest.importorskip("torch")
    x, target = _rng().standard_normal((3, 7)), _rng(1).standard_normal((3, 7))
    _run(torch, getattr(torch.nn, name)(reduction=reduction, **kwargs),
         getattr(nn, name)(reduction=reduction, **kwargs), x, target, target_grad=True, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_losses_match_torch(reduction, device):
    torch = pytest.importorskip("torch")
    logits, target = _rng().standard_normal((5, 3)), _rng(1).uniform(size=(5, 3))
    weight, pos_weight = _rng(2).uniform(size=3) + 0.5, np.array([1.0, 2.0, 0.5])
    _run(torch, torch.nn.BCEWithLogitsLoss(torch.tensor(weight), reduction=reduction,
                                           pos_weight=torch.tensor(pos_weight)),
         nn.BCEWithLogitsLoss(em.tensor(weight, device=device), reduction=reduction,
                              pos_weight=em.tensor(pos_weight, device=device)).to(device).to(device), logits, target, device=device)
    probs = 1 / (1 + np.exp(-logits))
    _run(torch, torch.nn.BCELoss(torch.tensor(weight), reduction=reduction),
         nn.BCELoss(em.tensor(weight, device=device), reduction=reduction).to(device).to(device), probs, target, device=device)
    assert list(nn.BCEWithLogitsLoss(pos_weight=em.ones(3, device=device)).to(device).to(device).state_dict()) == ["pos_weight"]


@pytest.mark.parametrize("reduction", ["mean", "batchmean", "sum", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_loss_matches_torch(reduction, log_target, device):
    torch = pytest.importorskip("torch")
    x = np.log(_rng().dirichlet(np.ones(5), size=4))
    target = _rng(1).dirichlet(np.ones(5), size=4)
    if log_target:
        target = np.log(target)
    t_loss = torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)
    e_loss = nn.KLDivLoss(reduction=reduction, log_target=log_target).to(device).to(device)
    _run(torch, t_loss, e_loss, x, target, target_grad=True, device=device)
    if not log_target:
        # Zero targets contribute 0 (torch's target gradient there is nan; ember's is finite).
        target[0, 1] = 0.0
        _run(torch, t_loss, e_loss, x, target, device=device)


def test_kl_div_gradcheck_and_broadcast(device):
    x = em.randn(3, 4, dtype=em.float64, requires_grad=True, device=device)
    t = em.rand(3, 4, dtype=em.float64, requires_grad=True, device=device)
    assert gradcheck(lambda x, t: F.kl_div(x, t, reduction="batchmean"), (x, t))
    assert gradcheck(lambda x, t: F.kl_div(x, t, log_target=True), (x, t))
    out = F.kl_div(em.zeros(2, 3, device=device), em.full((3,), 0.5, device=device), reduction="none")
    assert list(out.shape) == [2, 3]


def test_legacy_reduction_flags(device):
    assert nn.MSELoss(size_average=False).to(device).to(device).reduction == "sum"
    assert nn.L1Loss(reduce=False).to(device).to(device).reduction == "none"
    assert nn.NLLLoss(size_average=True, reduce=True).to(device).to(device).reduction == "mean"
    assert nn.MSELoss(reduction="sum").to(device).to(device).reduction == "sum"


def test_loss_bad_input():
    x = em.randn(3, 4)
    with pytest.raises(ValueError, match="cross_entropy"):
        nn.CrossEntropyLoss(reduction="avg")(x, em.tensor([0, 1, 2]))
    with pytest.raises((ValueError, IndexError), match="cross_entropy"):
        nn.CrossEntropyLoss()(x, em.tensor([0, 1]))
    with pytest.raises((ValueError, IndexError), match="nll_loss"):
        nn.NLLLoss()(x, em.tensor([0, 1, 9]))
    with pytest.raises(ValueError, match="mse_loss"):
        nn.MSELoss()(x, em.randn(3, 5))
    with pytest.raises(ValueError, match="kl_div"):
        nn.KLDivLoss(reduction="avg")(x, x)
    with pytest.raises(TypeError, match="kl_div"):
        F.kl_div(x, [1.0])
    with pytest.raises(TypeError, match="kl_div"):
        F.kl_div(x, em.ones(3, 4, dtype=em.int64))
