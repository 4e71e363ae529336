"""Tensor.__repr__ in PyTorch's style: tensor([...], dtype=..., grad_fn=...)."""

from __future__ import annotations

import numpy as np

from . import _C


def format_tensor(t) -> str:
    arr = t._host_values()
    prefix = "tensor("
    if arr.size == 0:
        body = "[]" if arr.shape == (0,) else f"[], size={tuple(arr.shape)}"
    else:
        options = {"separator": ", ", "prefix": prefix, "threshold": 1000, "edgeitems": 3}
        if arr.dtype.kind == "f":
            finite = arr[np.isfinite(arr)]
            integral = finite.size == 0 or bool(np.all(finite == np.round(finite)))
            big = finite.size > 0 and float(np.max(np.abs(finite))) >= 1e8
            if not integral or big:
                options.update(precision=4, floatmode="fixed")
                if big or (finite.size > 0 and float(np.max(np.abs(finite))) < 1e-4 and np.any(finite)):
                    options.update(floatmode="maxprec_equal")
        body = np.array2string(arr, **options)
    suffix = []
    if t.device.type != "cpu":
        suffix.append(f"device='{t.device}'")
    default_dtypes = (_C.DType.float32, _C.DType.int64, _C.DType.bool)
    if t.dtype not in default_dtypes or (arr.size == 0 and t.dtype != _C.DType.float32):
        suffix.append(f"dtype={t.dtype!r}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    sep = ", " if body.count("\n") == 0 else ",\n       "
    return prefix + body + "".join(sep + s for s in suffix) + ")"
