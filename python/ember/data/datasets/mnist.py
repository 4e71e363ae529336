"""MNIST and Fashion-MNIST: the IDX file format read with numpy."""

from __future__ import annotations

import gzip
import os
from collections.abc import Callable

import numpy as np

from ... import creation
from ..._C import DType
from ._base import SplitImages
from ._download import download_url, search_roots

__all__ = ["MNIST", "FashionMNIST", "read_idx"]

# IDX type codes -> numpy dtypes (big-endian, as the format stores them).
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str) -> np.ndarray:
    """Reads an IDX file (raw or .gz) into a numpy array of its stored shape.

    Args:
        path: the file path.

    Returns:
        The array (uint8 for MNIST images and labels).
    """
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"read_idx: {path} is not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path} is truncated (header)")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) - header != count * dtype.itemsize:
        raise ValueError(f"read_idx: {path} holds {len(raw) - header} data bytes, expected "
                         f"{count * dtype.itemsize} for shape {shape}")
    arr = np.frombuffer(raw, dtype=dtype, count=count, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


class MNIST(SplitImages):
    """The MNIST handwritten digits: 60,000 training and 10,000 test 28x28 images.

    The IDX files (train-images-idx3-ubyte[.gz] etc.) are looked for in, in order: root,
    $EMBER_DATA, and the system folder (/usr/share/datasets/mnist), each directly or in a
    <name>/ or <name>/raw/ subfolder.

    Args:
        root: a folder holding the files (or where download=True puts them).
        train: the training split (else the test split).
        transform: applied to each image (a uint8 numpy array 28x28).
        target_transform: applied to each label (a Python int).
        download: fetch the files from the official mirrors into root (or $EMBER_DATA),
            checking their MD5, when they are not found.

    Attributes:
        data: uint8 numpy array N x 28 x 28.
        targets: int64 tensor of N labels.
        classes: the class names.
    """

    mirrors = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
               "http://yann.lecun.com/exdb/mnist/")
    resources = (
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    )
    system_dir = "/usr/share/datasets/mnist"
    apt_package = None
    classes = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five",
               "6 - six", "7 - seven", "8 - eight", "9 - nine")

    def __init__(self, root: str | None = None, train: bool = True,
                 transform: Callable | None = None, target_transform: Callable | None = None,
                 download: bool = False):
        super().__init__(root, train, transform, target_transform)
        prefix = "train" if train else "t10k"
        names = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        folder = self._locate(names, download)
        images = read_idx(self._file(folder, names[0]))
        labels = read_idx(self._file(folder, names[1]))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{type(self).__name__}: inconsistent files in {folder}: images "
                             f"{images.shape}, labels {labels.shape}")
        self.data = images.astype(np.uint8, copy=False)
        self.targets = creation.tensor(labels.astype(np.int64), dtype=DType.int64)
        self._labels = labels.astype(np.int64)

    @classmethod
    def _candidates(cls, root) -> list[str]:
        out = []
        for base in search_roots(root, cls.system_dir):
            out += [base, os.path.join(base, cls.__name__), os.path.join(base, cls.__name__, "raw")]
        return out

    @staticmethod
    def _file(folder: str, name: str) -> str | None:
        for candidate in (name + ".gz", name):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                return path
        return None

    def _find(self, names) -> str | None:
        for folder in self._candidates(self.root):
            if all(self._file(folder, n) for n in names):
                return folder
        return None

    def _missing_message(self, names) -> str:
        name = type(self).__name__
        looked = "\n  ".join(self._candidates(self.root))
        how = [f"pass root= a folder holding {names[0]}[.gz] and {names[1]}[.gz]",
               "set $EMBER_DATA to such a folder",
               f"or pass download=True to fetch them from {self.mirrors[0]}"]
        if self.apt_package:
            how.insert(0, f"install them system-wide: sudo apt-get install {self.apt_package}")
        return (f"{name}: dataset files not found. Looked in:\n  {looked}\nTo get them:\n  - "
                + "\n  - ".join(how))

    def download(self) -> str:
        """Downloads all four files into root (or $EMBER_DATA) / <ClassName>/raw.

        Returns:
            The folder holding them.
        """
        folder = os.path.join(self._download_base(), type(self).__name__, "raw")
        for filename, md5 in self.resources:
            download_url([m + filename for m in self.mirrors], folder, filename, md5)
        return folder


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: 28x28 grayscale clothing images in 10 classes.

    Same interface and search order as MNIST; the system folder is
    /usr/share/datasets/fashion-mnist, where Debian's dataset-fashion-mnist package installs
    the files (sudo apt-get install dataset-fashion-mnist).
    """

    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    resources = (
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    )
    system_dir = "/usr/share/datasets/fashion-mnist"
    apt_package = "dataset-fashion-mnist"
    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")
