"""Losses: cross_entropy, nll_loss, mse_loss, l1_loss, smooth_l1_loss,
binary_cross_entropy, binary_cross_entropy_with_logits.

Each runs one fused C++ kernel forward (log-softmax fused into cross
entropy) and one backward; the backward is not itself differentiable.
"""

from __future__ import annotations

from .. import _C
from ..autograd.function import Function
from ..tensor import Tensor

__all__: list = []

_REDUCTIONS = {"none": _C.Reduction.none, "mean": _C.Reduction.mean, "sum": _C.Reduction.sum}


def _reduction(reduction: str, op: str):
    try:
        return _REDUCTIONS[reduction]
    except (KeyError, TypeError):
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")


def _raw(t: Tensor | None):
    return None if t is None else t._data


def _wrap(raw) -> Tensor:
    return Tensor._make(raw, False, None, 0)


def _check_tensor(value, name: str, op: str) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")


class CrossEntropy(Function):
    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, label_smoothing, reduction):
        loss, lse, total = _C.cross_entropy(x._data, target._data, _raw(weight), ignore_index,
                                            label_smoothing, reduction)
        ctx.save_for_backward(x, target, weight)
        ctx.args = (lse, total, ignore_index, label_smoothing, reduction)
        return loss

    @staticmethod
    def backward(ctx, grad):
        x, target, weight = ctx.saved_tensors
        lse, total, ignore_index, label_smoothing, reduction = ctx.args
        gx = None
        if ctx.needs_input_grad[0]:
            gx = _wrap(_C.cross_entropy_backward(grad._data, x._data, target._data, _raw(weight),
                                                 lse, total, ignore_index, label_smoothing,
                                                 reduction))
        gt = None
        if ctx.needs_input_grad[1]:
            gt = _probability_target_grad(grad, x, weight, lse, total, label_smoothing, reduction)
        return gx, gt, None, None, None, None


def _probability_target_grad(grad, x, weight, lse, total, label_smoothing, reduction):
    """d loss / d target for probability targets: -(1 - smoothing) * w_c * log_softmax(x)_c."""
    # Shapes that broadcast per-sample values and class weights against x.
    sample_shape = [1] if x.ndim == 1 else [x.shape[0], 1, *x.shape[2:]]
    class_shape = [x.shape[0]] if x.ndim == 1 else [1, x.shape[1]] + [1] * (x.ndim - 2)
    log_probs = x.detach() - _wrap(lse).reshape(sample_shape)
    coefficient = log_probs * -(1.0 - label_smoothing)
    if weight is not None:
        coefficient = coefficient * weight.detach().reshape(class_shape)
    if reduction == _C.Reduction.none:
        scale = grad.reshape(sample_shape)
    elif reduction == _C.Reduction.mean:
        scale = grad / _wrap(total)
    else:
        scale = grad
    return scale * coefficient


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Cross entropy between logits and class targets (log-softmax + nll, fused).

    Args:
        input: logits (N, C), (N, C, d1, ...) or (C).
        target: int64 class indices (N) / (N, d1, ...) / (), or class
            probabilities of input's shape.
        weight: optional (C) class weights.
        ignore_index: a class-index target that contributes nothing.
        reduction: 'none', 'mean' (divided by the summed weights of the
            non-ignored targets) or 'sum'.
        label_smoothing: in [0, 1]; mixes the target with the uniform distribution.

    Returns:
        The loss: a scalar, or of the target's sample shape for 'none'.
    """
    _check_tensor(input, "input", "cross_entropy")
    _check_tensor(target, "target", "cross_entropy")
    red = _reduction(reduction, "cross_entropy")
    return CrossEntropy.apply(input, target, weight, int(ignore_index), float(label_smoothing),
                              red)


class NllLoss(Function):
    @staticmethod
    def forward(ctx, x, target, weight, ignore_index, reduction):
        loss, total = _C.nll_loss(x._data, target._data, _raw(weight), ignore_index, reduction)
        ctx.save_for_backward(x, target, weight)
        ctx.args = (total, ignore_index, reduction)
        return loss

    @staticmethod
    def backward(ctx, grad):
        x, target, weight = ctx.saved_tensors
        total, ignore_index, reduction = ctx.args
        gx = _C.nll_loss_backward(grad._data, x._data, target._data, _raw(weight), total,
                                  ignore_index, reduction)
        return _wrap(gx), None, None, None, None


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class targets under log-probabilities.

    Args:
        input: log-probabilities (N, C), (N, C, d1, ...) or (C).
        target: int64 class indices (N) / (N, d1, ...) / ().
        weight: optional (C) class weights.
        ignore_index: a target value that contributes nothing.
        reduction: 'none', 'mean' (divided by the summed target weights) or 'sum'.

    Returns:
        The loss: a scalar, or of the target's shape for 'none'.
    """
    _check_tensor(input, "input", "nll_loss")
    _check_tensor(target, "target", "nll_loss")
    red = _reduction(reduction, "nll_loss")
    return NllLoss.apply(input, target, weight, int(ignore_index), red)


