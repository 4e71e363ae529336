"""nn layers: containers, activations, convolutions, pooling, batch/group norm and
Embedding, against PyTorch with identical weights (outputs and gradients), plus
ember-only behaviour and bad-input errors."""

from collections import OrderedDict

import numpy as np
import pytest

import ember as em
from ember import nn
from ember.autograd.gradcheck import gradcheck, gradgradcheck
from ember.nn import functional as F


def _np(t):
    return t.detach().cpu().numpy()


def _copy_weights(torch_module, ember_module):
    """Loads torch's state_dict into the ember module (the keys must match)."""
    state = {k: em.tensor(v.detach().numpy()) for k, v in torch_module.state_dict().items()}
    result = ember_module.load_state_dict(state)
    assert result.missing_keys == [] and result.unexpected_keys == []


def _twins(torch, cls, *args, perturb_affine=False, **kwargs):
    """The torch and ember modules named cls built from the same arguments, with torch's
    weights loaded into ember's; perturb_affine first moves torch's norm weight and bias off
    their ones/zeros defaults."""
    t, e = getattr(torch.nn, cls)(*args, **kwargs), getattr(nn, cls)(*args, **kwargs)
    if perturb_affine and t.affine:
        with torch.no_grad():
            t.weight.uniform_(0.5, 1.5)
            if t.bias is not None:
                t.bias.uniform_(-0.5, 0.5)
    _copy_weights(t, e)
    return t, e


def _compare(torch, t_mod, e_mod, x, atol=1e-5, grad=True, device="cpu"):
    """Same input through both modules (ember's moved to `device`, torch's on the CPU):
    outputs, input grads and parameter grads."""
    e_mod.to(device)
    tx = torch.tensor(x, requires_grad=grad)
    ex = em.tensor(x, requires_grad=grad, device=device)
    t_out, e_out = t_mod(tx), e_mod(ex)
    np.testing.assert_allclose(_np(e_out), t_out.detach().numpy(), atol=atol, rtol=1e-4)
    if not grad:
        return
    g = np.random.default_rng(1).standard_normal(t_out.shape).astype(x.dtype)
    t_out.backward(torch.tensor(g))
    e_out.backward(em.tensor(g, device=device))
    np.testing.assert_allclose(_np(ex.grad), tx.grad.numpy(), atol=atol, rtol=1e-4)
    t_params = dict(t_mod.named_parameters())
    for name, p in e_mod.named_parameters():
        np.testing.assert_allclose(_np(p.grad), t_params[name].grad.numpy(), atol=atol,
                                   rtol=1e-4, err_msg=name)


def _rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


# ---------------------------------------------------------------- containers


def test_sequential_positional_ordereddict_and_indexing(device):
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device).to(device)
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU) and seq[-1] is seq[2]
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    head = seq[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2 and head[0] is seq[0]
    x = em.randn(5, 3, device=device)
    np.testing.assert_allclose(_np(seq(x)), _np(seq[2](seq[1](seq[0](x)))))
    seq.append(nn.Tanh().to(device).to(device))
    assert len(seq) == 4 and list(seq._modules) == ["0", "1", "2", "3"]
    del seq[1]
    assert list(seq._modules) == ["0", "1", "2"] and isinstance(seq[1], nn.Linear)
    named = nn.Sequential(OrderedDict([("fc", nn.Linear(2, 2)), ("act", nn.ReLU())])).to(device).to(device)
    assert named.fc is named[0] and [n for n, _ in named.named_children()] == ["fc", "act"]
    assert [type(m) for m in named] == [nn.Linear, nn.ReLU]
    with pytest.raises(IndexError, match="Sequential"):
        seq[5]
    with pytest.raises(TypeError, match="Sequential"):
        nn.Sequential(nn.ReLU(), "relu").to(device).to(device)


def test_sequential_matches_torch(device):
    torch = pytest.importorskip("torch")
    t = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.GELU(), torch.nn.Linear(7, 3))
    e = nn.Sequential(nn.Linear(5, 7), nn.GELU(), nn.Linear(7, 3)).to(device).to(device)
    _copy_weights(t, e)
    _compare(torch, t, e, _rand(4, 5), device=device)


