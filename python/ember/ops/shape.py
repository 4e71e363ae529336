"""View ops: reshape, permute, transpose, squeeze/unsqueeze, expand, narrow,
select and friends. They share memory with their input; the backward of
each maps the gradient back to the input's shape."""

from __future__ import annotations

from .. import _C
from ..autograd.function import Function
from ..tensor import Tensor
from ._util import shape_arg

__all__ = ["broadcast_shapes", "broadcast_tensors", "broadcast_to", "expand", "flatten", "movedim", "narrow", "permute", "reshape", "select", "squeeze", "swapaxes", "t", "transpose", "unflatten", "unsqueeze", "view"]


def _as_view(out: Tensor, base: Tensor) -> Tensor:
    """Marks `out` as a view of `base` (in-place checks look at the root)."""
    out._base = base._base if base._base is not None else base
    return out


# Tensor.reshape / view record _Reshape from C (csrc/autograd/operators.cpp),
# with the same ctx.shape as this forward: keep them in step.
class _Reshape(Function):
    @staticmethod
    def forward(ctx, x, shape, must_view):
        if ctx.needs_input_grad[0]:
            ctx.shape = x._data.shape
        return x._data.view(shape) if must_view else x._data.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return reshape(grad, list(ctx.shape)), None, None


def reshape(x: Tensor, *shape) -> Tensor:
    """The same elements with a new shape (a view when the strides allow).

    Args:
        x: the tensor.
        *shape: the new shape; one entry may be -1.
    """
    return _as_view(_Reshape.apply(x, shape_arg(shape), False), x)


def view(x: Tensor, *shape) -> Tensor:
    """Like reshape, but never copies (raises when the strides don't allow)."""
    if len(shape) == 1 and isinstance(shape[0], _C.DType):
        raise TypeError("view(dtype) is not supported; use .to(dtype)")
    return _as_view(_Reshape.apply(x, shape_arg(shape), True), x)


def view_as(x: Tensor, other: Tensor) -> Tensor:
    return view(x, list(other.shape))


def reshape_as(x: Tensor, other: Tensor) -> Tensor:
    return reshape(x, list(other.shape))


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merges dims start_dim..end_dim into one."""
    if x.ndim == 0:
        return reshape(x, [1])
    shape = list(x.shape)
    s = start_dim % len(shape)
    e = end_dim % len(shape)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    merged = 1
    for d in shape[s : e + 1]:
        merged *= d
    return reshape(x, shape[:s] + [merged] + shape[e + 1 :])


def unflatten(x: Tensor, dim: int, sizes) -> Tensor:
    """Splits dim into `sizes`."""
    shape = list(x.shape)
    d = dim % max(len(shape), 1)
    return reshape(x, shape[:d] + list(sizes) + shape[d + 1 :])


class _Permute(Function):
    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return x._data.permute(dims)

    @staticmethod
    def backward(ctx, grad):
        n = len(ctx.dims)
        inverse = [0] * n
        for i, d in enumerate(ctx.dims):
            inverse[d % n] = i
        return permute(grad, inverse), None


def permute(x: Tensor, *dims) -> Tensor:
    """Reorders the dims: out.shape[i] = x.shape[dims[i]]."""
    return _as_view(_Permute.apply(x, shape_arg(dims)), x)


class _Transpose(Function):
    @staticmethod
    def forward(ctx, x, dim0, dim1):
        ctx.dims = (dim0, dim1)
        return x._data.transpose(dim0, dim1)

    @staticmethod
    def backward(ctx, grad):
        return transpose(grad, *ctx.dims), None, None


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swaps two dims."""
    return _as_view(_Transpose.apply(x, dim0, dim1), x)


def swapaxes(x: Tensor, axis0: int, axis1: int) -> Tensor:
    return transpose(x, axis0, axis1)


def t(x: Tensor) -> Tensor:
    """Transpose of a tensor of at most 2 dims."""
    if x.ndim > 2:
        raise ValueError(f"t: expects a tensor with <= 2 dims, got shape {list(x.shape)}")
    return x if x.ndim < 2 else transpose(x, 0, 1)


