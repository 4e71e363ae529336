"""em.save / em.load: safetensors round trips, atomic writes, clear errors on bad files."""

import json
import math
import os
import struct
from collections import OrderedDict

import numpy as np
import pytest

import ember as em

ALL_DTYPES = [em.float32, em.float64, em.int64, em.int32, em.bool]


def _random(shape, dtype):
    rng = np.random.default_rng(sum(shape) + 7)
    if dtype == em.bool:
        arr = rng.random(shape) > 0.5
    elif dtype in (em.int64, em.int32):
        arr = rng.integers(-(2**31), 2**31 - 1, size=shape)
    else:
        arr = rng.standard_normal(shape)
    np_dtype = {em.float32: np.float32, em.float64: np.float64, em.int64: np.int64,
                em.int32: np.int32, em.bool: np.bool_}[dtype]
    return em.from_numpy(np.array(arr, dtype=np_dtype))


def _same(a, b):
    assert isinstance(b, em.Tensor)
    assert a.dtype == b.dtype and tuple(a.shape) == tuple(b.shape)
    assert str(b.device) == "cpu"
    x, y = a.detach().numpy(), b.numpy()
    assert x.tobytes() == y.tobytes()  # bitwise, NaN payloads and -0.0 included


def _deep_equal(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, em.Tensor):
        _same(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _deep_equal(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _deep_equal(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("dtype", ALL_DTYPES)
@pytest.mark.parametrize("shape", [(), (0,), (1,), (7,), (3, 0, 2), (1, 13, 1), (5, 3, 2)])
def test_round_trip_every_dtype_and_shape(tmp_path, dtype, shape):
    t = _random(shape, dtype)
    path = tmp_path / "t.safetensors"
    em.save({"t": t}, path)
    _same(t, em.load(path)["t"])


def test_special_float_values_are_bitwise_exact(tmp_path):
    values = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4e38], dtype=np.float32)
    t = em.from_numpy(values)
    em.save({"x": t, "y": t.double()}, tmp_path / "f.safetensors")
    back = em.load(tmp_path / "f.safetensors")
    _same(t, back["x"])
    _same(t.double(), back["y"])


def test_nested_structure_and_metadata(tmp_path):
    obj = {
        "model": OrderedDict([("fc.weight", em.randn(3, 4)), ("fc.bias", em.zeros(3))]),
        "list": [em.arange(5), 1, 2.5, "s", None, True, [em.ones(2, dtype=em.bool)]],
        "tuple": (0.9, 0.999),
        "ints": {0: "zero", 1: {"nested": (em.tensor(3.0), False)}},
        "floats": [float("inf"), -0.0, 1e300, 0.1, float("nan")],
        "big": 2**70,
        "empty": {},
        "empty_list": [],
        "unicode": "épsilon ✓",
        "keys": {None: 1, True: 2, 2.5: 3},
        "dotted": {"a.b": em.ones(1), "a": {"b": em.zeros(1)}},
    }
    em.save(obj, tmp_path / "n.safetensors")
    _deep_equal(obj, em.load(tmp_path / "n.safetensors"))


def test_top_level_tensor_and_scalars(tmp_path):
    t = em.randn(4, 2)
    em.save(t, tmp_path / "t.safetensors")
    _same(t, em.load(tmp_path / "t.safetensors"))
    em.save([1, "two", (3.0,)], tmp_path / "l.safetensors")
    assert em.load(tmp_path / "l.safetensors") == [1, "two", (3.0,)]


def test_non_contiguous_and_grad_tensors_save_their_values(tmp_path):
    base = em.randn(6, 5, requires_grad=True)
    view = base.detach().t()[1:4]
    em.save({"p": base, "v": view}, tmp_path / "v.safetensors")
    back = em.load(tmp_path / "v.safetensors")
    _same(base.detach(), back["p"])
    assert not back["p"].requires_grad
    np.testing.assert_array_equal(back["v"].numpy(), view.numpy())
    assert back["v"].is_contiguous()


def test_shared_tensor_is_stored_once_and_loaded_shared(tmp_path):
    t = em.randn(100)
    em.save({"a": t, "b": [t]}, tmp_path / "s.safetensors")
    assert os.path.getsize(tmp_path / "s.safetensors") < 100 * 4 + 1000
    back = em.load(tmp_path / "s.safetensors")
    assert back["a"] is back["b"][0]


def test_loaded_tensors_own_their_memory(tmp_path):
    em.save({"a": em.ones(3)}, tmp_path / "o.safetensors")
    back = em.load(tmp_path / "o.safetensors")
    back["a"].add_(1.0)
    np.testing.assert_array_equal(back["a"].numpy(), [2.0, 2.0, 2.0])


def test_module_state_dict_round_trip(tmp_path):
    model = em.nn.Linear(7, 3)
    norm = em.nn.LayerNorm(3)
    em.save({"lin": model.state_dict(), "norm": norm.state_dict()}, tmp_path / "m.safetensors")
    other, other_norm = em.nn.Linear(7, 3), em.nn.LayerNorm(3)
    state = em.load(tmp_path / "m.safetensors")
    other.load_state_dict(state["lin"])
    other_norm.load_state_dict(state["norm"])
    for a, b in zip(model.parameters(), other.parameters()):
        _same(a.detach(), b.detach())
    x = em.randn(2, 7)
    np.testing.assert_array_equal(model(x).detach().numpy(), other(x).detach().numpy())


def test_flat_state_dict_uses_the_keys_as_tensor_names(tmp_path):
    path = tmp_path / "flat.safetensors"
    em.save(em.nn.Linear(2, 2).state_dict(), path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    assert set(header) == {"__metadata__", "weight", "bias"}
    assert header["weight"]["dtype"] == "F32" and header["weight"]["shape"] == [2, 2]
    assert all(isinstance(v, str) for v in header["__metadata__"].values())
    assert (8 + n) % 8 == 0


def test_optimizer_style_state_dict_keeps_tuples_and_int_keys(tmp_path):
    state = {
        "state": {0: {"step": em.tensor(3.0), "exp_avg": em.randn(4)},
                  1: {"momentum_buffer": None}},
        "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False,
                          "weight_decay": 0, "foreach": None, "params": [0, 1]}],
    }
    em.save(state, tmp_path / "opt.safetensors")
    _deep_equal(state, em.load(tmp_path / "opt.safetensors"))


