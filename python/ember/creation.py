"""Creating tensors: from data, filled, ranges, identity, random."""

from __future__ import annotations

import numbers

import numpy as np

from . import _C
from .ops._util import parse_device, parse_dtype, shape_arg
from .tensor import Tensor

_DEFAULT_DTYPE = [_C.DType.float32]

_NUMPY_TO_EMBER = {
    np.dtype(np.float32): _C.DType.float32,
    np.dtype(np.float64): _C.DType.float64,
    np.dtype(np.float16): _C.DType.float16,
    np.dtype(np.int64): _C.DType.int64,
    np.dtype(np.int32): _C.DType.int32,
    np.dtype(np.bool_): _C.DType.bool,
}


def get_default_dtype():
    """The dtype of floating tensors created from Python floats (float32)."""
    return _DEFAULT_DTYPE[0]


def set_default_dtype(dtype) -> None:
    """Sets the default floating dtype (float32 or float64)."""
    dtype = parse_dtype(dtype)
    if not dtype.is_floating_point:
        raise TypeError(f"set_default_dtype: only floating dtypes are allowed, got {dtype}")
    _DEFAULT_DTYPE[0] = dtype


def _target(device):
    """The device a kernel writes the values on directly (ranges, identities)."""
    return parse_device(device) if device is not None else _C.Device("cpu")


def _finish(raw, device, requires_grad) -> Tensor:
    if device is not None:
        raw = raw.to(parse_device(device))
    t = Tensor._make(raw, False, None, 0)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _to_numpy(data):
    """numpy array from nested lists/tuples of numbers or Tensors."""
    if isinstance(data, Tensor):
        return data.detach().cpu().numpy()
    if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
        return np.stack([_to_numpy(d) for d in data]) if data else np.array([])
    return np.asarray(data)


def _ember_dtype_for(arr: np.ndarray):
    if arr.dtype in _NUMPY_TO_EMBER:
        return _NUMPY_TO_EMBER[arr.dtype]
    if arr.dtype.kind == "f":
        return get_default_dtype()
    if arr.dtype.kind in "iu":
        return _C.DType.int64
    if arr.dtype.kind == "b":
        return _C.DType.bool
    raise TypeError(f"can't convert data of numpy dtype {arr.dtype} to a tensor")


