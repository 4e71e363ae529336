"""Optimizers: trajectories against PyTorch's (same start, same loss, every option that
matters), parameter groups, state_dict round trips, the base-class contract and errors."""

import copy

import numpy as np
import pytest

import ember as em

STEPS = 25
rng = np.random.default_rng(0)
W0 = rng.standard_normal((5, 3))
B0 = rng.standard_normal(3)
X = rng.standard_normal((7, 5))
Y = rng.standard_normal((7, 3))


def _loss(lib, w, b, x, y):
    out = x @ w + b - y
    return (out * out).mean() + (w * w * w).sum() * 0.01


def ember_params(dtype=em.float64, device="cpu"):
    w = em.tensor(W0, dtype=dtype, requires_grad=True, device=device)
    b = em.tensor(B0, dtype=dtype, requires_grad=True, device=device)
    return w, b


def ember_step(opt, w, b, dtype=em.float64):
    opt.zero_grad()
    loss = _loss(em, w, b, em.tensor(X, dtype=dtype, device=w.device),
                 em.tensor(Y, dtype=dtype, device=w.device))
    loss.backward()
    opt.step()


def ember_trajectory(cls, kwargs, steps=STEPS, dtype=em.float64, groups=None, device="cpu"):
    w, b = ember_params(dtype, device)
    params = groups(w, b) if groups else [w, b]
    opt = cls(params, **kwargs)
    out = []
    for _ in range(steps):
        ember_step(opt, w, b, dtype)
        out.append((w.detach().cpu().numpy().copy(), b.detach().cpu().numpy().copy()))
    return out


def torch_trajectory(torch, cls_name, kwargs, steps=STEPS, dtype="float64", groups=None):
    tdtype = getattr(torch, dtype)
    w = torch.tensor(W0, dtype=tdtype, requires_grad=True)
    b = torch.tensor(B0, dtype=tdtype, requires_grad=True)
    params = groups(w, b) if groups else [w, b]
    opt = getattr(torch.optim, cls_name)(params, **kwargs)
    x, y = torch.tensor(X, dtype=tdtype), torch.tensor(Y, dtype=tdtype)
    out = []
    for _ in range(steps):
        opt.zero_grad()
        _loss(torch, w, b, x, y).backward()
        opt.step()
        out.append((w.detach().numpy().copy(), b.detach().numpy().copy()))
    return out


def assert_same_trajectory(ours, theirs, rtol=1e-9, atol=1e-11):
    assert len(ours) == len(theirs)
    for step, ((w, b), (tw, tb)) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(w, tw, rtol=rtol, atol=atol, err_msg=f"step {step} weight")
        np.testing.assert_allclose(b, tb, rtol=rtol, atol=atol, err_msg=f"step {step} bias")


CASES = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.5, "maximize": True}),
    ("SGD", {}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.05, "maximize": True}),
    ("Adam", {}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    ("AdamW", {"lr": 0.05, "betas": (0.5, 0.99), "eps": 1e-6, "maximize": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.01, "centered": True}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.5, "weight_decay": 0.1, "alpha": 0.9}),
    ("RMSprop", {"lr": 0.01, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6, "maximize": True}),
]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_trajectory_matches_pytorch(name, kwargs, device):
    torch = pytest.importorskip("torch")
    ours = ember_trajectory(getattr(em.optim, name), kwargs, device=device)
    assert_same_trajectory(ours, torch_trajectory(torch, name, kwargs))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_float32_trajectory_matches_pytorch(name, device):
    torch = pytest.importorskip("torch")
    kwargs = {"lr": 0.01, "momentum": 0.9} if name in ("SGD", "RMSprop") else {"lr": 0.01}
    ours = ember_trajectory(getattr(em.optim, name), kwargs, dtype=em.float32, device=device)
    theirs = torch_trajectory(torch, name, kwargs, dtype="float32")
    assert_same_trajectory(ours, theirs, rtol=1e-4, atol=1e-5)


def test_trajectory_without_pytorch_decreases_loss(device):
    w, b = ember_params(device=device)
    opt = em.optim.Adam([w, b], lr=0.05)
    x, y = em.tensor(X, dtype=em.float64, device=device), em.tensor(Y, dtype=em.float64, device=device)
    first = _loss(em, w, b, x, y).item()
    for _ in range(STEPS):
        ember_step(opt, w, b)
    assert _loss(em, w, b, x, y).item() < first


def test_per_group_options_match_pytorch(device):
    torch = pytest.importorskip("torch")

    def groups(w, b):
        return [{"params": [w], "lr": 0.02, "momentum": 0.5}, {"params": [b]}]

    kwargs = {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}
    ours = ember_trajectory(em.optim.SGD, kwargs, groups=groups, device=device)
    assert_same_trajectory(ours, torch_trajectory(torch, "SGD", kwargs, groups=groups))

    def adam_groups(w, b):
        return [{"params": [w], "betas": (0.5, 0.9), "amsgrad": True}, {"params": [b]}]

    ours = ember_trajectory(em.optim.Adam, {"lr": 0.05}, groups=adam_groups, device=device)
    theirs = torch_trajectory(torch, "Adam", {"lr": 0.05}, groups=adam_groups)
    assert_same_trajectory(ours, theirs)


