"""Transforms for image samples: Compose, ToTensor, Normalize, RandomCrop,
RandomHorizontalFlip, Lambda. Random ones draw from ember's seeded generator."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import numpy as np

from .. import creation
from .._C import DType
from ..tensor import Tensor

__all__ = ["Compose", "Lambda", "Normalize", "RandomCrop", "RandomHorizontalFlip", "ToTensor"]


def _uniform() -> float:
    return float(creation.rand(1, dtype=DType.float64).item())


def _randint(high: int) -> int:
    """Uniform in [0, high)."""
    return int(creation.randint(0, high, (1,)).item())


class Compose:
    """Applies transforms one after the other.

    Args:
        transforms: a list of callables.
    """

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t}" for t in self.transforms)
        return f"{type(self).__name__}({inner}\n)"


class ToTensor:
    """numpy image (H x W or H x W x C) -> float32 tensor C x H x W.

    uint8 values are scaled to [0, 1] (divided by 255); float arrays keep their values.
    A Tensor input is returned unchanged.
    """

    def __call__(self, pic) -> Tensor:
        if isinstance(pic, Tensor):
            return pic
        if not isinstance(pic, np.ndarray):
            raise TypeError(f"ToTensor: expected a numpy array, got {type(pic).__name__}")
        if pic.ndim not in (2, 3):
            raise ValueError(f"ToTensor: expected an H x W or H x W x C image, got shape "
                             f"{pic.shape}")
        img = pic[:, :, None] if pic.ndim == 2 else pic
        img = np.ascontiguousarray(img.transpose(2, 0, 1))
        if img.dtype == np.uint8:
            out = img.astype(np.float32) / np.float32(255.0)
        elif img.dtype.kind in "iub":
            out = img.astype(np.float32)
        elif img.dtype.kind == "f":
            out = img.astype(np.float64 if img.dtype == np.float64 else np.float32)
        else:
            raise TypeError(f"ToTensor: unsupported numpy dtype {pic.dtype}")
        return creation.from_numpy(out)

    def __repr__(self) -> str:
        return "ToTensor()"


class Normalize:
    """(x - mean[c]) / std[c] per channel of a C x H x W (or ... x C x H x W) float tensor.

    Args:
        mean: one value per channel (or one for all).
        std: one positive value per channel (or one for all).
        inplace: accepted for compatibility; a new tensor is always returned.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        self.mean = [float(m) for m in (mean if isinstance(mean, Sequence) else [mean])]
        self.std = [float(s) for s in (std if isinstance(std, Sequence) else [std])]
        if len(self.mean) != len(self.std):
            raise ValueError(f"Normalize: mean has {len(self.mean)} values but std has "
                             f"{len(self.std)}")
        if any(s == 0.0 for s in self.std):
            raise ValueError(f"Normalize: std evaluated to zero after conversion to float, "
                             f"leading to division by zero (std={self.std})")
        self.inplace = inplace

    def __call__(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"Normalize: expected a Tensor, got {type(x).__name__}")
        if not x.dtype.is_floating_point:
            raise TypeError(f"Normalize: expected a floating point tensor, got {x.dtype}")
        if x.ndim < 3:
            raise ValueError(f"Normalize: expected a tensor of at least 3 dims (C, H, W), "
                             f"got shape {list(x.shape)}")
        channels = x.shape[-3]
        if len(self.mean) not in (1, channels):
            raise ValueError(f"Normalize: {len(self.mean)} mean/std values for an image with "
                             f"{channels} channels")
        mean = creation.tensor(self.mean, dtype=x.dtype, device=x.device).reshape(-1, 1, 1)
        std = creation.tensor(self.std, dtype=x.dtype, device=x.device).reshape(-1, 1, 1)
        return (x - mean) / std

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


