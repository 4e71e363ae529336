"""float16 and bfloat16: the dtypes, rounding, promotion, numpy and file
interchange, and the clear error of an op without a 16-bit kernel."""

import pickle

import numpy as np
import pytest
from half_check import HALF_DTYPES

import ember as em

try:
    import torch
except ImportError:  # pragma: no cover - torch is a test-only reference
    torch = None


def special_values():
    """Values that exercise every rounding path: normals, ties, subnormals,
    overflow to inf, signed zeros, inf, NaN."""
    rng = np.random.default_rng(1)
    values = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.99, 65520.0, 1e5, -1e5, 6.1e-5, 6.0e-8,
              2.9e-8, 3.0e-8, 1e-9, 1.00048828125, 1.000732421875, 3e38, -3.4e38,
              np.inf, -np.inf, np.nan]
    values += list(rng.standard_normal(2000) * 10.0 ** rng.integers(-9, 6, 2000))
    return np.array(values, dtype=np.float32)


def bfloat16_reference(values: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 by round to nearest even, as float32."""
    bits = values.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
    out = rounded.astype(np.uint32).view(np.float32)
    return np.where(np.isnan(values), np.nan, out).astype(np.float32)


def test_dtype_objects():
    assert em.half is em.float16
    assert em.float16.itemsize == 2 and em.bfloat16.itemsize == 2
    assert em.float16.is_floating_point and em.bfloat16.is_floating_point
    assert repr(em.bfloat16) == "ember.bfloat16"


def test_float16_rounding_matches_numpy(device):
    values = special_values()
    with np.errstate(over="ignore"):
        expected = values.astype(np.float16)
    h = em.tensor(values).to(device).to(em.float16)
    got = h.cpu().numpy()
    assert got.dtype == np.float16
    same = (got.view(np.uint16) == expected.view(np.uint16)) | (np.isnan(got) & np.isnan(expected))
    assert same.all(), values[~same][:5]
    # Widening is exact.
    np.testing.assert_array_equal(h.float().cpu().numpy(), expected.astype(np.float32))


def test_bfloat16_rounding(device):
    values = special_values()
    b = em.tensor(values).to(device).to(em.bfloat16)
    got = b.float().cpu().numpy()
    expected = bfloat16_reference(values)
    same = (got.view(np.uint32) == expected.view(np.uint32)) | (np.isnan(got) & np.isnan(expected))
    assert same.all(), values[~same][:5]


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_casts_between_all_dtypes(device, dtype):
    x = em.tensor([-2.75, -1.0, 0.0, 0.5, 1.5, 3.0, 100.5], device=device)
    h = x.to(dtype)
    assert h.to(em.int64).tolist() == [-2, -1, 0, 0, 1, 3, 100]
    assert h.to(em.int32).tolist() == [-2, -1, 0, 0, 1, 3, 100]
    assert h.to(em.bool).tolist() == [True, True, False, True, True, True, True]
    assert h.to(em.float64).tolist() == [-2.75, -1.0, 0.0, 0.5, 1.5, 3.0, 100.5]
    assert em.tensor([True, False], device=device).to(dtype).tolist() == [1.0, 0.0]
    assert em.tensor([7, -3], device=device).to(dtype).tolist() == [7.0, -3.0]
    other = em.bfloat16 if dtype == em.float16 else em.float16
    assert h.to(other).to(dtype).tolist() == h.tolist()
    # Strided sources and destinations.
    m = em.arange(12, dtype=em.float32, device=device).reshape(3, 4).t().to(dtype)
    assert m.tolist() == np.arange(12, dtype=np.float32).reshape(3, 4).T.tolist()


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_creation_and_fill(device, dtype):
    assert em.zeros(2, 3, dtype=dtype, device=device).dtype == dtype
    assert em.ones(4, dtype=dtype, device=device).tolist() == [1.0] * 4
    assert em.full((2,), 2.5, dtype=dtype, device=device).tolist() == [2.5, 2.5]
    t = em.empty(5, dtype=dtype, device=device)
    t.fill_(0.1)
    expected = float(np.float16(0.1)) if dtype == em.float16 else float(bfloat16_reference(
        np.array([0.1], dtype=np.float32))[0])
    assert t.tolist() == [expected] * 5
    assert em.tensor(3.140625, dtype=dtype).item() == 3.140625


def test_promotion():
    cases = [
        (em.float16, em.float16, em.float16),
        (em.float16, em.bfloat16, em.float32),
        (em.float16, em.float32, em.float32),
        (em.bfloat16, em.float64, em.float64),
        (em.int64, em.float16, em.float16),
        (em.bool, em.bfloat16, em.bfloat16),
    ]
    for a, b, expected in cases:
        assert em._C.promote_types(a, b) == expected
        assert em._C.promote_types(b, a) == expected
        if torch is not None:
            ta, tb = (getattr(torch, str(d).split(".")[1]) for d in (a, b))
            assert str(torch.promote_types(ta, tb)).split(".")[1] == str(expected).split(".")[1]


def test_numpy_interchange():
    a = np.array([1.5, -2.0, 65504.0], dtype=np.float16)
    t = em.from_numpy(a)
    assert t.dtype == em.float16
    a[0] = 3.0
    assert t[0].item() == 3.0  # shares memory
    assert em.tensor(a).dtype == em.float16
    b = em.tensor([1.0, 2.0], dtype=em.bfloat16)
    with pytest.raises(TypeError, match="bfloat16"):
        b.numpy()
    assert b.tolist() == [1.0, 2.0]
    assert np.asarray(b).dtype == np.float32
    assert "dtype=ember.bfloat16" in repr(b)
    assert "dtype=ember.float16" in repr(t)


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_save_load_and_pickle_are_bit_exact(tmp_path, dtype):
    values = special_values()[:200]
    t = em.tensor(values).to(dtype)
    path = tmp_path / "h.safetensors"
    em.save({"w": t}, path)
    back = em.load(path)["w"]
    assert back.dtype == dtype
    got, want = back.float().numpy(), t.float().numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(got[~np.isnan(got)], want[~np.isnan(want)])
    again = pickle.loads(pickle.dumps(t))
    assert again.dtype == dtype
    np.testing.assert_array_equal(again.float().numpy()[:20], want[:20])


@pytest.mark.skipif(torch is None, reason="PyTorch not installed")
def test_safetensors_bfloat16_layout_matches_pytorch(tmp_path):
    """The bytes of a BF16 entry are bfloat16 bit patterns, as other tools write them."""
    values = np.array([1.0, -3.140625, 1e-3, 7e20], dtype=np.float32)
    path = tmp_path / "b.safetensors"
    em.save({"w": em.tensor(values, dtype=em.bfloat16)}, path)
    raw = path.read_bytes()
    expected = torch.tensor(values, dtype=torch.bfloat16).view(torch.int16).numpy().tobytes()
    assert raw.endswith(expected)


def test_module_half_converts_floating_parameters():
    layer = em.nn.Linear(3, 2)
    layer.half()
    assert layer.weight.dtype == em.float16 and layer.bias.dtype == em.float16
    layer.bfloat16()
    assert layer.weight.dtype == em.bfloat16
    layer.float()
    assert layer.weight.dtype == em.float32


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_op_without_16bit_kernel_names_op_and_dtype(device, dtype):
    x = em.ones(4, 3, dtype=dtype, device=device)
    target = em.tensor([0, 1, 2, 0], device=device)
    with pytest.raises(TypeError, match=rf"nll_loss.*{str(dtype).split('.')[1]}"):
        em.nn.functional.nll_loss(x, target)
