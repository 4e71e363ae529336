"""Learning-rate schedulers: lr sequences against PyTorch's over 30+ steps, momentum
cycling, state_dict round trips, and errors for bad arguments."""

import math

import pytest

import ember as em
from ember.optim import lr_scheduler as ls

STEPS = 35


def make_optimizer(lib, kind="SGD"):
    """Two parameter groups with their own lrs, built with ember or torch (`lib`)."""
    w = lib.zeros(3, requires_grad=True)
    b = lib.zeros(2, requires_grad=True)
    groups = [{"params": [w]}, {"params": [b], "lr": 0.05}]
    if kind == "Adam":
        return lib.optim.Adam(groups, lr=0.1)
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9)


def ember_optimizer(kind="SGD"):
    return make_optimizer(em, kind)


def run(opt, make, steps=STEPS, metrics=None):
    """lrs (and momentum / beta1) of every group after construction and each step."""
    sched = make(opt)

    def snapshot():
        momentum = [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]
        return [g["lr"] for g in opt.param_groups], momentum, list(sched.get_last_lr())

    out = [snapshot()]
    for i in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        out.append(snapshot())
    return out


def assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    for step, (a, b) in enumerate(zip(ours, theirs)):
        for x, y in zip(a, b):
            assert x == pytest.approx(y, rel=1e-12, abs=1e-15), f"step {step}: {a} vs {b}"


SCHEDULERS = {
    "LambdaLR": lambda m: (lambda opt: m.LambdaLR(opt, lambda e: 0.9 ** e + 0.01 * e), {}),
    "LambdaLR-list": lambda m: (lambda opt: m.LambdaLR(
        opt, [lambda e: 1 / (e + 1), lambda e: 0.5 ** (e // 4)]), {}),
    "StepLR": lambda m: (lambda opt: m.StepLR(opt, step_size=7, gamma=0.5), {}),
    "MultiStepLR": lambda m: (lambda opt: m.MultiStepLR(opt, [3, 10, 10, 21], gamma=0.3), {}),
    "ExponentialLR": lambda m: (lambda opt: m.ExponentialLR(opt, gamma=0.93), {}),
    "CosineAnnealingLR": lambda m: (lambda opt: m.CosineAnnealingLR(opt, T_max=9,
                                                                     eta_min=0.001), {}),
    "LinearLR": lambda m: (lambda opt: m.LinearLR(opt, start_factor=0.2, total_iters=11), {}),
    "LinearLR-decay": lambda m: (lambda opt: m.LinearLR(opt, start_factor=1.0,
                                                        end_factor=0.1, total_iters=20), {}),
    "OneCycleLR-cos": lambda m: (lambda opt: m.OneCycleLR(opt, max_lr=[1.0, 0.3],
                                                          total_steps=STEPS), {}),
    "OneCycleLR-linear-3phase": lambda m: (lambda opt: m.OneCycleLR(
        opt, max_lr=0.5, epochs=5, steps_per_epoch=7, anneal_strategy="linear",
        three_phase=True, pct_start=0.25), {}),
    "OneCycleLR-adam": lambda m: (lambda opt: m.OneCycleLR(opt, max_lr=0.01,
                                                           total_steps=STEPS + 2),
                                  {"kind": "Adam"}),
    "OneCycleLR-nomomentum": lambda m: (lambda opt: m.OneCycleLR(
        opt, max_lr=0.2, total_steps=STEPS, cycle_momentum=False, div_factor=10,
        final_div_factor=100), {}),
    "SequentialLR": lambda m: (lambda opt: m.SequentialLR(
        opt, [m.LinearLR(opt, start_factor=0.1, total_iters=5), m.ExponentialLR(opt, 0.9),
              m.StepLR(opt, step_size=3)], milestones=[5, 20]), {}),
    "SequentialLR-cosine": lambda m: (lambda opt: m.SequentialLR(
        opt, [m.ExponentialLR(opt, 0.8), m.CosineAnnealingLR(opt, T_max=6)],
        milestones=[4]), {}),
}


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_schedule_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    make_ours, options = SCHEDULERS[name](ls)
    make_theirs, _ = SCHEDULERS[name](torch.optim.lr_scheduler)
    kind = options.get("kind", "SGD")
    ours = run(ember_optimizer(kind), make_ours)
    theirs = run(make_optimizer(torch, kind), make_theirs)
    assert_same(ours, theirs)


PLATEAU_METRICS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.9, 0.5, 0.5, 0.5, 0.5, 0.6, 0.7, 0.49,
                   0.4999, 0.45, 0.45, 0.46, 0.47, 0.48, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3,
                   0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]


@pytest.mark.parametrize("kwargs", [
    {"patience": 2},
    {"mode": "max", "factor": 0.5, "patience": 1, "threshold": 0.05, "threshold_mode": "abs"},
    {"patience": 1, "cooldown": 2, "min_lr": [0.01, 0.004], "factor": 0.3},
    {"patience": 0, "threshold": 0.1, "eps": 0.02},
])
def test_reduce_on_plateau_matches_pytorch(kwargs):
    torch = pytest.importorskip("torch")
    ours = run(ember_optimizer(), lambda o: ls.ReduceLROnPlateau(o, **kwargs),
               metrics=PLATEAU_METRICS)
    theirs = run(make_optimizer(torch),
                 lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, **kwargs),
                 metrics=PLATEAU_METRICS)
    assert_same(ours, theirs)


def test_closed_form_step_with_epoch():
    opt = ember_optimizer()
    sched = ls.StepLR(opt, step_size=3, gamma=0.5)
    sched.step(7)
    assert sched.get_last_lr() == pytest.approx([0.1 * 0.25, 0.05 * 0.25])
    cos = ls.CosineAnnealingLR(ember_optimizer(), T_max=10)
    cos.step(5)
    assert cos.get_last_lr()[0] == pytest.approx(0.05)


def test_step_lr_values_without_pytorch():
    opt = ember_optimizer()
    sched = ls.StepLR(opt, step_size=2, gamma=0.1)
    lrs = []
    for _ in range(5):
        lrs.append(sched.get_last_lr()[0])
        sched.step()
    assert lrs == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001])
    assert opt.param_groups[0]["initial_lr"] == 0.1


