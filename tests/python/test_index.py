"""Joining, splitting and indexing ops: forward against numpy, gradients by
gradcheck, comparisons with PyTorch, and the errors bad input must raise."""

import numpy as np
import pytest
from op_check import assert_close, check_op, rand, rng

import ember as em
import ember.nn.functional as F


def ints(high, *shape):
    return rng.integers(0, high, size=shape).astype(np.int64)


def np_gather(x, dim, index):
    return np.take_along_axis(x, index, axis=dim)


def np_scatter(x, dim, index, src, add):
    out = x.copy()
    for pos in np.ndindex(*index.shape):
        dst = list(pos)
        dst[dim] = index[pos]
        if add:
            out[tuple(dst)] += src[pos]
        else:
            out[tuple(dst)] = src[pos]
    return out


# ---------------------------------------------------------------- cat / stack / split / chunk
@pytest.mark.parametrize("shapes,dim", [
    (((2, 3), (1, 3), (4, 3)), 0),
    (((2, 1), (2, 7)), -1),
    (((1, 5, 2), (1, 5, 3)), 2),
    (((3, 0), (3, 2)), 1),
    (((7,),), 0),
])
def test_cat(shapes, dim, device):
    arrays = [rand(*s) for s in shapes]
    check_op(lambda *xs: em.cat(list(xs), dim), lambda *xs: np.concatenate(xs, dim), *arrays, device=device)


def test_cat_promotes_and_skips_legacy_empty(device):
    out = em.cat([em.zeros(0, device=device), em.ones(2, 3, dtype=em.int64, device=device), em.ones(1, 3, dtype=em.float64, device=device)])
    assert out.shape == (3, 3) and out.dtype == em.float64
    assert em.cat([em.zeros(0, device=device), em.zeros(0, device=device)]).shape == (0,)


def test_stack_hstack_vstack(device):
    a, b = rand(3, 1), rand(3, 1)
    check_op(lambda x, y: em.stack([x, y], 1), lambda x, y: np.stack([x, y], 1), a, b, device=device)
    check_op(lambda x, y: em.stack([x, y], -1), lambda x, y: np.stack([x, y], -1), a, b, device=device)
    check_op(lambda x, y: em.hstack([x, y]), lambda x, y: np.hstack([x, y]), a, b, device=device)
    check_op(lambda x, y: em.vstack([x, y]), lambda x, y: np.vstack([x, y]), rand(5), rand(5), device=device)


def test_split_and_chunk(device):
    x = rand(7, 3)
    check_op(lambda t: em.split(t, 3), lambda t: np.split(t, [3, 6]), x, device=device)
    check_op(lambda t: em.split(t, [2, 0, 5]), lambda t: np.split(t, [2, 2]), x, device=device)
    check_op(lambda t: t.split(2, dim=1), lambda t: np.split(t, [2], axis=1), x, device=device)
    check_op(lambda t: t.chunk(3), lambda t: np.split(t, [3, 6]), x, device=device)
    check_op(lambda t: em.chunk(t, 5, 1), lambda t: np.split(t, [1, 2], axis=1), x, device=device)
    parts = em.tensor(x, device=device).split(3)
    assert em._C.shares_memory(parts[1]._data, parts[0]._data)


# ---------------------------------------------------------------- getitem
@pytest.mark.parametrize("index", [
    0, -1, (slice(1, None), 2), (slice(None, None, 2), slice(1, 4, 3)), (None, Ellipsis, 1),
    (Ellipsis, None), ([0, 2, 2],), (slice(None), [3, 0]), ([0, 1], slice(None), [4, 0]),
    ([[0], [2]], [1, 3]), (1, slice(None), [0, 4]), (slice(None), [1, 2], [0, 3]),
    (np.array([True, False, True]),), (slice(None), np.array([1, -1])),
])
def test_getitem_matches_numpy(index, device):
    x = rand(3, 4, 5)
    np_index = index
    if isinstance(index, tuple) and len(index) == 3 and isinstance(index[0], int) \
            and isinstance(index[2], list):
        # PyTorch applies ints first: x[1, :, [0, 4]] is x[1][:, [0, 4]]
        def reference(t):
            return t[index[0]][:, index[2]]
    else:
        def reference(t):
            return t[np_index]
    check_op(lambda t: t[index], reference, x, device=device)


