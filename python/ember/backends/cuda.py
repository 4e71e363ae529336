"""ember.backends.cuda: whether the CUDA backend is compiled in."""

from __future__ import annotations

from .. import _C


def is_built() -> bool:
    """True when ember was built with the CUDA toolkit (a GPU may still be absent)."""
    return _C.cuda.is_built()