def test_module_list_and_dict(device):
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)]).to(device).to(device)
    layers.append(nn.ReLU().to(device).to(device))
    layers.extend([nn.Tanh().to(device).to(device), nn.Sigmoid().to(device).to(device)])
    layers.insert(1, nn.Identity().to(device).to(device))
    assert len(layers) == 6 and isinstance(layers[1], nn.Identity)
    assert [type(m).__name__ for m in layers[-2:]] == ["Tanh", "Sigmoid"]
    assert [n for n, _ in layers.named_parameters()] == ["0.weight", "0.bias", "2.weight",
                                                         "2.bias"]
    layers[0] = nn.Linear(2, 3).to(device).to(device)
    assert layers[0].out_features == 3
    with pytest.raises(IndexError, match="ModuleList"):
        layers[10]
    with pytest.raises(TypeError, match="ModuleList"):
        layers.append(3)
    with pytest.raises(TypeError, match="iterable"):
        layers.extend(5)
    d = nn.ModuleDict({"enc": nn.Linear(2, 2), "act": nn.ReLU()}).to(device).to(device)
    d["dec"] = nn.Linear(2, 1).to(device).to(device)
    assert list(d.keys()) == ["enc", "act", "dec"] and "act" in d and len(d) == 3
    assert [n for n, _ in d.named_parameters()] == ["enc.weight", "enc.bias", "dec.weight",
                                                    "dec.bias"]
    assert isinstance(d.pop("act"), nn.ReLU) and len(d) == 2
    with pytest.raises(KeyError, match="ModuleDict"):
        d["missing"]
    with pytest.raises(TypeError, match="ModuleDict"):
        d["x"] = 1


# ---------------------------------------------------------------- activations

ACTIVATIONS = [
    ("ReLU", {}), ("LeakyReLU", {"negative_slope": 0.2}), ("GELU", {}),
    ("GELU", {"approximate": "tanh"}), ("SiLU", {}), ("ELU", {"alpha": 0.7}), ("Tanh", {}),
    ("Sigmoid", {}), ("Softmax", {"dim": 1}), ("LogSoftmax", {"dim": -1}),
]


@pytest.mark.parametrize("name,kwargs", ACTIVATIONS)
def test_activation_modules_match_torch(name, kwargs, device):
    torch = pytest.importorskip("torch")
    _compare(torch, getattr(torch.nn, name)(**kwargs), getattr(nn, name)(**kwargs),
             _rand(3, 7, 2), device=device)


def test_activation_inplace_and_repr(device):
    x = em.tensor([-1.0, 2.0], device=device)
    y = nn.ReLU(inplace=True).to(device)(x)
    assert y is x and x.tolist() == [0.0, 2.0]
    assert repr(nn.ReLU().to(device)) == "ReLU()"
    assert repr(nn.LeakyReLU(0.1, inplace=True).to(device)) == "LeakyReLU(negative_slope=0.1, inplace=True)"
    assert repr(nn.Softmax(dim=1).to(device)) == "Softmax(dim=1)"
    assert repr(nn.GELU("tanh").to(device)) == "GELU(approximate='tanh')"
    with pytest.raises(ValueError, match="GELU"):
        nn.GELU("fast").to(device)


# ---------------------------------------------------------------- convolutions


@pytest.mark.parametrize("kwargs,shape", [
    ({}, (2, 3, 11)),
    ({"stride": 2, "padding": 1, "dilation": 2}, (1, 3, 13)),
    ({"groups": 3, "bias": False}, (2, 3, 7)),
    ({"padding": "same"}, (3, 9)),
])
def test_conv1d_matches_torch(kwargs, shape, device):
    torch = pytest.importorskip("torch")
    t, e = _twins(torch, "Conv1d", 3, 6, 3, **kwargs)
    _compare(torch, t, e, _rand(*shape), device=device)