def _as_array(img):
    """(array, spatial axes, rebuild) for a numpy image (H, W[, C]) or a tensor (..., H, W).

    A tensor on another device is cropped / flipped on a host copy and rebuilt
    on its device: these are per-sample data-pipeline transforms."""
    if isinstance(img, Tensor):
        arr = img.detach().cpu().numpy()
        dtype, device = img.dtype, img.device
        return arr, (arr.ndim - 2, arr.ndim - 1), lambda a: creation.tensor(a, dtype=dtype,
                                                                            device=device)
    if isinstance(img, np.ndarray):
        return img, (0, 1), np.ascontiguousarray
    raise TypeError(f"expected a numpy image or a Tensor, got {type(img).__name__}")


class RandomCrop:
    """Crops a random size[0] x size[1] window, after optional zero padding.

    Works on numpy images H x W (x C) and on tensors ... x H x W.

    Args:
        size: an int (square) or (height, width).
        padding: pixels added on each border before cropping: an int, (left/right,
            top/bottom) or (left, top, right, bottom).
        pad_if_needed: pad images smaller than size so the crop fits.
        fill: the padding value.
    """

    def __init__(self, size, padding=None, pad_if_needed: bool = False, fill: float = 0):
        if isinstance(size, numbers.Integral):
            size = (int(size), int(size))
        size = tuple(int(s) for s in size)
        if len(size) != 2 or min(size) <= 0:
            raise ValueError(f"RandomCrop: size must be a positive int or (h, w), got {size}")
        self.size = size
        if padding is None:
            self.padding = (0, 0, 0, 0)
        elif isinstance(padding, numbers.Integral):
            self.padding = (int(padding),) * 4
        elif len(padding) == 2:
            self.padding = (padding[0], padding[1], padding[0], padding[1])
        elif len(padding) == 4:
            self.padding = tuple(int(p) for p in padding)
        else:
            raise ValueError(f"RandomCrop: padding must be an int or a sequence of 2 or 4, "
                             f"got {padding!r}")
        if min(self.padding) < 0:
            raise ValueError(f"RandomCrop: padding must be non-negative, got {padding!r}")
        self.pad_if_needed = pad_if_needed
        self.fill = fill

    def __call__(self, img):
        arr, (ha, wa), rebuild = _as_array(img)
        left, top, right, bottom = self.padding
        th, tw = self.size
        h, w = arr.shape[ha] + top + bottom, arr.shape[wa] + left + right
        if self.pad_if_needed:
            extra_h, extra_w = max(th - h, 0), max(tw - w, 0)
            top, bottom, h = top + extra_h, bottom + extra_h, h + 2 * extra_h
            left, right, w = left + extra_w, right + extra_w, w + 2 * extra_w
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: required crop size {self.size} is larger than the "
                             f"padded image size {(h, w)}")
        if top or bottom or left or right:
            pads = [(0, 0)] * arr.ndim
            pads[ha], pads[wa] = (top, bottom), (left, right)
            arr = np.pad(arr, pads, mode="constant", constant_values=self.fill)
        i, j = _randint(h - th + 1), _randint(w - tw + 1)
        window = [slice(None)] * arr.ndim
        window[ha], window[wa] = slice(i, i + th), slice(j, j + tw)
        return rebuild(arr[tuple(window)])

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip:
    """Mirrors the image left-right with probability p.

    Works on numpy images H x W (x C) and on tensors ... x H x W.

    Args:
        p: the flip probability, in [0, 1].
    """

    def __init__(self, p: float = 0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p}")
        self.p = p

    def __call__(self, img):
        arr, (_, wa), rebuild = _as_array(img)
        if _uniform() < self.p:
            return rebuild(np.flip(arr, axis=wa))
        return img

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class Lambda:
    """Wraps a function as a transform.

    Args:
        lambd: the callable applied to each input.
    """

    def __init__(self, lambd: Callable):
        if not callable(lambd):
            raise TypeError(f"Lambda: argument should be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, x):
        return self.lambd(x)

    def __repr__(self) -> str:
        return "Lambda()"