def test_file_objects(tmp_path):
    import io

    buf = io.BytesIO()
    em.save({"a": em.arange(3)}, buf)
    buf.seek(0)
    _same(em.arange(3), em.load(buf)["a"])


def test_map_location_and_device(tmp_path):
    em.save({"a": em.ones(2)}, tmp_path / "d.safetensors")
    assert str(em.load(tmp_path / "d.safetensors", map_location="cpu")["a"].device) == "cpu"
    assert str(em.load(tmp_path / "d.safetensors", device="cpu")["a"].device) == "cpu"
    with pytest.raises(TypeError, match="load: give map_location or device"):
        em.load(tmp_path / "d.safetensors", map_location="cpu", device="cpu")
    with pytest.raises(TypeError, match="load: map_location"):
        em.load(tmp_path / "d.safetensors", map_location=3)


@pytest.mark.skipif(not em.cuda.is_available(), reason="needs a GPU")
def test_cuda_tensors_save_and_map_location(tmp_path):
    t = em.randn(5, device="cuda")
    em.save({"t": t}, tmp_path / "c.safetensors")
    back = em.load(tmp_path / "c.safetensors")["t"]
    assert str(back.device) == "cpu"
    assert str(em.load(tmp_path / "c.safetensors", map_location="cuda")["t"].device) != "cpu"
    np.testing.assert_array_equal(back.numpy(), t.cpu().numpy())


# ---------------------------------------------------------------- bad objects
def test_unsupported_objects_raise_naming_the_path(tmp_path):
    with pytest.raises(TypeError, match=r"save: cannot save a set at 'a.0'"):
        em.save({"a": [{1, 2}]}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="save: dict keys"):
        em.save({(1, 2): em.ones(1)}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="save: cannot save a ndarray"):
        em.save({"a": np.ones(2)}, tmp_path / "x.safetensors")
    assert not os.path.exists(tmp_path / "x.safetensors")
    assert os.listdir(tmp_path) == []


def test_save_into_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="save: directory"):
        em.save({"a": em.ones(1)}, tmp_path / "nope" / "x.safetensors")


