"""Training with float16/bfloat16 parameters end to end: a .half() /
.bfloat16() MLP and a small CNN learn on every device, with the loss taken on
float32 logits (the usual mixed-precision pattern), gradients flowing back
through broadcast bias adds, activations, matmuls and convolutions in 16 bits,
and the optimizer updating 16-bit parameters."""

import numpy as np
import pytest
from half_check import HALF_DTYPES

import ember as em
import ember.nn.functional as F


def _blobs(n, features, classes, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((classes, features)) * 3
    y = rng.integers(0, classes, n)
    x = centres[y] + rng.standard_normal((n, features))
    return x.astype(np.float32), y


def _train(model, x, y, steps, lr):
    opt = em.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_16bit_mlp_learns(device, dtype):
    em.manual_seed(0)
    x, y = _blobs(256, 20, 4)
    model = em.nn.Sequential(em.nn.Linear(20, 32), em.nn.ReLU(), em.nn.Linear(32, 4))
    model.to(device).to(dtype)
    ex = em.tensor(x, dtype=dtype, device=device)
    ey = em.tensor(y, device=device)
    losses = _train(model, ex, ey, 40, 0.05)
    for p in model.parameters():
        assert p.dtype == dtype and p.grad.dtype == dtype
    assert losses[-1] < 0.25 * losses[0], losses
    accuracy = (model(ex).float().argmax(1) == ey).float().mean().item()
    assert accuracy > 0.9


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_16bit_cnn_gradients_match_float32(device, dtype):
    """One backward of a small conv net in 16 bits against the same net in
    float32 from the same (16-bit-representable) weights and inputs."""
    em.manual_seed(1)
    net32 = em.nn.Sequential(em.nn.Conv2d(3, 8, 3, padding=1), em.nn.ReLU(),
                             em.nn.Conv2d(8, 8, 3, stride=2), em.nn.Tanh(), em.nn.Flatten(),
                             em.nn.Linear(8 * 7 * 7, 5))
    net16 = em.nn.Sequential(em.nn.Conv2d(3, 8, 3, padding=1), em.nn.ReLU(),
                             em.nn.Conv2d(8, 8, 3, stride=2), em.nn.Tanh(), em.nn.Flatten(),
                             em.nn.Linear(8 * 7 * 7, 5))
    net32.load_state_dict({k: v.to(dtype).float() for k, v in net32.state_dict().items()})
    net16.load_state_dict(net32.state_dict())
    net16.to(device).to(dtype)  # exact: the weights are 16-bit values
    net32.to(device)
    rng = np.random.default_rng(2)
    x = em.tensor(rng.standard_normal((4, 3, 16, 16)).astype(np.float32), dtype=dtype)
    y = em.tensor(rng.integers(0, 5, 4))
    for net, inp in ((net16, x), (net32, x.float())):
        F.cross_entropy(net(inp.to(device)).float(), y.to(device)).backward()
    eps = 2.0 ** -8 if dtype == em.float16 else 2.0 ** -5
    for (name, p16), p32 in zip(net16.named_parameters(), net32.parameters()):
        assert p16.grad.dtype == dtype, name
        got, want = p16.grad.cpu().float().numpy(), p32.grad.cpu().numpy()
        scale = np.abs(want).max() + 1e-3
        assert np.abs(got - want).max() <= 4 * eps * scale, name
