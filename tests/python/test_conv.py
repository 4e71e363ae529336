"""conv2d and 2-D pooling: forward against numpy references, gradients by
gradcheck (double backward where supported), PyTorch comparisons, bad inputs."""

import math

import numpy as np
import pytest
from op_check import check_op, rand

import ember as em
import ember.nn.functional as F


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def conv2d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    """Direct numpy convolution (cross-correlation), NCHW."""
    unbatched = x.ndim == 3
    if unbatched:
        x = x[None]
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    kh, kw = w.shape[2:]
    if padding == "valid":
        pads = (0, 0, 0, 0)
    elif padding == "same":
        th, tw = dh * (kh - 1), dw * (kw - 1)
        pads = (th // 2, th - th // 2, tw // 2, tw - tw // 2)
    else:
        ph, pw = _pair(padding)
        pads = (ph, ph, pw, pw)
    xp = np.pad(x, ((0, 0), (0, 0), pads[:2], pads[2:]))
    n, c, hp, wp = xp.shape
    oh = (hp - dh * (kh - 1) - 1) // sh + 1
    ow = (wp - dw * (kw - 1) - 1) // sw + 1
    oc = w.shape[0]
    cg, og = c // groups, oc // groups
    out = np.zeros((n, oc, oh, ow))
    for g in range(groups):
        xs = xp[:, g * cg:(g + 1) * cg]
        ws = w[g * og:(g + 1) * og]
        for i in range(kh):
            for j in range(kw):
                patch = xs[:, :, i * dh:i * dh + sh * (oh - 1) + 1:sh,
                           j * dw:j * dw + sw * (ow - 1) + 1:sw]
                out[:, g * og:(g + 1) * og] += np.einsum("ncyx,oc->noyx", patch, ws[:, :, i, j])
    if b is not None:
        out += b[None, :, None, None]
    return out[0] if unbatched else out


def pooled_size(size, k, s, p, d, ceil_mode):
    span = d * (k - 1) + 1
    raw = (size + 2 * p - span) / s
    out = (math.ceil(raw) if ceil_mode else math.floor(raw)) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


def _windows(x, kernel, stride, padding, dilation, ceil_mode):
    """Yields (oy, ox, list of valid (y, x) input positions, padded count)."""
    (kh, kw), (ph, pw), (dh, dw) = _pair(kernel), _pair(padding), _pair(dilation)
    sh, sw = _pair(stride if stride is not None else kernel)
    h, w = x.shape[-2:]
    oh = pooled_size(h, kh, sh, ph, dh, ceil_mode)
    ow = pooled_size(w, kw, sw, pw, dw, ceil_mode)
    for oy in range(oh):
        for ox in range(ow):
            y0, x0 = oy * sh - ph, ox * sw - pw
            ys = [y0 + i * dh for i in range(kh)]
            xs = [x0 + j * dw for j in range(kw)]
            count = (min(y0 + kh, h + ph) - y0) * (min(x0 + kw, w + pw) - x0)
            yield oy, ox, oh, ow, [y for y in ys if 0 <= y < h], [x for x in xs if 0 <= x < w], count


def max_pool2d_ref(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    cells = list(_windows(x, kernel_size, stride, padding, dilation, ceil_mode))
    oh, ow = cells[0][2], cells[0][3]
    out = np.zeros(x.shape[:-2] + (oh, ow))
    idx = np.zeros(x.shape[:-2] + (oh, ow), dtype=np.int64)
    w = x.shape[-1]
    for oy, ox, _, _, ys, xs, _ in cells:
        flat = [y * w + xx for y in ys for xx in xs]
        vals = x.reshape(x.shape[:-2] + (x.shape[-2] * w,))[..., flat]
        arg = vals.argmax(-1)
        out[..., oy, ox] = vals.max(-1)
        idx[..., oy, ox] = np.asarray(flat)[arg]
    return out, idx


def avg_pool2d_ref(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                   divisor_override=None):
    cells = list(_windows(x, kernel_size, stride, padding, 1, ceil_mode))
    out = np.zeros(x.shape[:-2] + (cells[0][2], cells[0][3]))
    for oy, ox, _, _, ys, xs, count in cells:
        total = x[..., ys, :][..., xs].sum(axis=(-2, -1))
        divisor = divisor_override or (count if count_include_pad else len(ys) * len(xs))
        out[..., oy, ox] = total / divisor
    return out


def adaptive_avg_pool2d_ref(x, size):
    oh, ow = _pair(size)
    h, w = x.shape[-2:]
    out = np.zeros(x.shape[:-2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            y0, y1 = i * h // oh, -(-(i + 1) * h // oh)
            x0, x1 = j * w // ow, -(-(j + 1) * w // ow)
            out[..., i, j] = x[..., y0:y1, x0:x1].mean(axis=(-2, -1))
    return out


# ---------------------------------------------------------------- conv2d

CONV_CASES = [
    # x shape, weight shape, kwargs
    ((1, 1, 1, 1), (1, 1, 1, 1), {}),
    ((2, 3, 7, 5), (4, 3, 3, 3), {"padding": 1}),
    ((2, 4, 9, 11), (6, 2, 3, 2), {"stride": 2, "padding": (1, 0), "groups": 2}),
    ((1, 3, 8, 7), (3, 1, 3, 3), {"dilation": 2, "padding": 2, "groups": 3}),
    ((3, 2, 13, 7), (5, 2, 5, 1), {"stride": (3, 1), "padding": 2}),
    ((2, 2, 6, 5), (3, 2, 4, 3), {"padding": "same"}),
    ((2, 2, 6, 5), (3, 2, 2, 2), {"padding": "same", "dilation": (1, 2)}),
    ((2, 2, 6, 5), (3, 2, 3, 3), {"padding": "valid"}),
    ((3, 7, 5), (2, 3, 2, 2), {"stride": 2}),  # unbatched
    ((0, 3, 5, 5), (2, 3, 3, 3), {}),
    # 3x3, stride 1, 16 channels each way: the CPU's Winograd path.
    ((1, 16, 5, 4), (16, 16, 3, 3), {"padding": 1}),
]


@pytest.mark.parametrize("x_shape,w_shape,kwargs", CONV_CASES)
def test_conv2d(x_shape, w_shape, kwargs, device):
    b = rand(w_shape[0])
    check_op(lambda x, w, b: F.conv2d(x, w, b, **kwargs),
             lambda x, w, b: conv2d_ref(x, w, b, **kwargs), rand(*x_shape), rand(*w_shape), b, device=device)


def test_conv2d_algorithm_names_the_cpu_path():
    x, w = em.tensor(rand(1, 16, 5, 4))._data, em.tensor(rand(16, 16, 3, 3))._data
    assert em._C.conv2d_algorithm(x, w, [1], [1], [1], 1) == "winograd"
    assert em._C.conv2d_algorithm(x, w, [2], [1], [1], 1) == "im2col"
    assert em._C.conv2d_algorithm(x, w, [1], [1], [2], 1) == "im2col"
    with pytest.raises(ValueError, match="conv2d"):
        em._C.conv2d_algorithm(x, em.tensor(rand(16, 8, 3, 3))._data, [1], [1], [1], 1)


def test_conv2d_without_bias_and_top_level_name(device):
    check_op(lambda x, w: em.conv2d(x, w, stride=2, padding=1),
             lambda x, w: conv2d_ref(x, w, stride=2, padding=1), rand(2, 3, 9, 8), rand(4, 3, 3, 3), device=device)


def _check_backward_is_differentiable_in_grad_output(fn, *inputs):
    """gradcheck of v -> d<fn(inputs), v>/d(inputs): the backward pass is
    linear in v and must be differentiable in it (double backward)."""
    out = fn(*inputs)
    v = em.tensor(rand(*out.shape), requires_grad=True, device=out.device)

    def vjp(v):
        with em.enable_grad():
            return em.autograd.grad(fn(*inputs), inputs, grad_outputs=(v,),
                                    create_graph=True)

    em.autograd.gradcheck(vjp, (v,))


def test_conv2d_double_backward(device):
    x = em.tensor(rand(2, 4, 6, 5), requires_grad=True, device=device)
    w = em.tensor(rand(4, 2, 3, 2), requires_grad=True, device=device)
    b = em.tensor(rand(4), requires_grad=True, device=device)
    kwargs = {"stride": (2, 1), "padding": 1, "dilation": (1, 2), "groups": 2}
    em.autograd.gradgradcheck(lambda x, w: F.conv2d(x, w, **kwargs), (x, w))
    _check_backward_is_differentiable_in_grad_output(
        lambda x, w, b: F.conv2d(x, w, b, **kwargs), x, w, b)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
def test_conv2d_against_torch(device):
    torch = pytest.importorskip("torch")
    x, w, b = rand(2, 4, 11, 9), rand(6, 2, 3, 3), rand(6)
    kwargs = {"stride": (2, 1), "padding": (1, 2), "dilation": (2, 1), "groups": 2}
    ex, ew, eb = (em.tensor(a, dtype=em.float32, requires_grad=True, device=device) for a in (x, w, b))
    tx, tw, tb = (torch.tensor(a, dtype=torch.float32, requires_grad=True) for a in (x, w, b))
    out, tout = F.conv2d(ex, ew, eb, **kwargs), torch.nn.functional.conv2d(tx, tw, tb, **kwargs)
    np.testing.assert_allclose(out.detach().cpu().numpy(), tout.detach().cpu().numpy(), rtol=1e-4, atol=1e-5)
    g = rand(*out.shape)
    out.backward(em.tensor(g, dtype=em.float32, device=device))
    tout.backward(torch.tensor(g, dtype=torch.float32))
    for e, t in ((ex, tx), (ew, tw), (eb, tb)):
        np.testing.assert_allclose(e.grad.cpu().numpy(), t.grad.cpu().numpy(), rtol=1e-4, atol=1e-4)
    w_same = rand(3, 4, 4, 2)
    y = F.conv2d(em.tensor(x, device=device), em.tensor(w_same, device=device), padding="same", dilation=(1, 3))
    ty = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w_same), padding="same",
                                    dilation=(1, 3))
    np.testing.assert_allclose(y.cpu().numpy(), ty.cpu().numpy(), rtol=1e-10, atol=1e-12)


def test_conv2d_bad_inputs():
    x = em.zeros(1, 4, 5, 5)
    with pytest.raises(ValueError, match=r"conv2d: input has 4 channels.*\[2, 3, 3, 3\]"):
        F.conv2d(x, em.zeros(2, 3, 3, 3))
    with pytest.raises(ValueError, match="conv2d: out_channels .* divisible by groups"):
        F.conv2d(x, em.zeros(3, 2, 3, 3), groups=2)
    with pytest.raises(ValueError, match="conv2d: kernel size .* larger than the padded input"):
        F.conv2d(x, em.zeros(2, 4, 7, 7))
    with pytest.raises(ValueError, match="conv2d: stride must be positive"):
        F.conv2d(x, em.zeros(2, 4, 3, 3), stride=0)
    with pytest.raises(ValueError, match="conv2d: padding must be non-negative"):
        F.conv2d(x, em.zeros(2, 4, 3, 3), padding=-1)
    with pytest.raises(ValueError, match="conv2d: dilation must be positive"):
        F.conv2d(x, em.zeros(2, 4, 3, 3), dilation=(1, 0))
    with pytest.raises(ValueError, match="conv2d: padding='same' needs stride 1"):
        F.conv2d(x, em.zeros(2, 4, 3, 3), stride=2, padding="same")
    with pytest.raises(ValueError, match="conv2d: padding must be"):
        F.conv2d(x, em.zeros(2, 4, 3, 3), padding="full")
    with pytest.raises(ValueError, match="conv2d: groups must be positive"):
        F.conv2d(x, em.zeros(2, 4, 3, 3), groups=0)
    with pytest.raises(TypeError, match="conv2d: input and weight must have the same dtype"):
        F.conv2d(x, em.zeros(2, 4, 3, 3, dtype=em.float64))
    with pytest.raises(TypeError, match="conv2d: unsupported dtype int64"):
        F.conv2d(em.zeros(1, 4, 5, 5, dtype=em.int64), em.zeros(2, 4, 3, 3, dtype=em.int64))
    with pytest.raises(ValueError, match=r"conv2d: expected a 3-D .* \[4, 5\]"):
        F.conv2d(em.zeros(4, 5), em.zeros(2, 4, 3, 3))
    with pytest.raises(ValueError, match=r"conv2d: expected a 4-D weight"):
        F.conv2d(x, em.zeros(2, 4, 3))
    with pytest.raises(ValueError, match=r"conv2d: expected a bias of shape \[2\]"):
        F.conv2d(x, em.zeros(2, 4, 3, 3), em.zeros(3))
    with pytest.raises(TypeError, match="conv2d: stride"):
        F.conv2d(x, em.zeros(2, 4, 3, 3), stride=1.5)
    with pytest.raises(TypeError, match="conv2d: weight must be a Tensor"):
        F.conv2d(x, np.zeros((2, 4, 3, 3)))


# ---------------------------------------------------------------- pooling

MAX_CASES = [
    ((1, 1, 1, 1), {"kernel_size": 1}),
    ((2, 3, 7, 7), {"kernel_size": 2}),
    ((2, 3, 7, 9), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ((1, 2, 7, 7), {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    ((1, 2, 6, 6), {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}),
    ((2, 2, 9, 8), {"kernel_size": (3, 2), "dilation": 2, "padding": (1, 0)}),
    ((3, 5, 5), {"kernel_size": 2, "stride": 1}),  # unbatched
    ((0, 2, 4, 4), {"kernel_size": 2}),
]


@pytest.mark.parametrize("x_shape,kwargs", MAX_CASES)
def test_max_pool2d(x_shape, kwargs, device):
    # Distinct values keep the maximum unique, so finite differences are smooth.
    x = (np.random.default_rng(3).permutation(int(np.prod(x_shape))).reshape(x_shape)
         / max(1, np.prod(x_shape)))
    check_op(lambda t: F.max_pool2d(t, **kwargs), lambda a: max_pool2d_ref(a, **kwargs)[0], x, device=device)
    if np.prod(x_shape):
        _, idx = F.max_pool2d(em.tensor(x, device=device), return_indices=True, **kwargs)
        assert idx.dtype == em.int64
        np.testing.assert_array_equal(idx.cpu().numpy(), max_pool2d_ref(x, **kwargs)[1])


AVG_CASES = [
    ((1, 1, 1, 1), {"kernel_size": 1}),
    ((2, 3, 7, 7), {"kernel_size": 2}),
    ((2, 3, 7, 9), {"kernel_size": 3, "stride": 2, "padding": 1}),
    ((2, 3, 7, 9), {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
    ((1, 2, 7, 7), {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
    ((1, 2, 6, 6), {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True,
                    "count_include_pad": False}),
    ((2, 2, 5, 6), {"kernel_size": (3, 2), "padding": (1, 1), "divisor_override": 5}),
    ((3, 5, 5), {"kernel_size": 2, "stride": 1}),
    ((0, 2, 4, 4), {"kernel_size": 2}),
]


@pytest.mark.parametrize("x_shape,kwargs", AVG_CASES)
def test_avg_pool2d(x_shape, kwargs, device):
    check_op(lambda t: F.avg_pool2d(t, **kwargs), lambda a: avg_pool2d_ref(a, **kwargs),
             rand(*x_shape), device=device)


@pytest.mark.parametrize("x_shape,size", [((1, 1, 1, 1), 1), ((2, 3, 7, 7), 3),
                                          ((2, 3, 10, 7), (4, 5)), ((3, 5, 6), (5, 11)),
                                          ((2, 2, 5, 5), (2, None)), ((0, 2, 3, 3), 2)])
def test_adaptive_avg_pool2d(x_shape, size, device):
    ref_size = tuple(x_shape[-2 + i] if s is None else s for i, s in enumerate(_pair(size)))
    check_op(lambda t: F.adaptive_avg_pool2d(t, size),
             lambda a: adaptive_avg_pool2d_ref(a, ref_size), rand(*x_shape), device=device)


def test_avg_pools_double_backward(device):
    x = em.tensor(rand(2, 2, 7, 6), requires_grad=True, device=device)
    _check_backward_is_differentiable_in_grad_output(
        lambda t: F.avg_pool2d(t, 3, 2, 1, ceil_mode=True), x)
    _check_backward_is_differentiable_in_grad_output(lambda t: F.adaptive_avg_pool2d(t, (3, 4)), x)


@pytest.mark.parametrize("kwargs", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
                                    {"kernel_size": (2, 3), "dilation": (2, 1)}])
def test_max_pool2d_inference_path_matches_training_path(kwargs, device):
    # Without grad the indices are not computed: same values (NaN included) either way.
    x = rand(2, 3, 9, 37).astype(np.float32)
    x[0, 1, 4, 20] = np.nan
    ex = em.tensor(x, device=device)
    with em.no_grad():
        plain = F.max_pool2d(em.tensor(x, requires_grad=True, device=device), **kwargs)
    assert not plain.requires_grad
    trained = F.max_pool2d(em.tensor(x, requires_grad=True, device=device), **kwargs)
    assert trained.requires_grad
    for out in (F.max_pool2d(ex, **kwargs), plain):
        np.testing.assert_array_equal(out.cpu().numpy(), trained.detach().cpu().numpy())
    assert np.isnan(trained.detach().cpu().numpy()).any()


def test_max_pool2d_double_backward_is_refused(device):
    x = em.tensor(rand(1, 1, 4, 4), requires_grad=True, device=device)
    (g,) = em.autograd.grad(F.max_pool2d(x, 2).sum(), (x,), create_graph=True)
    assert g.shape == x.shape
    v = em.tensor(rand(1, 1, 2, 2), requires_grad=True, device=device)
    with pytest.raises(NotImplementedError, match="max_pool2d: double backward"):
        em.autograd.grad(F.max_pool2d(x, 2), (x,), grad_outputs=(v,), create_graph=True)


def test_pools_against_torch(device):
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = rand(2, 3, 11, 10).astype(np.float32)
    cases = [
        (F.max_pool2d, tf.max_pool2d, {"kernel_size": 3, "stride": 2, "padding": 1,
                                       "ceil_mode": True}),
        (F.max_pool2d, tf.max_pool2d, {"kernel_size": (2, 3), "dilation": (2, 1)}),
        (F.avg_pool2d, tf.avg_pool2d, {"kernel_size": 3, "stride": 2, "padding": 1,
                                       "ceil_mode": True, "count_include_pad": False}),
        (F.avg_pool2d, tf.avg_pool2d, {"kernel_size": 4, "stride": 3, "padding": 2,
                                       "ceil_mode": True}),
        (F.adaptive_avg_pool2d, tf.adaptive_avg_pool2d, {"output_size": (4, 3)}),
    ]
    for ours, theirs, kwargs in cases:
        ex = em.tensor(x, requires_grad=True, device=device)
        tx = torch.tensor(x, requires_grad=True)
        out, tout = ours(ex, **kwargs), theirs(tx, **kwargs)
        np.testing.assert_allclose(out.detach().cpu().numpy(), tout.detach().cpu().numpy(), rtol=1e-5,
                                   atol=1e-6)
        g = rand(*out.shape).astype(np.float32)
        out.backward(em.tensor(g, device=device))
        tout.backward(torch.tensor(g))
        np.testing.assert_allclose(ex.grad.cpu().numpy(), tx.grad.cpu().numpy(), rtol=1e-5, atol=1e-6)
    _, idx = F.max_pool2d(em.tensor(x, device=device), 3, 2, 1, return_indices=True)
    _, tidx = tf.max_pool2d(torch.tensor(x), 3, 2, 1, return_indices=True)
    np.testing.assert_array_equal(idx.cpu().numpy(), tidx.cpu().numpy())


def test_pool_bad_inputs():
    x = em.zeros(1, 2, 4, 4)
    with pytest.raises(ValueError, match="max_pool2d: kernel_size .* larger than the padded"):
        F.max_pool2d(x, 5)
    with pytest.raises(ValueError, match="max_pool2d: stride must be positive"):
        F.max_pool2d(x, 2, stride=0)
    with pytest.raises(ValueError, match="max_pool2d: padding .* at most half"):
        F.max_pool2d(x, 2, padding=2)
    with pytest.raises(ValueError, match=r"max_pool2d: expected a 3-D .* \[4, 4\]"):
        F.max_pool2d(em.zeros(4, 4), 2)
    with pytest.raises(TypeError, match="max_pool2d: unsupported dtype int64"):
        F.max_pool2d(em.zeros(1, 1, 4, 4, dtype=em.int64), 2)
    with pytest.raises(TypeError, match="max_pool2d: kernel_size"):
        F.max_pool2d(x, 2.0)
    with pytest.raises(ValueError, match="avg_pool2d: stride must be positive"):
        F.avg_pool2d(x, 2, stride=-1)
    with pytest.raises(ValueError, match="avg_pool2d: kernel_size must be positive"):
        F.avg_pool2d(x, 0)
    with pytest.raises(ValueError, match="avg_pool2d: divisor_override must be positive"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match="avg_pool2d: kernel_size .* larger than the padded"):
        F.avg_pool2d(x, (2, 5))
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: output_size must be positive"):
        F.adaptive_avg_pool2d(x, (0, 2))
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: expected a 3-D or 4-D"):
        F.adaptive_avg_pool2d(em.zeros(3), 1)
    with pytest.raises(ValueError, match="adaptive_avg_pool2d: input has an empty spatial"):
        F.adaptive_avg_pool2d(em.zeros(1, 2, 0, 3), 1)
    with pytest.raises(TypeError, match="adaptive_avg_pool2d: input must be a Tensor"):
        F.adaptive_avg_pool2d(np.zeros((1, 2, 3, 3)), 1)


def test_conv2d_weight_on_another_device_names_the_op(cuda_device):
    x = em.randn(1, 2, 5, 5, device=cuda_device)
    with pytest.raises((RuntimeError, ValueError), match="conv2d"):
        em.conv2d(x, em.randn(3, 2, 3, 3))