def movedim(x: Tensor, source: int, destination: int) -> Tensor:
    """Moves dim `source` to position `destination`."""
    n = x.ndim
    order = [d for d in range(n) if d != source % n]
    order.insert(destination % n, source % n)
    return permute(x, order)


class _Squeeze(Function):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.shape = x.shape
        return x._data.squeeze() if dim is None else x._data.squeeze(dim)

    @staticmethod
    def backward(ctx, grad):
        return reshape(grad, list(ctx.shape)), None


def squeeze(x: Tensor, dim=None) -> Tensor:
    """Removes dims of size 1 (all of them, or `dim` if it has size 1)."""
    if isinstance(dim, (tuple, list)):
        for d in sorted((d % max(x.ndim, 1) for d in dim), reverse=True):
            x = squeeze(x, d)
        return x
    return _as_view(_Squeeze.apply(x, dim), x)


class _Unsqueeze(Function):
    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim if dim >= 0 else dim + x.ndim + 1
        return x._data.unsqueeze(dim)

    @staticmethod
    def backward(ctx, grad):
        return squeeze(grad, ctx.dim), None


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Inserts a dim of size 1 at `dim`."""
    return _as_view(_Unsqueeze.apply(x, dim), x)


class _Expand(Function):
    @staticmethod
    def forward(ctx, x, shape):
        return x._data.expand(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad, None  # the engine sums the broadcast dims


def expand(x: Tensor, *shape) -> Tensor:
    """Broadcasts size-1 dims to `shape` without copying (-1 keeps a size)."""
    return _as_view(_Expand.apply(x, shape_arg(shape)), x)


def expand_as(x: Tensor, other: Tensor) -> Tensor:
    return expand(x, list(other.shape))


def broadcast_to(x: Tensor, shape) -> Tensor:
    return expand(x, list(shape))


def broadcast_shapes(*shapes) -> tuple:
    """The numpy broadcast of several shapes."""
    out = []
    for s in shapes:
        out = _C.broadcast_shapes(list(out), [s] if isinstance(s, int) else list(s))
    return tuple(out)


def broadcast_tensors(*tensors):
    shape = broadcast_shapes(*(t.shape for t in tensors))
    return tuple(expand(t, list(shape)) for t in tensors)


class _Slice(Function):
    """x.slice(dim, start, end, step): the backward scatters into zeros."""

    @staticmethod
    def forward(ctx, x, dim, start, end, step):
        ctx.meta = (x.shape, x.dtype, x.device)
        ctx.args = (dim, start, end, step)
        return x._data.slice(dim, start, end, step)

    @staticmethod
    def backward(ctx, grad):
        shape, dtype, device = ctx.meta
        from ..creation import zeros

        full = zeros(shape, dtype=dtype, device=device)
        return _SliceBackward.apply(full, grad, *ctx.args), None, None, None, None


class _SliceBackward(Function):
    """zeros with grad written into the slice; differentiable w.r.t. grad."""

    @staticmethod
    def forward(ctx, full, grad, dim, start, end, step):
        ctx.args = (dim, start, end, step)
        out = full._data.clone()
        out.slice(dim, start, end, step).copy_(grad._data)
        return out

    @staticmethod
    def backward(ctx, g):
        return None, slice_dim(g, *ctx.args), None, None, None, None


def slice_dim(x: Tensor, dim: int, start: int, end: int, step: int = 1) -> Tensor:
    """x[..., start:end:step, ...] along `dim` (a view)."""
    return _as_view(_Slice.apply(x, dim, start, end, step), x)


def narrow(x: Tensor, dim: int, start: int, length: int) -> Tensor:
    """The `length` elements of `dim` from `start` (a view)."""
    x._data.narrow(dim, start, length)  # validates the range
    n = x.shape[dim]
    start = start + n if start < 0 else start
    return slice_dim(x, dim, start, start + length, 1)


def select(x: Tensor, dim: int, index: int) -> Tensor:
    """The slice at `index` of `dim`, with that dim removed (a view)."""
    x._data.select(dim, index)  # validates dim and index
    n = x.shape[dim]
    index = index + n if index < 0 else index
    return squeeze(slice_dim(x, dim, index, index + 1, 1), dim)
