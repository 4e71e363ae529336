"""Adagrad: per-element learning rates from the sum of past squared gradients."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _C
from ..tensor import Tensor
from . import _validate
from .optimizer import Optimizer, _state_like


class Adagrad(Optimizer):
    """Adagrad (PyTorch's update rule; one fused kernel per parameter per step).

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate.
        lr_decay: learning-rate decay per step: lr / (1 + (step - 1) * lr_decay).
        weight_decay: L2 penalty added to the gradient.
        initial_accumulator_value: starting value of the squared-gradient sums.
        eps: term added to the denominator for numerical stability.
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> opt = em.optim.Adagrad(model.parameters(), lr=1e-2)
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-2,
                 lr_decay: float = 0, weight_decay: float = 0,
                 initial_accumulator_value: float = 0, eps: float = 1e-10, *,
                 maximize: bool = False):
        _validate.nonnegative("Adagrad", "learning rate", lr)
        _validate.nonnegative("Adagrad", "lr_decay value", lr_decay)
        _validate.nonnegative("Adagrad", "weight_decay value", weight_decay)
        _validate.nonnegative("Adagrad", "initial_accumulator_value value",
                              initial_accumulator_value)
        _validate.nonnegative("Adagrad", "epsilon value", eps)
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "maximize": maximize}
        super().__init__(params, defaults)
        # PyTorch creates Adagrad's state eagerly, so state_dict() has it before any step.
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["step"] = 0
                self.state[p]["sum"] = _state_like(p, group["initial_accumulator_value"])

    def _update(self, param: Tensor, grad: Tensor, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        if "sum" not in state:
            state["step"] = 0
            state["sum"] = _state_like(param, group["initial_accumulator_value"])
        state["step"] += 1
        _C.adagrad_step(param._data, self._grad_data(param, grad), state["sum"]._data,
                        group["lr"], group["lr_decay"], group["eps"], group["weight_decay"],
                        int(state["step"]), group["maximize"])
