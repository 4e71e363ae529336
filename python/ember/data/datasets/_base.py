"""The parts every labelled image dataset shares: item access, split repr, download folder."""

from __future__ import annotations

import os
from collections.abc import Callable

from ..dataset import Dataset

__all__ = ["LabelledImages", "SplitImages"]


class LabelledImages(Dataset):
    """Images in `data` (a numpy array, one image a row) and int64 labels in `_labels`.

    Subclasses fill data, _labels, transform and target_transform.
    """

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int):
        """(image, label): image a numpy array (or the transform's output), label a Python
        int (or the target_transform's output)."""
        img, target = self.data[index], int(self._labels[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target


class SplitImages(LabelledImages):
    """A dataset with a train/test split read from (or downloaded into) a root folder.

    Subclasses define _find(names) (the folder holding them, or None), _missing_message(names)
    and download() (the folder it filled).
    """

    def __init__(self, root: str | None, train: bool, transform: Callable | None,
                 target_transform: Callable | None):
        self.root = root
        self.train = train
        self.transform = transform
        self.target_transform = target_transform

    def _locate(self, names, download: bool) -> str:
        """The folder holding the files `names`: found by _find, else fetched by download()
        when allowed, else a RuntimeError with _missing_message's advice."""
        folder = self._find(names)
        if folder is None and download:
            folder = self.download()
        if folder is None:
            raise RuntimeError(self._missing_message(names))
        return folder

    def _download_base(self) -> str:
        """The folder download=True saves into: root, else $EMBER_DATA."""
        base = self.root if self.root is not None else os.environ.get("EMBER_DATA")
        if base is None:
            raise RuntimeError(f"{type(self).__name__}: download=True needs root= or "
                               f"$EMBER_DATA to know where to save the files")
        return os.path.expanduser(os.fspath(base))

    def __repr__(self) -> str:
        split = "Train" if self.train else "Test"
        return f"{type(self).__name__}(split={split}, n={len(self)})"