def test_getitem_bool_mask_tensor_and_combination(device):
    x = rand(4, 6)
    mask = rand(4, 6) > 0
    check_op(lambda t, m: t[m], lambda t, m: t[m], x, mask, device=device)
    row_mask = np.array([True, False, True, True])
    check_op(lambda t: t[em.tensor(row_mask, device=device), 1:5:2], lambda t: t[row_mask, 1:5:2], x, device=device)


def test_scalar_bool_indices_match_torch(device):
    torch = pytest.importorskip("torch")
    x = rand(2, 3)
    e, t = em.tensor(x, device=device), torch.tensor(x)
    for index in [True, False, (0, True), (False, 1), (em.tensor(True, device=device), slice(1, None))]:
        t_index = tuple(torch.tensor(True) if isinstance(i, em.Tensor) else i
                        for i in (index if isinstance(index, tuple) else (index,)))
        assert_close(e[index], t[t_index].cpu().numpy(), 0, 0)


def test_zero_dim_gather_and_scatter(device):
    x = em.tensor(3.0, device=device)
    assert em.gather(x, 0, em.tensor(0, device=device)).item() == 3.0
    assert em.scatter(x, 0, em.tensor(0, device=device), em.tensor(1.5, device=device)).item() == 1.5
    with pytest.raises(IndexError, match="gather"):
        em.gather(x, 0, em.tensor(1, device=device))


def test_basic_getitem_returns_views(device):
    x = em.zeros(4, 5, device=device)
    v = x[1:3, ::2]
    assert em._C.shares_memory(v._data, x._data)
    x[2, 0] = 5.0
    assert v[1, 0].item() == 5.0


def test_getitem_empty_index(device):
    x = rand(3, 4)
    check_op(lambda t: t[np.array([], dtype=np.int64)], lambda t: t[np.array([], dtype=np.int64)],
             x, device=device)


# ---------------------------------------------------------------- setitem
@pytest.mark.parametrize("index,value_shape", [
    ((1,), (5,)), ((slice(None), 2), (1,)), (([0, 2], slice(1, 3)), (2, 2)),
    (([0, 1, 2], [4, 0, 4]), ()), ((slice(None), [1, 3]), (3, 1)),
])
def test_setitem_values_and_gradients(index, value_shape, device):
    x, v = rand(3, 5), rand(*value_shape)

    def ember_fn(t, val):
        out = t * 1.0
        out[index] = val
        return out

    def reference(t, val):
        out = t.copy()
        out[index] = val
        return out

    check_op(ember_fn, reference, x, v, device=device)


def test_setitem_numbers_lists_and_masks(device):
    x = em.zeros(3, 4, device=device)
    a = np.zeros((3, 4), dtype=np.float32)
    x[0] = 1
    a[0] = 1
    x[:, [1, 2]] = [[5.0, 6.0]]
    a[:, [1, 2]] = [[5.0, 6.0]]
    x[em.tensor(a > 5, device=device)] = -1.0
    a[a > 5] = -1.0
    x[..., -1] = em.tensor([7.0, 8.0, 9.0], device=device)
    a[..., -1] = [7.0, 8.0, 9.0]
    np.testing.assert_array_equal(x.cpu().numpy(), a)


def test_setitem_from_overlapping_view(device):
    x = em.tensor(np.arange(6.0), device=device)
    x[1:] = x[:-1]
    assert x.tolist() == [0.0, 0.0, 1.0, 2.0, 3.0, 4.0]


