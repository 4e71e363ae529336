"""CIFAR-10: the python-pickle batch format."""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable

import numpy as np

from ... import creation
from ..._C import DType
from ._base import SplitImages
from ._download import check_md5, download_url, extract_archive, search_roots

__all__ = ["CIFAR10"]


class CIFAR10(SplitImages):
    """CIFAR-10: 50,000 training and 10,000 test 32x32 colour images in 10 classes.

    Reads <root>/cifar-10-batches-py/{data_batch_1..5, test_batch, batches.meta} (the
    python version of the dataset); root defaults to $EMBER_DATA.

    Args:
        root: the folder holding cifar-10-batches-py/.
        train: the training split (the five data batches), else test_batch.
        transform: applied to each image (a uint8 numpy array 32x32x3, HWC).
        target_transform: applied to each label (a Python int).
        download: fetch and unpack the official archive into root when the batches are
            missing (MD5-checked).

    Attributes:
        data: uint8 numpy array N x 32 x 32 x 3.
        targets: int64 tensor of N labels.
        classes: the class names (from batches.meta when present).
    """

    base_folder = "cifar-10-batches-py"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    filename = "cifar-10-python.tar.gz"
    tgz_md5 = "c58f30108f718f92721af3b95e74349a"
    train_list = (
        ("data_batch_1", "c99cafc152244af753f735de768cd75f"),
        ("data_batch_2", "d4bba439e000b95fd0a9bffe97cbabec"),
        ("data_batch_3", "54ebc095f3ab1f0389bbae665268c751"),
        ("data_batch_4", "634d18415352ddfa80567beed471001a"),
        ("data_batch_5", "482c414d41f54cd18b22e5b47cb7c3cb"),
    )
    test_list = (("test_batch", "40351d587109b95175f43aff81a1287e"),)
    meta_file = "batches.meta"
    label_key = "labels"
    names_key = "label_names"
    classes = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")

    def __init__(self, root: str | None = None, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False):
        super().__init__(root, train, transform, target_transform)
        batches = [name for name, _ in (self.train_list if train else self.test_list)]
        folder = self._locate(batches, download)
        images, labels = [], []
        for name in batches:
            entry = self._load(os.path.join(folder, name))
            key = self.label_key if self.label_key in entry else "labels"
            if "data" not in entry or key not in entry:
                raise ValueError(f"{type(self).__name__}: {name} lacks the 'data' or "
                                 f"'{self.label_key}' entry")
            data = np.asarray(entry["data"], dtype=np.uint8)
            if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(entry[key]):
                raise ValueError(f"{type(self).__name__}: {name} has data of shape {data.shape}"
                                 f" and {len(entry[key])} labels; expected N x 3072 and N")
            images.append(data)
            labels.extend(entry[key])
        self.data = np.vstack(images).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy()
        self._labels = np.asarray(labels, dtype=np.int64)
        self.targets = creation.tensor(self._labels, dtype=DType.int64)
        meta = os.path.join(folder, self.meta_file)
        if os.path.isfile(meta):
            self.classes = list(self._load(meta)[self.names_key])
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    @staticmethod
    def _load(path: str) -> dict:
        with open(path, "rb") as f:
            entry = pickle.load(f, encoding="latin1")
        return {k.decode() if isinstance(k, bytes) else k: v for k, v in entry.items()}

    def _find(self, batches) -> str | None:
        for base in search_roots(self.root, None):
            folder = os.path.join(base, self.base_folder)
            if all(os.path.isfile(os.path.join(folder, b)) for b in batches):
                return folder
        return None

    def _missing_message(self, batches) -> str:
        looked = "\n  ".join(os.path.join(r, self.base_folder)
                             for r in search_roots(self.root, None)) or "(no root given)"
        return (f"{type(self).__name__}: dataset batches {batches} not found. Looked in:\n"
                f"  {looked}\nTo get them: pass root= the folder holding {self.base_folder}/, "
                f"set $EMBER_DATA to it, or pass download=True to fetch {self.url}")

    def download(self) -> str:
        """Downloads and unpacks the archive into root (or $EMBER_DATA).

        Returns:
            The folder holding the batches.
        """
        base = self._download_base()
        archive = download_url([self.url], base, self.filename, self.tgz_md5)
        extract_archive(archive, base)
        folder = os.path.join(base, self.base_folder)
        for name, md5 in self.train_list + self.test_list:
            if not check_md5(os.path.join(folder, name), md5):
                raise RuntimeError(f"{type(self).__name__}: {name} is missing or corrupted "
                                   f"after extracting {archive}")
        return folder