def test_groups_take_defaults():
    w, b = ember_params()
    opt = em.optim.SGD([{"params": [w], "lr": 0.5}, {"params": b}], lr=0.1, momentum=0.9)
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[1]["lr"] == 0.1
    assert opt.param_groups[1]["momentum"] == 0.9
    assert opt.param_groups[1]["params"] == [b]


@pytest.mark.parametrize("name,kwargs", [
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("Adam", {"lr": 0.05, "amsgrad": True}),
    ("AdamW", {"lr": 0.05}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.9}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01}),
])
def test_state_dict_round_trip_continues_the_trajectory(name, kwargs, device):
    cls = getattr(em.optim, name)
    straight = ember_trajectory(cls, kwargs, steps=20, device=device)

    w, b = ember_params(device=device)
    opt = cls([w, b], **kwargs)
    for _ in range(10):
        ember_step(opt, w, b)
    saved = copy.deepcopy(opt.state_dict())
    w2 = em.tensor(w.detach().cpu().numpy(), dtype=em.float64, requires_grad=True, device=device)
    b2 = em.tensor(b.detach().cpu().numpy(), dtype=em.float64, requires_grad=True, device=device)
    del opt, w, b
    resumed = cls([w2, b2], lr=123.0)
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["lr"] == kwargs["lr"]
    for i in range(10):
        ember_step(resumed, w2, b2)
        np.testing.assert_allclose(w2.detach().cpu().numpy(), straight[10 + i][0], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(b2.detach().cpu().numpy(), straight[10 + i][1], rtol=1e-12, atol=1e-14)


def test_state_dict_layout_and_load_copies(device):
    w, b = ember_params(device=device)
    opt = em.optim.Adam([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    ember_step(opt, w, b)
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert sd["param_groups"][1]["lr"] == 0.5
    assert set(sd["state"]) == {0, 1}
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}
    assert sd["state"][0]["step"] == 1
    other = em.optim.Adam([{"params": [w]}, {"params": [b]}], lr=0.1)
    other.load_state_dict(sd)
    before = sd["state"][0]["exp_avg"].cpu().numpy().copy()
    ember_step(other, w, b)
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"].cpu().numpy(), before)


def test_state_dict_loads_into_pytorch_compatible_layout(device):
    torch = pytest.importorskip("torch")
    w, b = ember_params(device=device)
    opt = em.optim.SGD([w, b], lr=0.1, momentum=0.9)
    ember_step(opt, w, b)
    ours = opt.state_dict()
    tw = torch.tensor(W0, requires_grad=True)
    tb = torch.tensor(B0, requires_grad=True)
    topt = torch.optim.SGD([tw, tb], lr=0.1, momentum=0.9)
    topt.zero_grad()
    _loss(torch, tw, tb, torch.tensor(X), torch.tensor(Y)).backward()
    topt.step()
    theirs = topt.state_dict()
    assert [g["params"] for g in ours["param_groups"]] == \
        [g["params"] for g in theirs["param_groups"]]
    assert set(ours["state"]) == set(theirs["state"])
    np.testing.assert_allclose(ours["state"][0]["momentum_buffer"].cpu().numpy(),
                               theirs["state"][0]["momentum_buffer"].cpu().numpy(), rtol=1e-12)


def test_load_state_dict_rejects_mismatched_groups():
    w, b = ember_params()
    opt = em.optim.SGD([w, b], lr=0.1)
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="SGD.load_state_dict: .*2 parameters.* has 1"):
        em.optim.SGD([w], lr=0.1).load_state_dict(sd)
    two_groups = em.optim.SGD([{"params": [w]}, {"params": [b]}], lr=0.1)
    with pytest.raises(ValueError, match="SGD.load_state_dict: .*1 parameter groups"):
        two_groups.load_state_dict(sd)
    with pytest.raises(ValueError, match="SGD.load_state_dict"):
        opt.load_state_dict({"state": {}})


def test_zero_grad(device):
    w, b = ember_params(device=device)
    opt = em.optim.SGD([w, b], lr=0.1)
    ember_step(opt, w, b)
    opt.zero_grad(set_to_none=False)
    assert w.grad is not None and not w.grad.cpu().numpy().any()
    opt.zero_grad()
    assert w.grad is None and b.grad is None


def test_step_with_closure_returns_loss_and_skips_params_without_grad(device):
    w, b = ember_params(device=device)
    frozen = em.tensor([1.0, 2.0], dtype=em.float64, requires_grad=True, device=device)
    opt = em.optim.Adam([w, b, frozen], lr=0.1)
    x, y = em.tensor(X, dtype=em.float64, device=device), em.tensor(Y, dtype=em.float64, device=device)

    def closure():
        opt.zero_grad()
        loss = _loss(em, w, b, x, y)
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert isinstance(loss, em.Tensor)
    np.testing.assert_array_equal(frozen.detach().cpu().numpy(), [1.0, 2.0])
    assert frozen not in opt.state


def test_step_records_no_graph_and_bumps_versions():
    w, b = ember_params()
    opt = em.optim.SGD([w, b], lr=0.1, momentum=0.9)
    before = w._version
    ember_step(opt, w, b)
    assert w._version > before
    assert w.is_leaf and w.grad_fn is None and w.requires_grad
    assert opt.state[w]["momentum_buffer"].grad_fn is None


def test_updates_through_non_contiguous_gradients(device):
    w = em.tensor(W0, dtype=em.float64, requires_grad=True, device=device)
    w.grad = em.tensor(W0.T.copy(), dtype=em.float64, device=device).t()
    assert not w.grad.is_contiguous()
    em.optim.SGD([w], lr=0.5).step()
    np.testing.assert_allclose(w.detach().cpu().numpy(), W0 * 0.5)


def test_add_param_group_errors():
    w, b = ember_params()
    opt = em.optim.SGD([w], lr=0.1)
    opt.add_param_group({"params": b, "lr": 0.2})
    assert len(opt.param_groups) == 2 and opt.param_groups[1]["lr"] == 0.2
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [w]})
    with pytest.raises(TypeError, match="SGD: can only optimize Tensors"):
        opt.add_param_group({"params": [1.0]})
    with pytest.raises(ValueError, match="non-leaf"):
        opt.add_param_group({"params": [w * 2]})
    with pytest.raises(TypeError, match="SGD: .*must be a dict"):
        opt.add_param_group([w])


