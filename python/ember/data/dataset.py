"""Datasets: the map-style and iterable bases, TensorDataset, Subset, ConcatDataset,
ChainDataset and random_split."""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Iterable, Iterator, Sequence

from ..tensor import Tensor
from .sampler import as_numpy_generator

__all__ = ["ChainDataset", "ConcatDataset", "Dataset", "IterableDataset", "Subset",
           "TensorDataset", "random_split"]


class Dataset:
    """A map-style dataset: subclasses define __getitem__(index) and usually __len__."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A dataset that is a stream: subclasses define __iter__.

    With DataLoader(num_workers=N), every worker thread iterates its own iter(dataset);
    use data.get_worker_info() inside __iter__ to give each worker a distinct shard.
    """

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must implement __iter__")

    def __add__(self, other: Dataset) -> ChainDataset:
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Item i is the tuple (t[i] for t in tensors).

    Args:
        *tensors: tensors that all have the same size in dim 0.
    """

    def __init__(self, *tensors: Tensor):
        for t in tensors:
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: expected Tensors, got {type(t).__name__}")
            if t.ndim == 0:
                raise ValueError("TensorDataset: tensors must have at least one dimension")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) > 1:
            raise ValueError(f"TensorDataset: size mismatch between tensors: first dims {sizes}")
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0] if self.tensors else 0


def _check_index(name: str, index, n: int) -> int:
    if not isinstance(index, numbers.Integral) or isinstance(index, bool):
        raise TypeError(f"{name}: indices must be integers, got {type(index).__name__}")
    if not -n <= index < n:
        raise IndexError(f"{name}: index {index} is out of range for a dataset of length {n}")
    return int(index) + n if index < 0 else int(index)


class Subset(Dataset):
    """The items of `dataset` at `indices`, in that order.

    Args:
        dataset: the full dataset.
        indices: a sequence of ints (or a 1-D integer Tensor).
    """

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        if isinstance(indices, Tensor):
            indices = indices.tolist()
        self.dataset = dataset
        self.indices = [int(i) for i in indices]

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return [self.dataset[self.indices[i]] for i in idx]
        return self.dataset[self.indices[_check_index("Subset", idx, len(self.indices))]]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """The concatenation of map-style datasets.

    Args:
        datasets: a non-empty iterable of map-style datasets.
    """

    def __init__(self, datasets: Iterable[Dataset]):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset: does not support IterableDataset "
                                "(use ChainDataset)")
        self.cumulative_sizes = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        idx = _check_index("ConcatDataset", idx, len(self))
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Iterates several iterable datasets one after the other.

    Args:
        datasets: the iterable datasets to chain.
    """

    def __init__(self, datasets: Iterable[Dataset]):
        self.datasets = list(datasets)

    def __iter__(self) -> Iterator:
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def _split_lengths(lengths: Sequence, n: int) -> list[int]:
    if not lengths:
        raise ValueError("random_split: lengths must not be empty")
    if all(isinstance(x, float) for x in lengths):
        if not math.isclose(sum(lengths), 1.0) or any(not 0.0 <= f <= 1.0 for f in lengths):
            raise ValueError(f"random_split: fractions must be in [0, 1] and sum to 1, "
                             f"got {list(lengths)}")
        sizes = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        return sizes
    if any(not isinstance(x, numbers.Integral) or isinstance(x, bool) or x < 0
           for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative ints or fractions "
                         f"summing to 1, got {list(lengths)}")
    if sum(lengths) != n:
        raise ValueError(f"random_split: sum of input lengths {sum(lengths)} does not equal "
                         f"the length of the input dataset {n}")
    return [int(x) for x in lengths]


def random_split(dataset: Dataset, lengths: Sequence, generator=None) -> list[Subset]:
    """Splits a dataset into non-overlapping random Subsets.

    Args:
        dataset: the map-style dataset to split.
        lengths: the subset lengths (ints summing to len(dataset)), or fractions summing to 1
            (each gets floor(n * f) items; the remainder is handed out one by one
            round-robin, PyTorch's rule).
        generator: None (draws from ember's default generator, so em.manual_seed makes
            the split reproducible), an int seed, or a numpy.random.Generator.

    Returns:
        A list of Subsets, one per length.
    """
    n = len(dataset)
    sizes = _split_lengths(lengths, n)
    perm = as_numpy_generator(generator, "random_split").permutation(n).tolist()
    out, start = [], 0
    for size in sizes:
        out.append(Subset(dataset, perm[start:start + size]))
        start += size
    return out