def test_cpu_index_tensors_on_any_device(device):
    # As in PyTorch, a tensor on any device takes CPU index tensors (integer
    # and bool) for getitem, setitem and their gradients.
    a = rand(3, 4)
    x = em.tensor(a, requires_grad=True, device=device)
    rows, mask = em.tensor([2, 0, 2]), em.tensor([True, False, True, False])
    out = x[rows] * 2 + x[:, mask].sum()
    assert out.device == x.device
    assert_close(out, a[[2, 0, 2]] * 2 + a[:, [0, 2]].sum(), 1e-6, 1e-6)
    out.sum().backward()
    expected = np.zeros_like(a)
    np.add.at(expected, [2, 0, 2], 2.0)
    expected[:, [0, 2]] += 12
    assert_close(x.grad, expected, 1e-6, 1e-6)
    y = em.tensor(a, device=device)
    y[rows[:2]] = 0.0
    y[:, mask] = em.tensor(-1.0, device=device)
    b = a.copy()
    b[[2, 0]] = 0.0
    b[:, [0, 2]] = -1.0
    assert_close(y, b, 0, 0)


def test_setitem_on_leaf_requiring_grad_raises():
    x = em.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="setitem"):
        x[0] = 1.0


# ---------------------------------------------------------------- gather / scatter
def test_gather(device):
    x = rand(4, 5, 3)
    index = ints(5, 4, 2, 3)
    check_op(lambda t, i: em.gather(t, 1, i), lambda t, i: np_gather(t, 1, i), x, index, device=device)
    index0 = ints(4, 2, 5, 1)
    check_op(lambda t, i: t.gather(0, i), lambda t, i: np_gather(t[:, :, :1], 0, i), x, index0, device=device)


@pytest.mark.parametrize("add", [False, True])
def test_scatter_and_scatter_add(add, device):
    x, src = rand(5, 4), rand(3, 4)
    index = np.stack([rng.permutation(5)[:3] for _ in range(4)], 1) if not add else ints(5, 3, 4)
    fn = (lambda t, i, s: em.scatter_add(t, 0, i, s)) if add else (
        lambda t, i, s: em.scatter(t, 0, i, s))
    check_op(fn, lambda t, i, s: np_scatter(t, 0, i, s, add), x, index, src, device=device)


def test_scatter_value_and_in_place(device):
    x = em.zeros(3, 4, device=device)
    index = em.tensor([[0, 1, 2, 0]], device=device)
    out = x.scatter(0, index, 2.5)
    assert out.cpu().numpy()[[0, 1, 2, 0], [0, 1, 2, 3]].tolist() == [2.5] * 4
    x.scatter_(1, em.tensor([[3], [0], [1]], device=device), em.ones(3, 1, device=device))
    assert x.cpu().numpy()[[0, 1, 2], [3, 0, 1]].tolist() == [1.0] * 3
    y = em.zeros(4, dtype=em.int64, device=device)
    y.scatter_add_(0, em.tensor([1, 1, 3], device=device), em.tensor([1, 2, 3], device=device))
    assert y.tolist() == [0, 3, 0, 3]


# ---------------------------------------------------------------- index_select / index_add
@pytest.mark.parametrize("shape,dim,n", [((7, 3), 0, 4), ((2, 33), 1, 5), ((1, 3, 5), -1, 1)])
def test_index_select(shape, dim, n, device):
    x = rand(*shape)
    index = ints(shape[dim], n)
    check_op(lambda t, i: em.index_select(t, dim, i), lambda t, i: np.take(t, i, axis=dim), x,
             index, device=device)


def test_index_add(device):
    x, src = rand(5, 3), rand(4, 3)
    index = np.array([0, 4, 0, 2])

    def reference(t, i, s):
        out = t.copy()
        np.add.at(out, i, 2 * s)
        return out

    check_op(lambda t, i, s: em.index_add(t, 0, i, s, alpha=2), reference, x, index, src, device=device)
    y = em.zeros(2, 3, device=device)
    y.index_add_(1, em.tensor([2, 2], device=device), em.ones(2, 2, device=device))
    assert y.tolist() == [[0, 0, 2], [0, 0, 2]]


