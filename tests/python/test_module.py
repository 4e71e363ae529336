"""nn.Module's contract: registration, iteration, state_dict round trips and
errors, modes, devices and dtypes, hooks, repr."""

import numpy as np
import pytest

import ember as em
from ember import nn


class Affine(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(em.randn(n_out, n_in))
        self.bias = nn.Parameter(em.zeros(n_out))
        self.register_buffer("calls", em.zeros(1))
        self.register_buffer("scratch", em.zeros(2), persistent=False)

    def forward(self, x):
        self.calls += 1
        return x @ self.weight.t() + self.bias

    def extra_repr(self):
        return f"{self.weight.shape[1]}, {self.weight.shape[0]}"


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = Affine(4, 3)
        self.b = Affine(3, 2)
        self.shared = self.a  # the same module twice: listed once

    def forward(self, x):
        return self.b(self.a(x))


def test_registration_and_iteration():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == ["a.weight", "a.bias", "b.weight", "b.bias"]
    assert [n for n, _ in net.named_buffers()] == ["a.calls", "a.scratch", "b.calls", "b.scratch"]
    assert [n for n, _ in net.named_modules()] == ["", "a", "b"]
    assert len(list(net.children())) == 2
    assert net.get_submodule("b") is net.b
    with pytest.raises(TypeError, match="parameter"):
        net.a.weight = em.zeros(3, 4)
    del net.b
    assert [n for n, _ in net.named_modules()] == ["", "a"]


def test_state_dict_round_trip_and_errors():
    src, dst = Net(), Net()
    state = src.state_dict()
    assert list(state) == ["a.weight", "a.bias", "a.calls", "b.weight", "b.bias", "b.calls"]
    assert not state["a.weight"].requires_grad
    result = dst.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(dst.a.weight.detach().numpy(), src.a.weight.detach().numpy())
    bad = dict(state)
    bad.pop("a.bias")
    bad["extra"] = em.zeros(1)
    with pytest.raises(RuntimeError, match=r'Missing key\(s\) in state_dict: "a.bias"'):
        dst.load_state_dict(bad)
    with pytest.raises(RuntimeError, match=r'Unexpected key\(s\) in state_dict: "extra"'):
        dst.load_state_dict(bad)
    keys = dst.load_state_dict(bad, strict=False)
    assert keys.missing_keys == ["a.bias"] and keys.unexpected_keys == ["extra"]
    wrong = dict(state)
    wrong["b.weight"] = em.zeros(5, 5)
    with pytest.raises(RuntimeError, match=r"size mismatch for b.weight"):
        dst.load_state_dict(wrong)


def test_train_eval_zero_grad_apply():
    net = Net()
    assert net.training and net.a.training
    net.eval()
    assert not net.training and not net.b.training
    net.train()
    out = net(em.randn(5, 4)).sum()
    out.backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Affine", "Affine", "Net"]


def test_to_dtype_keeps_parameter_identity():
    net = Net()
    weight = net.a.weight
    net.double()
    assert net.a.weight is weight and weight.dtype == em.float64
    assert net.a.calls.dtype == em.float64
    assert net(em.randn(2, 4, dtype=em.float64)).dtype == em.float64


def test_to_device_keeps_parameter_identity_and_moves_buffers(device):
    net = Net()
    weight = net.a.weight
    before = {k: v.detach().numpy().copy() for k, v in net.state_dict().items()}
    assert net.to(device) is net
    assert net.a.weight is weight and net.b.weight.requires_grad
    assert str(net.a.weight.device).startswith(device) and str(net.a.calls.device).startswith(device)
    assert str(net.a.scratch.device).startswith(device)
    for k, v in net.state_dict().items():
        np.testing.assert_array_equal(v.cpu().numpy(), before[k], err_msg=k)
    out = net(em.randn(2, 4).to(device))
    assert str(out.device).startswith(device)
    out.sum().backward()
    assert str(weight.grad.device).startswith(device)
    assert net.a.calls.cpu().item() == 1.0
    net.to("cpu")
    assert str(net.a.weight.device) == "cpu" and net.a.weight is weight


def test_to_device_and_dtype_together(device):
    net = Net().to(device, em.float64)
    assert net.a.weight.dtype == em.float64 and str(net.a.weight.device).startswith(device)
    assert net(em.randn(2, 4, dtype=em.float64, device=device)).dtype == em.float64


def test_forward_hooks_and_backward_hooks():
    net = Net()
    calls = []
    h1 = net.a.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    h2 = net.a.register_forward_hook(lambda m, args, out: calls.append(out.shape))
    grads = {}

    def backward_hook(module, grad_input, grad_output):
        grads["in"], grads["out"] = grad_input, grad_output

    h3 = net.b.register_full_backward_hook(backward_hook)
    x = em.randn(5, 4)
    net(x).sum().backward()
    assert calls == [(5, 3)]
    assert grads["out"][0].shape == (5, 2) and grads["in"][0].shape == (5, 3)
    np.testing.assert_allclose(grads["in"][0].numpy(),
                               np.ones((5, 2)) @ net.b.weight.detach().numpy(), rtol=1e-6)
    for h in (h1, h2, h3):
        h.remove()
    net(x)
    assert calls == [(5, 3)]


def test_repr():
    text = repr(Net())
    assert text.startswith("Net(\n  (a): Affine(4, 3)\n  (b): Affine(3, 2)")
    assert repr(nn.Parameter(em.zeros(1))).startswith("Parameter containing:\ntensor([0.]")
