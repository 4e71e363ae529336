"""Normalisation and dropout: batch_norm, layer_norm, group_norm, dropout.

The normalisations run one fused C++ kernel forward and one backward (which
gives the input, weight and bias gradients together); their backward is not
itself differentiable. Dropout's backward is a product with the saved mask,
so it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import _C
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor

__all__ = ["batch_norm", "dropout", "group_norm", "layer_norm"]


def _raw(t: Tensor | None):
    return None if t is None else t._data


def _wrap(raw) -> Tensor:
    return Tensor._make(raw, False, None, 0)


def _affine_grads(ctx, grad_weight, grad_bias, first: int):
    """The weight/bias entries of a backward result, None where not needed."""
    return (_wrap(grad_weight) if ctx.needs_input_grad[first] else None,
            _wrap(grad_bias) if ctx.needs_input_grad[first + 1] else None)


class BatchNorm(Function):
    @staticmethod
    def forward(ctx, x, weight, bias, running_mean, running_var, training, momentum, eps):
        out, mean, invstd = _C.batch_norm(x._data, _raw(running_mean), _raw(running_var),
                                          _raw(weight), _raw(bias), training, momentum, eps)
        ctx.save_for_backward(x, weight)
        ctx.stats = (mean, invstd)
        ctx.training = training
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        gx, gw, gb = _C.batch_norm_backward(grad._data, x._data, _raw(weight), *ctx.stats,
                                            ctx.training)
        return (_wrap(gx) if ctx.needs_input_grad[0] else None,
                *_affine_grads(ctx, gw, gb, 1), None, None, None, None, None)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation over an (N, C, *) input, per channel C.

    Args:
        input: (N, C, *) floating-point tensor.
        running_mean, running_var: (C) running statistics; required when not
            training, updated in place (with the unbiased variance) when training.
        weight, bias: optional (C) affine parameters.
        training: use the batch statistics (and update the running ones).
        momentum: weight of the new statistics in the running update.
        eps: added to the variance for stability.

    Returns:
        The normalised tensor, of input's shape.
    """
    return BatchNorm.apply(input, weight, bias, running_mean, running_var, bool(training),
                           float(momentum), float(eps))


class LayerNorm(Function):
    @staticmethod
    def forward(ctx, x, normalized_shape, weight, bias, eps):
        out, mean, rstd = _C.layer_norm(x._data, normalized_shape, _raw(weight), _raw(bias), eps)
        ctx.save_for_backward(x, weight)
        ctx.stats = (mean, rstd)
        ctx.normalized_shape = normalized_shape
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        gx, gw, gb = _C.layer_norm_backward(grad._data, x._data, ctx.normalized_shape,
                                            _raw(weight), *ctx.stats)
        return (_wrap(gx) if ctx.needs_input_grad[0] else None, None,
                *_affine_grads(ctx, gw, gb, 2), None)


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int],
               weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Layer normalisation over the trailing `normalized_shape` dims.

    Args:
        input: floating-point tensor whose last dims equal normalized_shape.
        normalized_shape: an int or a sequence of ints.
        weight, bias: optional affine parameters of shape normalized_shape.
        eps: added to the variance for stability.

    Returns:
        The normalised tensor, of input's shape.
    """
    if isinstance(normalized_shape, int):
        normalized_shape = [normalized_shape]
    return LayerNorm.apply(input, [int(s) for s in normalized_shape], weight, bias, float(eps))


class GroupNorm(Function):
    @staticmethod
    def forward(ctx, x, num_groups, weight, bias, eps):
        out, mean, rstd = _C.group_norm(x._data, num_groups, _raw(weight), _raw(bias), eps)
        ctx.save_for_backward(x, weight)
        ctx.stats = (mean, rstd)
        ctx.num_groups = num_groups
        return out

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        gx, gw, gb = _C.group_norm_backward(grad._data, x._data, ctx.num_groups, _raw(weight),
                                            *ctx.stats)
        return (_wrap(gx) if ctx.needs_input_grad[0] else None, None,
                *_affine_grads(ctx, gw, gb, 2), None)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Group normalisation: the C channels of an (N, C, *) input in num_groups groups.

    Args:
        input: (N, C, *) floating-point tensor, C divisible by num_groups.
        num_groups: number of groups.
        weight, bias: optional (C) per-channel affine parameters.
        eps: added to the variance for stability.

    Returns:
        The normalised tensor, of input's shape.
    """
    return GroupNorm.apply(input, int(num_groups), weight, bias, float(eps))


class Dropout(Function):
    @staticmethod
    def forward(ctx, x, p):
        out, mask = _C.dropout(x._data, p)
        ctx.mask = mask
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad * _wrap(ctx.mask), None


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zeroes each element with probability p and scales the rest by 1/(1-p).

    The mask comes from the seeded generator (ember.manual_seed). With
    training=False or p=0 this is the identity.

    Args:
        input: floating-point tensor.
        p: drop probability in [0, 1].
        training: apply dropout (False: return input unchanged).
        inplace: write the result into input.

    Returns:
        The result (input itself when inplace).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return input
    if not inplace:
        return Dropout.apply(input, float(p))
    input._check_inplace("dropout_")
    if is_grad_enabled() and input.requires_grad:
        return input._inplace_from(Dropout.apply(input, float(p)), "dropout_")
    out, _ = _C.dropout(input._data, float(p))
    input._data.copy_(out)
    return input
