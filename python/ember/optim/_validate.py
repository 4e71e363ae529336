"""Hyperparameter checks shared by the optimizers (PyTorch's ValueError messages)."""

from __future__ import annotations


def nonnegative(optimizer: str, what: str, value: float) -> None:
    """Raises ValueError naming the optimizer when `value` is negative (or NaN)."""
    if not value >= 0.0:
        raise ValueError(f"{optimizer}: Invalid {what}: {value}")


def beta(optimizer: str, index: int, value: float) -> None:
    """Raises ValueError unless 0 <= value < 1."""
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{optimizer}: Invalid beta parameter at index {index}: {value}")
