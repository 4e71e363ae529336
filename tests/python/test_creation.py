"""arange, linspace and eye created on each device: the values are written there
directly and must equal the CPU's bit for bit, for every dtype the CPU supports."""

import numpy as np
import pytest

import ember as em

RANGE_DTYPES = [em.float32, em.float64, em.int64, em.int32]
ALL_DTYPES = RANGE_DTYPES + [em.bool, em.float16, em.bfloat16]


def values(t):
    """The elements as float64 (bfloat16 has no numpy dtype), on the host."""
    return np.asarray(t.cpu().tolist(), dtype=np.float64).reshape(t.shape)


def assert_same(got, expected, device):
    assert got.device.type == device
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(values(got), values(expected))


@pytest.mark.parametrize("dtype", RANGE_DTYPES)
@pytest.mark.parametrize(
    "args", [(5,), (-5, 212, 7), (40, -59, -3), (0, 1029), (-3.7, 11.2, 0.3), (2.5, -7.25, -1.0)]
)
def test_arange_on_device_matches_cpu(device, dtype, args):
    if dtype in (em.int64, em.int32) and len(args) == 3 and int(args[2]) == 0:
        pytest.skip("an integer dtype needs an integer step")
    assert_same(em.arange(*args, dtype=dtype, device=device), em.arange(*args, dtype=dtype), device)


def test_arange_default_dtype_and_values(device):
    t = em.arange(6, device=device)
    assert t.dtype == em.int64
    assert t.cpu().tolist() == [0, 1, 2, 3, 4, 5]
    np.testing.assert_allclose(values(em.arange(0, 1, 0.25, device=device)), [0, 0.25, 0.5, 0.75])


@pytest.mark.parametrize("dtype", RANGE_DTYPES)
@pytest.mark.parametrize("steps", [0, 1, 2, 31, 33, 129, 1001])
def test_linspace_on_device_matches_cpu(device, dtype, steps):
    for start, end in [(-1.3, 7.9), (1e3, -2.5e-3), (-50, 77)]:
        assert_same(
            em.linspace(start, end, steps, dtype=dtype, device=device),
            em.linspace(start, end, steps, dtype=dtype),
            device,
        )


def test_linspace_ends_exactly(device):
    t = em.linspace(-1.3, 7.9, 33, dtype=em.float64, device=device)
    got = values(t)
    assert got[0] == -1.3 and got[-1] == 7.9
    np.testing.assert_allclose(got, np.linspace(-1.3, 7.9, 33), rtol=1e-15)


@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (31, 33), (33, 31), (129, 1), (1, 129), (0, 4)])
def test_eye_on_device_matches_cpu(device, dtype, shape):
    got = em.eye(*shape, dtype=dtype, device=device)
    assert_same(got, em.eye(*shape, dtype=dtype), device)
    np.testing.assert_array_equal(values(got), np.eye(*shape))


def test_eye_square_default_and_requires_grad(device):
    t = em.eye(4, device=device, requires_grad=True)
    assert t.requires_grad and t.shape == (4, 4) and t.dtype == em.float32
    np.testing.assert_array_equal(values(t.detach()), np.eye(4))


@pytest.mark.parametrize("dtype", [em.float16, em.bfloat16, em.bool])
def test_ranges_without_a_kernel_for_the_dtype_raise(device, dtype):
    with pytest.raises(TypeError, match="arange: unsupported dtype"):
        em.arange(3, dtype=dtype, device=device)
    with pytest.raises(TypeError, match="linspace: unsupported dtype"):
        em.linspace(0, 1, 3, dtype=dtype, device=device)
