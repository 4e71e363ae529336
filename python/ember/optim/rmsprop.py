"""RMSprop: gradient steps scaled by a running root-mean-square of the gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _C
from ..tensor import Tensor
from . import _validate
from .optimizer import Optimizer, _state_like


class RMSprop(Optimizer):
    """RMSprop (PyTorch's update rule; one fused kernel per parameter per step).

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate.
        alpha: smoothing constant of the squared-gradient average.
        eps: term added to the denominator for numerical stability.
        weight_decay: L2 penalty added to the gradient.
        momentum: momentum factor.
        centered: normalise by an estimate of the gradient's variance instead of its second
            moment.
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> opt = em.optim.RMSprop(model.parameters(), lr=1e-2, momentum=0.9)
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-2,
                 alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0,
                 momentum: float = 0, centered: bool = False, *, maximize: bool = False):
        _validate.nonnegative("RMSprop", "learning rate", lr)
        _validate.nonnegative("RMSprop", "epsilon value", eps)
        _validate.nonnegative("RMSprop", "momentum value", momentum)
        _validate.nonnegative("RMSprop", "weight_decay value", weight_decay)
        _validate.nonnegative("RMSprop", "alpha value", alpha)
        defaults = {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay,
                    "momentum": momentum, "centered": centered, "maximize": maximize}
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad: Tensor, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["square_avg"] = _state_like(param)
        if group["momentum"] > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = _state_like(param)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = _state_like(param)
        state["step"] += 1
        grad_avg = state["grad_avg"]._data if group["centered"] else None
        buffer = state["momentum_buffer"]._data if group["momentum"] > 0 else None
        _C.rmsprop_step(param._data, self._grad_data(param, grad), state["square_avg"]._data,
                        grad_avg, buffer, group["lr"], group["alpha"], group["eps"],
                        group["weight_decay"], group["momentum"], group["maximize"])
