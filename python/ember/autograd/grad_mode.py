"""Grad mode: whether ops record the graph (thread-local, like PyTorch's)."""

from __future__ import annotations

import functools

from .. import _C

# Returns True when ops on tensors that require grad record the graph.
is_grad_enabled = _C.is_grad_enabled
_set_enabled = _C.set_grad_enabled


class _GradModeContext:
    """Base of the grad-mode context managers; also usable as decorators."""

    _mode: bool

    def __enter__(self):
        self._prev = is_grad_enabled()
        _set_enabled(self._mode)
        return self

    def __exit__(self, *exc):
        _set_enabled(self._prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradModeContext):
    """Context manager (and decorator) that disables graph recording.

    Example:
        >>> with em.no_grad():
        ...     y = model(x)   # y.requires_grad is False
    """

    _mode = False


class enable_grad(_GradModeContext):
    """Context manager (and decorator) that enables graph recording."""

    _mode = True


class set_grad_enabled(_GradModeContext):
    """Sets grad mode to `mode`; as a context manager, restores it on exit.

    Args:
        mode: True to record graphs, False not to.
    """

    def __init__(self, mode: bool):
        self._mode = bool(mode)
        self._prev = is_grad_enabled()
        _set_enabled(self._mode)

    def __enter__(self):
        return self

    def __call__(self, fn):
        mode = self._mode
        _set_enabled(self._prev)

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)

        return wrapper