def tensor(data, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of `data`.

    Args:
        data: a number, (nested) lists or tuples, a numpy array or a Tensor.
        dtype: defaults to float32 for floats, int64 for ints, bool for bools.
        device: "cpu" (default) or "cuda[:N]".
        requires_grad: record operations on it for autograd.

    Example:
        >>> em.tensor([[1, 2], [3, 4]], dtype=em.float32)
    """
    arr = _to_numpy(data)
    # Python floats take the default dtype, unless dtype= says otherwise (then
    # they are converted once, straight from float64).
    if arr.dtype == np.float64 and not isinstance(data, np.ndarray) and dtype is None:
        arr = arr.astype(np.float32) if get_default_dtype() == _C.DType.float32 else arr
    target = parse_dtype(dtype) if dtype is not None else _ember_dtype_for(arr)
    if target == _C.DType.bfloat16:
        # numpy has no bfloat16: the values are rounded from float32.
        raw = _C.from_numpy(np.asarray(arr, dtype=np.float32)).to(target)
    else:
        raw = _C.from_numpy(np.asarray(arr, dtype=_numpy_dtype(target))).clone()
    return _finish(raw, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like tensor(), but shares memory with a CPU numpy array or Tensor when
    no conversion is needed."""
    if isinstance(data, Tensor):
        return data.to(dtype=dtype, device=device) if (dtype or device) else data
    if isinstance(data, np.ndarray) and (dtype is None or parse_dtype(dtype) == _NUMPY_TO_EMBER.get(data.dtype)) and device in (None, "cpu") and data.dtype in _NUMPY_TO_EMBER:
        return from_numpy(data)
    return tensor(data, dtype=dtype, device=device)


def _numpy_dtype(dtype):
    return {
        _C.DType.float32: np.float32,
        _C.DType.float64: np.float64,
        _C.DType.float16: np.float16,
        _C.DType.int64: np.int64,
        _C.DType.int32: np.int32,
        _C.DType.bool: np.bool_,
    }[dtype]


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a numpy array (no copy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor._make(_C.from_numpy(array), False, None, 0)


def _factory(fill, shape, dtype, device, requires_grad):
    dtype = parse_dtype(dtype) if dtype is not None else get_default_dtype()
    raw = fill(shape_arg(shape), dtype)
    return _finish(raw, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """An uninitialised tensor of shape `size`."""
    return _factory(lambda s, d: _C.empty(s, d, _C.Device("cpu")), size, dtype, device, requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros of shape `size`."""
    return _factory(lambda s, d: _C.zeros(s, d, _C.Device("cpu")), size, dtype, device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones of shape `size`."""
    return _factory(lambda s, d: _C.ones(s, d, _C.Device("cpu")), size, dtype, device, requires_grad)


def full(size, fill_value, *, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A tensor of shape `size` filled with `fill_value` (dtype inferred from it)."""
    if dtype is None:
        if isinstance(fill_value, bool):
            dtype = _C.DType.bool
        elif isinstance(fill_value, numbers.Integral):
            dtype = _C.DType.int64
    return _factory(lambda s, d: _C.full(s, fill_value, d, _C.Device("cpu")), (size,) if isinstance(size, int) else tuple(size), dtype, device, requires_grad)


def _like(x: Tensor, dtype, device):
    return (dtype if dtype is not None else x.dtype, device if device is not None else x.device)


def empty_like(x: Tensor, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype, device = _like(x, dtype, device)
    return empty(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def zeros_like(x: Tensor, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype, device = _like(x, dtype, device)
    return zeros(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def ones_like(x: Tensor, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype, device = _like(x, dtype, device)
    return ones(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def full_like(x: Tensor, fill_value, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype, device = _like(x, dtype, device)
    return full(x.shape, fill_value, dtype=dtype, device=device, requires_grad=requires_grad)


def rand_like(x: Tensor, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype, device = _like(x, dtype, device)
    return rand(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def randn_like(x: Tensor, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    dtype, device = _like(x, dtype, device)
    return randn(x.shape, dtype=dtype, device=device, requires_grad=requires_grad)


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Values from start (default 0) up to but excluding end, by step.

    The dtype is int64 when every argument is an int, else the default float.
    """
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, numbers.Integral) for v in (start, end, step))
        dtype = _C.DType.int64 if ints else get_default_dtype()
    dtype = parse_dtype(dtype)
    raw = _C.arange(start, end, step, dtype, _target(device))
    return _finish(raw, None, requires_grad)


def linspace(start, end, steps: int, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """`steps` evenly spaced values from start to end inclusive."""
    dtype = parse_dtype(dtype) if dtype is not None else get_default_dtype()
    raw = _C.linspace(float(start), float(end), int(steps), dtype, _target(device))
    return _finish(raw, None, requires_grad)


def eye(n: int, m: int | None = None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """The n x m identity matrix (m defaults to n)."""
    dtype = parse_dtype(dtype) if dtype is not None else get_default_dtype()
    raw = _C.eye(int(n), int(n if m is None else m), dtype, _target(device))
    return _finish(raw, None, requires_grad)


def manual_seed(seed: int) -> None:
    """Seeds the random generator (the same sequence on every run)."""
    _C.manual_seed(int(seed) & 0xFFFFFFFFFFFFFFFF)


def initial_seed() -> int:
    return _C.initial_seed()


def rand(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform samples in [0, 1)."""
    return _factory(lambda s, d: _C.rand(s, d, _C.Device("cpu")), size, dtype, device, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal samples."""
    return _factory(lambda s, d: _C.randn(s, d, _C.Device("cpu")), size, dtype, device, requires_grad)


def randint(low, high=None, size=None, *, dtype=None, device=None) -> Tensor:
    """Integers uniform in [low, high); `randint(high, size)` starts at 0."""
    if size is None:
        low, high, size = 0, low, high
    if size is None:
        raise TypeError("randint: missing the size argument")
    dtype = parse_dtype(dtype) if dtype is not None else _C.DType.int64
    raw = _C.randint(int(low), int(high), shape_arg((size,) if isinstance(size, int) else tuple(size)), dtype, _C.Device("cpu"))
    return _finish(raw, device, False)


def randperm(n: int, *, dtype=None, device=None) -> Tensor:
    """A random permutation of 0..n-1 (from the seeded generator)."""
    keys = rand(n, dtype=_C.DType.float64).numpy()
    perm = np.argsort(keys, kind="stable").astype(np.int64)
    return tensor(perm, dtype=dtype or _C.DType.int64, device=device)


def normal(mean=0.0, std=1.0, size=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Normal samples with the given mean and std (numbers) and shape `size`."""
    if size is None:
        raise TypeError("normal: pass size= (tensor mean/std are not supported)")
    t = empty(*((size,) if isinstance(size, int) else tuple(size)), dtype=dtype)
    _C.normal_(t._data, float(mean), float(std))
    return _finish(t._data, device, requires_grad)


def uniform(low=0.0, high=1.0, size=None, *, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform samples in [low, high) of shape `size`."""
    if size is None:
        raise TypeError("uniform: pass size=")
    t = empty(*((size,) if isinstance(size, int) else tuple(size)), dtype=dtype)
    _C.uniform_(t._data, float(low), float(high))
    return _finish(t._data, device, requires_grad)