@pytest.mark.parametrize("kwargs,shape", [
    ({}, (2, 4, 7, 5)),
    ({"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2)}, (1, 4, 9, 8)),
    ({"groups": 2, "bias": False}, (2, 4, 5, 5)),
    ({"padding": "same"}, (4, 6, 6)),
])
def test_conv2d_matches_torch(kwargs, shape, device):
    torch = pytest.importorskip("torch")
    t, e = _twins(torch, "Conv2d", 4, 6, 3, **kwargs)
    _compare(torch, t, e, _rand(*shape), device=device)


@pytest.mark.parametrize("kwargs,shape", [
    ({}, (2, 4, 5, 3)),
    ({"stride": 2, "padding": 1, "output_padding": 1}, (1, 4, 4, 5)),
    ({"stride": (2, 3), "dilation": 2, "groups": 2, "bias": False}, (2, 4, 3, 3)),
    ({"stride": 3, "padding": (0, 1), "output_padding": (2, 1)}, (4, 2, 3)),
])
def test_conv_transpose2d_matches_torch(kwargs, shape, device):
    torch = pytest.importorskip("torch")
    t, e = _twins(torch, "ConvTranspose2d", 4, 6, 3, **kwargs)
    _compare(torch, t, e, _rand(*shape), device=device)


def test_conv_transpose2d_output_size_matches_torch(device):
    torch = pytest.importorskip("torch")
    t, e = _twins(torch, "ConvTranspose2d", 2, 3, 3, stride=2, padding=1)
    x = _rand(1, 2, 4, 4)
    out_t = t(torch.tensor(x), output_size=[8, 8])
    out_e = e(em.tensor(x, device=device), output_size=[8, 8])
    assert list(out_e.shape) == [1, 3, 8, 8]
    np.testing.assert_allclose(_np(out_e), out_t.detach().cpu().numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="ConvTranspose2d"):
        e(em.tensor(x, device=device), output_size=[12, 12])


def test_conv_functional_gradcheck(device):
    x = em.randn(2, 4, 5, dtype=em.float64, requires_grad=True, device=device)
    w = em.randn(6, 2, 3, dtype=em.float64, requires_grad=True, device=device)
    b = em.randn(6, dtype=em.float64, requires_grad=True, device=device)
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, groups=2),
                     (x, w, b))
    x = em.randn(1, 4, 3, 4, dtype=em.float64, requires_grad=True, device=device)
    w = em.randn(4, 3, 2, 3, dtype=em.float64, requires_grad=True, device=device)
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=(1, 0),
                                                        output_padding=1, groups=2),
                     (x, w, em.randn(6, dtype=em.float64, requires_grad=True, device=device)))
    # double backward through the transpose's own backward
    assert gradgradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2), (x, w))


def test_conv_default_init_and_repr(device):
    em.manual_seed(3)
    conv = nn.Conv2d(8, 4, (3, 5)).to(device)
    bound = 1 / np.sqrt(8 * 15)
    w, b = _np(conv.weight), _np(conv.bias)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    em.manual_seed(3)
    np.testing.assert_array_equal(_np(nn.Conv2d(8, 4, (3, 5)).to(device).weight), w)
    tconv = nn.ConvTranspose2d(8, 4, 3, groups=2).to(device)
    assert list(tconv.weight.shape) == [8, 2, 3, 3]
    assert np.abs(_np(tconv.weight)).max() <= 1 / np.sqrt(2 * 9)
    assert repr(nn.Conv2d(3, 16, 3, padding=1).to(device)) == \
        "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    assert repr(nn.Conv1d(2, 4, 5, stride=2, bias=False).to(device)) == \
        "Conv1d(2, 4, kernel_size=(5,), stride=(2,), bias=False)"
    assert repr(nn.ConvTranspose2d(4, 2, 2, stride=2, output_padding=1).to(device)) == \
        "ConvTranspose2d(4, 2, kernel_size=(2, 2), stride=(2, 2), output_padding=(1, 1))"


def test_conv_matches_torch_repr(device):
    torch = pytest.importorskip("torch")
    for args, kwargs in [((3, 16, 3), {"padding": 1}), ((4, 8, (2, 3)), {"groups": 2,
                                                                         "bias": False}),
                         ((2, 2, 3), {"dilation": 2, "padding": "same"})]:
        assert repr(nn.Conv2d(*args, **kwargs).to(device)) == repr(torch.nn.Conv2d(*args, **kwargs))


