"""Activation layers: ReLU, LeakyReLU, GELU, SiLU, ELU, Tanh, Sigmoid, Softmax, LogSoftmax."""

from __future__ import annotations

from ..tensor import Tensor
from . import functional as F
from .module import Module


class _InplaceActivation(Module):
    """An activation that may overwrite its input; extra_repr lists the attributes named in
    _repr_args, then inplace when set."""

    _repr_args: tuple[str, ...] = ()

    def __init__(self, inplace: bool):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        parts = [f"{name}={getattr(self, name)}" for name in self._repr_args]
        return ", ".join(parts + (["inplace=True"] if self.inplace else []))


class ReLU(_InplaceActivation):
    """max(x, 0) elementwise.

    Args:
        inplace: overwrite the input.
    """

    def __init__(self, inplace: bool = False):
        super().__init__(inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.relu(input, inplace=self.inplace)


class LeakyReLU(_InplaceActivation):
    """x for x >= 0, negative_slope * x otherwise.

    Args:
        negative_slope: the slope for negative inputs.
        inplace: overwrite the input.
    """

    _repr_args = ("negative_slope",)

    def __init__(self, negative_slope: float = 1e-2, inplace: bool = False):
        super().__init__(inplace)
        self.negative_slope = negative_slope

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope, self.inplace)


class GELU(Module):
    """x * Phi(x), Phi the standard normal CDF.

    Args:
        approximate: 'none' (exact, with erf) or 'tanh' (the tanh approximation).
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate='{self.approximate}'"


class SiLU(_InplaceActivation):
    """x * sigmoid(x) (the swish).

    Args:
        inplace: overwrite the input.
    """

    def __init__(self, inplace: bool = False):
        super().__init__(inplace)

    def forward(self, input: Tensor) -> Tensor:
        return F.silu(input, inplace=self.inplace)


class ELU(_InplaceActivation):
    """x for x > 0, alpha * (exp(x) - 1) otherwise.

    Args:
        alpha: the saturation value for negative inputs.
        inplace: overwrite the input.
    """

    _repr_args = ("alpha",)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__(inplace)
        self.alpha = alpha

    def forward(self, input: Tensor) -> Tensor:
        return F.elu(input, self.alpha, self.inplace)


class Tanh(Module):
    """tanh(x) elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Sigmoid(Module):
    """1 / (1 + exp(-x)) elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class _DimActivation(Module):
    """An activation normalising along one dim (None: PyTorch's legacy choice, see _dim)."""

    def __init__(self, dim: int | None):
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_DimActivation):
    """exp(x) / sum(exp(x)) along dim.

    Args:
        dim: the dim the outputs sum to 1 along (None: PyTorch's legacy choice,
            0 for 0-D, 1-D and 3-D inputs, 1 otherwise).
    """

    def __init__(self, dim: int | None = None):
        super().__init__(dim)

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, _dim(self.dim, input))


class LogSoftmax(_DimActivation):
    """log(softmax(x)) along dim, computed stably.

    Args:
        dim: the dim to normalise along (None: as in Softmax).
    """

    def __init__(self, dim: int | None = None):
        super().__init__(dim)

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, _dim(self.dim, input))


def _dim(dim: int | None, input: Tensor) -> int:
    if dim is not None:
        return dim
    return 0 if input.ndim in (0, 1, 3) else 1
