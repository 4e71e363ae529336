"""batch_norm, layer_norm, group_norm and dropout: forward against numpy,
gradients by gradcheck, PyTorch agreement (running statistics included),
dropout's seeding and statistics, and the errors bad arguments raise."""

import numpy as np
import pytest
from op_check import check_op, rand

import ember as em
import ember.nn.functional as F


def np_batch_norm(x, mean, var, weight=None, bias=None, eps=1e-5):
    shape = [1, x.shape[1]] + [1] * (x.ndim - 2)
    out = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


def np_batch_norm_train(x, weight=None, bias=None, eps=1e-5):
    axes = tuple(d for d in range(x.ndim) if d != 1)
    return np_batch_norm(x, x.mean(axis=axes), x.var(axis=axes), weight, bias, eps)


def np_layer_norm(x, k, weight=None, bias=None, eps=1e-5):
    axes = tuple(range(x.ndim - k, x.ndim))
    out = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


def np_group_norm(x, groups, weight=None, bias=None, eps=1e-5):
    n, c = x.shape[:2]
    g = x.reshape(n, groups, -1)
    out = ((g - g.mean(axis=2, keepdims=True)) / np.sqrt(g.var(axis=2, keepdims=True) + eps))
    out = out.reshape(x.shape)
    shape = [1, c] + [1] * (x.ndim - 2)
    if weight is not None:
        out = out * weight.reshape(shape)
    if bias is not None:
        out = out + bias.reshape(shape)
    return out


# ---------------------------------------------------------------- batch_norm

@pytest.mark.parametrize("shape", [(2, 3), (3, 4, 5), (2, 3, 1, 7), (1, 5, 13), (7, 1)])
def test_batch_norm_training_matches_numpy(shape, device):
    c = shape[1]
    check_op(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
             np_batch_norm_train, rand(*shape), rand(c), rand(c), device=device)
    check_op(lambda x: F.batch_norm(x, None, None, training=True),
             np_batch_norm_train, rand(*shape), device=device)


@pytest.mark.parametrize("shape", [(1, 3), (3, 4, 5), (2, 3, 1, 7), (0, 4, 3)])
def test_batch_norm_eval_matches_numpy(shape, device):
    c = shape[1]
    mean, var = rand(c), rand(c, low=0.5, high=2.0)

    def fn(x, w, b):
        return F.batch_norm(x, em.tensor(mean, dtype=x.dtype, device=device), em.tensor(var, dtype=x.dtype, device=device), w,
                            b, training=False)

    check_op(fn, lambda x, w, b: np_batch_norm(x, mean, var, w, b), rand(*shape), rand(c),
             rand(c), device=device)


def test_batch_norm_updates_running_stats_like_torch(device):
    torch = pytest.importorskip("torch")
    x = rand(6, 3, 5, 2)
    w, b = rand(3), rand(3)
    rm, rv = rand(3), rand(3, low=0.5, high=2.0)
    e_rm, e_rv = em.tensor(rm, device=device), em.tensor(rv, device=device)
    t_rm, t_rv = torch.tensor(rm), torch.tensor(rv)
    ex, ew, eb = (em.tensor(a, requires_grad=True, device=device) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    for training in (True, False):
        eo = F.batch_norm(ex, e_rm, e_rv, ew, eb, training=training, momentum=0.3, eps=1e-3)
        to = torch.nn.functional.batch_norm(tx, t_rm, t_rv, tw, tb, training=training,
                                            momentum=0.3, eps=1e-3)
        np.testing.assert_allclose(eo.detach().cpu().numpy(), to.detach().cpu().numpy(), atol=1e-12)
        np.testing.assert_allclose(e_rm.cpu().numpy(), t_rm.cpu().numpy(), atol=1e-12)
        np.testing.assert_allclose(e_rv.cpu().numpy(), t_rv.cpu().numpy(), atol=1e-12)
        g = rand(*x.shape)
        (eo * em.tensor(g, device=device)).sum().backward()
        (to * torch.tensor(g)).sum().backward()
        for e, t in ((ex, tx), (ew, tw), (eb, tb)):
            np.testing.assert_allclose(e.grad.cpu().numpy(), t.grad.cpu().numpy(), atol=1e-10)


def test_batch_norm_float32_is_accurate_with_a_large_offset(device):
    x = (rand(64, 2, 129) * 1e-2 + 1e4).astype(np.float32)
    out = F.batch_norm(em.tensor(x, device=device), None, None, training=True, eps=0.0).cpu().numpy()
    ref = np_batch_norm_train(x.astype(np.float64), eps=0.0)
    np.testing.assert_allclose(out, ref, atol=2e-2)


def test_batch_norm_bad_inputs():
    x = em.randn(4, 3, 5)
    with pytest.raises(ValueError, match="batch_norm.*running_mean and running_var"):
        F.batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match=r"batch_norm: expected weight of shape \[3\]"):
        F.batch_norm(x, None, None, em.ones(4), training=True)
    with pytest.raises(ValueError, match="batch_norm: expected more than 1 value per channel"):
        F.batch_norm(em.randn(1, 3), None, None, training=True)
    with pytest.raises(ValueError, match=r"batch_norm: expected input of shape \(N, C, \*\)"):
        F.batch_norm(em.randn(3), em.zeros(3), em.ones(3))
    with pytest.raises(TypeError, match="batch_norm: running_mean has dtype float64"):
        F.batch_norm(x, em.zeros(3, dtype=em.float64), em.ones(3))
    with pytest.raises(TypeError, match="batch_norm: expected a floating-point input"):
        F.batch_norm(em.zeros(4, 3, dtype=em.int64), em.zeros(3), em.ones(3))


