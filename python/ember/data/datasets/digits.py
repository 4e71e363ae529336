"""scikit-learn's bundled 8x8 handwritten digits (1,797 images; no download needed)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ... import creation
from ..._C import DType
from ._base import LabelledImages

__all__ = ["Digits"]


class Digits(LabelledImages):
    """The UCI 8x8 digits that ship with scikit-learn (an optional dependency).

    Args:
        transform: applied to each image (a float32 8x8 numpy array in [0, 1]: the 0..16
            counts divided by 16).
        target_transform: applied to each label (a Python int).

    Attributes:
        data: float32 numpy array N x 8 x 8 in [0, 1].
        targets: int64 tensor of N labels.

    Raises:
        ImportError: scikit-learn is not installed.
    """

    classes = tuple(str(i) for i in range(10))

    def __init__(self, transform: Callable | None = None,
                 target_transform: Callable | None = None):
        try:
            from sklearn.datasets import load_digits
        except ImportError as exc:
            raise ImportError("Digits: needs scikit-learn, which bundles the 8x8 digits "
                              "(pip install scikit-learn)") from exc
        bunch = load_digits()
        self.data = (np.asarray(bunch.images, dtype=np.float32) / np.float32(16.0))
        self._labels = np.asarray(bunch.target, dtype=np.int64)
        self.targets = creation.tensor(self._labels, dtype=DType.int64)
        self.transform = transform
        self.target_transform = target_transform
