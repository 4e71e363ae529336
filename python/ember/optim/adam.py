"""Adam and AdamW: adaptive moment estimation, with coupled or decoupled weight decay."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _C
from ..tensor import Tensor
from . import _validate
from .optimizer import Optimizer, _state_like


class Adam(Optimizer):
    """Adam (PyTorch's update rule; one fused kernel per parameter per step).

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate.
        betas: coefficients of the running averages of the gradient and its square.
        eps: term added to the denominator for numerical stability.
        weight_decay: L2 penalty added to the gradient.
        amsgrad: use the AMSGrad variant (the maximum of past squared averages).
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> opt = em.optim.Adam(model.parameters(), lr=1e-3)
    """

    _decoupled = False

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, maximize: bool = False):
        name = type(self).__name__
        _validate.nonnegative(name, "learning rate", lr)
        _validate.nonnegative(name, "epsilon value", eps)
        _validate.beta(name, 0, betas[0])
        _validate.beta(name, 1, betas[1])
        _validate.nonnegative(name, "weight_decay value", weight_decay)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize}
        super().__init__(params, defaults)

    def _update(self, param: Tensor, grad: Tensor, group: dict[str, Any],
                state: dict[str, Any]) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = _state_like(param)
            state["exp_avg_sq"] = _state_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = _state_like(param)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = _state_like(param)
        state["step"] += 1
        beta1, beta2 = group["betas"]
        max_sq = state["max_exp_avg_sq"]._data if group["amsgrad"] else None
        _C.adam_step(param._data, self._grad_data(param, grad), state["exp_avg"]._data,
                     state["exp_avg_sq"]._data, max_sq, group["lr"], beta1, beta2, group["eps"],
                     group["weight_decay"], int(state["step"]), self._decoupled,
                     group["maximize"])


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay (the parameter shrinks by lr * weight_decay
    before the Adam step).

    Args:
        params: tensors or parameter-group dicts to optimize.
        lr: learning rate.
        betas: coefficients of the running averages of the gradient and its square.
        eps: term added to the denominator for numerical stability.
        weight_decay: decoupled weight decay coefficient.
        amsgrad: use the AMSGrad variant.
        maximize: maximize the objective instead of minimizing it.

    Example:
        >>> opt = em.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    """

    _decoupled = True

    def __init__(self, params: Iterable[Tensor] | Iterable[dict], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
