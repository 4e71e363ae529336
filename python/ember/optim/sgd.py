"""SGD: stochastic gradient descent with optional momentum, Nesterov and weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _C
from ..tensor import Tensor
from . import _validate
from .optimizer import Optimizer, _state_like


class SGD(Optimizer):
    """Stochastic gradient descent (PyTorch's update rule; one fused kernel per parameter).

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate.
        momentum: momentum factor.
        dampening: dampening of the momentum.
        weight_decay: L2 penalty added to the gradient.
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> opt = em.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 momentum: float = 0, dampening: float = 0, weight_decay: float = 0,
                 nesterov: bool = False, *, maximize: bool = False):
        _validate.nonnegative("SGD", "learning rate", lr)
        _validate.nonnegative("SGD", "momentum value", momentum)
        _validate.nonnegative("SGD", "weight_decay value", weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize}
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad: Tensor, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        momentum = group["momentum"]
        buffer = None
        first_step = False
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = _state_like(param)
                state["momentum_buffer"] = buffer
                first_step = True
        _C.sgd_step(param._data, self._grad_data(param, grad),
                    None if buffer is None else buffer._data, group["lr"], momentum,
                    group["dampening"], group["weight_decay"], group["nesterov"],
                    group["maximize"], first_step)
