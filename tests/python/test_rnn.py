"""Recurrent layers and cells: against PyTorch with identical weights (outputs,
final states, gradients w.r.t. input, initial state and every weight), plus
parameter layout, initialisation, dropout, errors and a short training run."""

import math

import numpy as np
import pytest

import ember as em
from ember import nn

rng = np.random.default_rng(7)


def _load_from_torch(module, tmod):
    result = module.load_state_dict(
        {k: em.tensor(v.detach().numpy()) for k, v in tmod.state_dict().items()})
    assert result.missing_keys == [] and result.unexpected_keys == []


def _np(t):
    return t.detach().cpu().numpy()


def _flatten(out):
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flatten(o)]
    return [out]


LAYER_CONFIGS = [
    {},
    {"num_layers": 2},
    {"bidirectional": True},
    {"num_layers": 2, "bidirectional": True, "batch_first": True},
    {"batch_first": True, "bias": False},
    {"unbatched": True, "num_layers": 2, "bidirectional": True},
    {"initial_state": True, "num_layers": 2},
    {"initial_state": True, "bidirectional": True, "batch_first": True},
    {"initial_state": True, "unbatched": True},
]


@pytest.mark.parametrize("kind", ["RNN", "RNN_relu", "LSTM", "GRU"])
@pytest.mark.parametrize("config", LAYER_CONFIGS, ids=lambda c: "-".join(c) or "default")
def test_layer_matches_torch(kind, config, device):
    torch = pytest.importorskip("torch")
    config = dict(config)
    unbatched = config.pop("unbatched", False)
    initial_state = config.pop("initial_state", False)
    kw = dict(config)
    name = "RNN" if kind.startswith("RNN") else kind
    if kind == "RNN_relu":
        kw["nonlinearity"] = "relu"
    H_in, H, L, N = 3, 5, 6, 2
    tmod = getattr(torch.nn, name)(H_in, H, **kw).double()
    emod = getattr(nn, name)(H_in, H, dtype=em.float64, device=device, **kw)
    _load_from_torch(emod, tmod)
    assert [n for n, _ in emod.named_parameters()] == [n for n, _ in tmod.named_parameters()]

    if unbatched:
        shape = (L, H_in)
    elif kw.get("batch_first"):
        shape = (N, L, H_in)
    else:
        shape = (L, N, H_in)
    x = rng.standard_normal(shape)
    D = 2 if kw.get("bidirectional") else 1
    state_shape = (kw.get("num_layers", 1) * D,) + (() if unbatched else (N,)) + (H,)
    states = [rng.standard_normal(state_shape) for _ in range(2 if name == "LSTM" else 1)]

    xt = torch.tensor(x, requires_grad=True)
    xe = em.tensor(x, requires_grad=True, device=device)
    st = [torch.tensor(s, requires_grad=True) for s in states]
    se = [em.tensor(s, requires_grad=True, device=device) for s in states]
    if initial_state:
        hx_t = tuple(st) if name == "LSTM" else st[0]
        hx_e = tuple(se) if name == "LSTM" else se[0]
        out_t, out_e = tmod(xt, hx_t), emod(xe, hx_e)
    else:
        out_t, out_e = tmod(xt), emod(xe)
    flat_t, flat_e = _flatten(out_t), _flatten(out_e)
    assert len(flat_t) == len(flat_e)
    for a, b in zip(flat_e, flat_t):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(_np(a), _np(b), atol=1e-10)

    # a loss that weights every output differently reaches every gradient path
    weights = [rng.standard_normal(tuple(t.shape)) for t in flat_t]
    sum(((t * torch.tensor(w)).sum() for t, w in zip(flat_t, weights))).backward()
    total = None
    for e, w in zip(flat_e, weights):
        term = (e * em.tensor(w, device=device)).sum()
        total = term if total is None else total + term
    total.backward()
    np.testing.assert_allclose(_np(xe.grad), xt.grad.cpu().numpy(), atol=1e-10)
    if initial_state:
        for a, b in zip(se, st):
            np.testing.assert_allclose(_np(a.grad), b.grad.cpu().numpy(), atol=1e-10)
    tparams = dict(tmod.named_parameters())
    for n, p in emod.named_parameters():
        np.testing.assert_allclose(_np(p.grad), tparams[n].grad.cpu().numpy(), atol=1e-10,
                                   err_msg=n)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_cell_matches_torch(kind, batched, with_state, device):
    torch = pytest.importorskip("torch")
    tmod = getattr(torch.nn, kind)(4, 7).double()
    emod = getattr(nn, kind)(4, 7, dtype=em.float64, device=device)
    _load_from_torch(emod, tmod)
    x = rng.standard_normal((3, 4) if batched else (4,))
    states = [rng.standard_normal((3, 7) if batched else (7,))
              for _ in range(2 if kind == "LSTMCell" else 1)]
    xt, xe = torch.tensor(x, requires_grad=True), em.tensor(x, requires_grad=True, device=device)
    st = [torch.tensor(s, requires_grad=True) for s in states]
    se = [em.tensor(s, requires_grad=True, device=device) for s in states]
    args_t, args_e = [xt], [xe]
    if with_state:
        args_t.append(tuple(st) if kind == "LSTMCell" else st[0])
        args_e.append(tuple(se) if kind == "LSTMCell" else se[0])
    flat_t, flat_e = _flatten(tmod(*args_t)), _flatten(emod(*args_e))
    for a, b in zip(flat_e, flat_t):
        np.testing.assert_allclose(_np(a), _np(b), atol=1e-12)
    sum((t * (i + 1)).sum() for i, t in enumerate(flat_t)).backward()
    total = flat_e[0].sum()
    for i, t in enumerate(flat_e[1:], 1):
        total = total + (t * (i + 1)).sum()
    total.backward()
    np.testing.assert_allclose(_np(xe.grad), xt.grad.cpu().numpy(), atol=1e-12)
    if with_state:
        for a, b in zip(se, st):
            np.testing.assert_allclose(_np(a.grad), b.grad.cpu().numpy(), atol=1e-12)
    tparams = dict(tmod.named_parameters())
    for n, p in emod.named_parameters():
        np.testing.assert_allclose(_np(p.grad), tparams[n].grad.cpu().numpy(), atol=1e-12)


