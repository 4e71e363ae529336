"""Parameter: a Tensor that a Module registers as one of its parameters."""

from __future__ import annotations

from ..tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad and is registered by Module attributes.

    Args:
        data: the initial value (a Tensor; shares its memory).
        requires_grad: whether the optimizer should train it.

    Example:
        >>> self.weight = em.nn.Parameter(em.randn(10, 5))
    """

    __slots__ = ()

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from ..creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter: expected a Tensor, got {type(data).__name__}")
        Tensor._init(self, data._data, False, None, 0)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (_rebuild_parameter, (self.detach(), self.requires_grad))


def _rebuild_parameter(data, requires_grad):
    return Parameter(data, requires_grad)


class Buffer(Tensor):
    """Marks a tensor as a buffer when assigned to a Module attribute."""

    __slots__ = ("persistent",)

    def __init__(self, data: Tensor, *, persistent: bool = True):
        Tensor._init(self, data._data, False, None, 0)
        self.persistent = persistent
