"""Argument helpers shared by the op modules."""

from __future__ import annotations

import operator

from .. import _C

_DTYPE_ALIASES = {
    float: _C.DType.float32,
    int: _C.DType.int64,
    bool: _C.DType.bool,
    "float32": _C.DType.float32,
    "float": _C.DType.float32,
    "float64": _C.DType.float64,
    "double": _C.DType.float64,
    "int64": _C.DType.int64,
    "long": _C.DType.int64,
    "int32": _C.DType.int32,
    "int": _C.DType.int32,
    "bool": _C.DType.bool,
}


def parse_dtype(dtype) -> _C.DType:
    """A DType from a DType, a Python type, a numpy dtype or a name."""
    if isinstance(dtype, _C.DType):
        return dtype
    if dtype in _DTYPE_ALIASES:
        return _DTYPE_ALIASES[dtype]
    name = getattr(dtype, "name", None) or str(dtype)
    name = name.replace("ember.", "").replace("torch.", "")
    if name in _DTYPE_ALIASES:
        return _DTYPE_ALIASES[name]
    raise TypeError(f"unsupported dtype {dtype!r} (float32, float64, int64, int32, bool)")


def parse_device(device) -> _C.Device:
    """A Device from a Device, 'cpu', 'cuda', 'cuda:N' or an int (a CUDA index)."""
    if isinstance(device, _C.Device):
        return device
    if isinstance(device, int):
        return _C.Device(f"cuda:{device}")
    if isinstance(device, str):
        return _C.Device(device)
    raise TypeError(f"expected a device (str or ember.device), got {type(device).__name__}")


def normalize_dims(dim, ndim: int) -> list:
    """dim=None -> [] (every dim); an int or a sequence -> a list of ints."""
    if dim is None:
        return []
    if isinstance(dim, int):
        return [dim]
    return [int(d) for d in dim]


def shape_arg(args) -> list:
    """Accepts f(2, 3) and f((2, 3)) alike; sizes must be integers (a float
    raises TypeError rather than being truncated)."""
    if len(args) == 1 and not isinstance(args[0], int):
        try:
            args = list(args[0])  # a sequence of sizes
        except TypeError:
            pass  # one size: a numpy integer, a 0-d tensor
    sizes = []
    for s in args:
        try:
            sizes.append(operator.index(s))
        except TypeError:
            raise TypeError(f"sizes must be integers, got {type(s).__name__} {s!r}") from None
    return sizes
