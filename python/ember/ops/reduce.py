"""Reductions: sum, mean, prod, max/min, amax/amin, argmax/argmin, var/std,
logsumexp, norm, and the ops along one dim: softmax, log_softmax, cumsum.

Each reduction takes `dim` as an int, a sequence of ints, or None (every dim)
and `keepdim`. Backward rules are Tensor-op compositions (so higher-order
gradients work) except where a fused kernel pays: softmax, log_softmax,
max/min (gradient routed to the chosen index or split among ties), prod with
zeros and norm.
"""

from __future__ import annotations

import math
import operator
from collections import namedtuple

from .. import _C
from ..autograd.function import Function
from ..tensor import Tensor
from .shape import permute, reshape

__all__ = [
    "amax",
    "amin",
    "argmax",
    "argmin",
    "cumsum",
    "log_softmax",
    "logsumexp",
    "max",
    "mean",
    "min",
    "norm",
    "prod",
    "softmax",
    "std",
    "sum",
    "sum_to_size",
    "var",
]

_builtin_max = max

# The (values, indices) results of max/min along a dim, like torch.return_types.
MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


def _restore_reduced(grad: Tensor, shape, dims, keepdim: bool) -> Tensor:
    """Reshapes a reduction's gradient so it broadcasts against the input."""
    if keepdim or not dims or not shape:
        return grad if grad.ndim == len(shape) else grad.reshape([1] * len(shape))
    out_shape = list(shape)
    for d in dims:
        out_shape[d % len(shape)] = 1
    return grad.reshape(out_shape)


def _full_dims(dims, ndim):
    if ndim == 0:
        return []
    return list(range(ndim)) if not dims else [d % _builtin_max(ndim, 1) for d in dims]


def _reduced_count(shape, dims) -> int:
    return math.prod(shape[d] for d in _full_dims(dims, len(shape)) if len(shape))


def _raw(t: Tensor) -> Tensor:
    """A constant (no-grad) Tensor around a _C tensor."""
    return Tensor._make(t, False, None, 0)


