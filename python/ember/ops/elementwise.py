"""Elementwise ops with numpy broadcasting, type promotion and Python scalars.

A Python number next to a tensor becomes a 0-d tensor of the dtype it takes
there (`as_tensor_like`); the engine reduces broadcast gradients, so each
backward returns gradients of the output's shape.
"""

from __future__ import annotations

import numbers

from .. import _C
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor

__all__ = [
    "abs",
    "abs_",
    "absolute",
    "add",
    "bitwise_not",
    "ceil",
    "clamp",
    "clamp_",
    "clamp_max",
    "clamp_min",
    "clip",
    "cos",
    "div",
    "elu",
    "eq",
    "exp",
    "exp_",
    "expm1",
    "fix",
    "floor",
    "floor_divide",
    "ge",
    "gelu",
    "greater",
    "greater_equal",
    "gt",
    "le",
    "leaky_relu",
    "less",
    "less_equal",
    "log",
    "log1p",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "lt",
    "maximum",
    "minimum",
    "mul",
    "multiply",
    "ne",
    "neg",
    "negative",
    "not_equal",
    "pow",
    "pow_",
    "reciprocal",
    "relu",
    "relu_",
    "remainder",
    "round",
    "rsqrt",
    "rsub",
    "sigmoid",
    "sigmoid_",
    "sign",
    "silu",
    "sin",
    "softplus",
    "sqrt",
    "sqrt_",
    "square",
    "sub",
    "subtract",
    "tanh",
    "tanh_",
    "true_divide",
    "trunc",
    "where",
]

_ADD, _SUB, _MUL, _DIV = _C.BinaryOp.add, _C.BinaryOp.sub, _C.BinaryOp.mul, _C.BinaryOp.div
_U = _C.UnaryOp
_make = Tensor._make
_scalar_tensor = _C.scalar_tensor
_binary = _C.binary


def as_tensor_like(value, like: Tensor, op: str = "") -> Tensor:
    """`value` as a Tensor on like's device: tensors pass through, numbers
    become 0-d tensors with the dtype PyTorch would give them next to `like`."""
    if isinstance(value, Tensor):
        return value
    tp = type(value)
    if tp is float or tp is int:  # the common case, without the ABC checks below
        return _make(_scalar_tensor(value, like._data), False, None, 0)
    if isinstance(value, (numbers.Number,)) and not isinstance(value, complex):
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            value = int(value)
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = float(value)
        return Tensor._make(_C.scalar_tensor(value, like._data), False, None, 0)
    prefix = f"{op}: " if op else ""
    raise TypeError(f"{prefix}expected a Tensor or a number, got {type(value).__name__}")


def _binary_operands(a, b, op: str = ""):
    if isinstance(b, Tensor):
        if isinstance(a, Tensor):
            return a, b
    elif isinstance(a, Tensor):
        tp = type(b)
        if tp is float or tp is int:
            return a, _make(_scalar_tensor(b, a._data), False, None, 0)
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            prefix = f"{op}: " if op else ""
            raise TypeError(f"{prefix}expected at least one Tensor, got {type(a).__name__} and "
                            f"{type(b).__name__}")
        a = as_tensor_like(a, b, op)
    return a, as_tensor_like(b, a, op)


def _needs_graph(*tensors) -> bool:
    return is_grad_enabled() and any(t.requires_grad for t in tensors)


def inplace_binary(x: Tensor, other, op, out_of_place, name: str) -> Tensor:
    """x = x (op) other in place; with autograd, computed out of place and
    written back so the graph stays right."""
    x._check_inplace(name)
    other = as_tensor_like(other, x)
    if _needs_graph(x, other):
        return x._inplace_from(out_of_place(x, other), name)
    _C.binary_(op, x._data, other._data)
    return x