def test_constructor_errors():
    w, _ = ember_params()
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        em.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="SGD: params .* got a Tensor"):
        em.optim.SGD(w, lr=0.1)
    with pytest.raises(ValueError, match="SGD: Invalid learning rate: -0.1"):
        em.optim.SGD([w], lr=-0.1)
    with pytest.raises(ValueError, match="SGD: Invalid momentum value"):
        em.optim.SGD([w], momentum=-0.5)
    with pytest.raises(ValueError, match="SGD: Nesterov momentum requires"):
        em.optim.SGD([w], nesterov=True)
    with pytest.raises(ValueError, match="Adam: Invalid beta parameter at index 1"):
        em.optim.Adam([w], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="AdamW: Invalid epsilon value"):
        em.optim.AdamW([w], eps=-1)
    with pytest.raises(ValueError, match="Adam: Invalid weight_decay value"):
        em.optim.Adam([w], weight_decay=-1)
    with pytest.raises(ValueError, match="RMSprop: Invalid alpha value"):
        em.optim.RMSprop([w], alpha=-0.1)
    with pytest.raises(ValueError, match="RMSprop: Invalid momentum value"):
        em.optim.RMSprop([w], momentum=-0.1)
    with pytest.raises(ValueError, match="Adagrad: Invalid lr_decay value"):
        em.optim.Adagrad([w], lr_decay=-0.1)
    with pytest.raises(ValueError, match="Adagrad: Invalid initial_accumulator_value"):
        em.optim.Adagrad([w], initial_accumulator_value=-1)


def test_defaults_match_pytorch():
    w, _ = ember_params()
    assert em.optim.SGD([w]).defaults["lr"] == 1e-3
    adam = em.optim.Adam([w]).defaults
    assert (adam["lr"], adam["betas"], adam["eps"], adam["weight_decay"]) == \
        (1e-3, (0.9, 0.999), 1e-8, 0)
    assert em.optim.AdamW([w]).defaults["weight_decay"] == 1e-2
    rms = em.optim.RMSprop([w]).defaults
    assert (rms["lr"], rms["alpha"], rms["eps"]) == (1e-2, 0.99, 1e-8)
    ada = em.optim.Adagrad([w]).defaults
    assert (ada["lr"], ada["eps"], ada["initial_accumulator_value"]) == (1e-2, 1e-10, 0)


def test_step_rejects_gradient_of_wrong_shape():
    w, _ = ember_params()
    opt = em.optim.Adam([w])
    w.grad = em.zeros(3, 5, dtype=em.float64)
    with pytest.raises(ValueError, match=r"Adam.step: gradient of shape \(3, 5\)"):
        opt.step()


def test_integer_parameters_are_refused(device):
    p = em.tensor([1, 2, 3], device=device)
    p.grad = em.tensor([1, 1, 1], device=device)
    with pytest.raises(TypeError, match="sgd_step: parameters must be floating point"):
        em.optim.SGD([p], lr=0.1).step()


def test_trains_a_module(device):
    layer = em.nn.Linear(5, 3).to(device).to(device)
    opt = em.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    x, y = em.tensor(X, dtype=em.float32, device=device), em.tensor(Y, dtype=em.float32, device=device)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        out = layer(x) - y
        loss = (out * out).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.8