class PointwiseLoss(Function):
    @staticmethod
    def forward(ctx, x, target, weight, pos_weight, kind, beta, reduction):
        ctx.save_for_backward(x, target, weight, pos_weight)
        ctx.args = (kind, beta, reduction)
        return _C.pointwise_loss(kind, x._data, target._data, _raw(weight), _raw(pos_weight),
                                 beta, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, target, weight, pos_weight = ctx.saved_tensors
        kind, beta, reduction = ctx.args
        gx, gt = _C.pointwise_loss_backward(kind, grad._data, x._data, target._data, _raw(weight),
                                            _raw(pos_weight), beta, reduction)
        gw = None
        if ctx.needs_input_grad[2]:
            # The loss is linear in the weight: its gradient is the unweighted loss.
            unweighted = _wrap(_C.pointwise_loss(kind, x._data, target._data, None,
                                                 _raw(pos_weight), beta, _C.Reduction.none))
            scale = grad / unweighted.numel() if reduction == _C.Reduction.mean else grad
            gw = scale * unweighted
        return (_wrap(gx) if ctx.needs_input_grad[0] else None,
                _wrap(gt) if ctx.needs_input_grad[1] else None, gw, None, None, None, None)


def _pointwise(op, kind, input, target, weight=None, pos_weight=None, beta=1.0,
               reduction="mean") -> Tensor:
    _check_tensor(input, "input", op)
    _check_tensor(target, "target", op)
    red = _reduction(reduction, op)
    return PointwiseLoss.apply(input, target, weight, pos_weight, kind, float(beta), red)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Squared error (input - target)**2, input and target broadcast together.

    Args:
        input, target: floating-point tensors of one dtype.
        reduction: 'none', 'mean' or 'sum'.

    Returns:
        The loss.
    """
    return _pointwise("mse_loss", _C.PointwiseLoss.mse, input, target, reduction=reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Absolute error |input - target|.

    Args:
        input, target: floating-point tensors of one dtype.
        reduction: 'none', 'mean' or 'sum'.

    Returns:
        The loss.
    """
    return _pointwise("l1_loss", _C.PointwiseLoss.l1, input, target, reduction=reduction)


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean",
                   beta: float = 1.0) -> Tensor:
    """Huber-like loss: 0.5 d**2 / beta where |d| < beta, else |d| - 0.5 beta.

    Args:
        input, target: floating-point tensors of one dtype.
        reduction: 'none', 'mean' or 'sum'.
        beta: the threshold (>= 0; 0 gives l1_loss).

    Returns:
        The loss.
    """
    return _pointwise("smooth_l1_loss", _C.PointwiseLoss.smooth_l1, input, target, beta=beta,
                      reduction=reduction)


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """-w (t log(x) + (1 - t) log(1 - x)) on probabilities x, logs clamped at -100.

    Args:
        input: probabilities in [0, 1].
        target: tensor of input's shape.
        weight: optional, broadcast to input's shape.
        reduction: 'none', 'mean' or 'sum'.

    Returns:
        The loss.
    """
    return _pointwise("binary_cross_entropy", _C.PointwiseLoss.binary_cross_entropy, input,
                      target, weight=weight, reduction=reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor,
                                     weight: Tensor | None = None, reduction: str = "mean",
                                     pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross entropy on logits, computed stably without forming sigmoid(x).

    Args:
        input: logits.
        target: tensor broadcastable with input.
        weight: optional, broadcast to the loss.
        reduction: 'none', 'mean' or 'sum'.
        pos_weight: optional weight of positive examples, broadcast along the last dim
            (no gradient flows to it).

    Returns:
        The loss.
    """
    return _pointwise("binary_cross_entropy_with_logits",
                      _C.PointwiseLoss.binary_cross_entropy_with_logits, input, target,
                      weight=weight, pos_weight=pos_weight, reduction=reduction)
