"""CUDA device queries. Without a CUDA build or a GPU, is_available() is
False and device_count() is 0; everything else raises a clear error."""

from __future__ import annotations

from . import _C


def is_available() -> bool:
    """True when ember was built with CUDA and a GPU is visible."""
    return _C.cuda.device_count() > 0


def device_count() -> int:
    """The number of visible CUDA devices (0 without a CUDA build or driver)."""
    return _C.cuda.device_count()


def current_device() -> int:
    return _C.cuda.current_device()


def set_device(device) -> None:
    """Makes `device` (an int or 'cuda:N') the current CUDA device."""
    index = device if isinstance(device, int) else _C.Device(str(device)).index
    _C.cuda.set_device(int(index))


def synchronize() -> None:
    """Waits for all work on the current CUDA device to finish."""
    _C.cuda.synchronize()


def get_device_name(device: int = 0) -> str:
    return _C.cuda.device_name(int(device))