def test_conv_bad_input():
    with pytest.raises(ValueError, match="Conv2d.*divisible"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(NotImplementedError, match="reflect"):
        nn.Conv2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="conv1d"):
        F.conv1d(em.randn(2, 3, 4, 5), em.randn(2, 3, 3))
    with pytest.raises(ValueError, match="conv1d"):
        nn.Conv1d(3, 2, 3)(em.randn(1, 4, 9))
    with pytest.raises(ValueError, match="conv_transpose2d.*channels"):
        F.conv_transpose2d(em.randn(1, 3, 4, 4), em.randn(2, 2, 3, 3))
    with pytest.raises(ValueError, match="conv_transpose2d.*output_padding"):
        F.conv_transpose2d(em.randn(1, 2, 4, 4), em.randn(2, 2, 3, 3), stride=2,
                           output_padding=2)
    with pytest.raises(ValueError, match="conv_transpose2d"):
        F.conv_transpose2d(em.randn(2, 4, 4), em.randn(2, 2, 3, 3), padding=5)
    with pytest.raises(TypeError, match="conv_transpose2d"):
        F.conv_transpose2d(em.randn(1, 2, 4, 4), em.randn(2, 2, 3, 3, dtype=em.float64))


# ---------------------------------------------------------------- pooling


@pytest.mark.parametrize("name,args,kwargs,shape", [
    ("MaxPool2d", (3,), {"stride": 2, "padding": 1}, (2, 3, 9, 7)),
    ("MaxPool2d", (2,), {"ceil_mode": True}, (3, 5, 5)),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, (2, 3, 9, 7)),
    ("AvgPool2d", (2,), {}, (1, 2, 6, 5)),
    ("AdaptiveAvgPool2d", ((3, 2),), {}, (2, 3, 7, 5)),
    ("AdaptiveAvgPool2d", (1,), {}, (3, 4, 4)),
])
def test_pooling_matches_torch(name, args, kwargs, shape, device):
    torch = pytest.importorskip("torch")
    t, e = getattr(torch.nn, name)(*args, **kwargs), getattr(nn, name)(*args, **kwargs)
    _compare(torch, t, e, _rand(*shape), device=device)
    assert repr(e) == repr(t)


def test_maxpool_return_indices(device):
    out, idx = nn.MaxPool2d(2, return_indices=True).to(device).to(device)(em.randn(1, 1, 4, 4, device=device))
    assert list(out.shape) == list(idx.shape) == [1, 1, 2, 2] and idx.dtype == em.int64


# ---------------------------------------------------------------- batch / group norm


@pytest.mark.parametrize("cls,shape,kwargs", [
    ("BatchNorm1d", (8, 5), {}),
    ("BatchNorm1d", (4, 5, 7), {"momentum": 0.3}),
    ("BatchNorm1d", (6, 5), {"momentum": None}),
    ("BatchNorm2d", (3, 5, 4, 3), {}),
    ("BatchNorm2d", (2, 5, 3, 3), {"affine": False}),
    ("BatchNorm2d", (2, 5, 3, 3), {"track_running_stats": False}),
    ("BatchNorm2d", (2, 5, 1, 3), {"bias": False}),
])
def test_batchnorm_matches_torch_train_and_eval(cls, shape, kwargs, device):
    torch = pytest.importorskip("torch")
    t, e = _twins(torch, cls, 5, perturb_affine=True, **kwargs)
    assert repr(e) == repr(t)
    for step in range(3):
        _compare(torch, t, e, _rand(*shape, seed=step) * 2 + 1, device=device)
        for name, buf in t.state_dict().items():
            np.testing.assert_allclose(_np(e.state_dict()[name]), buf.cpu().numpy(), rtol=1e-5,
                                       atol=1e-6, err_msg=name)
    t.eval()
    e.eval()
    _compare(torch, t, e, _rand(*shape, seed=9), device=device)
    if t.track_running_stats:
        assert int(e.num_batches_tracked.item()) == 3


def test_batchnorm_state_dict_keys_and_repr(device):
    bn = nn.BatchNorm2d(4).to(device)
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var",
                                     "num_batches_tracked"]
    assert bn.num_batches_tracked.dtype == em.int64
    assert repr(bn) == "BatchNorm2d(4, eps=1e-05, momentum=0.1, affine=True, bias=True, " \
                       "track_running_stats=True)"
    assert list(nn.BatchNorm1d(3, track_running_stats=False).to(device).state_dict()) == ["weight", "bias"]


def test_batchnorm_eval_uses_running_stats(device):
    bn = nn.BatchNorm1d(2).to(device).to(device).eval()
    x = em.tensor([[1.0, 5.0], [3.0, 7.0]], device=device)
    np.testing.assert_allclose(_np(bn(x)), _np(x) / np.sqrt(1 + 1e-5), rtol=1e-6)


