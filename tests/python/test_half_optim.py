"""Optimizer updates of float16/bfloat16 parameters: computed in float32 and
rounded once per step, for the parameter and every state tensor.

The reference is the same optimizer on float32 copies whose parameter and
state are rounded to the 16-bit dtype after each step: the update reads the
same (rounded) values and runs the same float32 arithmetic, so the 16-bit
optimizer must give its bits exactly on the CPU, and within one unit in the
last place on a CUDA device (whose compiler may fuse multiply-adds
differently).
"""

import numpy as np
import pytest
from half_check import HALF_DTYPES, ulp_distance

import ember as em

OPTIMIZERS = {
    "sgd": lambda p: em.optim.SGD(p, lr=0.1),
    "sgd_momentum_nesterov": lambda p: em.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True,
                                                    weight_decay=0.01),
    "adam": lambda p: em.optim.Adam(p, lr=0.01),
    "adamw_amsgrad": lambda p: em.optim.AdamW(p, lr=0.01, weight_decay=0.1, amsgrad=True),
    "rmsprop_centered_momentum": lambda p: em.optim.RMSprop(p, lr=0.01, centered=True,
                                                            momentum=0.5),
    "adagrad": lambda p: em.optim.Adagrad(p, lr=0.1),
}


def _round_in_place(t, dtype):
    t._data.copy_(t._data.to(dtype).to(em.float32))


def _run(name, values, grads, dtype, device, steps=4):
    """(parameter, state values) after `steps` updates with the given gradients."""
    p = em.nn.Parameter(em.tensor(values, dtype=dtype, device=device))
    opt = OPTIMIZERS[name]([p])
    for g in grads:
        p.grad = em.tensor(g, dtype=dtype, device=device)
        opt.step()
    return p, opt


def _reference(name, values, grads, dtype):
    p = em.nn.Parameter(em.tensor(values, dtype=dtype).float())
    opt = OPTIMIZERS[name]([p])
    for g in grads:
        p.grad = em.tensor(g, dtype=dtype).float()
        opt.step()
        _round_in_place(p, dtype)
        for value in opt.state[p].values():
            if isinstance(value, em.Tensor):
                _round_in_place(value, dtype)
    return p, opt


def _tensors(p, opt):
    out = {"param": p.detach()}
    out.update({k: v for k, v in opt.state[p].items() if isinstance(v, em.Tensor)})
    return {k: v.cpu().float().numpy() for k, v in out.items()}


@pytest.mark.parametrize("dtype", HALF_DTYPES)
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_16bit_update_is_float32_rounded_once(device, dtype, name):
    rng = np.random.default_rng(3)
    values = rng.uniform(-2, 2, 1029).astype(np.float32)  # not a multiple of the vector width
    grads = [rng.uniform(-1, 1, 1029).astype(np.float32) for _ in range(4)]
    p, opt = _run(name, values, grads, dtype, device)
    assert p.dtype == dtype
    for key, value in opt.state[p].items():
        if isinstance(value, em.Tensor):
            assert value.dtype == dtype, key
    got = _tensors(p, opt)
    want = _tensors(*_reference(name, values, grads, dtype))
    assert got.keys() == want.keys()
    allowed = 0 if device == "cpu" else 1
    for key in want:
        worst = int(ulp_distance(got[key], want[key], dtype).max())
        assert worst <= allowed, f"{name} {key}: {worst} ulps"
    assert not np.array_equal(got["param"], em.tensor(values, dtype=dtype).float().numpy())