def test_torch_state_dict_keys_and_float32(device):
    torch = pytest.importorskip("torch")
    tmod = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    emod = nn.LSTM(3, 4, num_layers=2, bidirectional=True).to(device)
    assert list(emod.state_dict()) == list(tmod.state_dict())
    for (n, p), (_, q) in zip(emod.named_parameters(), tmod.named_parameters()):
        assert tuple(p.shape) == tuple(q.shape), n
    _load_from_torch(emod, tmod)
    x = rng.standard_normal((5, 2, 3)).astype(np.float32)
    out_e, (h_e, c_e) = emod(em.tensor(x, device=device))
    out_t, (h_t, c_t) = tmod(torch.tensor(x))
    assert out_e.dtype == em.float32
    np.testing.assert_allclose(_np(out_e), _np(out_t), atol=1e-5)
    np.testing.assert_allclose(_np(h_e), _np(h_t), atol=1e-5)
    np.testing.assert_allclose(_np(c_e), _np(c_t), atol=1e-5)


def test_parameter_layout_and_init(device):
    m = nn.GRU(6, 10, num_layers=2, bidirectional=True).to(device)
    names = [n for n, _ in m.named_parameters()]
    assert names[:4] == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    assert names[4:8] == ["weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse",
                          "bias_hh_l0_reverse"]
    assert tuple(m.weight_ih_l0.shape) == (30, 6)
    assert tuple(m.weight_ih_l1.shape) == (30, 20)
    bound = 1 / math.sqrt(10)
    for _, p in m.named_parameters():
        v = _np(p)
        assert p.requires_grad and v.min() >= -bound and v.max() <= bound
    assert _np(m.weight_hh_l1).std() > bound / 3  # spread, not constant
    assert [n for n, _ in nn.LSTMCell(2, 3, bias=False).to(device).named_parameters()] == [
        "weight_ih", "weight_hh"]
    assert "bidirectional=True" in repr(m)
    assert len(m.all_weights) == 4 and m.all_weights[1][0] is m.weight_ih_l0_reverse
    m.flatten_parameters()