def test_batchnorm_bad_input():
    with pytest.raises(ValueError, match="BatchNorm1d.*2D or 3D"):
        nn.BatchNorm1d(3)(em.randn(2, 3, 4, 5))
    with pytest.raises(ValueError, match="BatchNorm2d.*4D"):
        nn.BatchNorm2d(3)(em.randn(2, 3))
    with pytest.raises(ValueError, match="BatchNorm2d.*channels"):
        nn.BatchNorm2d(3)(em.randn(2, 4, 2, 2))
    with pytest.raises(ValueError, match="BatchNorm1d"):
        nn.BatchNorm1d(0)


@pytest.mark.parametrize("groups,shape,kwargs", [
    (2, (3, 6, 5), {}), (3, (2, 6, 2, 3), {}), (6, (1, 6, 4), {"affine": False}),
    (1, (2, 6), {"eps": 1e-3}), (2, (2, 6, 3), {"bias": False})])
def test_groupnorm_matches_torch(groups, shape, kwargs, device):
    torch = pytest.importorskip("torch")
    t, e = _twins(torch, "GroupNorm", groups, 6, perturb_affine=True, **kwargs)
    _compare(torch, t, e, _rand(*shape), device=device)
    assert repr(e) == repr(t)


def test_groupnorm_bad_input():
    with pytest.raises(ValueError, match="GroupNorm.*divisible"):
        nn.GroupNorm(4, 6)


# ---------------------------------------------------------------- embedding


def test_embedding_matches_torch(device):
    torch = pytest.importorskip("torch")
    t, e = _twins(torch, "Embedding", 11, 4, padding_idx=2)
    e = e.to(device)
    idx = np.array([[1, 2, 10], [2, 0, 1]], dtype=np.int64)
    t_out, e_out = t(torch.tensor(idx)), e(em.tensor(idx, device=device))
    np.testing.assert_allclose(_np(e_out), t_out.detach().cpu().numpy())
    g = _rand(2, 3, 4)
    t_out.backward(torch.tensor(g))
    e_out.backward(em.tensor(g, device=device))
    np.testing.assert_allclose(_np(e.weight.grad), t.weight.grad.cpu().numpy(), atol=1e-6)
    assert repr(e) == repr(t)


def test_embedding_init_and_padding(device):
    em.manual_seed(0)
    emb = nn.Embedding(400, 50, padding_idx=-1).to(device).to(device)
    w = _np(emb.weight)
    assert emb.padding_idx == 399 and np.all(w[399] == 0)
    assert abs(w[:399].mean()) < 0.02 and abs(w[:399].std() - 1) < 0.02
    frozen = nn.Embedding.from_pretrained(em.ones(3, 2, device=device))
    assert not frozen.weight.requires_grad and frozen(em.tensor([2], device=device)).tolist() == [[1.0, 1.0]]
    with pytest.raises(ValueError, match="Embedding.*padding_idx"):
        nn.Embedding(3, 2, padding_idx=3).to(device).to(device)
    with pytest.raises(IndexError, match="embedding"):
        nn.Embedding(3, 2).to(device).to(device)(em.tensor([3], device=device))
    with pytest.raises(TypeError, match="embedding"):
        nn.Embedding(3, 2).to(device).to(device)(em.tensor([1.0], device=device))


# ---------------------------------------------------------------- a whole model


def test_small_cnn_matches_torch_train_and_eval(device):
    torch = pytest.importorskip("torch")

    def build(lib):
        m = lib.nn
        return m.Sequential(m.Conv2d(2, 4, 3, padding=1), m.BatchNorm2d(4), m.ReLU(),
                            m.MaxPool2d(2), m.ConvTranspose2d(4, 3, 2, stride=2),
                            m.GroupNorm(3, 3), m.SiLU(), m.AdaptiveAvgPool2d(1), m.Flatten(),
                            m.Linear(3, 5), m.LogSoftmax(dim=1))

    t, e = build(torch), build(em)
    _copy_weights(t, e)
    _compare(torch, t, e, _rand(3, 2, 6, 6), atol=1e-4, device=device)
    t.eval()
    e.eval()
    _compare(torch, t, e, _rand(3, 2, 6, 6, seed=4), atol=1e-4, device=device)
