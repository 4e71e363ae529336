"""Attention: scaled_dot_product_attention, MultiheadAttention (masks,
need_weights, kdim/vdim, batch_first, unbatched) and the Transformer encoder
against PyTorch with identical weights, plus ember-only behaviour and errors."""

import numpy as np
import pytest

import ember as em
from ember import nn
from ember.nn import functional as F

rng = np.random.default_rng(11)


def _np(t):
    return t.detach().cpu().numpy()


def _load_from_torch(module, tmod):
    result = module.load_state_dict(
        {k: em.tensor(v.detach().numpy()) for k, v in tmod.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []


def _compare_grads(emod, tmod, pairs, atol=1e-10):
    for e, t in pairs:
        np.testing.assert_allclose(_np(e.grad), t.grad.numpy(), atol=atol)
    tparams = dict(tmod.named_parameters())
    for n, p in emod.named_parameters():
        np.testing.assert_allclose(_np(p.grad), tparams[n].grad.numpy(), atol=atol, err_msg=n)


@pytest.mark.parametrize("mask", [None, "bool", "float", "causal"])
@pytest.mark.parametrize("shape", [((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6)),
                                   ((1, 4), (3, 4), (3, 2)),
                                   ((2, 1, 5, 8), (2, 1, 5, 8), (2, 1, 5, 8))])
def test_sdpa_matches_torch(mask, shape, device):
    torch = pytest.importorskip("torch")
    qs, ks, _vs = shape
    q, k, v = (rng.standard_normal(s) for s in shape)
    L, S = qs[-2], ks[-2]
    kwargs_e, kwargs_t = {}, {}
    if mask == "bool":
        m = rng.random((L, S)) > 0.3
        m[:, 0] = True  # every query sees at least one key
        kwargs_e["attn_mask"], kwargs_t["attn_mask"] = em.tensor(m, device=device), torch.tensor(m)
    elif mask == "float":
        m = rng.standard_normal((L, S))
        kwargs_e["attn_mask"], kwargs_t["attn_mask"] = em.tensor(m, device=device), torch.tensor(m)
    elif mask == "causal":
        kwargs_e["is_causal"] = kwargs_t["is_causal"] = True
    te = [em.tensor(a, requires_grad=True, device=device) for a in (q, k, v)]
    tt = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out_e = F.scaled_dot_product_attention(*te, **kwargs_e)
    out_t = torch.nn.functional.scaled_dot_product_attention(*tt, **kwargs_t)
    np.testing.assert_allclose(_np(out_e), _np(out_t), atol=1e-10)
    w = rng.standard_normal(tuple(out_t.shape))
    (out_t * torch.tensor(w)).sum().backward()
    (out_e * em.tensor(w, device=device)).sum().backward()
    for a, b in zip(te, tt):
        np.testing.assert_allclose(_np(a.grad), b.grad.cpu().numpy(), atol=1e-10)


def test_sdpa_scale_and_errors(device):
    torch = pytest.importorskip("torch")
    q, k = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    out_e = F.scaled_dot_product_attention(em.tensor(q, device=device), em.tensor(k, device=device), em.tensor(k, device=device), scale=0.3)
    out_t = torch.nn.functional.scaled_dot_product_attention(
        torch.tensor(q), torch.tensor(k), torch.tensor(k), scale=0.3)
    np.testing.assert_allclose(_np(out_e), _np(out_t), atol=1e-12)
    x = em.randn(3, 4, device=device)
    with pytest.raises(ValueError, match="scaled_dot_product_attention.*shapes"):
        F.scaled_dot_product_attention(x, em.randn(3, 5, device=device), em.randn(3, 5, device=device))
    with pytest.raises(ValueError, match="scaled_dot_product_attention.*2 dims"):
        F.scaled_dot_product_attention(em.randn(4, device=device), x, x)
    with pytest.raises(ValueError, match="scaled_dot_product_attention.*not both"):
        F.scaled_dot_product_attention(x, x, x, attn_mask=em.ones(3, 3, device=device), is_causal=True)
    with pytest.raises(TypeError, match="scaled_dot_product_attention.*Tensor"):
        F.scaled_dot_product_attention(x, q, x)
    with pytest.raises(TypeError, match="attention.*bool or floating"):
        F.scaled_dot_product_attention(x, x, x, attn_mask=em.ones(3, 3, dtype=em.int64, device=device))


MHA_CONFIGS = [
    {},
    {"batch_first": True},
    {"bias": False},
    {"kdim": 5, "vdim": 3},
    {"unbatched": True},
    {"attn_mask": "bool"},
    {"attn_mask": "float", "average_attn_weights": False},
    {"attn_mask": "bool3d"},
    {"key_padding_mask": "bool", "batch_first": True},
    {"key_padding_mask": "float", "attn_mask": "float"},
    {"key_padding_mask": "bool", "attn_mask": "bool", "unbatched": True},
    {"need_weights": False, "attn_mask": "bool"},
    {"is_causal": True, "self_attention": True},
]


@pytest.mark.parametrize("config", MHA_CONFIGS,
                         ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_multihead_attention_matches_torch(config, device):
    torch = pytest.importorskip("torch")
    cfg = dict(config)
    E, H, L, S, N = 8, 2, 4, 6, 3
    unbatched = cfg.pop("unbatched", False)
    self_attention = cfg.pop("self_attention", False)
    if self_attention:
        S = L
    mask_kind, pad_kind = cfg.pop("attn_mask", None), cfg.pop("key_padding_mask", None)
    call = {k: cfg.pop(k) for k in ("need_weights", "average_attn_weights", "is_causal")
            if k in cfg}
    tmod = torch.nn.MultiheadAttention(E, H, **cfg).double()
    emod = nn.MultiheadAttention(E, H, dtype=em.float64, **cfg).to(device)
    _load_from_torch(emod, tmod)
    kdim, vdim = cfg.get("kdim", E), cfg.get("vdim", E)

    def shape(seq, feat):
        if unbatched:
            return (seq, feat)
        return (N, seq, feat) if cfg.get("batch_first") else (seq, N, feat)

    if self_attention:
        q = rng.standard_normal(shape(L, E))
        arrays = [q, q, q]
    else:
        arrays = [rng.standard_normal(shape(L, E)), rng.standard_normal(shape(S, kdim)),
                  rng.standard_normal(shape(S, vdim))]
    masks_e, masks_t = {}, {}
    if mask_kind == "bool":
        m = rng.random((L, S)) > 0.6
        m[:, 0] = False
    elif mask_kind == "bool3d":
        m = rng.random((N * H, L, S)) > 0.6
        m[..., 0] = False
    elif mask_kind == "float":
        m = rng.standard_normal((L, S))
    if call.get("is_causal"):
        m = np.triu(np.ones((L, S), dtype=bool), 1)
        mask_kind = "causal"
    if mask_kind:
        masks_e["attn_mask"], masks_t["attn_mask"] = em.tensor(m, device=device), torch.tensor(m)
    if pad_kind:
        p = rng.random((S,) if unbatched else (N, S)) > 0.7
        p[..., 1] = False
        if pad_kind == "float":
            p = np.where(p, -1e9, 0.0) + rng.standard_normal(p.shape)
        masks_e["key_padding_mask"], masks_t["key_padding_mask"] = em.tensor(p, device=device), torch.tensor(p)
    te = [em.tensor(a, requires_grad=True, device=device) for a in arrays]
    tt = [torch.tensor(a, requires_grad=True) for a in arrays]
    if self_attention:
        te, tt = [te[0]] * 3, [tt[0]] * 3
    out_e, w_e = emod(*te, **masks_e, **call)
    out_t, w_t = tmod(*tt, **masks_t, **call)
    np.testing.assert_allclose(_np(out_e), _np(out_t), atol=1e-10)
    if call.get("need_weights", True):
        assert tuple(w_e.shape) == tuple(w_t.shape)
        np.testing.assert_allclose(_np(w_e), _np(w_t), atol=1e-10)
    else:
        assert w_e is None and w_t is None
    w = rng.standard_normal(tuple(out_t.shape))
    (out_t * torch.tensor(w)).sum().backward()
    (out_e * em.tensor(w, device=device)).sum().backward()
    pairs = list(zip(te, tt))[:1] if self_attention else list(zip(te, tt))
    _compare_grads(emod, tmod, pairs)


def test_multihead_attention_layout_and_dropout(device):
    m = nn.MultiheadAttention(12, 3, kdim=4, vdim=5).to(device)
    assert list(m.state_dict()) == ["q_proj_weight", "k_proj_weight", "v_proj_weight",
                                    "in_proj_bias", "out_proj.weight", "out_proj.bias"]
    assert m.in_proj_weight is None and tuple(m.k_proj_weight.shape) == (12, 4)
    np.testing.assert_array_equal(_np(m.in_proj_bias), 0)
    packed = nn.MultiheadAttention(6, 2).to(device)
    assert tuple(packed.in_proj_weight.shape) == (18, 6)
    bound = np.sqrt(6 / (6 + 18))
    assert np.abs(_np(packed.in_proj_weight)).max() <= bound
    em.manual_seed(1)
    drop = nn.MultiheadAttention(8, 2, dropout=0.5).to(device)
    x = em.randn(5, 2, 8, device=device)
    drop.eval()
    np.testing.assert_array_equal(_np(drop(x, x, x)[0]), _np(drop(x, x, x)[0]))
    drop.train()
    assert not np.allclose(_np(drop(x, x, x)[0]), _np(drop(x, x, x)[0]))


def test_multihead_attention_causal_without_mask_blocks_future(device):
    m = nn.MultiheadAttention(4, 1).to(device)
    x = em.randn(5, 1, 4, device=device)
    _, w = m(x, x, x, is_causal=True)
    assert np.all(np.triu(_np(w)[0], 1) == 0)


def test_multihead_attention_bad_inputs():
    with pytest.raises(ValueError, match="MultiheadAttention.*divisible"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="MultiheadAttention.*positive"):
        nn.MultiheadAttention(0, 1)
    m = nn.MultiheadAttention(8, 2)
    x = em.randn(4, 2, 8)
    with pytest.raises(ValueError, match="MultiheadAttention.*query features 8"):
        m(em.randn(4, 2, 5), x, x)
    with pytest.raises(ValueError, match="MultiheadAttention.*2-D.*3-D"):
        m(x, em.randn(4, 8), em.randn(4, 8))
    with pytest.raises(ValueError, match="MultiheadAttention.*key.*value"):
        m(x, x, em.randn(3, 2, 8))
    with pytest.raises(ValueError, match="MultiheadAttention.*batch"):
        m(x, em.randn(4, 3, 8), em.randn(4, 3, 8))
    with pytest.raises(ValueError, match="MultiheadAttention.*attn_mask"):
        m(x, x, x, attn_mask=em.ones(3, 4, dtype=em.bool))
    with pytest.raises(ValueError, match="MultiheadAttention.*key_padding_mask"):
        m(x, x, x, key_padding_mask=em.ones(4, 2, dtype=em.bool))
    with pytest.raises(TypeError, match="MultiheadAttention.*Tensor"):
        m(x, x, np.zeros((4, 2, 8)))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_matches_torch(norm_first, activation, batch_first, device):
    torch = pytest.importorskip("torch")
    kw = {"dim_feedforward": 16, "dropout": 0.1, "activation": activation, "batch_first": batch_first,
              "norm_first": norm_first}
    tmod = torch.nn.TransformerEncoderLayer(8, 2, **kw).double().eval()
    emod = nn.TransformerEncoderLayer(8, 2, dtype=em.float64, **kw).to(device).eval()
    assert [n for n, _ in emod.named_parameters()] == [n for n, _ in tmod.named_parameters()]
    _load_from_torch(emod, tmod)
    x = rng.standard_normal((3, 5, 8))
    pad = np.zeros((3, 5) if batch_first else (5, 3), dtype=bool)
    pad[:, -1] = True
    mask = np.triu(np.ones((5, 5), dtype=bool), 1) if batch_first else None
    pad = pad if batch_first else None
    xe, xt = em.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
    out_e = emod(xe, src_mask=None if mask is None else em.tensor(mask, device=device),
                 src_key_padding_mask=None if pad is None else em.tensor(pad, device=device))
    with torch.no_grad():
        fast = tmod(xt, src_mask=None if mask is None else torch.tensor(mask),
                    src_key_padding_mask=None if pad is None else torch.tensor(pad))
    out_t = tmod(xt, src_mask=None if mask is None else torch.tensor(mask),
                 src_key_padding_mask=None if pad is None else torch.tensor(pad))
    np.testing.assert_allclose(_np(out_e), _np(out_t), atol=1e-10)
    np.testing.assert_allclose(_np(out_e), fast.cpu().numpy(), atol=1e-8)
    w = rng.standard_normal(x.shape)
    (out_t * torch.tensor(w)).sum().backward()
    (out_e * em.tensor(w, device=device)).sum().backward()
    _compare_grads(emod, tmod, [(xe, xt)])


def test_encoder_matches_torch_with_final_norm(device):
    torch = pytest.importorskip("torch")
    layer_t = torch.nn.TransformerEncoderLayer(8, 4, 12, dropout=0.0)
    tmod = torch.nn.TransformerEncoder(layer_t, 2, norm=torch.nn.LayerNorm(8),
                                       enable_nested_tensor=False).double().eval()
    emod = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 4, 12, dropout=0.0,
                                                            dtype=em.float64),
                                 2, norm=nn.LayerNorm(8, dtype=em.float64)).to(device).eval()
    assert list(emod.state_dict()) == list(tmod.state_dict())
    _load_from_torch(emod, tmod)
    x = rng.standard_normal((6, 2, 8))
    mask = np.triu(np.ones((6, 6), dtype=bool), 1)
    xe, xt = em.tensor(x, requires_grad=True, device=device), torch.tensor(x, requires_grad=True)
    out_e = emod(xe, mask=em.tensor(mask, device=device), is_causal=True)
    out_t = tmod(xt, mask=torch.tensor(mask), is_causal=True)
    np.testing.assert_allclose(_np(out_e), _np(out_t), atol=1e-10)
    out_t.sum().backward()
    out_e.sum().backward()
    _compare_grads(emod, tmod, [(xe, xt)])


def test_encoder_layers_are_independent_copies_and_errors(device):
    layer = nn.TransformerEncoderLayer(4, 2, 8, activation=lambda t: t * 2.0).to(device)
    enc = nn.TransformerEncoder(layer, 3).to(device)
    assert len(enc.layers) == 3 and enc.layers[0] is not enc.layers[1]
    assert enc.layers[0].linear1.weight is not enc.layers[1].linear1.weight
    assert tuple(enc(em.randn(5, 2, 4, device=device)).shape) == (5, 2, 4)
    with pytest.raises(ValueError, match="TransformerEncoderLayer.*activation"):
        nn.TransformerEncoderLayer(4, 2, activation="swish").to(device)
    with pytest.raises(TypeError, match="TransformerEncoder.*Module"):
        nn.TransformerEncoder("layer", 2).to(device)
    with pytest.raises(ValueError, match="TransformerEncoder.*num_layers"):
        nn.TransformerEncoder(layer, -1).to(device)
