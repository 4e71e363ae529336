"""Loss modules (CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, SmoothL1Loss,
BCELoss, BCEWithLogitsLoss, KLDivLoss) and kl_div, written in Tensor ops."""

from __future__ import annotations

from ..ops import loss as _loss
from ..ops.elementwise import where
from ..tensor import Tensor
from .module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "KLDivLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "SmoothL1Loss",
    "kl_div",
]


def kl_div(input: Tensor, target: Tensor, reduction: str = "mean",
           log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence KL(target || exp(input)), pointwise
    target * (log(target) - input), 0 where target is 0.

    Args:
        input: log-probabilities.
        target: probabilities, or log-probabilities with log_target; broadcast with input.
        reduction: 'none', 'mean' (over all elements), 'batchmean' (the sum
            divided by the batch size input.shape[0], the true KL divergence),
            or 'sum'.
        log_target: target is given as log-probabilities.

    Returns:
        The loss: a scalar, or the pointwise losses with reduction='none'.
    """
    for name, value in (("input", input), ("target", target)):
        if not isinstance(value, Tensor):
            raise TypeError(f"kl_div: {name} must be a Tensor, got {type(value).__name__}")
    if reduction not in ("none", "mean", "batchmean", "sum"):
        raise ValueError(f"kl_div: reduction must be 'none', 'mean', 'batchmean' or 'sum', got "
                         f"{reduction!r}")
    if not input.dtype.is_floating_point or not target.dtype.is_floating_point:
        raise TypeError(f"kl_div: expected floating-point input and target, got {input.dtype} "
                        f"and {target.dtype}")
    if log_target:
        pointwise = target.exp() * (target - input)
    else:
        # log(1) at the zeros keeps 0 * log(0) (and its gradient) finite.
        safe = where(target > 0, target, 1.0)
        pointwise = target * (safe.log() - input)
    if reduction == "none":
        return pointwise
    if reduction == "sum":
        return pointwise.sum()
    if reduction == "mean":
        return pointwise.mean()
    batch = input.shape[0] if input.ndim > 0 else 1
    return pointwise.sum() / batch


def _legacy_reduction(size_average, reduce, reduction: str) -> str:
    """PyTorch's deprecated size_average/reduce flags mapped onto reduction."""
    if size_average is None and reduce is None:
        return reduction
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


class _Loss(Module):
    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        self.reduction = _legacy_reduction(size_average, reduce, reduction)

    def extra_repr(self) -> str:
        return "" if self.reduction == "mean" else f"reduction={self.reduction}"


class _WeightedLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class CrossEntropyLoss(_WeightedLoss):
    """Cross entropy between logits (N, C, *) and class indices or class probabilities.

    Args:
        weight: optional per-class rescaling weights (C).
        size_average, reduce: deprecated; use reduction.
        ignore_index: a target class that contributes neither loss nor gradient.
        reduction: 'none', 'mean' (weighted mean over the targets) or 'sum'.
        label_smoothing: in [0, 1], mixes the targets with the uniform distribution.
    """

    def __init__(self, weight: Tensor | None = None, size_average=None,
                 ignore_index: int = -100, reduce=None, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return _loss.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                                   self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of class indices under log-probabilities (N, C, *).

    Args:
        weight: optional per-class rescaling weights (C).
        size_average, reduce: deprecated; use reduction.
        ignore_index: a target class that contributes neither loss nor gradient.
        reduction: 'none', 'mean' (weighted mean over the targets) or 'sum'.
    """

    def __init__(self, weight: Tensor | None = None, size_average=None,
                 ignore_index: int = -100, reduce=None, reduction: str = "mean"):
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return _loss.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    """Mean squared error (input - target)^2.

    Args:
        size_average, reduce: deprecated; use reduction.
        reduction: 'none', 'mean' or 'sum'.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return _loss.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error |input - target|.

    Args:
        size_average, reduce: deprecated; use reduction.
        reduction: 'none', 'mean' or 'sum'.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return _loss.l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    """0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = input - target).

    Args:
        size_average, reduce: deprecated; use reduction.
        reduction: 'none', 'mean' or 'sum'.
        beta: the threshold between the quadratic and linear parts.
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 beta: float = 1.0):
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return _loss.smooth_l1_loss(input, target, self.reduction, self.beta)


class BCELoss(_WeightedLoss):
    """Binary cross entropy on probabilities.

    Args:
        weight: optional rescaling weight, broadcast with the input.
        size_average, reduce: deprecated; use reduction.
        reduction: 'none', 'mean' or 'sum'.
    """

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return _loss.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross entropy on logits, computed stably.

    Args:
        weight: optional rescaling weight, broadcast with the input.
        size_average, reduce: deprecated; use reduction.
        reduction: 'none', 'mean' or 'sum'.
        pos_weight: optional weight of the positive examples, broadcast along the last dim.
    """

    def __init__(self, weight: Tensor | None = None, size_average=None, reduce=None,
                 reduction: str = "mean", pos_weight: Tensor | None = None):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return _loss.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                      self.pos_weight)


class KLDivLoss(_Loss):
    """KL divergence between target and exp(input) (see kl_div).

    Args:
        size_average, reduce: deprecated; use reduction.
        reduction: 'none', 'mean', 'batchmean' (PyTorch's recommended, the true
            KL divergence per sample) or 'sum'.
        log_target: the target is given as log-probabilities.
    """

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean",
                 log_target: bool = False):
        super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return kl_div(input, target, self.reduction, self.log_target)
