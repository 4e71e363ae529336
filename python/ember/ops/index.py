"""Joining, splitting and indexing: cat, stack, split, chunk, __getitem__,
__setitem__, gather, scatter, index_select, index_add, masked_fill,
embedding, one_hot, pad.

Basic indexing (ints, slices, None, Ellipsis) gives views through the view
ops in shape.py; integer and bool tensors (or lists / numpy arrays) go
through the C++ `index` / `index_put_` kernels.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np

from .. import _C
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..tensor import Tensor
from .shape import narrow, select, slice_dim, unsqueeze

__all__ = [
    "cat",
    "chunk",
    "concat",
    "concatenate",
    "gather",
    "hstack",
    "index_add",
    "index_select",
    "masked_fill",
    "nonzero",
    "scatter",
    "scatter_add",
    "split",
    "stack",
    "vstack",
]


def _zeros(shape, like: Tensor) -> Tensor:
    return Tensor._make(_C.zeros(list(shape), like.dtype, like.device), False, None, 0)


def _on(raw: _C.Tensor, device) -> _C.Tensor:
    """raw on `device` (itself when it is already there)."""
    return raw if raw.device == device else raw.to(device)


def _raw_index(index: Tensor) -> _C.Tensor:
    if not isinstance(index, Tensor):
        raise TypeError(f"expected an index Tensor, got {type(index).__name__}")
    return index._data


# ------------------------------------------------------------------ joining and splitting
class _Cat(Function):
    @staticmethod
    def forward(ctx, dim, *tensors):
        out = _C.cat([t._data for t in tensors], dim)
        ctx.sizes = [t.shape for t in tensors]
        ctx.dim = dim % out.ndim if out.ndim else 0
        return out

    @staticmethod
    def backward(ctx, grad):
        grads, offset = [None], 0
        for shape, needs in zip(ctx.sizes, ctx.needs_input_grad[1:]):
            if len(shape) == 1 and shape[0] == 0 and grad.ndim != 1:
                grads.append(None)
                continue
            size = shape[ctx.dim]
            grads.append(narrow(grad, ctx.dim, offset, size) if needs else None)
            offset += size
        return tuple(grads)


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Concatenates tensors along an existing dim, promoting dtypes.

    Args:
        tensors: tensors with equal sizes except along `dim` (1-D empty
            tensors are skipped, as in PyTorch).
        dim: the dim to join along.

    Returns:
        A new tensor. Example: cat([zeros(2, 3), ones(1, 3)]).shape == (3, 3).
    """
    tensors = list(tensors)
    if not all(isinstance(t, Tensor) for t in tensors):
        raise TypeError("cat: expected a sequence of Tensors")
    return _Cat.apply(int(dim), *tensors)


concat = concatenate = cat


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Joins equally shaped tensors along a new dim.

    Args:
        tensors: a non-empty sequence of tensors of one shape.
        dim: where the new dim goes (-ndim-1 <= dim <= ndim).

    Returns:
        A tensor with one more dim.
    """
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    shape = tensors[0].shape
    for t in tensors:
        if t.shape != shape:
            raise ValueError(f"stack: expected each tensor to be of equal size, got "
                             f"{list(shape)} and {list(t.shape)}")
    ndim = len(shape) + 1
    if not -ndim <= dim < ndim:
        raise IndexError(f"stack: dim {dim} is out of range for {ndim} dims")
    return cat([unsqueeze(t, dim % ndim) for t in tensors], dim % ndim)


def hstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenates along dim 1 (dim 0 for 1-D tensors)."""
    tensors = list(tensors)
    return cat(tensors, 0 if tensors and tensors[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Tensor]) -> Tensor:
    """Concatenates along dim 0, treating 1-D tensors as rows."""
    return cat([t.reshape(1, -1) if t.ndim < 2 else t for t in tensors], 0)


