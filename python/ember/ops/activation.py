"""Activations: relu, gelu, silu, leaky_relu, elu, softplus.

Each forward is one kernel; each backward is one fused kernel
(`_C.activation_backward`) reached through its own Function whose backward
is written in Tensor ops, so second derivatives work too.
"""

from __future__ import annotations

import math
import numbers

from .. import _C
from ..autograd.function import Function
from ..tensor import Tensor
from .elementwise import _check_tensor, _needs_graph, _zeros_like, where
from .unary import exp, sigmoid, tanh

_U = _C.UnaryOp
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


def _second_derivative(op, x: Tensor, alpha: float, beta: float):
    """f''(x) in Tensor ops; None where it is zero almost everywhere."""
    if op in (_U.relu, _U.leaky_relu):
        return None
    if op == _U.gelu:
        return exp(x * x * -0.5) * _INV_SQRT_2PI * (2 - x * x)
    if op == _U.gelu_tanh:
        inner_grad = (1 + 3 * _GELU_CUBIC * x * x) * _SQRT_2_OVER_PI
        t = tanh((x + _GELU_CUBIC * x * x * x) * _SQRT_2_OVER_PI)
        inner_curvature = x * (6 * _GELU_CUBIC * _SQRT_2_OVER_PI)
        return (1 - t * t) * (inner_grad - x * t * inner_grad * inner_grad + 0.5 * x * inner_curvature)
    if op == _U.silu:
        s = sigmoid(x)
        return s * (1 - s) * (2 + x * (1 - 2 * s))
    if op == _U.elu:
        return where(x > 0, 0.0, exp(x) * alpha)
    if op == _U.softplus:
        s = sigmoid(x * alpha)
        return where(x * alpha > beta, 0.0, s * (1 - s) * alpha)
    raise RuntimeError(f"{op.name}: no second derivative")


class ActivationGrad(Function):
    """grad * f'(x) for an activation f, in one pass."""

    @staticmethod
    def forward(ctx, grad, x, op, alpha, beta):
        ctx.save_for_backward(grad, x)
        ctx.params = (op, alpha, beta)
        return _C.activation_backward(op, grad._data, x._data, alpha, beta)

    @staticmethod
    def backward(ctx, grad_grad):
        grad, x = ctx.saved_tensors
        op, alpha, beta = ctx.params
        gx = None
        if ctx.needs_input_grad[1]:
            curvature = _second_derivative(op, x, alpha, beta)
            gx = _zeros_like(grad_grad) if curvature is None else grad_grad * grad * curvature
        gg = None
        if ctx.needs_input_grad[0]:
            gg = ActivationGrad.apply(grad_grad, x, op, alpha, beta)
        return gg, gx, None, None, None


class Activation(Function):
    @staticmethod
    def forward(ctx, x, op, alpha, beta):
        if ctx.needs_input_grad[0]:  # only a recorded call keeps anything
            ctx.save_for_backward(x)
            ctx.params = (op, alpha, beta)
        return _C.unary(op, x._data, alpha, beta)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        op, alpha, beta = ctx.params
        return ActivationGrad.apply(grad, x, op, alpha, beta), None, None, None


def _real(value, name: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: {what} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name}: {what} must be finite, got {value}")
    return value


def _activate(x: Tensor, op, name: str, alpha: float = 0.0, beta: float = 0.0,
              inplace: bool = False) -> Tensor:
    if not inplace and isinstance(x, Tensor):
        return Activation.apply(x, op, alpha, beta)
    _check_tensor(x, name)
    x._check_inplace(name + "_")
    if _needs_graph(x):
        return x._inplace_from(Activation.apply(x, op, alpha, beta), name + "_")
    _C.unary_(op, x._data, alpha, beta)
    return x


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(input, 0).

    Args:
        input: a Tensor (integer tensors stay integer).
        inplace: overwrite input and return it.

    Returns:
        A Tensor of input's dtype.

    Example:
        >>> em.relu(em.tensor([-1.0, 2.0]))
        tensor([0., 2.])
    """
    if not inplace and isinstance(input, Tensor):  # the common call, one frame less
        return Activation.apply(input, _U.relu, 0.0, 0.0)
    return _activate(input, _U.relu, "relu", inplace=inplace)


def relu_(input: Tensor) -> Tensor:
    """relu in place; returns input."""
    return relu(input, inplace=True)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit: x * Phi(x).

    Args:
        input: a Tensor.
        approximate: "none" for the exact erf form, "tanh" for the tanh approximation.

    Returns:
        A floating Tensor.
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return _activate(input, _U.gelu if approximate == "none" else _U.gelu_tanh, "gelu")


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish).

    Args:
        input: a Tensor.
        inplace: overwrite input and return it.

    Returns:
        A floating Tensor.
    """
    return _activate(input, _U.silu, "silu", inplace=inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise.

    Args:
        input: a Tensor.
        negative_slope: the slope for negative inputs.
        inplace: overwrite input and return it.

    Returns:
        A floating Tensor.
    """
    slope = _real(negative_slope, "leaky_relu", "negative_slope")
    return _activate(input, _U.leaky_relu, "leaky_relu", slope, inplace=inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise.

    Args:
        input: a Tensor.
        alpha: the scale of the negative part.
        inplace: overwrite input and return it.

    Returns:
        A floating Tensor.
    """
    return _activate(input, _U.elu, "elu", _real(alpha, "elu", "alpha"), inplace=inplace)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta * x)) / beta, and x itself where beta * x > threshold.

    Args:
        input: a Tensor.
        beta: the sharpness (nonzero).
        threshold: above this value of beta * x the function is linear.

    Returns:
        A floating Tensor.
    """
    beta = _real(beta, "softplus", "beta")
    if beta == 0:
        raise ValueError("softplus: beta must be nonzero")
    return _activate(input, _U.softplus, "softplus", beta,
                     _real(threshold, "softplus", "threshold"))