def _check_tensor(x, op: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")


def _as_int(value, op: str, what: str) -> int:
    """An int from an int-like value (numpy ints included, bools refused)."""
    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise TypeError(f"{op}: {what}, got {value!r}")


def _dims_arg(dim, x: Tensor, op: str) -> list:
    _check_tensor(x, op)
    if dim is None:
        return []
    what = "dim must be an int, a sequence of ints or None"
    if isinstance(dim, (str, bytes, Tensor)) or not hasattr(dim, "__iter__"):
        return [_as_int(dim, op, what)]
    return [_as_int(d, op, what) for d in dim]


def _dim_arg(dim, op: str) -> int:
    return _as_int(dim, op, "dim must be an int")


# ---------------------------------------------------------------- sum, mean, prod


class Sum(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        if ctx.needs_input_grad[0]:  # only a recorded call keeps anything
            ctx.shape, ctx.dims, ctx.keepdim = x._data.shape, dims, keepdim
        return _C.sum(x._data, dims, keepdim)

    @staticmethod
    def backward(ctx, grad):
        dims = _full_dims(ctx.dims, len(ctx.shape))
        g = _restore_reduced(grad, ctx.shape, dims, ctx.keepdim)
        return g.expand(list(ctx.shape)), None, None


def sum(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Sum over `dim` (an int, a tuple, or None for all dims).

    Integer and bool tensors sum to int64; the sum of nothing is 0.

    Args:
        x: the input.
        dim: the dims to reduce; None reduces every dim.
        keepdim: keep the reduced dims as size 1.
        dtype: cast the input to this dtype first.

    Returns:
        The sums.
    """
    dims = _dims_arg(dim, x, "sum")
    if dtype is not None:
        x = x.to(dtype)
    return Sum.apply(x, dims, keepdim)


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


class Mean(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        if ctx.needs_input_grad[0]:  # only a recorded call keeps anything
            ctx.shape, ctx.dims, ctx.keepdim = x._data.shape, dims, keepdim
        return _C.mean(x._data, dims, keepdim)

    @staticmethod
    def backward(ctx, grad):
        dims = _full_dims(ctx.dims, len(ctx.shape))
        g = _restore_reduced(grad, ctx.shape, dims, ctx.keepdim)
        count = _builtin_max(_reduced_count(ctx.shape, ctx.dims), 1)
        return (g / count).expand(list(ctx.shape)), None, None


def mean(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Mean over `dim` (an int, a tuple, or None for all dims).

    Like PyTorch, integer tensors raise a TypeError unless `dtype` is a
    floating dtype; the mean of nothing is NaN.

    Args:
        x: the input.
        dim: the dims to reduce; None reduces every dim.
        keepdim: keep the reduced dims as size 1.
        dtype: cast the input to this dtype first.

    Returns:
        The means.
    """
    dims = _dims_arg(dim, x, "mean")
    if dtype is not None:
        x = x.to(dtype)
    return Mean.apply(x, dims, keepdim)


def _has_zero(t: Tensor) -> bool:
    """Whether t has a zero entry: counted on t's device, one scalar comes back."""
    return (t.detach() == 0).sum().item() != 0


class Prod(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        if ctx.needs_input_grad[0]:  # only a recorded call keeps anything
            ctx.shape, ctx.dims, ctx.keepdim = x._data.shape, dims, keepdim
        out = _C.prod(x._data, dims, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dims = _full_dims(ctx.dims, len(ctx.shape))
        g = _restore_reduced(grad, ctx.shape, dims, ctx.keepdim)
        o = _restore_reduced(out, ctx.shape, dims, ctx.keepdim)
        # Without zeros, prod/x is the product of the others and stays
        # differentiable; with zeros only the exact kernel is right.
        if not _has_zero(out):
            return g * o / x, None, None
        return _ProdBackward.apply(g, x, dims), None, None


class _ProdBackward(Function):
    @staticmethod
    def forward(ctx, grad, x, dims):
        return _C.prod_backward(grad._data, x._data, dims)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("prod: the second derivative of prod at an input with zeros is "
                           "not implemented")


def prod(x: Tensor, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """Product over `dim` (an int, a tuple, or None for all dims).

    Integer and bool tensors multiply to int64; the product of nothing is 1.
    The gradient is exact when inputs contain zeros.

    Args:
        x: the input.
        dim: the dims to reduce; None reduces every dim.
        keepdim: keep the reduced dims as size 1.
        dtype: cast the input to this dtype first.

    Returns:
        The products.
    """
    dims = _dims_arg(dim, x, "prod")
    if dtype is not None:
        x = x.to(dtype)
    return Prod.apply(x, dims, keepdim)


# ---------------------------------------------------------------- max, min


class MaxMin(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim, is_max):
        if ctx.needs_input_grad[0]:  # only a recorded call keeps anything
            ctx.shape, ctx.dims, ctx.keepdim = x._data.shape, dims, keepdim
        out = (_C.amax if is_max else _C.amin)(x._data, dims, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dims = _full_dims(ctx.dims, len(ctx.shape))
        g = _restore_reduced(grad, ctx.shape, dims, ctx.keepdim)
        o = _restore_reduced(out, ctx.shape, dims, ctx.keepdim)
        weights = _raw(_C.extreme_weights(x._data, o._data, dims))
        return g * weights, None, None, None


class MaxMinDim(Function):
    @staticmethod
    def forward(ctx, x, dim, keepdim, is_max):
        values, indices = (_C.max_dim if is_max else _C.min_dim)(x._data, dim, keepdim)
        ctx.shape, ctx.keepdim = x.shape, keepdim
        ctx.dim = dim % _builtin_max(x.ndim, 1)
        ctx.indices = indices
        ctx.mark_non_differentiable(indices)
        return values, indices

    @staticmethod
    def backward(ctx, grad_values, grad_indices):
        index = ctx.indices
        if not ctx.keepdim and len(ctx.shape):
            index = index.unsqueeze(ctx.dim)
        g = _restore_reduced(grad_values, ctx.shape, [ctx.dim], ctx.keepdim)
        from ..creation import zeros
        from .index import scatter_add

        index = Tensor._make(index, False, None, 0)
        grad_x = scatter_add(zeros(ctx.shape, dtype=g.dtype, device=g.device), ctx.dim, index, g)
        return grad_x, None, None, None


def _extreme(x, dim, keepdim, is_max, op):
    _check_tensor(x, op)
    if isinstance(dim, Tensor):
        from . import elementwise

        return (elementwise.maximum if is_max else elementwise.minimum)(x, dim)
    if dim is None:
        if keepdim:
            raise TypeError(f"{op}: keepdim=True needs a dim")
        return MaxMin.apply(x, [], False, is_max)
    values, indices = MaxMinDim.apply(x, _dim_arg(dim, op), keepdim, is_max)
    return (MaxResult if is_max else MinResult)(values, indices)


def max(x: Tensor, dim=None, keepdim: bool = False):
    """The largest value, or (values, indices) of the largest along `dim`.

    NaN propagates. Without `dim` the gradient is split evenly among ties;
    with `dim` it goes to the returned index (the first of the largest).

    Args:
        x: the input (non-empty along the reduced dims).
        dim: None for the max of every element, or one dim.
        keepdim: keep the reduced dim as size 1.

    Returns:
        A 0-d tensor without `dim`; a named tuple (values, indices) with it.
    """
    return _extreme(x, dim, keepdim, True, "max")


def min(x: Tensor, dim=None, keepdim: bool = False):
    """The smallest value, or (values, indices) of the smallest along `dim`.

    Args:
        x: the input (non-empty along the reduced dims).
        dim: None for the min of every element, or one dim.
        keepdim: keep the reduced dim as size 1.

    Returns:
        A 0-d tensor without `dim`; a named tuple (values, indices) with it.
    """
    return _extreme(x, dim, keepdim, False, "min")


def amax(x: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Max over `dim` (an int or a tuple; () or None for every dim).

    The gradient is split evenly among the elements equal to the max.

    Args:
        x: the input (non-empty along the reduced dims).
        dim: the dims to reduce.
        keepdim: keep the reduced dims as size 1.

    Returns:
        The maxima.
    """
    return MaxMin.apply(x, _dims_arg(dim, x, "amax"), keepdim, True)


def amin(x: Tensor, dim=(), keepdim: bool = False) -> Tensor:
    """Min over `dim` (an int or a tuple; () or None for every dim).

    Args:
        x: the input (non-empty along the reduced dims).
        dim: the dims to reduce.
        keepdim: keep the reduced dims as size 1.

    Returns:
        The minima.
    """
    return MaxMin.apply(x, _dims_arg(dim, x, "amin"), keepdim, False)


def argmax(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the max along `dim`, or into the flattened tensor if dim is None.

    Args:
        x: the input (non-empty along `dim`).
        dim: one dim, or None.
        keepdim: keep the reduced dim as size 1.

    Returns:
        The indices of the first maximum.
    """
    _check_tensor(x, "argmax")
    return _raw(_C.argmax(x._data, None if dim is None else _dim_arg(dim, "argmax"), keepdim))


def argmin(x: Tensor, dim=None, keepdim: bool = False) -> Tensor:
    """Index (int64) of the min along `dim`, or into the flattened tensor if dim is None.

    Args:
        x: the input (non-empty along `dim`).
        dim: one dim, or None.
        keepdim: keep the reduced dim as size 1.

    Returns:
        The indices of the first minimum.
    """
    _check_tensor(x, "argmin")
    return _raw(_C.argmin(x._data, None if dim is None else _dim_arg(dim, "argmin"), keepdim))


# ---------------------------------------------------------------- var, std


class VarStd(Function):
    @staticmethod
    def forward(ctx, x, dims, correction, keepdim, take_sqrt):
        if ctx.needs_input_grad[0]:  # only a recorded call keeps anything
            ctx.shape, ctx.dims, ctx.keepdim = x._data.shape, dims, keepdim
            ctx.correction, ctx.take_sqrt = correction, take_sqrt
        out = (_C.std if take_sqrt else _C.var)(x._data, dims, correction, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dims = _full_dims(ctx.dims, len(ctx.shape))
        g = _restore_reduced(grad, ctx.shape, dims, ctx.keepdim)
        divisor = _reduced_count(ctx.shape, ctx.dims) - ctx.correction
        centered = x - mean(x, dims, keepdim=True)
        if divisor <= 0:
            return g * centered * math.nan, None, None, None, None
        if ctx.take_sqrt:
            o = _restore_reduced(out, ctx.shape, dims, ctx.keepdim)
            return g * centered / (o * divisor), None, None, None, None
        return g * centered * (2.0 / divisor), None, None, None, None


def _correction(op, dim, unbiased, correction):
    if isinstance(dim, bool):  # var(x, False): the legacy positional `unbiased`
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise ValueError(f"{op}: pass either unbiased or correction, not both")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    if isinstance(correction, bool) or not isinstance(correction, (int, float)):
        raise TypeError(f"{op}: correction must be a number, got {correction!r}")
    return dim, float(correction)


def var(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Variance over `dim`: sum((x - mean)^2) / (N - correction).

    Args:
        x: a floating point input.
        dim: the dims to reduce; None reduces every dim.
        unbiased: the legacy form of correction (True -> 1, False -> 0).
        keepdim: keep the reduced dims as size 1.
        correction: subtracted from the count N (default 1, Bessel's correction).

    Returns:
        The variances (NaN where N - correction <= 0 and every term is 0).
    """
    dim, corr = _correction("var", dim, unbiased, correction)
    return VarStd.apply(x, _dims_arg(dim, x, "var"), corr, keepdim, False)


def std(x: Tensor, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """Standard deviation over `dim`: the square root of var (same arguments).

    Args:
        x: a floating point input.
        dim: the dims to reduce; None reduces every dim.
        unbiased: the legacy form of correction (True -> 1, False -> 0).
        keepdim: keep the reduced dims as size 1.
        correction: subtracted from the count N (default 1).

    Returns:
        The standard deviations.
    """
    dim, corr = _correction("std", dim, unbiased, correction)
    return VarStd.apply(x, _dims_arg(dim, x, "std"), corr, keepdim, True)


# ---------------------------------------------------------------- logsumexp, norm


def _softmax_over(x: Tensor, dims) -> Tensor:
    """softmax over several dims at once (they are moved last and flattened)."""
    if x.ndim == 0:
        return softmax(x, 0)
    if len(dims) == 1:
        return softmax(x, dims[0])
    kept = [d for d in range(x.ndim) if d not in dims]
    order = kept + list(dims)
    moved = permute(x, order)
    flat = reshape(moved, [x.shape[d] for d in kept] + [_reduced_count(x.shape, dims)])
    out = reshape(softmax(flat, -1), list(moved.shape))
    inverse = [order.index(d) for d in range(x.ndim)]
    return permute(out, inverse)


class LogSumExp(Function):
    @staticmethod
    def forward(ctx, x, dims, keepdim):
        if ctx.needs_input_grad[0]:  # only a recorded call keeps anything
            ctx.shape, ctx.dims, ctx.keepdim = x._data.shape, dims, keepdim
        ctx.save_for_backward(x)
        return _C.logsumexp(x._data, dims, keepdim)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        dims = _full_dims(ctx.dims, len(ctx.shape))
        g = _restore_reduced(grad, ctx.shape, dims, ctx.keepdim)
        # d logsumexp / dx = exp(x - logsumexp) = softmax over the reduced dims.
        return g * _softmax_over(x, dims), None, None


def logsumexp(x: Tensor, dim, keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over `dim`, computed stably (max-subtracted).

    Integer inputs give float32; the logsumexp of nothing is -inf.

    Args:
        x: the input.
        dim: an int or a tuple of ints.
        keepdim: keep the reduced dims as size 1.

    Returns:
        The log-sum-exps.
    """
    return LogSumExp.apply(x, _dims_arg(dim, x, "logsumexp"), keepdim)


class Norm(Function):
    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        ctx.shape, ctx.dims, ctx.keepdim, ctx.p = x.shape, dims, keepdim, p
        out = _C.norm(x._data, p, dims, keepdim)
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        dims = _full_dims(ctx.dims, len(ctx.shape))
        g = _restore_reduced(grad, ctx.shape, dims, ctx.keepdim)
        # The 2-norm away from 0 stays a composition, differentiable again;
        # elsewhere the kernel handles zero norms and the other p.
        if ctx.p == 2 and not _has_zero(out):
            return g * x / _restore_reduced(out, ctx.shape, dims, ctx.keepdim), None, None, None
        o = _restore_reduced(out.detach(), ctx.shape, dims, ctx.keepdim)
        return _NormBackward.apply(g, x, o, ctx.p, dims), None, None, None


class _NormBackward(Function):
    @staticmethod
    def forward(ctx, grad, x, out, p, dims):
        ctx.p, ctx.dims = p, dims
        ctx.save_for_backward(x, out)
        return _C.norm_backward(grad._data, x._data, out._data, p, dims)

    @staticmethod
    def backward(ctx, gg):
        if ctx.p not in (0.0, 1.0, math.inf, -math.inf):
            raise RuntimeError(f"norm: the second derivative of the {ctx.p:g}-norm at a zero "
                               "norm or for p other than 0, 1, 2 and inf is not implemented")
        # grad_x = grad * W(x) with W piecewise constant in x: linear in grad,
        # zero derivative in x almost everywhere.
        x, out = ctx.saved_tensors
        ones = _C.ones(list(out.shape), x.dtype, x._data.device)
        weights = _raw(_C.norm_backward(ones, x._data, out._data, ctx.p, ctx.dims))
        return gg * weights, None, None, None, None


def norm(x: Tensor, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The vector p-norm over `dim`: sum(|x|^p)^(1/p).

    Args:
        x: a floating point input.
        p: 'fro' or 2 (default), 1, float('inf') (max |x|), -inf (min |x|),
            0 (count of non-zeros) or any other number.
        dim: the dims to reduce; None reduces every dim.
        keepdim: keep the reduced dims as size 1.
        dtype: cast the input to this dtype first.

    Returns:
        The norms; the gradient is 0 where a norm is 0.
    """
    dims = _dims_arg(dim, x, "norm")
    if p == "fro":
        p = 2.0
    if p == "nuc":
        raise NotImplementedError("norm: the nuclear norm (p='nuc') is not implemented")
    if isinstance(p, bool) or not isinstance(p, (int, float)):
        raise TypeError(f"norm: p must be a number or 'fro', got {p!r}")
    if dtype is not None:
        x = x.to(dtype)
    return Norm.apply(x, float(p), dims, keepdim)


# ---------------------------------------------------------------- softmax, log_softmax


class Softmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        y = _C.softmax(x._data, dim)
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return _SoftmaxBackward.apply(grad, y, ctx.dim), None


class _SoftmaxBackward(Function):
    """grad_x = y * (grad - sum(grad * y)), fused; differentiable again."""

    @staticmethod
    def forward(ctx, grad, y, dim):
        ctx.dim = dim
        ctx.save_for_backward(grad, y)
        return _C.softmax_backward(grad._data, y._data, dim)

    @staticmethod
    def backward(ctx, gg):
        grad, y = ctx.saved_tensors
        dim = ctx.dim
        d_grad = _SoftmaxBackward.apply(gg, y, dim) if ctx.needs_input_grad[0] else None
        d_y = None
        if ctx.needs_input_grad[1]:
            d_y = (gg * (grad - sum(grad * y, dim, keepdim=True))
                   - grad * sum(gg * y, dim, keepdim=True))
        return d_grad, d_y, None


class LogSoftmax(Function):
    @staticmethod
    def forward(ctx, x, dim):
        y = _C.log_softmax(x._data, dim)
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return _LogSoftmaxBackward.apply(grad, y, ctx.dim), None


class _LogSoftmaxBackward(Function):
    """grad_x = grad - exp(y) * sum(grad), fused; differentiable again."""

    @staticmethod
    def forward(ctx, grad, y, dim):
        ctx.dim = dim
        ctx.save_for_backward(grad, y)
        return _C.log_softmax_backward(grad._data, y._data, dim)

    @staticmethod
    def backward(ctx, gg):
        grad, y = ctx.saved_tensors
        dim = ctx.dim
        # exp(y) as softmax(y): equal in value for a log_softmax output, and
        # equal in derivative along every change of y that log_softmax can make.
        p = softmax(y, dim)
        d_grad = gg - sum(gg * p, dim, keepdim=True) if ctx.needs_input_grad[0] else None
        d_y = -gg * p * sum(grad, dim, keepdim=True) if ctx.needs_input_grad[1] else None
        return d_grad, d_y, None


def _softmax_dim(x: Tensor, dim, op: str) -> int:
    _check_tensor(x, op)
    if dim is None:  # PyTorch's legacy implicit dim
        return 0 if x.ndim in (0, 1, 3) else 1
    return _dim_arg(dim, op)


def softmax(x: Tensor, dim=None, dtype=None) -> Tensor:
    """exp(x) / sum(exp(x)) along `dim`, max-subtracted for stability.

    Args:
        x: a floating point input.
        dim: the dim whose slices sum to 1 (None picks PyTorch's legacy default).
        dtype: cast the input to this dtype first.

    Returns:
        The probabilities, shaped like x.
    """
    dim = _softmax_dim(x, dim, "softmax")
    if dtype is not None:
        x = x.to(dtype)
    return Softmax.apply(x, dim)


def log_softmax(x: Tensor, dim=None, dtype=None) -> Tensor:
    """x - logsumexp(x) along `dim`, in one stable pass.

    Args:
        x: a floating point input.
        dim: the dim to normalise over (None picks PyTorch's legacy default).
        dtype: cast the input to this dtype first.

    Returns:
        The log-probabilities, shaped like x.
    """
    dim = _softmax_dim(x, dim, "log_softmax")
    if dtype is not None:
        x = x.to(dtype)
    return LogSoftmax.apply(x, dim)


# ---------------------------------------------------------------- cumsum


class CumSum(Function):
    @staticmethod
    def forward(ctx, x, dim, reverse):
        ctx.dim, ctx.reverse = dim, reverse
        return _C.cumsum(x._data, dim, reverse)

    @staticmethod
    def backward(ctx, grad):
        # Each input feeds every later output: the gradient is the running sum from the end.
        return CumSum.apply(grad, ctx.dim, not ctx.reverse), None, None


def cumsum(x: Tensor, dim: int, *, dtype=None) -> Tensor:
    """Running sum along `dim`; integer and bool tensors give int64.

    Args:
        x: the input.
        dim: the dim to accumulate along.
        dtype: cast the input to this dtype first.

    Returns:
        A tensor shaped like x.
    """
    _check_tensor(x, "cumsum")
    dim = _dim_arg(dim, "cumsum")
    if dtype is not None:
        x = x.to(dtype)
    return CumSum.apply(x, dim, False)