# ---------------------------------------------------------------- layer_norm

@pytest.mark.parametrize("shape,k", [((7,), 1), ((3, 5, 4), 1), ((3, 5, 4), 2), ((2, 1, 33), 1),
                                     ((0, 5), 1), ((4, 1), 1)])
def test_layer_norm_matches_numpy(shape, k, device):
    ns = list(shape[len(shape) - k:])
    check_op(lambda x, w, b: F.layer_norm(x, ns, w, b), lambda x, w, b: np_layer_norm(x, k, w, b),
             rand(*shape), rand(*ns), rand(*ns), device=device)
    check_op(lambda x: em.layer_norm(x, ns, eps=1e-3),
             lambda x: np_layer_norm(x, k, eps=1e-3), rand(*shape), device=device)


def test_layer_norm_matches_torch(device):
    torch = pytest.importorskip("torch")
    x, w, b = rand(4, 7, 6), rand(7, 6), rand(7, 6)
    ex, ew, eb = (em.tensor(a, requires_grad=True, device=device) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    eo = F.layer_norm(ex, (7, 6), ew, eb)
    to = torch.nn.functional.layer_norm(tx, (7, 6), tw, tb)
    np.testing.assert_allclose(eo.detach().cpu().numpy(), to.detach().cpu().numpy(), atol=1e-12)
    g = rand(*x.shape)
    (eo * em.tensor(g, device=device)).sum().backward()
    (to * torch.tensor(g)).sum().backward()
    for e, t in ((ex, tx), (ew, tw), (eb, tb)):
        np.testing.assert_allclose(e.grad.cpu().numpy(), t.grad.cpu().numpy(), atol=1e-10)


def test_layer_norm_bad_inputs():
    x = em.randn(3, 4)
    with pytest.raises(ValueError, match="layer_norm: normalized_shape .* doesn't match"):
        F.layer_norm(x, (5,))
    with pytest.raises(ValueError, match=r"layer_norm: expected weight of shape \[4\]"):
        F.layer_norm(x, (4,), em.ones(3))
    with pytest.raises(ValueError, match="layer_norm: normalized_shape must have"):
        F.layer_norm(x, ())
    with pytest.raises(ValueError, match="layer_norm: eps"):
        F.layer_norm(x, 4, eps=-1.0)


# ---------------------------------------------------------------- group_norm

@pytest.mark.parametrize("shape,groups", [((2, 6, 5), 3), ((2, 6, 5), 1), ((3, 6, 2, 3), 6),
                                          ((1, 4), 2), ((5, 3, 7), 3)])
def test_group_norm_matches_numpy(shape, groups, device):
    c = shape[1]
    check_op(lambda x, w, b: F.group_norm(x, groups, w, b),
             lambda x, w, b: np_group_norm(x, groups, w, b), rand(*shape), rand(c), rand(c), device=device)
    check_op(lambda x: em.group_norm(x, groups), lambda x: np_group_norm(x, groups),
             rand(*shape), device=device)


def test_group_norm_matches_torch(device):
    torch = pytest.importorskip("torch")
    x, w, b = rand(3, 8, 5, 2), rand(8), rand(8)
    ex, ew, eb = (em.tensor(a, requires_grad=True, device=device) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    eo = F.group_norm(ex, 4, ew, eb)
    to = torch.nn.functional.group_norm(tx, 4, tw, tb)
    np.testing.assert_allclose(eo.detach().cpu().numpy(), to.detach().cpu().numpy(), atol=1e-12)
    g = rand(*x.shape)
    (eo * em.tensor(g, device=device)).sum().backward()
    (to * torch.tensor(g)).sum().backward()
    for e, t in ((ex, tx), (ew, tw), (eb, tb)):
        np.testing.assert_allclose(e.grad.cpu().numpy(), t.grad.cpu().numpy(), atol=1e-10)


def test_group_norm_bad_inputs():
    x = em.randn(2, 6, 3)
    with pytest.raises(ValueError, match="group_norm: expected the number of channels 6 to be "
                                         "divisible by num_groups 4"):
        F.group_norm(x, 4)
    with pytest.raises(ValueError, match="group_norm: num_groups must be positive"):
        F.group_norm(x, 0)
    with pytest.raises(ValueError, match=r"group_norm: expected bias of shape \[6\]"):
        F.group_norm(x, 3, None, em.ones(2))
    with pytest.raises(ValueError, match=r"group_norm: expected input of shape \(N, C, \*\)"):
        F.group_norm(em.randn(6), 3)


# ---------------------------------------------------------------- dropout

def test_dropout_same_seed_same_mask_and_scaling(device):
    em.manual_seed(7)
    a = F.dropout(em.ones(4099, device=device), 0.3)
    em.manual_seed(7)
    b = F.dropout(em.ones(4099, device=device), 0.3)
    np.testing.assert_array_equal(a.cpu().numpy(), b.cpu().numpy())
    kept = a.cpu().numpy()[a.cpu().numpy() != 0]
    np.testing.assert_allclose(kept, np.full(kept.shape, 1 / 0.7), rtol=1e-6)
    assert abs((a.cpu().numpy() == 0).mean() - 0.3) < 0.05


def test_dropout_identity_cases_and_p_one(device):
    x = em.randn(3, 5, device=device)
    assert F.dropout(x, 0.5, training=False) is x
    np.testing.assert_array_equal(F.dropout(x, 0.0).cpu().numpy(), x.cpu().numpy())
    np.testing.assert_array_equal(F.dropout(x, 1.0).cpu().numpy(), np.zeros((3, 5), np.float32))
    assert F.dropout(em.randn(0, 4, device=device), 0.5).shape == (0, 4)


def test_dropout_gradient_is_the_mask(device):
    x = em.randn(7, 33, dtype=em.float64, requires_grad=True, device=device)
    out = F.dropout(x, 0.4)
    out.sum().backward()
    mask = out.detach().cpu().numpy() / x.detach().cpu().numpy()
    np.testing.assert_allclose(x.grad.cpu().numpy(), mask, rtol=1e-12)


def test_dropout_inplace_and_strided(device):
    x = em.ones(4, 6, device=device)
    view = x.t()
    out = em.dropout(view, 0.5, inplace=True)
    assert out is view
    vals = set(np.unique(x.cpu().numpy()))
    assert vals <= {0.0, 2.0}
    y = em.ones(5, 8, device=device).transpose(0, 1)
    assert set(np.unique(y.dropout(0.5).cpu().numpy())) <= {0.0, 2.0}


def test_dropout_statistics_match_torch(device):
    torch = pytest.importorskip("torch")
    x = em.ones(20000, device=device)
    ours = (F.dropout(x, 0.25).cpu().numpy() == 0).mean()
    theirs = (torch.nn.functional.dropout(torch.ones(20000), 0.25) == 0).float().mean().item()
    assert abs(ours - theirs) < 0.03


def test_dropout_bad_inputs():
    x = em.randn(3)
    with pytest.raises(ValueError, match="dropout: probability has to be between 0 and 1"):
        F.dropout(x, 1.5)
    with pytest.raises(ValueError, match="dropout: probability"):
        F.dropout(x, -0.1, training=False)
    with pytest.raises(TypeError, match="dropout: expected a floating-point input"):
        F.dropout(em.zeros(3, dtype=em.int64), 0.5)


def test_layer_norm_weight_on_another_device_names_the_op(cuda_device):
    x = em.randn(2, 4, device=cuda_device)
    with pytest.raises((RuntimeError, ValueError), match="layer_norm"):
        F.layer_norm(x, (4,), em.ones(4), em.zeros(4))