def test_cosine_reaches_eta_min_without_pytorch():
    sched = ls.CosineAnnealingLR(ember_optimizer(), T_max=8, eta_min=0.01)
    for _ in range(8):
        sched.step()
    assert sched.get_last_lr()[0] == pytest.approx(0.01)
    sched = ls.OneCycleLR(ember_optimizer(), max_lr=1.0, total_steps=10)
    peak = []
    for _ in range(9):
        sched.step()
        peak.append(sched.get_last_lr()[0])
    assert max(peak) == pytest.approx(1.0)
    assert peak[-1] == pytest.approx(1.0 / 25 / 1e4)
    assert math.isclose(sched.optimizer.param_groups[0]["momentum"], 0.95)


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "OneCycleLR-cos",
                                  "SequentialLR", "LambdaLR"])
def test_state_dict_round_trip(name):
    make, _ = SCHEDULERS[name](ls)
    opt = ember_optimizer()
    sched = make(opt)
    for _ in range(8):
        sched.step()
    saved = sched.state_dict()
    assert "optimizer" not in saved
    expected = []
    for _ in range(8):
        sched.step()
        expected.append(sched.get_last_lr())

    opt2 = ember_optimizer()
    sched2 = make(opt2)
    sched2.load_state_dict(saved)
    for group, lr in zip(opt2.param_groups, saved["_last_lr"]):
        group["lr"] = lr
    for want in expected:
        sched2.step()
        assert sched2.get_last_lr() == pytest.approx(want)


def test_plateau_state_dict_round_trip():
    opt = ember_optimizer()
    sched = ls.ReduceLROnPlateau(opt, patience=1)
    for m in [1.0, 1.0, 1.0]:
        sched.step(m)
    sd = sched.state_dict()
    other = ls.ReduceLROnPlateau(ember_optimizer(), patience=5)
    other.load_state_dict(sd)
    assert other.patience == 1 and other.best == 1.0 and other.num_bad_epochs == 0


def test_resume_requires_initial_lr():
    with pytest.raises(KeyError, match="StepLR: param 'initial_lr' is not specified"):
        ls.StepLR(ember_optimizer(), step_size=2, last_epoch=4)


def test_bad_arguments():
    opt = ember_optimizer()
    with pytest.raises(TypeError, match="StepLR: list is not an Optimizer"):
        ls.StepLR([], step_size=2)
    with pytest.raises(ValueError, match="StepLR: step_size"):
        ls.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="LambdaLR: expected 2 values for lr_lambda"):
        ls.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="CosineAnnealingLR: T_max"):
        ls.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="LinearLR: starting multiplicative factor"):
        ls.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="LinearLR: ending multiplicative factor"):
        ls.LinearLR(opt, end_factor=1.5)
    with pytest.raises(ValueError, match="OneCycleLR: you must define either total_steps"):
        ls.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="OneCycleLR: expected a positive integer total_steps"):
        ls.OneCycleLR(opt, max_lr=0.1, total_steps=0)
    with pytest.raises(ValueError, match="OneCycleLR: anneal_strategy"):
        ls.OneCycleLR(opt, max_lr=0.1, total_steps=5, anneal_strategy="step")
    with pytest.raises(ValueError, match="OneCycleLR: expected a float between 0 and 1"):
        ls.OneCycleLR(opt, max_lr=0.1, total_steps=5, pct_start=1.5)
    with pytest.raises(ValueError, match="OneCycleLR: optimizer must support momentum"):
        ls.OneCycleLR(em.optim.Adagrad([em.zeros(1, requires_grad=True)]), max_lr=0.1,
                      total_steps=5)
    one = ls.OneCycleLR(ember_optimizer(), max_lr=0.1, total_steps=3)
    one.step()
    one.step()
    one.step()
    with pytest.raises(ValueError, match="OneCycleLR: tried to step 4 times"):
        one.step()
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor should be < 1.0"):
        ls.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: mode 'up' is unknown"):
        ls.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="ReduceLROnPlateau: threshold mode"):
        ls.ReduceLROnPlateau(opt, threshold_mode="pct")
    with pytest.raises(ValueError, match="ReduceLROnPlateau: expected 2 values for min_lr"):
        ls.ReduceLROnPlateau(opt, min_lr=[0.1])
    first = ls.ExponentialLR(opt, 0.9)
    with pytest.raises(ValueError, match="SequentialLR: expected 1 milestones"):
        ls.SequentialLR(opt, [first, ls.StepLR(opt, 2)], milestones=[])
    with pytest.raises(ValueError, match="SequentialLR: expects at least one scheduler"):
        ls.SequentialLR(opt, [], milestones=[])
    with pytest.raises(TypeError, match="SequentialLR: schedulers\\[1\\] is a ReduceLROnPlateau"):
        ls.SequentialLR(opt, [first, ls.ReduceLROnPlateau(opt)], milestones=[3])
    with pytest.raises(ValueError, match="SequentialLR: schedulers\\[0\\] drives a different"):
        ls.SequentialLR(opt, [ls.ExponentialLR(ember_optimizer(), 0.9)], milestones=[])