# ---------------------------------------------------------------- masked_fill
def test_masked_fill(device):
    x = rand(4, 5)
    mask = rand(5) > 0
    check_op(lambda t, m: em.masked_fill(t, m, -2.0), lambda t, m: np.where(m, -2.0, t), x, mask, device=device)
    check_op(lambda t, m: t.masked_fill(m, 3), lambda t, m: np.where(m, 3.0, t), x,
             rand(4, 1) > 0, device=device)
    y = em.ones(2, 3, device=device)
    y.masked_fill_(em.tensor([[True, False, True]], device=device), 0.0)
    assert y.tolist() == [[0, 1, 0], [0, 1, 0]]


# ---------------------------------------------------------------- embedding / one_hot / pad
def test_embedding_forward_and_padding_gradient(device):
    weight = rand(7, 3)
    index = ints(7, 2, 5)
    check_op(lambda i, w: F.embedding(i, w), lambda i, w: w[i], index, weight, device=device)
    w = em.tensor(weight, requires_grad=True, device=device)
    F.embedding(em.tensor([[1, 2, 2], [6, 1, 0]], device=device), w, padding_idx=-1).sum().backward()
    counts = np.bincount([1, 2, 2, 6, 1, 0], minlength=7).astype(float)
    counts[6] = 0.0
    np.testing.assert_allclose(w.grad.cpu().numpy(), np.repeat(counts[:, None], 3, 1))


def test_one_hot(device):
    labels = np.array([[0, 3], [2, 2]])
    out = F.one_hot(em.tensor(labels, device=device))
    assert out.dtype == em.int64 and out.shape == (2, 2, 4)
    np.testing.assert_array_equal(out.cpu().numpy(), np.eye(4, dtype=np.int64)[labels])
    assert F.one_hot(em.tensor([1], device=device), num_classes=3).tolist() == [[0, 1, 0]]