def test_output_shapes(device):
    m = nn.LSTM(3, 4, num_layers=3, bidirectional=True, batch_first=True).to(device)
    out, (h, c) = m(em.randn(2, 7, 3, device=device))
    assert tuple(out.shape) == (2, 7, 8)
    assert tuple(h.shape) == (6, 2, 4) and tuple(c.shape) == (6, 2, 4)
    out, h = nn.RNN(3, 4).to(device)(em.randn(1, 1, 3, device=device))
    assert tuple(out.shape) == (1, 1, 4) and tuple(h.shape) == (1, 1, 4)
    out, h = nn.GRU(3, 4, num_layers=2).to(device)(em.randn(5, 3, device=device))
    assert tuple(out.shape) == (5, 4) and tuple(h.shape) == (2, 4)


def test_final_state_equals_last_output(device):
    m = nn.GRU(3, 4, batch_first=True).to(device)
    out, h = m(em.randn(2, 5, 3, device=device))
    np.testing.assert_allclose(_np(out[:, -1]), _np(h[0]), atol=0)
    m = nn.LSTM(3, 4, bidirectional=True).to(device)
    out, (h, _) = m(em.randn(5, 2, 3, device=device))
    np.testing.assert_allclose(_np(out[-1, :, :4]), _np(h[0]), atol=0)
    np.testing.assert_allclose(_np(out[0, :, 4:]), _np(h[1]), atol=0)


def test_dropout_between_layers_only_in_training(device):
    em.manual_seed(0)
    m = nn.LSTM(3, 8, num_layers=2, dropout=0.5).to(device)
    x = em.randn(4, 2, 3, device=device)
    m.eval()
    a, b = m(x)[0], m(x)[0]
    np.testing.assert_array_equal(_np(a), _np(b))
    m.train()
    c = m(x)[0]
    assert not np.allclose(_np(c), _np(a))
    single = nn.LSTM(3, 8, dropout=0.5).to(device)  # one layer: no dropout applies
    np.testing.assert_array_equal(_np(single(x)[0]), _np(single(x)[0]))


