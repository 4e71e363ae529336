"""Copies and conversions: to(dtype/device), contiguous, clone, copy_, fill_."""

from __future__ import annotations

from .. import _C
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import parse_device, parse_dtype


class _To(Function):
    @staticmethod
    def forward(ctx, x, dtype, device, non_blocking):
        ctx.dtype, ctx.device = x.dtype, x.device
        out = x._data
        if dtype is not None:
            out = out.to(dtype)
        if device is not None:
            out = out.to(device, non_blocking)
        return out

    @staticmethod
    def backward(ctx, grad):
        return to(grad, ctx.device, ctx.dtype), None, None, None


def _parse_to_args(args, kwargs):
    """(dtype, device) from to()'s arguments: a dtype, a device, both, or a
    tensor to match; `dtype=`/`device=` keywords; None where not given."""
    dtype, device = kwargs.get("dtype"), kwargs.get("device")
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, _C.DType) or a in (float, int, bool):
            dtype = a
        elif a is not None:
            device = a
    dtype = parse_dtype(dtype) if dtype is not None else None
    device = parse_device(device) if device is not None else None
    return dtype, device


def to(x: Tensor, *args, non_blocking: bool = False, copy: bool = False, **kwargs):
    """Converts to another dtype and/or device (differentiable).

    Args:
        x: the tensor.
        *args: a dtype, a device (str or ember.device), both, or a tensor
            whose dtype and device to match; or dtype=/device= keywords.
        non_blocking: copy between devices on the current CUDA stream without
            waiting for it: truly asynchronous from pinned memory, and a copy
            to the CPU lands in pinned memory (synchronize before reading it).
        copy: return a new tensor even when nothing changes.

    Returns:
        x itself when nothing changes and copy is False.
    """
    dtype, device = _parse_to_args(args, kwargs)
    if dtype is not None and dtype == x.dtype:
        dtype = None
    if device is not None and device == x.device:
        device = None
    if dtype is None and device is None:
        return clone(x) if copy else x
    return _To.apply(x, dtype, device, bool(non_blocking))


class _Clone(Function):
    @staticmethod
    def forward(ctx, x):
        return x._data.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad


def clone(x: Tensor) -> Tensor:
    """A copy with its own memory (differentiable)."""
    return _Clone.apply(x)


def contiguous(x: Tensor) -> Tensor:
    """x itself when contiguous, else a contiguous copy (differentiable)."""
    return x if x._data.is_contiguous() else _Clone.apply(x)


class _CopyFrom(Function):
    """The value of `src` broadcast into the shape/dtype of `dst`."""

    @staticmethod
    def forward(ctx, dst, src):
        out = _C.empty(list(dst.shape), dst.dtype, dst.device)
        out.copy_(src._data)
        return out

    @staticmethod
    def backward(ctx, grad):
        return None, grad


def copy_(x: Tensor, src, non_blocking: bool = False) -> Tensor:
    """Copies `src` (broadcast, cast, from any device) into x; returns x."""
    x._check_inplace("copy_")
    if not isinstance(src, Tensor):
        from ..creation import tensor

        src = tensor(src, dtype=x.dtype, device=x.device)
    if src.requires_grad and src.dtype.is_floating_point:
        from ..autograd.grad_mode import is_grad_enabled

        if is_grad_enabled():
            return x._inplace_from(_CopyFrom.apply(x, src), "copy_")
    x._data.copy_(src._data)
    return x


def fill_(x: Tensor, value) -> Tensor:
    """Sets every element to `value`; returns x."""
    x._check_inplace("fill_")
    if isinstance(value, Tensor):
        value = value.item()
    x._data.fill_(value)
    if x.requires_grad and not x.is_leaf:
        x.grad_fn, x.requires_grad = None, False
    return x


def zero_(x: Tensor) -> Tensor:
    """Sets every element to zero; returns x."""
    return fill_(x, 0)