def split(tensor: Tensor, split_size_or_sections, dim: int = 0) -> tuple:
    """Splits into views along `dim`.

    Args:
        tensor: the tensor to split.
        split_size_or_sections: an int (every piece that size, the last one
            smaller) or a list of sizes summing to the dim's size.
        dim: the dim to split.

    Returns:
        A tuple of views.
    """
    if tensor.ndim == 0:
        raise ValueError("split: a 0-d tensor can't be split")
    d = dim % tensor.ndim if -tensor.ndim <= dim < tensor.ndim else None
    if d is None:
        raise IndexError(f"split: dim {dim} is out of range for a tensor of {tensor.ndim} dims")
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, numbers.Integral):
        size = int(split_size_or_sections)
        if size <= 0 and not (size == 0 and n == 0):
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [min(size, n - s) for s in range(0, n, size)] if n else [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} don't sum to {n}, the size of dim {dim} "
                             f"of a tensor of shape {list(tensor.shape)}")
    out, start = [], 0
    for s in sizes:
        out.append(narrow(tensor, d, start, s))
        start += s
    return tuple(out)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """Splits into `chunks` views of size ceil(n / chunks) (fewer when n is small).

    Args:
        input: the tensor.
        chunks: how many pieces at most (positive).
        dim: the dim to split.

    Returns:
        A tuple of views.
    """
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    if input.ndim == 0:
        raise ValueError("chunk: a 0-d tensor can't be chunked")
    if not -input.ndim <= dim < input.ndim:
        raise IndexError(f"chunk: dim {dim} is out of range for a tensor of {input.ndim} dims")
    n = input.shape[dim]
    return split(input, max(-(-n // chunks), 1), dim)


# ------------------------------------------------------------------ gather and scatter
class _Gather(Function):
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.shape, ctx.dim, ctx.index = x.shape, dim, index
        return _C.gather(x._data, dim, _raw_index(index))

    @staticmethod
    def backward(ctx, grad):
        return _ScatterAdd.apply(_zeros(ctx.shape, grad), ctx.dim, ctx.index, grad), None, None


class _ScatterAdd(Function):
    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.dim, ctx.index = dim, index
        return _C.scatter(x._data, dim, _raw_index(index), src._data, True)

    @staticmethod
    def backward(ctx, grad):
        gsrc = gather(grad, ctx.dim, ctx.index) if ctx.needs_input_grad[3] else None
        return grad, None, None, gsrc


class _Scatter(Function):
    @staticmethod
    def forward(ctx, x, dim, index, src):
        ctx.dim, ctx.index = dim, index
        if not isinstance(src, Tensor):
            out = x._data.clone()
            _C.scatter_value_(out, dim, _raw_index(index), src)
            return out
        return _C.scatter(x._data, dim, _raw_index(index), src._data, False)

    @staticmethod
    def backward(ctx, grad):
        gx = _Scatter.apply(grad, ctx.dim, ctx.index, 0.0) if ctx.needs_input_grad[0] else None
        gsrc = gather(grad, ctx.dim, ctx.index) if ctx.needs_input_grad[3] else None
        return gx, None, None, gsrc


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """out[i][j][k] = input[i][index[i][j][k]][k] for dim=1 (and so on).

    Args:
        input: the source tensor.
        dim: the dim to gather along.
        index: an int64 tensor with input's number of dims.

    Returns:
        A tensor of index's shape.
    """
    return _Gather.apply(input, int(dim), index)


def _scatter_src(input: Tensor, src, value, op: str):
    if src is None:
        src = value
    if src is None:
        raise TypeError(f"{op}: expected src (a Tensor) or value (a number)")
    if not isinstance(src, (Tensor, numbers.Number)):
        raise TypeError(f"{op}: src must be a Tensor or a number, got {type(src).__name__}")
    return src


def scatter(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
            reduce=None) -> Tensor:
    """Writes src (a tensor or a number) into a copy of input at `index` along `dim`.

    Args:
        input: the destination values.
        dim: the dim to scatter along.
        index: int64, with input's number of dims.
        src: a tensor (at least index's size) or a number.
        value: a number, the keyword form of a scalar src.
        reduce: None or "add" (as scatter_add).

    Returns:
        A new tensor of input's shape.
    """
    src = _scatter_src(input, src, value, "scatter")
    if reduce == "add":
        return scatter_add(input, dim, index, src)
    if reduce is not None:
        raise ValueError(f"scatter: reduce must be None or 'add', got {reduce!r}")
    return _Scatter.apply(input, int(dim), index, src)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """Adds src into a copy of input at `index` along `dim` (repeats accumulate).

    Returns:
        A new tensor of input's shape.
    """
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add: src must be a Tensor, got {type(src).__name__}")
    return _ScatterAdd.apply(input, int(dim), index, src)


def _inplace(x: Tensor, name: str, out_of_place, raw_op, *tensors) -> Tensor:
    """Runs raw_op on x's memory, or (with autograd) the out-of-place op
    written back with _inplace_from."""
    x._check_inplace(name)
    if is_grad_enabled() and any(isinstance(t, Tensor) and t.requires_grad
                                 for t in (x,) + tensors):
        return x._inplace_from(out_of_place(), name)
    raw_op()
    return x


def scatter_(input: Tensor, dim: int, index: Tensor, src=None, *, value=None,
             reduce=None) -> Tensor:
    """In-place scatter; returns input."""
    src = _scatter_src(input, src, value, "scatter_")
    if reduce == "add":
        return scatter_add_(input, dim, index, src)

    def raw():
        if isinstance(src, Tensor):
            _C.scatter_(input._data, int(dim), _raw_index(index), src._data, False)
        else:
            _C.scatter_value_(input._data, int(dim), _raw_index(index), src)

    return _inplace(input, "scatter_", lambda: scatter(input, dim, index, src, reduce=reduce),
                    raw, src)


def scatter_add_(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """In-place scatter_add; returns input."""
    return _inplace(input, "scatter_add_", lambda: scatter_add(input, dim, index, src),
                    lambda: _C.scatter_(input._data, int(dim), _raw_index(index), src._data,
                                        True), src)


# ------------------------------------------------------------------ index_select, index_add
class _IndexSelect(Function):
    @staticmethod
    def forward(ctx, x, dim, index):
        ctx.shape, ctx.dim, ctx.index = x.shape, dim, index
        return _C.index_select(x._data, dim, _raw_index(index))

    @staticmethod
    def backward(ctx, grad):
        return _IndexAdd.apply(_zeros(ctx.shape, grad), ctx.dim, ctx.index, grad), None, None


class _IndexAdd(Function):
    @staticmethod
    def forward(ctx, x, dim, index, source):
        ctx.dim, ctx.index = dim, index
        out = x._data.clone()
        _C.index_add_(out, dim, _raw_index(index), source._data)
        return out

    @staticmethod
    def backward(ctx, grad):
        gsrc = index_select(grad, ctx.dim, ctx.index) if ctx.needs_input_grad[3] else None
        return grad, None, None, gsrc


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries `index` (a 1-D integer tensor) of `dim`.

    Args:
        input: the source tensor.
        dim: the dim to pick from.
        index: 0-d or 1-D int64/int32 indices in [0, size).

    Returns:
        A new tensor; `dim` has len(index) entries.
    """
    return _IndexSelect.apply(input, int(dim), index)


def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """A copy of input with alpha * source[i] added at input.select(dim, index[i]).

    Returns:
        A new tensor of input's shape; repeated indices accumulate.
    """
    if alpha != 1:
        source = source * alpha
    return _IndexAdd.apply(input, int(dim), index, source)


def index_add_(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha=1) -> Tensor:
    """In-place index_add; returns input."""
    if alpha != 1:
        source = source * alpha
    return _inplace(input, "index_add_", lambda: index_add(input, dim, index, source),
                    lambda: _C.index_add_(input._data, int(dim), _raw_index(index),
                                          source._data), source)


# ------------------------------------------------------------------ masked_fill
def _fill_value(value, op: str):
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise ValueError(f"{op}: value must be a number or a 1-element tensor, "
                             f"got shape {list(value.shape)}")
        return value.item()
    if isinstance(value, numbers.Number) and not isinstance(value, complex):
        return value if isinstance(value, (bool, int, float)) else float(value)
    raise TypeError(f"{op}: value must be a number, got {type(value).__name__}")


class _MaskedFill(Function):
    @staticmethod
    def forward(ctx, x, mask, value):
        ctx.mask = mask
        return _C.masked_fill(x._data, mask._data, value)

    @staticmethod
    def backward(ctx, grad):
        return masked_fill(grad, ctx.mask, 0.0), None, None


def masked_fill(input: Tensor, mask: Tensor, value) -> Tensor:
    """A copy of input with `value` where the bool `mask` (broadcast) is true.

    Args:
        input: the tensor.
        mask: a bool tensor broadcastable with input.
        value: a number (or a 1-element tensor).

    Returns:
        A new tensor of the broadcast shape.
    """
    if not isinstance(mask, Tensor):
        raise TypeError(f"masked_fill: mask must be a bool Tensor, got {type(mask).__name__}")
    return _MaskedFill.apply(input, mask, _fill_value(value, "masked_fill"))


def masked_fill_(input: Tensor, mask: Tensor, value) -> Tensor:
    """In-place masked_fill; returns input."""
    if not isinstance(mask, Tensor):
        raise TypeError(f"masked_fill_: mask must be a bool Tensor, got {type(mask).__name__}")
    fill = _fill_value(value, "masked_fill_")
    return _inplace(input, "masked_fill_", lambda: masked_fill(input, mask, fill),
                    lambda: _C.masked_fill_(input._data, mask._data, fill))


def nonzero(input: Tensor, *, as_tuple: bool = False):
    """The coordinates of the nonzero elements.

    Returns:
        int64 [count, ndim], or with as_tuple one 1-D tensor per dim.
    """
    out = Tensor._make(_C.nonzero(input._data), False, None, 0)
    if as_tuple:
        return tuple(out[:, d] for d in range(input.ndim))
    return out


# ------------------------------------------------------------------ embedding, one_hot, pad
class _Embedding(Function):
    @staticmethod
    def forward(ctx, index, weight, padding_idx):
        ctx.index, ctx.padding_idx, ctx.shape = index, padding_idx, weight.shape
        flat = index._data.reshape([index.numel()])
        out = _C.index_select(weight._data, 0, flat)
        return out.reshape(list(index.shape) + [weight.shape[1]])

    @staticmethod
    def backward(ctx, grad):
        flat_index = ctx.index.reshape(-1)
        rows = grad.reshape(-1, ctx.shape[1])
        if ctx.padding_idx is not None:
            rows = masked_fill(rows, (flat_index == ctx.padding_idx).reshape(-1, 1), 0.0)
        gw = _IndexAdd.apply(_zeros(ctx.shape, grad), 0, flat_index, rows)
        return None, gw, None


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of `weight` looked up by the integer tensor `input`.

    Args:
        input: int64/int32 indices in [0, num_embeddings).
        weight: [num_embeddings, embedding_dim].
        padding_idx: the row whose gradient stays zero (negative counts from the end).

    Returns:
        input.shape + [embedding_dim].
    """
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D, got shape {list(weight.shape)}")
    if padding_idx is not None:
        n = weight.shape[0]
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx {padding_idx} is out of range for "
                             f"{n} embeddings")
        padding_idx %= n
    if not isinstance(input, Tensor) or input.dtype not in (_C.DType.int64, _C.DType.int32):
        raise TypeError(f"embedding: input must be an int64 or int32 tensor of indices, got "
                        f"{getattr(input, 'dtype', type(input).__name__)}")
    try:
        return _Embedding.apply(input, weight, padding_idx)
    except IndexError as e:
        raise IndexError(f"embedding: {e}") from None


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding: out[..., c] = 1 where tensor == c.

    Args:
        tensor: int64 class indices.
        num_classes: the number of classes; -1 takes max(tensor) + 1.

    Returns:
        int64 tensor.shape + [num_classes].
    """
    return Tensor._make(_C.one_hot(tensor._data, int(num_classes)), False, None, 0)


class _Pad(Function):
    @staticmethod
    def forward(ctx, x, pad, value):
        ctx.pad = pad
        return _C.pad(x._data, pad, value)

    @staticmethod
    def backward(ctx, grad):
        return _Pad.apply(grad, [-p for p in ctx.pad], 0.0), None, None


def _pad_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    positions = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(positions, 0, n - 1)
    if mode == "circular":
        return positions % n
    period = 2 * (n - 1)
    folded = np.abs(positions) % period if period else np.zeros_like(positions)
    return np.where(folded >= n, period - folded, folded)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value=None) -> Tensor:
    """Pads (or, with negative entries, crops) the last dims.

    Args:
        input: the tensor.
        pad: (left, right) of the last dim, then of the one before, ...
        mode: "constant", "reflect", "replicate" or "circular".
        value: the fill value for "constant" (default 0).

    Returns:
        The padded tensor.
    """
    pad = [int(p) for p in pad]
    if mode == "constant":
        return _Pad.apply(input, pad, 0.0 if value is None else _fill_value(value, "pad"))
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be constant, reflect, replicate or circular, "
                         f"got {mode!r}")
    if len(pad) % 2 or len(pad) > 2 * input.ndim:
        raise ValueError(f"pad: padding {pad} doesn't fit a tensor of shape {list(input.shape)}")
    out = input
    for i in range(len(pad) // 2):
        d = input.ndim - 1 - i
        n, before, after = input.shape[d], pad[2 * i], pad[2 * i + 1]
        if n == 0 or (mode == "reflect" and max(before, after) >= n) or (
                mode == "circular" and max(before, after) > n):
            raise ValueError(f"pad: padding ({before}, {after}) is too large for {mode} mode "
                             f"on dim {d} of size {n}")
        # A few source positions per output position, computed on the host
        # and copied to the input's device once.
        raw = _C.from_numpy(_pad_index(n, before, after, mode).astype(np.int64))
        idx = Tensor._make(_on(raw, input._data.device), False, None, 0)
        out = index_select(out, d, idx)
    return out


# ------------------------------------------------------------------ __getitem__ / __setitem__
def _index_tensor(item, device) -> Tensor:
    arr = np.asarray(item)
    if arr.dtype == np.bool_ or arr.size == 0 or arr.dtype.kind in "iu":
        # A C-ordered copy: the index must not alias the caller's array, and
        # 0-d stays 0-d (unlike np.ascontiguousarray).
        dtype = np.bool_ if arr.dtype == np.bool_ else np.int64
        raw = _C.from_numpy(np.array(arr, dtype=dtype, order="C"))
        return Tensor._make(_on(raw, device), False, None, 0)
    raise IndexError(f"getitem: only integers, slices, None, Ellipsis and integer or bool "
                     f"arrays are valid indices, got an array of {arr.dtype}")


def _normalize(index, device) -> list:
    """The index as a list of ints, slices, None, Ellipsis and index tensors on
    `device` (lists, arrays and tensors on another device, as PyTorch allows
    for a CUDA tensor indexed by CPU indices, are copied there)."""
    if not isinstance(index, tuple):
        index = (index,)
    items = []
    for item in index:
        if isinstance(item, (bool, np.bool_)):
            items.append(_index_tensor(bool(item), device))
            continue
        if isinstance(item, (numbers.Integral, np.integer)):
            items.append(int(item))
        elif isinstance(item, Tensor):
            items.append(item if item._data.device == device else
                         Tensor._make(_on(item._data, device), False, None, 0))
        elif item is None or item is Ellipsis or isinstance(item, slice):
            items.append(item)
        elif isinstance(item, (list, tuple, np.ndarray)):
            items.append(_index_tensor(item, device))
        else:
            raise TypeError(f"getitem: index of type {type(item).__name__} is not supported "
                            "(ints, slices, None, Ellipsis, tensors, lists, numpy arrays)")
    return items


def _consumed(item) -> int:
    if item is None or item is Ellipsis:
        return 0
    if isinstance(item, Tensor) and item.dtype == _C.DType.bool:
        return item.ndim
    return 1


def _basic_index(x: Tensor, index):
    """Applies ints, slices and None (views); returns the view and the
    per-dim entries (a tensor or None) for the advanced part."""
    items = _normalize(index, x._data.device)
    if sum(item is Ellipsis for item in items) > 1:
        raise IndexError("getitem: an index can only have a single ellipsis ('...')")
    used = sum(_consumed(item) for item in items)
    if used > x.ndim:
        raise IndexError(f"getitem: too many indices for tensor of dimension {x.ndim} "
                         f"(shape {list(x.shape)})")
    at = next((i for i, item in enumerate(items) if item is Ellipsis), None)
    if at is not None:
        items[at:at + 1] = [slice(None)] * (x.ndim - used)
    entries, dim, advanced = [], 0, False
    for item in items:
        if item is None:
            x = unsqueeze(x, dim)
            entries.append(None)
            dim += 1
        elif isinstance(item, int):
            n = x.shape[dim]
            if not -n <= item < n:
                raise IndexError(f"getitem: index {item} is out of bounds for dimension {dim} "
                                 f"with size {n}")
            x = select(x, dim, item)
        elif isinstance(item, slice):
            step = 1 if item.step is None else int(item.step)
            if step <= 0:
                raise ValueError(f"getitem: slice step must be positive, got {step}")
            start, stop, _ = slice(item.start, item.stop, step).indices(x.shape[dim])
            x = slice_dim(x, dim, start, max(start, stop), step)
            entries.append(None)
            dim += 1
        else:
            if item.dtype == _C.DType.bool and item.ndim == 0:
                # A scalar mask adds a dim of size 1 (kept) or 0 (dropped).
                x = unsqueeze(x, dim)
                item = item.reshape(1)
            entries.append(item)
            advanced = True
            dim += _consumed(item)
    return x, (entries if advanced else None)


def _raw_entries(entries):
    return [None if e is None else e._data for e in entries]


class _Index(Function):
    @staticmethod
    def forward(ctx, x, entries):
        ctx.shape, ctx.entries = x.shape, entries
        return _C.index(x._data, _raw_entries(entries))

    @staticmethod
    def backward(ctx, grad):
        return _IndexPut.apply(_zeros(ctx.shape, grad), grad, ctx.entries, True), None


class _IndexPut(Function):
    """index_put out of place, differentiable in both the target and the values."""

    @staticmethod
    def forward(ctx, x, values, entries, accumulate):
        ctx.entries, ctx.accumulate = entries, accumulate
        out = x._data.clone()
        _C.index_put_(out, _raw_entries(entries), values._data, accumulate)
        return out

    @staticmethod
    def backward(ctx, grad):
        gx = None
        if ctx.needs_input_grad[0]:
            gx = grad if ctx.accumulate else _IndexPut.apply(
                grad, _zeros([], grad), ctx.entries, False)
        gv = _Index.apply(grad, ctx.entries) if ctx.needs_input_grad[1] else None
        return gx, gv, None, None


def getitem(x: Tensor, index) -> Tensor:
    """x[index]: ints, slices (positive steps), None, Ellipsis, and integer or bool
    tensors / lists / numpy arrays (advanced indexing, numpy's placement rule).

    Returns:
        A view for basic indexing, a new tensor when advanced indices are used.
    """
    view, entries = _basic_index(x, index)
    return view if entries is None else _Index.apply(view, entries)


class _SetItem(Function):
    """x with x[index] = value, computed out of place."""

    @staticmethod
    def forward(ctx, x, value, index):
        ctx.index = index
        out = Tensor._make(x._data.clone(), False, None, 0)
        _assign(out, index, value.detach())
        return out._data

    @staticmethod
    def backward(ctx, grad):
        gx = _SetItem.apply(grad, _zeros([], grad), ctx.index) if ctx.needs_input_grad[0] else None
        gv = getitem(grad, ctx.index) if ctx.needs_input_grad[1] else None
        return gx, gv, None


def _assign(x: Tensor, index, value: Tensor) -> None:
    """x[index] = value without autograd."""
    with no_grad():
        view, entries = _basic_index(x.detach(), index)
    if _C.shares_memory(value._data, x._data):
        value = Tensor._make(value._data.clone(), False, None, 0)
    if entries is None:
        view._data.copy_(value._data)
    else:
        _C.index_put_(view._data, _raw_entries(entries), value._data, False)


def setitem(x: Tensor, index, value) -> None:
    """x[index] = value: a number, a list or a tensor broadcast to x[index]."""
    x._check_inplace("setitem")
    if not isinstance(value, Tensor):
        from ..creation import tensor

        if isinstance(value, (numbers.Number, list, tuple, np.ndarray)):
            value = tensor(value, dtype=x.dtype, device=x.device)
        else:
            raise TypeError(f"setitem: value must be a number, a list or a Tensor, "
                            f"got {type(value).__name__}")
    if is_grad_enabled() and (x.requires_grad or value.requires_grad):
        x._inplace_from(_SetItem.apply(x, value, index), "setitem")
        return
    _assign(x, index, value)