def test_bad_inputs():
    m = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match="LSTM.*input_size"):
        m(em.randn(5, 2, 6))
    with pytest.raises(ValueError, match="LSTM.*dims"):
        m(em.randn(5, 2, 1, 3))
    with pytest.raises(ValueError, match="LSTM.*h_0"):
        m(em.randn(5, 2, 3), (em.zeros(1, 2, 4), em.zeros(2, 2, 4)))
    with pytest.raises(ValueError, match="LSTM.*c_0"):
        m(em.randn(5, 2, 3), (em.zeros(2, 2, 4), em.zeros(2, 3, 4)))
    with pytest.raises(TypeError, match="LSTM.*tuple"):
        m(em.randn(5, 2, 3), em.zeros(2, 2, 4))
    with pytest.raises(ValueError, match="GRU.*hx"):
        nn.GRU(3, 4)(em.randn(5, 2, 3), em.zeros(1, 4))
    with pytest.raises(ValueError, match="GRU.*non-empty"):
        nn.GRU(3, 4)(em.randn(0, 2, 3))
    with pytest.raises(TypeError, match="RNN.*floating"):
        nn.RNN(3, 4)(em.zeros(5, 2, 3, dtype=em.int64))
    with pytest.raises(TypeError, match="RNN.*Tensor"):
        nn.RNN(3, 4)(np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match="RNN.*nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="GRU.*dropout"):
        nn.GRU(3, 4, dropout=1.5)
    with pytest.raises(ValueError, match="LSTM.*hidden_size"):
        nn.LSTM(3, 0)
    with pytest.raises(TypeError, match="LSTM.*hidden_size"):
        nn.LSTM(3, 4.0)
    with pytest.raises(ValueError, match="LSTMCell.*input_size"):
        nn.LSTMCell(3, 4)(em.randn(2, 5))
    with pytest.raises(ValueError, match="GRUCell.*h"):
        nn.GRUCell(3, 4)(em.randn(2, 3), em.zeros(3, 4))
    with pytest.raises(TypeError, match="LSTMCell.*tuple"):
        nn.LSTMCell(3, 4)(em.randn(2, 3), em.zeros(2, 4))


def test_lstm_language_model_learns(device):
    """A tiny character LSTM overfits a short text within a few seconds."""
    em.manual_seed(0)
    text = "hello ember, hello world. " * 4
    chars = sorted(set(text))
    ids = np.array([chars.index(ch) for ch in text])
    V, H, L = len(chars), 32, 12
    lstm, head = nn.LSTM(V, H).to(device), nn.Linear(H, V).to(device)
    params = list(lstm.parameters()) + list(head.parameters())
    starts = np.arange(0, len(ids) - L - 1, 3)
    x = em.tensor(np.stack([ids[s:s + L] for s in starts], axis=1), device=device)
    y = em.tensor(np.stack([ids[s + 1:s + L + 1] for s in starts], axis=1), device=device)
    inputs = nn.functional.one_hot(x, V).to(em.float32)
    first = None
    for _ in range(40):
        out, _ = lstm(inputs)
        loss = nn.functional.cross_entropy(head(out).reshape(-1, V), y.reshape(-1))
        first = loss.item() if first is None else first
        for p in params:
            p.grad = None
        loss.backward()
        with em.no_grad():
            for p in params:
                p.sub_(p.grad * 4.0)
    assert first > 2.0
    assert loss.item() < 1.2, (first, loss.item())


@pytest.mark.parametrize("dtype", [em.float64, em.float32, em.float16, em.bfloat16])
def test_fused_lstm_cell_matches_the_composed_ops(dtype, device):
    """The fused cell's h, c and gradients equal the step written in ops
    (float64 gradcheck, and double backward through it), on every dtype."""
    from ember.nn.rnn import _LstmCell

    rng = np.random.default_rng(5)
    gates = em.tensor(rng.uniform(-3, 3, (5, 4 * 7)), device=device).to(dtype)
    c_prev = em.tensor(rng.uniform(-2, 2, (5, 7)), device=device).to(dtype)

    def composed(g, c):
        i, f, gg, o = g.double().chunk(4, -1)
        c_new = i.sigmoid() * gg.tanh() + f.sigmoid() * c.double()
        return o.sigmoid() * c_new.tanh(), c_new

    h, c = _LstmCell.apply(gates, c_prev)
    assert h.dtype == c.dtype == dtype
    h_ref, c_ref = composed(gates, c_prev)
    tol = {em.float64: 1e-12, em.float32: 1e-6, em.float16: 2e-3, em.bfloat16: 1.6e-2}[dtype]
    np.testing.assert_allclose(h.double().cpu().numpy(), h_ref.cpu().numpy(), atol=tol)
    np.testing.assert_allclose(c.double().cpu().numpy(), c_ref.cpu().numpy(), atol=tol * 4)
    if dtype != em.float64:
        return
    g64 = gates.detach().requires_grad_()
    c64 = c_prev.detach().requires_grad_()
    assert em.autograd.gradcheck(lambda g, c: _LstmCell.apply(g, c), (g64, c64))
    assert em.autograd.gradgradcheck(lambda g, c: _LstmCell.apply(g, c), (g64, c64))
    # Only h used: c's gradient arrives as zeros.
    assert em.autograd.gradcheck(lambda g, c: _LstmCell.apply(g, c)[0], (g64, c64))


def _gru_composed(xg, hg, h):
    """PyTorch's GRU formulas in float64 ops: the reference of the fused cell."""
    x_r, x_z, x_n = xg.double().chunk(3, -1)
    h_r, h_z, h_n = hg.double().chunk(3, -1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return (1 - z) * n + z * h.double()


@pytest.mark.parametrize("dtype", [em.float64, em.float32, em.float16, em.bfloat16])
def test_fused_gru_cell_matches_the_composed_ops(dtype, device):
    """The fused GRU cell's h' and gradients equal the formulas written in
    ops (float64 gradcheck, and double backward through it), on every dtype."""
    from ember.nn.rnn import _GruCell

    rng = np.random.default_rng(6)
    for B, H in ((1, 1), (5, 7), (3, 33)):
        xg = em.tensor(rng.uniform(-3, 3, (B, 3 * H)), device=device).to(dtype)
        hg = em.tensor(rng.uniform(-3, 3, (B, 3 * H)), device=device).to(dtype)
        h = em.tensor(rng.uniform(-1, 1, (B, H)), device=device).to(dtype)
        out = _GruCell.apply(xg, hg, h)
        assert out.dtype == dtype and tuple(out.shape) == (B, H)
        tol = {em.float64: 1e-12, em.float32: 1e-6, em.float16: 2e-3, em.bfloat16: 1.6e-2}[dtype]
        np.testing.assert_allclose(_np(out.double()), _np(_gru_composed(xg, hg, h)), atol=tol)
    if dtype != em.float64:
        return
    args = tuple(t.detach().requires_grad_() for t in (xg, hg, h))
    assert em.autograd.gradcheck(lambda *a: _GruCell.apply(*a), args)
    assert em.autograd.gradgradcheck(lambda *a: _GruCell.apply(*a), args)
    # The fused backward against that of the composed formulas.
    grad = em.tensor(rng.uniform(-1, 1, (3, 33)), device=device)
    fused = em.autograd.grad(_GruCell.apply(*args), args, grad)
    composed = em.autograd.grad(_gru_composed(*args), args, grad)
    for f, c in zip(fused, composed):
        np.testing.assert_allclose(_np(f), _np(c), rtol=1e-12, atol=1e-14)


def test_fused_gru_cell_matches_torch(device):
    """The fused cell equals torch's GRUCell from the same projections: r
    multiplies the hidden projection's new-gate part including b_hn."""
    torch = pytest.importorskip("torch")
    from ember.nn.rnn import _GruCell

    tcell = torch.nn.GRUCell(5, 9).double()
    x = rng.standard_normal((4, 5))
    h = rng.standard_normal((4, 9))
    w_ih, w_hh, b_ih, b_hh = (p.detach().numpy() for p in
                              (tcell.weight_ih, tcell.weight_hh, tcell.bias_ih, tcell.bias_hh))
    out = _GruCell.apply(em.tensor(x @ w_ih.T + b_ih, device=device),
                         em.tensor(h @ w_hh.T + b_hh, device=device), em.tensor(h, device=device))
    want = tcell(torch.tensor(x), torch.tensor(h)).detach().numpy()
    np.testing.assert_allclose(_np(out), want, rtol=1e-12, atol=1e-13)


def test_fused_gru_cell_bad_operands():
    C = em._C
    xg, h = em.randn(2, 12)._data, em.randn(2, 4)._data
    with pytest.raises(ValueError, match="gru_cell: expected input_gates and hidden_gates"):
        C.gru_cell(xg, em.randn(2, 9)._data, h)
    with pytest.raises(ValueError, match="gru_cell: expected input_gates"):
        C.gru_cell(xg, xg, em.randn(3, 4)._data)
    with pytest.raises(TypeError, match="gru_cell: expected floating operands of one dtype"):
        C.gru_cell(xg, xg.to(em.float64), h)
    with pytest.raises(TypeError, match="gru_cell: expected floating"):
        C.gru_cell(xg, xg, em.zeros(2, 4, dtype=em.int64)._data)
    ws = C.gru_cell(xg, xg, h)[1]
    assert tuple(ws.shape) == (2, 16)
    with pytest.raises(ValueError, match="gru_cell_backward: expected workspace"):
        C.gru_cell_backward(h, xg, h)
    with pytest.raises(ValueError, match="gru_cell_backward: expected a gradient like h_prev"):
        C.gru_cell_backward(em.randn(2, 5)._data, ws, h)
