"""Unary maths (abs, exp, log, sqrt, trig, sigmoid, rounding, ...), clamp and
the in-place unary forms. Backward rules are written in Tensor ops, so
create_graph=True gives higher-order gradients.
"""

from __future__ import annotations

import numbers

from .. import _C
from ..autograd.function import Function
from ..tensor import Tensor
from .elementwise import _check_tensor, _needs_graph, _zeros_like, maximum, minimum, where

_U = _C.UnaryOp


def _unary(op, x: Tensor) -> _C.Tensor:
    return _C.unary(op, x._data)


class Abs(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _unary(_U.abs, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * sign(x)


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        out = _unary(_U.exp, x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _unary(_U.log, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Log1p(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _unary(_U.log1p, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (x + 1)


class Expm1(Function):
    @staticmethod
    def forward(ctx, x):
        out = _unary(_U.expm1, x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out + 1)


class Sqrt(Function):
    @staticmethod
    def forward(ctx, x):
        out = _unary(_U.sqrt, x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (out * 2)


class Rsqrt(Function):
    @staticmethod
    def forward(ctx, x):
        out = _unary(_U.rsqrt, x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * out * out * -0.5


class Sin(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _unary(_U.sin, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * cos(x)


class Cos(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _unary(_U.cos, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * sin(x)


class Tanh(Function):
    @staticmethod
    def forward(ctx, x):
        out = _unary(_U.tanh, x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out * out)


class Sigmoid(Function):
    @staticmethod
    def forward(ctx, x):
        out = _unary(_U.sigmoid, x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1 - out)


class Reciprocal(Function):
    @staticmethod
    def forward(ctx, x):
        out = _unary(_U.reciprocal, x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return -grad * out * out


class Square(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _unary(_U.square, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * x * 2


class _Step(Function):
    """sign, floor, ceil, round, trunc: piecewise constant, so zero gradient."""

    @staticmethod
    def forward(ctx, x, op):
        return _unary(op, x)

    @staticmethod
    def backward(ctx, grad):
        return _zeros_like(grad), None


def _apply(fn, x, name: str) -> Tensor:
    _check_tensor(x, name)
    return fn.apply(x)


def abs(input: Tensor) -> Tensor:
    """|input| elementwise; integer tensors stay integer.

    Args:
        input: a Tensor.

    Returns:
        A Tensor of input's dtype; the gradient is sign(input).
    """
    return _apply(Abs, input, "abs")


absolute = abs


def sign(input: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element (zero gradient).

    Args:
        input: a Tensor.

    Returns:
        A Tensor of input's dtype.
    """
    _check_tensor(input, "sign")
    return _Step.apply(input, _U.sign)


def exp(input: Tensor) -> Tensor:
    """e ** input; integers give float32.

    Args:
        input: a Tensor.

    Returns:
        A floating Tensor.
    """
    return _apply(Exp, input, "exp")


def log(input: Tensor) -> Tensor:
    """Natural logarithm (NaN below 0, -inf at 0); integers give float32.

    Args:
        input: a Tensor.

    Returns:
        A floating Tensor.
    """
    return _apply(Log, input, "log")


def log1p(input: Tensor) -> Tensor:
    """log(1 + input), accurate near 0.

    Args:
        input: a Tensor.

    Returns:
        A floating Tensor.
    """
    return _apply(Log1p, input, "log1p")


def expm1(input: Tensor) -> Tensor:
    """exp(input) - 1, accurate near 0.

    Args:
        input: a Tensor.

    Returns:
        A floating Tensor.
    """
    return _apply(Expm1, input, "expm1")


def sqrt(input: Tensor) -> Tensor:
    """Square root (NaN below 0).

    Args:
        input: a Tensor.

    Returns:
        A floating Tensor.
    """
    return _apply(Sqrt, input, "sqrt")


def rsqrt(input: Tensor) -> Tensor:
    """1 / sqrt(input).

    Args:
        input: a Tensor.

    Returns:
        A floating Tensor.
    """
    return _apply(Rsqrt, input, "rsqrt")


def sin(input: Tensor) -> Tensor:
    """Sine (radians).

    Args:
        input: a Tensor.

    Returns:
        A floating Tensor.
    """
    return _apply(Sin, input, "sin")


def cos(input: Tensor) -> Tensor:
    """Cosine (radians).

    Args:
        input: a Tensor.

    Returns:
        A floating Tensor.
    """
    return _apply(Cos, input, "cos")


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent.

    Args:
        input: a Tensor.

    Returns:
        A floating Tensor.
    """
    return _apply(Tanh, input, "tanh")


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-input)), computed without overflow.

    Args:
        input: a Tensor.

    Returns:
        A floating Tensor.
    """
    return _apply(Sigmoid, input, "sigmoid")


def reciprocal(input: Tensor) -> Tensor:
    """1 / input; integers give float32.

    Args:
        input: a Tensor.

    Returns:
        A floating Tensor.
    """
    return _apply(Reciprocal, input, "reciprocal")


def square(input: Tensor) -> Tensor:
    """input * input; integer tensors stay integer.

    Args:
        input: a Tensor.

    Returns:
        A Tensor of input's dtype.
    """
    return _apply(Square, input, "square")


def floor(input: Tensor) -> Tensor:
    """Largest integer <= input (zero gradient); integer tensors are returned as copies.

    Args:
        input: a Tensor.

    Returns:
        A Tensor of input's dtype.
    """
    _check_tensor(input, "floor")
    return _Step.apply(input, _U.floor)


def ceil(input: Tensor) -> Tensor:
    """Smallest integer >= input (zero gradient).

    Args:
        input: a Tensor.

    Returns:
        A Tensor of input's dtype.
    """
    _check_tensor(input, "ceil")
    return _Step.apply(input, _U.ceil)


def round(input: Tensor, *, decimals: int = 0) -> Tensor:
    """Rounds half to even, optionally to `decimals` decimal places (zero gradient).

    Args:
        input: a Tensor.
        decimals: the number of decimal places (may be negative).

    Returns:
        A Tensor of input's dtype.
    """
    _check_tensor(input, "round")
    if not isinstance(decimals, int) or isinstance(decimals, bool):
        raise TypeError(f"round: decimals must be an int, got {type(decimals).__name__}")
    if decimals == 0:
        return _Step.apply(input, _U.round)
    scale = 10.0 ** decimals
    return _Step.apply(input * scale, _U.round) / scale


def trunc(input: Tensor) -> Tensor:
    """Rounds toward zero (zero gradient).

    Args:
        input: a Tensor.

    Returns:
        A Tensor of input's dtype.
    """
    _check_tensor(input, "trunc")
    return _Step.apply(input, _U.trunc)


fix = trunc


# ---------------------------------------------------------------- clamp
def _check_bound(value, name: str, which: str) -> None:
    if value is not None and (isinstance(value, (complex, str)) or
                              not isinstance(value, (numbers.Real, Tensor))):
        raise TypeError(f"{name}: {which} must be a number, a Tensor or None, got "
                        f"{type(value).__name__}")


class Clamp(Function):
    @staticmethod
    def forward(ctx, x, min, max):
        ctx.save_for_backward(x)
        ctx.bounds = (min, max)
        return _C.clamp(x._data, min, max)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        low, high = ctx.bounds
        inside = None
        if low is not None:
            inside = x >= low
        if high is not None:
            below = x <= high
            inside = below if inside is None else inside & below
        return where(inside, grad, 0.0), None, None


def _number(value):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, bool):
        return value
    return float(value)


def clamp(input: Tensor, min=None, max=None) -> Tensor:
    """Limits each element to [min, max]; either bound may be None, a number or a Tensor.

    Args:
        input: a Tensor.
        min: the lower bound (None: none).
        max: the upper bound (None: none). Where min > max the result is max.

    Returns:
        A Tensor; the gradient flows where input lies inside the bounds.
    """
    _check_tensor(input, "clamp")
    _check_bound(min, "clamp", "min")
    _check_bound(max, "clamp", "max")
    if min is None and max is None:
        raise ValueError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        out = input
        if min is not None:
            out = maximum(out, min)
        if max is not None:
            out = minimum(out, max)
        return out
    return Clamp.apply(input, None if min is None else _number(min),
                       None if max is None else _number(max))


clip = clamp


def clamp_min(input: Tensor, min) -> Tensor:
    """clamp(input, min=min)."""
    return clamp(input, min=min)


def clamp_max(input: Tensor, max) -> Tensor:
    """clamp(input, max=max)."""
    return clamp(input, max=max)


def clamp_(input: Tensor, min=None, max=None) -> Tensor:
    """clamp in place; returns input."""
    _check_tensor(input, "clamp_")
    input._check_inplace("clamp_")
    if (isinstance(min, Tensor) or isinstance(max, Tensor) or
            _needs_graph(input)):
        return input._inplace_from(clamp(input, min, max), "clamp_")
    _check_bound(min, "clamp_", "min")
    _check_bound(max, "clamp_", "max")
    _C.clamp_(input._data, None if min is None else _number(min),
              None if max is None else _number(max))
    return input


# ---------------------------------------------------------------- in-place unary
def _inplace_unary(x: Tensor, op, out_of_place, name: str) -> Tensor:
    _check_tensor(x, name)
    x._check_inplace(name)
    if _needs_graph(x):
        return x._inplace_from(out_of_place(x), name)
    _C.unary_(op, x._data)
    return x


def sigmoid_(x: Tensor) -> Tensor:
    """sigmoid in place; returns x."""
    return _inplace_unary(x, _U.sigmoid, sigmoid, "sigmoid_")


def tanh_(x: Tensor) -> Tensor:
    """tanh in place; returns x."""
    return _inplace_unary(x, _U.tanh, tanh, "tanh_")


def exp_(x: Tensor) -> Tensor:
    """exp in place; returns x."""
    return _inplace_unary(x, _U.exp, exp, "exp_")


def abs_(x: Tensor) -> Tensor:
    """abs in place; returns x."""
    return _inplace_unary(x, _U.abs, abs, "abs_")


def sqrt_(x: Tensor) -> Tensor:
    """sqrt in place; returns x."""
    return _inplace_unary(x, _U.sqrt, sqrt, "sqrt_")


