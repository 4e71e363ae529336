"""conv2d in float16 and bfloat16: forward and every gradient on each device
against the float32 result of the widened inputs (and PyTorch's CPU 16-bit
conv2d where it is installed), nn.Conv2d(...).half(), and the errors left."""

import numpy as np
import pytest
from half_check import HALF_DTYPES, check_half, half_inputs

import ember as em
import ember.nn.functional as F

try:
    import torch
except ImportError:  # pragma: no cover - torch is a test-only reference
    torch = None

EPS = {em.float16: 2.0**-10, em.bfloat16: 2.0**-7}

# (input shape, weight shape, conv2d keyword arguments)
CASES = [
    ((2, 3, 9, 9), (5, 3, 3, 3), {"padding": 1}),
    ((1, 1, 1, 1), (1, 1, 1, 1), {}),
    ((3, 4, 13, 11), (6, 2, 3, 5), {"stride": 2, "padding": (1, 2), "dilation": (2, 1),
                                    "groups": 2}),
    ((2, 5, 9, 9), (5, 1, 3, 3), {"padding": 1, "groups": 5}),
    ((1, 33, 3, 43), (31, 33, 1, 2), {"padding": "same"}),
]


def _tolerance(dtype, terms):
    """One rounding to `dtype` plus float accumulation of `terms` products of
    values in [-2, 2] (summed in another order than the CPU's)."""
    return {"rtol": EPS[dtype], "atol": 16 * 2.0**-24 * terms}


def _terms(x_shape, w_shape, out_shape):
    """Products summed for an output, an input gradient and a weight gradient."""
    taps = w_shape[2] * w_shape[3]
    return max(w_shape[1] * taps, w_shape[0] * taps, out_shape[0] * out_shape[2] * out_shape[3])


@pytest.mark.parametrize("dtype", HALF_DTYPES)
@pytest.mark.parametrize("x_shape, w_shape, kwargs", CASES)
def test_conv2d_forward(x_shape, w_shape, kwargs, dtype, device):
    halves, widened = half_inputs(x_shape, w_shape, (w_shape[0],), dtype=dtype, device=device)
    out = check_half(lambda x, w, b: F.conv2d(x, w, b, **kwargs), halves, widened, dtype=dtype,
                     what="conv2d", **_tolerance(dtype, w_shape[1] * w_shape[2] * w_shape[3] + 1))
    assert out.device.type == device


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_conv2d_non_contiguous_without_bias(dtype, device):
    halves, widened = half_inputs((2, 3, 11, 7), (4, 3, 3, 2), dtype=dtype, device=device)

    def fn(x, w):
        return F.conv2d(x.transpose(2, 3), w, stride=(2, 1), padding=1)

    assert not halves[0].transpose(2, 3).is_contiguous()
    check_half(fn, halves, widened, dtype=dtype, what="conv2d of a transposed input",
               **_tolerance(dtype, 3 * 3 * 2))


def _grad(which, x, w, b, grad, kwargs):
    """One gradient of sum(conv2d(x, w, b) * grad), through out.backward(grad)."""
    x, w, b = (t.detach().requires_grad_() for t in (x, w, b))
    F.conv2d(x, w, b, **kwargs).backward(grad)
    return {"input": x, "weight": w, "bias": b}[which].grad


