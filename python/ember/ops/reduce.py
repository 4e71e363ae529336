"""Reductions: sum, mean, prod, max/min, var/std, logsumexp, norm, softmax,
log_softmax, cumsum."""

from __future__ import annotations

from .. import _C
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import normalize_dims

__all__ = ["sum", "sum_to_size"]


def _restore_reduced(grad: Tensor, shape, dims, keepdim: bool) -> Tensor:
    """Reshapes a reduction's gradient so it broadcasts against the input."""
    if keepdim or not dims:
        return grad if grad.ndim == len(shape) else grad.reshape([1] * len(shape))
    out_shape = list(shape)
    for d in dims:
        out_shape[d % len(shape)] = 1
    return grad.reshape(out_shape)


def _full_dims(dims, ndim):
    return list(range(ndim)) if not dims else [d % max(ndim, 1) for d in dims]


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim = x.shape, dims, keepdim
        return _C.sum(x._data, dims, keepdim)

    @staticmethod
    def backward(ctx, grad):
        dims = _full_dims(ctx.dims, len(ctx.shape))
        g = _restore_reduced(grad, ctx.shape, dims, ctx.keepdim)
        return g.expand(list(ctx.shape)), None, None


def sum(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over `dim` (an int, a tuple, or None for all dims).

    Integer and bool tensors sum to int64.
    """
    if dtype is not None:
        x = x.to(dtype)
    return Sum.apply(x, normalize_dims(dim, x.ndim), keepdim)


def sum_to_size(x: Tensor, *size) -> Tensor:
    """Sums broadcast dims away so the result has shape `size`."""
    shape = list(size[0]) if len(size) == 1 and not isinstance(size[0], int) else list(size)
    if list(x.shape) == shape:
        return x
    lead = x.ndim - len(shape)
    if lead < 0:
        raise ValueError(f"sum_to_size: size {shape} has more dims than the tensor {list(x.shape)}")
    dims = list(range(lead)) + [
        lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1
    ]
    out = sum(x, dims, keepdim=True) if dims else x
    return out.reshape(shape) if list(out.shape) != shape else out
