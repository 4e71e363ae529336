"""ember.nn.utils: gradient clipping and flattening parameters to one vector."""

from __future__ import annotations

import math
from collections.abc import Iterable

from .. import creation
from ..autograd.grad_mode import no_grad
from ..ops.index import cat
from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]


def _tensors(op: str, parameters) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    if not isinstance(parameters, Iterable):
        raise TypeError(f"{op}: parameters must be a Tensor or an iterable of Tensors, got "
                        f"{type(parameters).__name__}")
    params = list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: expected Tensors, got {type(p).__name__}")
    return params


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False,
                    foreach=None) -> Tensor:
    """Rescales the gradients in place so their joint norm is at most max_norm.

    The norm is taken over all gradients together, as if concatenated into
    one vector; parameters without a gradient are skipped.

    Args:
        parameters: a Tensor or an iterable of Tensors whose .grad is clipped.
        max_norm: the largest allowed norm.
        norm_type: the p of the p-norm (float('inf') for the max norm).
        error_if_nonfinite: raise if the total norm is nan or inf.
        foreach: accepted for PyTorch compatibility; ignored.

    Returns:
        The total norm of the gradients before clipping (a 0-D Tensor).
    """
    params = _tensors("clip_grad_norm_", parameters)
    max_norm, norm_type = float(max_norm), float(norm_type)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return creation.tensor(0.0)
    with no_grad():
        if math.isinf(norm_type):
            norms = [g.abs().max() if g.numel() else
                     creation.zeros((), dtype=g.dtype, device=g.device) for g in grads]
            total = norms[0].to(grads[0].dtype)
            for n in norms[1:]:
                total = total.maximum(n.to(total.dtype))
        else:
            total = None
            for g in grads:
                part = (g.abs() ** norm_type).sum().to(grads[0].dtype)
                total = part if total is None else total + part
            total = total ** (1.0 / norm_type)
        value = float(total.item())
        if error_if_nonfinite and not math.isfinite(value):
            raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                               f"gradients is non-finite ({value}), so it cannot be clipped")
        coef = max_norm / (value + 1e-6)
        if coef < 1.0:
            for g in grads:
                g.mul_(coef)
    return total


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float,
                     foreach=None) -> None:
    """Clamps every gradient in place to [-clip_value, clip_value].

    Args:
        parameters: a Tensor or an iterable of Tensors whose .grad is clipped.
        clip_value: the bound (non-negative).
        foreach: accepted for PyTorch compatibility; ignored.
    """
    params = _tensors("clip_grad_value_", parameters)
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be non-negative, got {clip_value}")
    with no_grad():
        for p in params:
            if p.grad is not None:
                p.grad.clamp_(-clip_value, clip_value)


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    """The parameters flattened and concatenated into one 1-D tensor.

    Args:
        parameters: an iterable of Tensors (all of one dtype and device).

    Returns:
        A new 1-D tensor (differentiable with respect to the parameters).
    """
    params = _tensors("parameters_to_vector", parameters)
    if not params:
        raise ValueError("parameters_to_vector: expected at least one parameter")
    device = params[0].device
    for p in params:
        if p.device != device:
            raise ValueError(f"parameters_to_vector: found parameters on {device} and "
                             f"{p.device}")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    """Copies consecutive slices of vec into the parameters (in place, no grad).

    Args:
        vec: a 1-D tensor with exactly as many elements as the parameters.
        parameters: an iterable of Tensors to overwrite.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, got "
                        f"{type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: vec must be 1-D, got shape {list(vec.shape)}")
    params = _tensors("vector_to_parameters", parameters)
    total = sum(p.numel() for p in params)
    if total != vec.shape[0]:
        raise ValueError(f"vector_to_parameters: vec has {vec.shape[0]} elements but the "
                         f"parameters have {total}")
    offset = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec[offset:offset + n].reshape(tuple(p.shape)))
            offset += n
