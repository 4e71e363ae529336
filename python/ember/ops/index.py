"""Joining, splitting and indexing: cat, stack, split, chunk, __getitem__,
__setitem__, gather, scatter, index_select, masked_fill, embedding, one_hot, pad."""

from __future__ import annotations

from ..tensor import Tensor
from .shape import select, slice_dim

__all__: list = []


def getitem(x: Tensor, index) -> Tensor:
    """x[index] for ints and slices (the basic indexing subset)."""
    if not isinstance(index, tuple):
        index = (index,)
    dim = 0
    for item in index:
        if isinstance(item, int):
            x = select(x, dim, item)
        elif isinstance(item, slice):
            start, stop, step = item.indices(x.shape[dim])
            x = slice_dim(x, dim, start, stop, step)
            dim += 1
        else:
            raise TypeError(f"getitem: index of type {type(item).__name__} is not supported yet")
    return x


def setitem(x: Tensor, index, value) -> None:
    """x[index] = value."""
    getitem(x, index).copy_(value)
