"""Parameter initialisation (ember.nn.init), with PyTorch's names and formulas.

Every initialiser fills its tensor in place under no_grad, draws from ember's
seeded generator (so em.manual_seed makes it repeatable) and returns the tensor.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import _C, creation
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR_GAINS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                 "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The recommended gain for an initialiser followed by `nonlinearity`.

    Args:
        nonlinearity: 'linear', 'conv*', 'sigmoid', 'tanh', 'relu', 'leaky_relu' or 'selu'.
        param: the negative slope for 'leaky_relu' (default 0.01).

    Returns:
        The gain (1, 5/3, sqrt(2), sqrt(2 / (1 + slope^2)) or 3/4).
    """
    if nonlinearity in _LINEAR_GAINS:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, numbers.Real) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a valid number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _check(op: str, tensor) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(tensor).__name__}")
    if tensor.dtype not in (_C.DType.float32, _C.DType.float64):
        raise TypeError(f"{op}: expected a floating-point tensor, got {tensor.dtype}")


def _fill_from(tensor: Tensor, sample: Tensor) -> Tensor:
    """Copies a freshly drawn sample into tensor without recording autograd."""
    with no_grad():
        tensor.copy_(sample.to(device=tensor.device))
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fills tensor with samples from U(a, b).

    Args:
        tensor: the tensor to fill.
        a, b: the bounds (a <= b).

    Returns:
        tensor.
    """
    _check("uniform_", tensor)
    if a > b:
        raise ValueError(f"uniform_: expects a <= b, got a={a}, b={b}")
    return _fill_from(tensor, creation.uniform(a, b, tuple(tensor.shape), dtype=tensor.dtype))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fills tensor with samples from N(mean, std^2).

    Args:
        tensor: the tensor to fill.
        mean, std: the distribution's mean and standard deviation (std >= 0).

    Returns:
        tensor.
    """
    _check("normal_", tensor)
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    return _fill_from(tensor, creation.normal(mean, std, tuple(tensor.shape), dtype=tensor.dtype))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fills tensor with val.

    Args:
        tensor: the tensor to fill.
        val: the value.

    Returns:
        tensor.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"constant_: expected a Tensor, got {type(tensor).__name__}")
    with no_grad():
        tensor.fill_(val)
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    """Fills tensor with 0 and returns it."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fills tensor with 1 and returns it."""
    return constant_(tensor, 1.0)


def eye_(tensor: Tensor) -> Tensor:
    """Fills a 2-D tensor with the identity matrix (ones on the main diagonal).

    Args:
        tensor: a 2-D tensor.

    Returns:
        tensor.
    """
    _check("eye_", tensor)
    if tensor.ndim != 2:
        raise ValueError(f"eye_: only 2-D tensors are supported, got shape {list(tensor.shape)}")
    rows, cols = tensor.shape
    return _fill_from(tensor, creation.eye(rows, cols, dtype=tensor.dtype, device=tensor.device))


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out): dims 1 and 0 times the receptive field (dims 2...)."""
    if tensor.ndim < 2:
        raise ValueError(f"Fan in and fan out can not be computed for a tensor with fewer than "
                         f"2 dimensions, got shape {list(tensor.shape)}")
    receptive = 1
    for s in tensor.shape[2:]:
        receptive *= s
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(op: str, tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    try:
        fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    except ValueError as e:
        raise ValueError(f"{op}: {e}") from None
    return fan_in if mode == "fan_in" else fan_out


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot uniform: U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)).

    Args:
        tensor: an at least 2-D tensor.
        gain: scaling factor.

    Returns:
        tensor.
    """
    _check("xavier_uniform_", tensor)
    fan_in, fan_out = _fan("xavier_uniform_", tensor, "fan_in"), _fan("xavier_uniform_", tensor,
                                                                       "fan_out")
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out)) if fan_in + fan_out else 0.0
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)).

    Args:
        tensor: an at least 2-D tensor.
        gain: scaling factor.

    Returns:
        tensor.
    """
    _check("xavier_normal_", tensor)
    fan_in, fan_out = _fan("xavier_normal_", tensor, "fan_in"), _fan("xavier_normal_", tensor,
                                                                     "fan_out")
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out)) if fan_in + fan_out else 0.0
    return normal_(tensor, 0.0, std)


def _kaiming_std(op: str, tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    fan = _fan(op, tensor, mode)
    if fan == 0:
        return 0.0
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu") -> Tensor:
    """He uniform: U(-b, b) with b = gain * sqrt(3 / fan).

    Args:
        tensor: an at least 2-D tensor.
        a: the negative slope of the following leaky_relu.
        mode: 'fan_in' (preserves the forward variance) or 'fan_out' (the backward's).
        nonlinearity: the following nonlinearity's name (see calculate_gain).

    Returns:
        tensor.
    """
    _check("kaiming_uniform_", tensor)
    bound = math.sqrt(3.0) * _kaiming_std("kaiming_uniform_", tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu") -> Tensor:
    """He normal: N(0, std^2) with std = gain / sqrt(fan).

    Args:
        tensor: an at least 2-D tensor.
        a: the negative slope of the following leaky_relu.
        mode: 'fan_in' or 'fan_out'.
        nonlinearity: the following nonlinearity's name (see calculate_gain).

    Returns:
        tensor.
    """
    _check("kaiming_normal_", tensor)
    return normal_(tensor, 0.0, _kaiming_std("kaiming_normal_", tensor, a, mode, nonlinearity))


def orthogonal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Fills tensor (viewed as rows x prod(rest)) with a (semi-)orthogonal matrix.

    The matrix is the Q of a QR decomposition of a seeded standard normal
    matrix, with signs fixed so the distribution is uniform (Haar).

    Args:
        tensor: an at least 2-D tensor.
        gain: scaling factor.

    Returns:
        tensor.
    """
    _check("orthogonal_", tensor)
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dimensions are supported, "
                         f"got shape {list(tensor.shape)}")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = creation.randn(rows, cols, dtype=_C.DType.float64).numpy()
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    sample = creation.tensor(gain * q, dtype=tensor.dtype).reshape(tuple(tensor.shape))
    return _fill_from(tensor, sample)