# Tensor's + - * / record Add, Sub, Mul and Div from C (csrc/autograd/
# operators.cpp), saving the same tensors as these forwards: keep them in step.
class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return _binary(_ADD, a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return _binary(_SUB, a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad if ctx.needs_input_grad[1] else None


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        return _binary(_MUL, a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (grad * b if ctx.needs_input_grad[0] else None,
                grad * a if ctx.needs_input_grad[1] else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        return _binary(_DIV, a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        ga = grad / b if ctx.needs_input_grad[0] else None
        gb = -grad * a / (b * b) if ctx.needs_input_grad[1] else None
        return ga, gb


def add(input, other, *, alpha=1) -> Tensor:
    """input + alpha * other, broadcast."""
    a, b = _binary_operands(input, other)
    if alpha != 1:
        b = mul(b, alpha)
    return Add.apply(a, b)


def sub(input, other, *, alpha=1) -> Tensor:
    """input - alpha * other, broadcast."""
    a, b = _binary_operands(input, other)
    if alpha != 1:
        b = mul(b, alpha)
    return Sub.apply(a, b)


def rsub(input, other, *, alpha=1) -> Tensor:
    """other - alpha * input."""
    return sub(other, input, alpha=alpha) if isinstance(other, Tensor) else sub(as_tensor_like(other, input), input, alpha=alpha)


def mul(input, other) -> Tensor:
    """input * other, broadcast."""
    return Mul.apply(*_binary_operands(input, other))


def div(input, other, *, rounding_mode=None) -> Tensor:
    """input / other (true division: integers give float32).

    rounding_mode "floor" gives floor_divide, "trunc" rounds toward zero.
    """
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode == "trunc":
        a, b = _binary_operands(input, other, "div")
        if a.dtype.is_floating_point or b.dtype.is_floating_point:
            return trunc(div(a, b))
        # Integers stay integers: the floor quotient, moved toward zero where
        # it was rounded down across zero.
        quotient = floor_divide(a, b)
        inexact = (remainder(a, b) != 0) & ((a < 0) != (b < 0))
        return where(inexact, quotient + 1, quotient)
    if rounding_mode is not None:
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got {rounding_mode!r}")
    return Div.apply(*_binary_operands(input, other))


true_divide = div
multiply = mul
subtract = sub


def rdiv(input: Tensor, other) -> Tensor:
    """other / input."""
    return div(as_tensor_like(other, input), input)


class Neg(Function):
    @staticmethod
    def forward(ctx, x):
        return _C.unary(_U.neg, x._data)

    @staticmethod
    def backward(ctx, grad):
        return -grad


def neg(x: Tensor) -> Tensor:
    """-x."""
    if not isinstance(x, Tensor):
        _check_tensor(x, "neg")
    return Neg.apply(x)


negative = neg


def add_(x: Tensor, other, *, alpha=1) -> Tensor:
    """x += alpha * other in place; returns x."""
    if alpha != 1:
        other = mul(as_tensor_like(other, x), alpha)
    return inplace_binary(x, other, _ADD, add, "add_")


def sub_(x: Tensor, other, *, alpha=1) -> Tensor:
    """x -= alpha * other in place; returns x."""
    if alpha != 1:
        other = mul(as_tensor_like(other, x), alpha)
    return inplace_binary(x, other, _SUB, sub, "sub_")


def mul_(x: Tensor, other) -> Tensor:
    """x *= other in place; returns x."""
    return inplace_binary(x, other, _MUL, mul, "mul_")


def div_(x: Tensor, other) -> Tensor:
    """x /= other in place; returns x."""
    return inplace_binary(x, other, _DIV, div, "div_")


def neg_(x: Tensor) -> Tensor:
    return mul_(x, -1)


# ---------------------------------------------------------------- binary ops
def _zeros_like(t: Tensor) -> Tensor:
    return Tensor._make(_C.zeros(list(t.shape), t._data.dtype, t._data.device), False, None, 0)


class FloorDivide(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _C.binary(_C.BinaryOp.floor_divide, a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        # A step function: zero almost everywhere, as in PyTorch.
        return (_zeros_like(grad) if ctx.needs_input_grad[0] else None,
                _zeros_like(grad) if ctx.needs_input_grad[1] else None)


class Remainder(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[1] else None)
        return _C.binary(_C.BinaryOp.remainder, a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        gb = -grad * floor_divide(a, b) if ctx.needs_input_grad[1] else None
        return grad if ctx.needs_input_grad[0] else None, gb


class Pow(Function):
    @staticmethod
    def forward(ctx, a, b):
        out = _C.binary(_C.BinaryOp.pow, a._data, b._data)
        ctx.save_for_backward(a, b, out if ctx.needs_input_grad[1] else None)
        return out

    @staticmethod
    def backward(ctx, grad):
        a, b, out = ctx.saved_tensors
        ga = gb = None
        if ctx.needs_input_grad[0]:
            # b * a**(b-1) is 0 * inf at a == 0, b == 0; the true derivative is 0.
            ga = where(b == 0, 0.0, grad * b * pow(a, b - 1))
        if ctx.needs_input_grad[1]:
            # d/db a**b = a**b log a; at a == 0 the limit for b > 0 is 0.
            gb = where((a == 0) & (b >= 0), 0.0, grad * out * log(a))
        return ga, gb


class Maximum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _C.binary(_C.BinaryOp.maximum, a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split_grad(ctx, grad, a > b, a == b)


class Minimum(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _C.binary(_C.BinaryOp.minimum, a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return _split_grad(ctx, grad, a < b, a == b)


def _split_grad(ctx, grad, a_wins, tie):
    """The gradient of max/min: to the winner, halved between equal inputs."""
    half = grad * 0.5
    ga = where(a_wins, grad, where(tie, half, 0.0)) if ctx.needs_input_grad[0] else None
    gb = where(a_wins, 0.0, where(tie, half, grad)) if ctx.needs_input_grad[1] else None
    return ga, gb


def floor_divide(input, other) -> Tensor:
    """input // other, rounded toward -inf (Python's convention), broadcast.

    Args:
        input: a Tensor or number.
        other: a Tensor or number; integer division by zero raises RuntimeError.

    Returns:
        A Tensor of the promoted dtype.
    """
    return FloorDivide.apply(*_binary_operands(input, other, "floor_divide"))


def remainder(input, other) -> Tensor:
    """input % other with the sign of `other` (Python's convention), broadcast.

    Args:
        input: a Tensor or number.
        other: a Tensor or number; integer division by zero raises RuntimeError.

    Returns:
        A Tensor of the promoted dtype.
    """
    return Remainder.apply(*_binary_operands(input, other, "remainder"))


def pow(input, exponent) -> Tensor:
    """input ** exponent, broadcast; either side may be a Python number.

    Args:
        input: the base, a Tensor or number.
        exponent: a Tensor or number (integer tensors need non-negative exponents).

    Returns:
        A Tensor of the promoted dtype.

    Example:
        >>> em.pow(em.tensor([1.0, 2.0]), 2)
        tensor([1., 4.])
    """
    return Pow.apply(*_binary_operands(input, exponent, "pow"))


def maximum(input, other) -> Tensor:
    """Elementwise maximum, broadcast; NaN propagates.

    Args:
        input: a Tensor.
        other: a Tensor or number.

    Returns:
        A Tensor of the promoted dtype.
    """
    return Maximum.apply(*_binary_operands(input, other, "maximum"))


def minimum(input, other) -> Tensor:
    """Elementwise minimum, broadcast; NaN propagates.

    Args:
        input: a Tensor.
        other: a Tensor or number.

    Returns:
        A Tensor of the promoted dtype.
    """
    return Minimum.apply(*_binary_operands(input, other, "minimum"))


def pow_(x: Tensor, exponent) -> Tensor:
    """x **= exponent in place; returns x."""
    return inplace_binary(x, exponent, _C.BinaryOp.pow, pow, "pow_")


# ---------------------------------------------------------------- comparisons and logic
def _compare(op, input, other) -> Tensor:
    a, b = _binary_operands(input, other, op.name)
    return Tensor._make(_C.compare(op, a._data, b._data), False, None, 0)


def eq(input, other) -> Tensor:
    """input == other elementwise, broadcast.

    Args:
        input: a Tensor.
        other: a Tensor or number.

    Returns:
        A bool Tensor (never requires grad).
    """
    return _compare(_C.CompareOp.eq, input, other)


def ne(input, other) -> Tensor:
    """input != other elementwise, broadcast; returns a bool Tensor."""
    return _compare(_C.CompareOp.ne, input, other)


def lt(input, other) -> Tensor:
    """input < other elementwise, broadcast; returns a bool Tensor."""
    return _compare(_C.CompareOp.lt, input, other)


def le(input, other) -> Tensor:
    """input <= other elementwise, broadcast; returns a bool Tensor."""
    return _compare(_C.CompareOp.le, input, other)


def gt(input, other) -> Tensor:
    """input > other elementwise, broadcast; returns a bool Tensor."""
    return _compare(_C.CompareOp.gt, input, other)


def ge(input, other) -> Tensor:
    """input >= other elementwise, broadcast; returns a bool Tensor."""
    return _compare(_C.CompareOp.ge, input, other)


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


def logical_and(input, other) -> Tensor:
    """input AND other, nonzero meaning True, broadcast.

    Args:
        input: a Tensor of any dtype.
        other: a Tensor or number.

    Returns:
        A bool Tensor.
    """
    return _compare(_C.CompareOp.logical_and, input, other)


def logical_or(input, other) -> Tensor:
    """input OR other, nonzero meaning True, broadcast; returns a bool Tensor."""
    return _compare(_C.CompareOp.logical_or, input, other)


def logical_xor(input, other) -> Tensor:
    """input XOR other, nonzero meaning True, broadcast; returns a bool Tensor."""
    return _compare(_C.CompareOp.logical_xor, input, other)


def _check_tensor(x, name: str) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")


def logical_not(input: Tensor) -> Tensor:
    """NOT input, nonzero meaning True.

    Args:
        input: a Tensor of any dtype.

    Returns:
        A bool Tensor.
    """
    _check_tensor(input, "logical_not")
    return Tensor._make(_C.unary(_U.logical_not, input._data), False, None, 0)


def bitwise_not(input: Tensor) -> Tensor:
    """~input for integer tensors, NOT for bool tensors.

    Args:
        input: an integer or bool Tensor (floating tensors raise TypeError).

    Returns:
        A Tensor of input's dtype.
    """
    _check_tensor(input, "bitwise_not")
    return Tensor._make(_C.unary(_U.bitwise_not, input._data), False, None, 0)


class Where(Function):
    @staticmethod
    def forward(ctx, condition, x, y):
        ctx.save_for_backward(condition)
        return _C.where(condition._data, x._data, y._data)

    @staticmethod
    def backward(ctx, grad):
        (condition,) = ctx.saved_tensors
        gx = where(condition, grad, 0.0) if ctx.needs_input_grad[1] else None
        gy = where(condition, 0.0, grad) if ctx.needs_input_grad[2] else None
        return None, gx, gy


def where(condition: Tensor, input, other) -> Tensor:
    """condition ? input : other elementwise, all three broadcast.

    Args:
        condition: a bool Tensor.
        input: a Tensor or number, taken where condition is True.
        other: a Tensor or number, taken where condition is False.

    Returns:
        A Tensor of input and other's promoted dtype; gradients flow to both.

    Example:
        >>> em.where(x > 0, x, 0.0)
    """
    _check_tensor(condition, "where")
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        input = as_tensor_like(input, condition, "where")
    if isinstance(input, Tensor):
        other = as_tensor_like(other, input, "where")
    else:
        input = as_tensor_like(input, other, "where")
    return Where.apply(condition, input, other)


# Unary maths, clamp and activations live in unary.py and activation.py; they
# use the helpers above.
from .activation import elu, gelu, leaky_relu, relu, relu_, silu, softplus
from .unary import (
    abs,
    abs_,
    absolute,
    ceil,
    clamp,
    clamp_,
    clamp_max,
    clamp_min,
    clip,
    cos,
    exp,
    exp_,
    expm1,
    fix,
    floor,
    log,
    log1p,
    reciprocal,
    round,
    rsqrt,
    sigmoid,
    sigmoid_,
    sign,
    sin,
    sqrt,
    sqrt_,
    square,
    tanh,
    tanh_,
    trunc,
)
