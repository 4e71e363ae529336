"""Linear algebra: matmul, mm, bmm, linear."""

from __future__ import annotations

__all__: list = []