@pytest.mark.parametrize("which", ["input", "weight", "bias"])
@pytest.mark.parametrize("dtype", HALF_DTYPES)
@pytest.mark.parametrize("x_shape, w_shape, kwargs", CASES)
def test_conv2d_backward(x_shape, w_shape, kwargs, dtype, which, device):
    out_shape = F.conv2d(em.zeros(x_shape), em.zeros(w_shape), **kwargs).shape
    halves, widened = half_inputs(x_shape, w_shape, (w_shape[0],), tuple(out_shape), dtype=dtype,
                                  device=device, seed=1)
    grad = check_half(lambda x, w, b, g: _grad(which, x, w, b, g, kwargs), halves, widened,
                      dtype=dtype, what=f"conv2d grad {which}",
                      **_tolerance(dtype, _terms(x_shape, w_shape, out_shape)))
    assert grad.device.type == device


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_conv1d_and_conv_transpose2d(dtype, device):
    """Both run on conv2d's kernels (conv_transpose2d on its input gradient)."""
    halves, widened = half_inputs((2, 4, 17), (6, 2, 3), dtype=dtype, device=device)
    check_half(lambda x, w: F.conv1d(x, w, stride=2, padding=1, groups=2), halves, widened,
               dtype=dtype, what="conv1d", **_tolerance(dtype, 2 * 3))
    halves, widened = half_inputs((2, 4, 5, 7), (4, 3, 3, 2), dtype=dtype, device=device)
    check_half(lambda x, w: F.conv_transpose2d(x, w, stride=2, padding=1), halves, widened,
               dtype=dtype, what="conv_transpose2d", **_tolerance(dtype, 4 * 3 * 2))


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_conv2d_module(dtype, device):
    em.manual_seed(0)
    conv = em.nn.Conv2d(3, 4, 3, padding=1).to(device)
    conv = conv.half() if dtype == em.float16 else conv.bfloat16()
    assert conv.weight.dtype == dtype and conv.bias.dtype == dtype
    x = em.randn(2, 3, 8, 8).to(dtype).to(device).requires_grad_()
    out = conv(x)
    assert out.dtype == dtype and out.shape == (2, 4, 8, 8)
    out.backward(em.ones(2, 4, 8, 8, dtype=dtype, device=device))
    for t in (x, conv.weight, conv.bias):
        assert t.grad.dtype == dtype and t.grad.shape == t.shape
    # grad bias of an all-ones gradient is the count of output pixels, exact in 16 bits.
    np.testing.assert_array_equal(conv.bias.grad.cpu().float().numpy(), np.full(4, 128.0))


@pytest.mark.skipif(torch is None, reason="PyTorch not installed")
@pytest.mark.parametrize("dtype", HALF_DTYPES)
@pytest.mark.parametrize("x_shape, w_shape, kwargs", CASES[:4])
def test_conv2d_against_torch(x_shape, w_shape, kwargs, dtype, device):
    torch_dtype = {em.float16: torch.float16, em.bfloat16: torch.bfloat16}[dtype]
    (x, w, b, _), _ = half_inputs(x_shape, w_shape, (w_shape[0],), (1,), dtype=dtype,
                                  device=device)
    tx, tw, tb = (torch.tensor(t.cpu().float().numpy()).to(torch_dtype).requires_grad_()
                  for t in (x, w, b))
    try:
        expected = torch.nn.functional.conv2d(tx, tw, tb, **kwargs)
    except RuntimeError as error:  # pragma: no cover - depends on the PyTorch build
        pytest.skip(f"PyTorch has no CPU {torch_dtype} conv2d: {error}")
    grad = torch.linspace(-1, 1, expected.numel()).reshape(expected.shape).to(torch_dtype)
    expected.backward(grad)
    x, w, b = (t.requires_grad_() for t in (x, w, b))
    out = F.conv2d(x, w, b, **kwargs)
    out.backward(em.tensor(grad.float().numpy(), dtype=dtype).to(device))
    # Both round once to 16 bits from float sums taken in different orders:
    # a few ulps of the result's magnitude.
    for ours, theirs in ((out, expected), (x.grad, tx.grad), (w.grad, tw.grad),
                         (b.grad, tb.grad)):
        assert ours.dtype == dtype
        reference = theirs.detach().float().numpy()
        scale = max(1.0, float(np.abs(reference).max()))
        np.testing.assert_allclose(ours.detach().cpu().float().numpy(), reference, rtol=2 * EPS[dtype],
                                   atol=2 * EPS[dtype] * scale)


def test_errors_left(device):
    x = em.ones(1, 1, 3, 3, dtype=em.float16, device=device)
    with pytest.raises(TypeError, match="conv2d"):
        F.conv2d(x, em.ones(1, 1, 2, 2, device=device))
    with pytest.raises(TypeError, match="conv2d"):
        F.conv2d(x, em.ones(1, 1, 2, 2, dtype=em.bfloat16, device=device))
    with pytest.raises(TypeError, match="conv2d"):
        F.conv2d(em.ones(1, 1, 3, 3, dtype=em.int32, device=device),
                 em.ones(1, 1, 2, 2, dtype=em.int32, device=device))
