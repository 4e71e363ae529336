"""Linear algebra: matmul, mm, bmm, dot, linear.

Each product's forward runs the C++ GEMM; its backward is again a product of
transposes written in Tensor ops, so double backward works.
"""

from __future__ import annotations

from .. import _C
from ..autograd.function import Function
from ..tensor import Tensor

__all__ = ["bmm", "dot", "matmul", "mm"]  # linear is nn.functional only, as in PyTorch


def _check_tensors(op: str, *tensors) -> None:
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected Tensor arguments, got {type(t).__name__}")


def _mT(x: Tensor) -> Tensor:
    return x.transpose(-1, -2)


class MatMul(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return _C.matmul(a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        if a.ndim == 1 and b.ndim == 1:
            return (grad * b if ctx.needs_input_grad[0] else None,
                    grad * a if ctx.needs_input_grad[1] else None)
        # A vector operand takes part as a matrix (a row for a, a column for
        # b); the grads are computed for the matrices, then the dim is dropped.
        a2 = a.unsqueeze(0) if a.ndim == 1 else a
        b2 = b.unsqueeze(-1) if b.ndim == 1 else b
        g = grad.unsqueeze(-2) if a.ndim == 1 else grad
        g = g.unsqueeze(-1) if b.ndim == 1 else g
        grad_a = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_a = matmul(g, _mT(b2))
            if a.ndim == 1:
                grad_a = grad_a.squeeze(-2)
        if ctx.needs_input_grad[1]:
            grad_b = matmul(_mT(a2), g)
            if b.ndim == 1:
                grad_b = grad_b.squeeze(-1)
        return grad_a, grad_b


class Linear(Function):
    """input @ weight.T + bias in one GEMM (the bias is the GEMM's addend)."""

    @staticmethod
    def forward(ctx, x, w, b):
        ctx.save_for_backward(x, w)
        ctx.bias_shape = None if b is None else b.shape
        ctx.bias_numel = None if b is None else b.numel()
        return _C.linear(x._data, w._data, None if b is None else b._data)

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        out_features, in_features = w.shape
        # Leading dims of the input flattened: every row is one sample.
        g2 = grad.reshape(-1, out_features)
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            grad_x = matmul(grad, w)
        if ctx.needs_input_grad[1]:
            grad_w = mm(_mT(g2), x.reshape(-1, in_features))
        if ctx.needs_input_grad[2]:
            # A one-element bias was broadcast over every output feature too.
            grad_b = g2.sum(0) if ctx.bias_numel == out_features else g2.sum()
            grad_b = grad_b.reshape(ctx.bias_shape)
        return grad_x, grad_w, grad_b


class _Product(Function):
    """mm, bmm and dot: fixed-rank products with the same backward rule."""

    op = None

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return getattr(_C, cls.op)(a._data, b._data)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        if a.ndim == 1:
            return (grad * b if ctx.needs_input_grad[0] else None,
                    grad * a if ctx.needs_input_grad[1] else None)
        return (matmul(grad, _mT(b)) if ctx.needs_input_grad[0] else None,
                matmul(_mT(a), grad) if ctx.needs_input_grad[1] else None)


class MM(_Product):
    op = "mm"


class BMM(_Product):
    op = "bmm"


class Dot(_Product):
    op = "dot"


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with numpy's rules.

    1-D . 1-D is a dot product (0-d result); a 1-D operand is treated as a row
    (left) or column (right) vector and that dim is removed from the result;
    for N-D operands the leading (batch) dims broadcast.

    Args:
        input: a float tensor with at least 1 dim.
        other: a float tensor of the same dtype with at least 1 dim.

    Returns:
        The product, e.g. (j, 1, n, m) @ (k, m, p) -> (j, k, n, p).

    Example:
        >>> em.matmul(em.randn(10, 3, 4), em.randn(4, 5)).shape
        ember.Size([10, 3, 5])
    """
    if not (isinstance(input, Tensor) and isinstance(other, Tensor)):
        _check_tensors("matmul", input, other)
    return MatMul.apply(input, other)


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two 2-D matrices.

    Args:
        input: (n, m) matrix.
        mat2: (m, p) matrix of the same dtype.

    Returns:
        The (n, p) product.
    """
    _check_tensors("mm", input, mat2)
    return MM.apply(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched product of 3-D tensors (no broadcasting).

    Args:
        input: (b, n, m) tensor.
        mat2: (b, m, p) tensor of the same dtype.

    Returns:
        The (b, n, p) products.
    """
    _check_tensors("bmm", input, mat2)
    return BMM.apply(input, mat2)


def dot(input: Tensor, other: Tensor) -> Tensor:
    """Inner product of two 1-D tensors of the same size.

    Args:
        input: (n,) tensor.
        other: (n,) tensor of the same dtype.

    Returns:
        A 0-d tensor.
    """
    _check_tensors("dot", input, other)
    return Dot.apply(input, other)


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight.T + bias.

    Args:
        input: (*, in_features) tensor (any number of leading dims).
        weight: (out_features, in_features) matrix.
        bias: optional (out_features,) vector.

    Returns:
        The (*, out_features) tensor.

    Example:
        >>> F.linear(em.randn(8, 3), em.randn(5, 3), em.zeros(5)).shape
        ember.Size([8, 5])
    """
    _check_tensors("linear", input, weight)
    if weight.ndim not in (1, 2):
        raise ValueError(f"linear: weight must be 1-D or 2-D, got shape {list(weight.shape)}")
    if input.ndim == 0:
        raise ValueError("linear: input must have at least 1 dim, got a 0-d tensor")
    if input.shape[-1] != weight.shape[-1]:
        raise ValueError(
            f"linear: input features don't match the weight: input shape {list(input.shape)}, "
            f"weight shape {list(weight.shape)}")
    if bias is not None:
        _check_tensors("linear", bias)
        expected = [weight.shape[0]] if weight.ndim == 2 else []
        if list(bias.shape) != expected and bias.numel() != 1:
            raise ValueError(
                f"linear: bias shape {list(bias.shape)} doesn't match the weight "
                f"{list(weight.shape)}")
    if weight.ndim == 2 and (bias is None or bias.dtype == input.dtype == weight.dtype):
        return Linear.apply(input, weight, bias)
    # A vector weight, or operands whose dtypes need promotion: the product
    # and the sum as separate ops.
    out = matmul(input, weight.t() if weight.ndim == 2 else weight)
    return out if bias is None else out + bias