@pytest.mark.parametrize("pad", [(1, 2), (0, 0, 2, 1), (-1, 2, 1, -1), (2, 0, 0, 0, 1, 1)])
def test_pad_constant(pad, device):
    x = rand(3, 4, 5)
    widths = [(0, 0)] * (3 - len(pad) // 2) + [
        (pad[2 * i], pad[2 * i + 1]) for i in reversed(range(len(pad) // 2))]

    def reference(t):
        crop = tuple(slice(max(-b, 0), t.shape[d] - max(-a, 0)) for d, (b, a) in
                     enumerate(widths))
        return np.pad(t[crop], [(max(b, 0), max(a, 0)) for b, a in widths],
                      constant_values=0.5)

    check_op(lambda t: F.pad(t, pad, value=0.5), reference, x, device=device)


@pytest.mark.parametrize("mode,np_mode", [("reflect", "reflect"), ("replicate", "edge"),
                                          ("circular", "wrap")])
def test_pad_other_modes(mode, np_mode, device):
    x = rand(2, 3, 5)
    check_op(lambda t: F.pad(t, (2, 1, 1, 2), mode=mode),
             lambda t: np.pad(t, [(0, 0), (1, 2), (2, 1)], mode=np_mode), x, device=device)


# ---------------------------------------------------------------- against PyTorch
def test_matches_torch(device):
    torch = pytest.importorskip("torch")
    x = rand(4, 5, 6)
    t, e = torch.tensor(x), em.tensor(x, device=device)
    idx = ints(5, 4, 3, 6)
    checks = [
        (e[[0, 3], :, [1, 2]], t[[0, 3], :, [1, 2]]),
        (e[1:, [0, 2]][..., None, ::3], t[1:, [0, 2]][..., None, ::3]),
        (e[0, :, [1, 2]], t[0, :, [1, 2]]),
        (em.gather(e, 1, em.tensor(idx, device=device)), torch.gather(t, 1, torch.tensor(idx))),
        (em.index_select(e, 2, em.tensor([5, 0, 0], device=device)),
         torch.index_select(t, 2, torch.tensor([5, 0, 0]))),
        (F.pad(e, (1, -2, 0, 3)), torch.nn.functional.pad(t, (1, -2, 0, 3))),
        (F.pad(e, (2, 2), mode="reflect"), torch.nn.functional.pad(t, (2, 2), mode="reflect")),
        (em.cat([e, e[:, :2]], 1), torch.cat([t, t[:, :2]], 1)),
        (em.stack([e, e], 2), torch.stack([t, t], 2)),
    ]
    for ours, theirs in checks:
        assert_close(ours, theirs.cpu().numpy(), 1e-12, 1e-12)
    src = rand(2, 5, 6)
    ours = em.scatter_add(e, 0, em.tensor(idx[:2] % 4, device=device), em.tensor(src, device=device))
    theirs = torch.scatter_add(t, 0, torch.tensor(idx[:2] % 4), torch.tensor(src))
    assert_close(ours, theirs.cpu().numpy(), 1e-12, 1e-12)
    for a, b in zip(e.split([1, 3], 0), t.split([1, 3], 0)):
        assert_close(a, b.cpu().numpy(), 0, 0)
    labels = ints(4, 6)
    expected = torch.nn.functional.one_hot(torch.tensor(labels)).cpu().numpy()
    assert_close(F.one_hot(em.tensor(labels, device=device)), expected, 0, 0)


def test_gradients_match_torch(device):
    torch = pytest.importorskip("torch")
    x, w = rand(4, 5), rand(6, 3)
    idx = np.array([[0, 5, 5], [2, 0, 1]])
    e, ew = em.tensor(x, requires_grad=True, device=device), em.tensor(w, requires_grad=True, device=device)
    t, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    (e[[0, 0, 3], 1:] * 2).sum().backward()
    (t[[0, 0, 3], 1:] * 2).sum().backward()
    F.embedding(em.tensor(idx, device=device), ew, padding_idx=5).sum().backward()
    torch.nn.functional.embedding(torch.tensor(idx), tw, padding_idx=5).sum().backward()
    assert_close(e.grad, t.grad.cpu().numpy(), 1e-12, 1e-12)
    assert_close(ew.grad, tw.grad.cpu().numpy(), 1e-12, 1e-12)


# ---------------------------------------------------------------- double backward
def _set_rows(t, v):
    out = t * t
    out[[0, 2]] = v * v
    return out


@pytest.mark.parametrize("fn", [
    lambda t, v: em.gather(t * t, 1, em.tensor([[0, 0], [2, 1], [1, 1]], device=t.device)),
    lambda t, v: em.scatter_add(t * t, 0, em.tensor([[2, 0, 2]], device=t.device), (v * v).reshape(1, 3)),
    lambda t, v: em.scatter(t * t, 1, em.tensor([[1], [0], [2]], device=t.device), v.reshape(3, 1) * v[0]),
    lambda t, v: em.index_select(t * t, 0, em.tensor([2, 2, 0], device=t.device)),
    lambda t, v: em.index_add(t * t, 1, em.tensor([1, 1, 0], device=t.device), (v * v).expand(3, 3)),
    lambda t, v: em.masked_fill(t * t, em.tensor([True, False, True], device=t.device), 1.0),
    lambda t, v: (t * t)[[0, 2], 1:],
    lambda t, v: (t * t)[em.tensor([[True, False, True]] * 3, device=t.device)],
    _set_rows,
    lambda t, v: F.pad(t * t, (1, -1, 2, 0)),
    lambda t, v: em.cat([t * t, v.reshape(1, 3) * v], 0),
    lambda t, v: F.embedding(em.tensor([2, 0, 2], device=t.device), t * t, padding_idx=0),
])
def test_double_backward(fn, device):
    t = em.tensor(rand(3, 3), requires_grad=True, device=device)
    v = em.tensor(rand(3), requires_grad=True, device=device)
    em.autograd.gradgradcheck(fn, (t, v))


# ---------------------------------------------------------------- bad input
def test_bad_inputs_raise_clear_errors():
    x = em.zeros(3, 4)
    cases = [
        (ValueError, "cat", lambda: em.cat([x, em.zeros(3, 5)])),
        (ValueError, "cat", lambda: em.cat([x, em.zeros(4)])),
        (ValueError, "cat", lambda: em.cat([])),
        (ValueError, "stack", lambda: em.stack([x, em.zeros(4, 3)])),
        (ValueError, "split", lambda: x.split([1, 1])),
        (ValueError, "chunk", lambda: x.chunk(0)),
        (IndexError, "out of bounds.*size 3", lambda: x[3]),
        (IndexError, "index 4 is out of bounds.*size 4", lambda: x[:, [0, 4]]),
        (IndexError, "too many indices", lambda: x[0, 0, 0]),
        (ValueError, "step", lambda: x[::-1]),
        (TypeError, "index", lambda: x[em.tensor([0.5])]),
        (TypeError, "getitem", lambda: x["a"]),
        (IndexError, "mask", lambda: x[em.tensor([True, False])]),
        (ValueError, "index_put_", lambda: x.__setitem__([0, 1], em.zeros(3))),
        (IndexError, "gather: index 3", lambda: x.gather(0, em.tensor([[3]]))),
        (IndexError, "gather: index -1", lambda: x.gather(0, em.tensor([[-1]]))),
        (ValueError, "gather", lambda: x.gather(0, em.tensor([1]))),
        (TypeError, "gather", lambda: x.gather(0, em.tensor([[0.0]]))),
        (ValueError, "scatter", lambda: x.scatter(0, em.tensor([[0, 1]]), em.zeros(1, 1))),
        (IndexError, "scatter_add: index 9", lambda: x.scatter_add(1, em.tensor([[9]]),
                                                                   em.zeros(1, 1))),
        (IndexError, "index_select: index 5", lambda: x.index_select(1, em.tensor([5]))),
        (ValueError, "index_select", lambda: x.index_select(0, em.tensor([[0]]))),
        (IndexError, "index_select", lambda: x.index_select(2, em.tensor([0]))),
        (ValueError, "index_add_", lambda: x.index_add(0, em.tensor([0]), em.zeros(2, 4))),
        (TypeError, "masked_fill", lambda: x.masked_fill(em.zeros(4), 1.0)),
        (ValueError, "masked_fill", lambda: x.masked_fill(em.tensor([True, False]), 1.0)),
        (TypeError, "masked_fill_", lambda: em.zeros(2, dtype=em.int64).masked_fill_(
            em.tensor([True, False]), 0.5)),
        (ValueError, "embedding", lambda: F.embedding(em.tensor([0]), em.zeros(7))),
        (TypeError, "embedding", lambda: F.embedding(em.tensor([0.0]), em.zeros(7, 2))),
        (IndexError, "embedding.*index 9", lambda: F.embedding(em.tensor([9]), em.zeros(7, 2))),
        (ValueError, "pad.*overflow", lambda: F.pad(x, (2**62, 2**62))),
        (ValueError, "one_hot", lambda: F.one_hot(em.tensor([0, 3]), 3)),
        (ValueError, "one_hot", lambda: F.one_hot(em.tensor([-1]))),
        (TypeError, "one_hot", lambda: F.one_hot(em.tensor([0.0]))),
        (ValueError, "one_hot", lambda: F.one_hot(em.zeros(0, dtype=em.int64))),
        (ValueError, "pad", lambda: F.pad(x, (1,))),
        (ValueError, "pad", lambda: F.pad(x, (1, 1, 1, 1, 1, 1))),
        (ValueError, "pad", lambda: F.pad(x, (-3, -2))),
        (ValueError, "pad", lambda: F.pad(x, (4, 0), mode="reflect")),
        (ValueError, "pad", lambda: F.pad(x, (1, 0), mode="wrap")),
    ]
    for exc, pattern, fn in cases:
        with pytest.raises(exc, match=pattern):
            fn()


def test_index_on_another_device_names_the_op(cuda_device):
    x = em.randn(4, 3, device=cuda_device)
    with pytest.raises((RuntimeError, ValueError), match="index_select"):
        em.index_select(x, 0, em.tensor([0, 2]))
    with pytest.raises((RuntimeError, ValueError), match="gather"):
        em.gather(x, 1, em.tensor([[0], [1], [2], [0]]))