# ---------------------------------------------------------------- atomicity
def test_crash_during_replace_keeps_old_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    em.save({"v": em.ones(3)}, path)
    before = path.read_bytes()

    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        em.save({"v": em.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


def test_crash_midway_through_writing_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    em.save({"v": em.arange(10)}, path)
    before = path.read_bytes()
    real_fsync = os.fsync
    calls = []

    def crashing_fsync(fd):
        calls.append(fd)
        raise KeyboardInterrupt  # a kill arriving after the bytes were written

    monkeypatch.setattr(os, "fsync", crashing_fsync)
    with pytest.raises(KeyboardInterrupt):
        em.save({"v": em.zeros(10_000)}, path)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert calls
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    _same(em.arange(10), em.load(path)["v"])


def test_save_overwrites_and_keeps_permissions(tmp_path):
    path = tmp_path / "p.safetensors"
    em.save({"v": em.ones(1)}, path)
    os.chmod(path, 0o640)
    em.save({"v": em.zeros(2)}, path)
    assert os.stat(path).st_mode & 0o777 == 0o640
    _same(em.zeros(2), em.load(path)["v"])


# ---------------------------------------------------------------- bad files
def _write_header(path, header, body=b""):
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + body)


def test_truncated_file_every_length(tmp_path):
    good = tmp_path / "good.safetensors"
    em.save({"a": em.randn(4, 3), "b": [em.arange(5), 2]}, good)
    raw = good.read_bytes()
    bad = tmp_path / "bad.safetensors"
    for cut in [0, 3, 8, 9, 20, len(raw) // 2, len(raw) - 1]:
        bad.write_bytes(raw[:cut])
        with pytest.raises(ValueError, match=r"load: '.*bad.safetensors' is not a valid"):
            em.load(bad)


def test_wrong_kinds_of_file(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    with pytest.raises(ValueError, match="zip archive"):
        em.load(path)
    path.write_bytes(b"\x80\x04\x95" + os.urandom(200))  # a pickle
    with pytest.raises(ValueError, match="x.bin.*header length"):
        em.load(path)
    path.write_text("hello world, this is a text file")
    with pytest.raises(ValueError, match="x.bin"):
        em.load(path)
    with pytest.raises(FileNotFoundError):
        em.load(tmp_path / "missing.safetensors")


def test_corrupt_headers(tmp_path):
    path = tmp_path / "c.safetensors"
    cases = [
        ([1, 2], b"", "not a JSON object"),
        ({"a": {"dtype": "F8_E4M3", "shape": [1], "data_offsets": [0, 1]}}, b"\0", "unsupported"),
        ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, "shape"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4, "needs 8"),
        ({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 4, "truncated"),
        ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, b"\0" * 8, "starts at"),
        ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8, "tensors use 4"),
        ({"a": {"dtype": "BOOL", "shape": [1], "data_offsets": [0, 1]}}, b"\x07", "bool"),
        ({"a": {"dtype": "I32", "shape": [1], "data_offsets": "x"}}, b"", "data_offsets"),
        ({"__metadata__": {"ember.structure": "{not json"}}, b"", "structure"),
        ({"__metadata__": {"ember.structure": '{"T": "zz"}'}}, b"", "lacks"),
        ({"__metadata__": {"ember.structure": '{"Q": 1}'}}, b"", "unknown node"),
        ({"__metadata__": {"ember.structure": '{"I": "x"}'}}, b"", "malformed"),
    ]
    for header, body, message in cases:
        _write_header(path, header, body)
        with pytest.raises(ValueError, match=message):
            em.load(path)
    raw = b"\xff\xfe not json"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)
    with pytest.raises(ValueError, match="not JSON"):
        em.load(path)


def test_plain_safetensors_file_loads_as_flat_dict(tmp_path):
    path = tmp_path / "plain.safetensors"
    body = np.arange(6, dtype="<f4").tobytes() + np.array([1, 2], dtype="<i8").tobytes()
    _write_header(path, {"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
                         "b": {"dtype": "I64", "shape": [2], "data_offsets": [24, 40]}}, body)
    back = em.load(path)
    assert list(back) == ["w", "b"]
    np.testing.assert_array_equal(back["w"].numpy(), np.arange(6).reshape(2, 3))
    assert back["b"].dtype == em.int64


# ---------------------------------------------------------------- interop
def test_safetensors_library_reads_and_writes_our_files(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "i.safetensors"
    state = {"w": em.randn(3, 5), "i": em.arange(4), "m": em.ones(2, dtype=em.bool)}
    em.save(state, path)
    loaded = st.load_file(str(path))
    for key, value in state.items():
        np.testing.assert_array_equal(loaded[key], value.numpy())
    st.save_file({"x": np.arange(5, dtype=np.float64)}, str(tmp_path / "o.safetensors"))
    back = em.load(tmp_path / "o.safetensors")
    assert back["x"].dtype == em.float64
    np.testing.assert_array_equal(back["x"].numpy(), np.arange(5))


def test_torch_reads_our_tensors_via_numpy(tmp_path):
    torch = pytest.importorskip("torch")
    model = em.nn.Linear(4, 2)
    em.save(model.state_dict(), tmp_path / "t.safetensors")
    state = {k: torch.from_numpy(v.numpy()) for k, v in em.load(tmp_path / "t.safetensors").items()}
    tm = torch.nn.Linear(4, 2)
    tm.load_state_dict(state)
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(tm(torch.from_numpy(x)).detach().numpy(),
                               model(em.from_numpy(x)).detach().numpy(), rtol=1e-6, atol=1e-6)
