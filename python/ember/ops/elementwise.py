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

__all__ = ["add", "sub", "rsub", "mul", "div", "true_divide", "multiply", "subtract", "neg", "negative"]

_ADD, _SUB, _MUL, _DIV = _C.BinaryOp.add, _C.BinaryOp.sub, _C.BinaryOp.mul, _C.BinaryOp.div


def as_tensor_like(value, like: Tensor) -> Tensor:
    """`value` as a Tensor on like's device: tensors pass through, numbers
    become 0-d tensors with the dtype PyTorch would give them next to `like`."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (numbers.Number,)) and not isinstance(value, complex):
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            value = int(value)
        elif isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = float(value)
        return Tensor._make(_C.scalar_tensor(value, like._data), False, None, 0)
    raise TypeError(
        f"expected a Tensor or a number, got {type(value).__name__}"
    )


def _binary_operands(a, b):
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(f"expected at least one Tensor, got {type(a).__name__} and {type(b).__name__}")
        a = as_tensor_like(a, b)
    return a, as_tensor_like(b, a)


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


class Add(Function):
    @staticmethod
    def forward(ctx, a, b):
        return _C.binary(_ADD, a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


class Sub(Function):
    @staticmethod
    def forward(ctx, a, b):
        return _C.binary(_SUB, a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        return grad, -grad if ctx.needs_input_grad[1] else None


class Mul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None,
                              b if ctx.needs_input_grad[0] else None)
        return _C.binary(_MUL, a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return (grad * b if ctx.needs_input_grad[0] else None,
                grad * a if ctx.needs_input_grad[1] else None)


class Div(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a if ctx.needs_input_grad[1] else None, b)
        return _C.binary(_DIV, a._data, b._data)

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
        return trunc(div(input, other)).to(_binary_operands(input, other)[0].dtype)
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
        return _C.binary(_MUL, x._data, _C.scalar_tensor(-1, x._data))

    @staticmethod
    def backward(ctx, grad):
        return -grad


def neg(x: Tensor) -> Tensor:
    """-x."""
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
