"""Samplers: the index orders a DataLoader draws from (sequential, random, batched)."""

from __future__ import annotations

import numbers
from collections.abc import Iterator, Sized

import numpy as np

from .. import creation

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler"]

def _seed_from_ember() -> int:
    """A fresh 62-bit seed drawn from ember's default generator (em.manual_seed drives it)."""
    hi, lo = creation.randint(0, 2**31, (2,)).tolist()
    return (hi << 31) | lo


def as_numpy_generator(generator, name: str) -> np.random.Generator:
    """The numpy Generator a sampler draws from.

    Args:
        generator: None (a new Generator seeded from ember's default generator, so
            em.manual_seed makes the draw reproducible), an int seed, or a numpy Generator
            (used as is, so successive draws continue its stream).
        name: the caller's name, for the error message.

    Returns:
        A numpy.random.Generator.
    """
    if generator is None:
        return np.random.default_rng(_seed_from_ember())
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(f"{name}: generator must be None, an int seed or a numpy.random.Generator, "
                    f"got {type(generator).__name__}")


class _EpochGenerator:
    """Holds a sampler's `generator` argument; hands out the Generator for one epoch.

    An int seed or numpy Generator is turned into one Generator at construction, so each
    epoch continues its stream: the same seed gives the same sequence of epochs, and each
    epoch gets a new order. With None, each epoch seeds a new Generator from ember's.
    """

    def __init__(self, generator, name: str):
        self._rng = None if generator is None else as_numpy_generator(generator, name)

    def next_epoch(self) -> np.random.Generator:
        return self._rng if self._rng is not None else np.random.default_rng(_seed_from_ember())


class Sampler:
    """Base class: an iterable over dataset indices (optionally with a __len__)."""

    def __init__(self, data_source: Sized | None = None):
        pass

    def __iter__(self) -> Iterator[int]:
        raise NotImplementedError


class SequentialSampler(Sampler):
    """Yields 0, 1, ..., len(data_source) - 1.

    Args:
        data_source: the dataset (only its length is used).
    """

    def __init__(self, data_source: Sized):
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """Yields the dataset's indices in a random order, a new one on each pass.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw with replacement (then num_samples may exceed the length).
        num_samples: how many indices per pass (default: len(data_source)).
        generator: None (seeded from ember's generator at each pass), an int seed or a
            numpy Generator (see `as_numpy_generator`).
    """

    def __init__(self, data_source: Sized, replacement: bool = False,
                 num_samples: int | None = None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement must be a bool, got {replacement!r}")
        if num_samples is not None and (not isinstance(num_samples, numbers.Integral)
                                        or isinstance(num_samples, bool) or num_samples <= 0):
            raise ValueError(f"RandomSampler: num_samples must be a positive int, "
                             f"got {num_samples!r}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        self._epochs = _EpochGenerator(generator, "RandomSampler")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else int(self._num_samples)

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        rng = self._epochs.next_epoch()
        if self.replacement:
            if n == 0:
                raise ValueError("RandomSampler: can't sample with replacement from an empty "
                                 "dataset")
            yield from rng.integers(0, n, size=self.num_samples).tolist()
            return
        full, rest = divmod(self.num_samples, n) if n else (0, 0)
        for _ in range(full):
            yield from rng.permutation(n).tolist()
        yield from rng.permutation(n)[:rest].tolist()

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """Yields the given indices in a random order, a new one on each pass.

    Args:
        indices: the indices to permute.
        generator: as for RandomSampler.
    """

    def __init__(self, indices, generator=None):
        self.indices = [int(i) for i in indices]
        self.generator = generator
        self._epochs = _EpochGenerator(generator, "SubsetRandomSampler")

    def __iter__(self) -> Iterator[int]:
        order = self._epochs.next_epoch().permutation(len(self.indices))
        return iter([self.indices[i] for i in order])

    def __len__(self) -> int:
        return len(self.indices)


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of batch_size.

    Args:
        sampler: any iterable of indices.
        batch_size: indices per batch (a positive int).
        drop_last: drop the final batch when it is smaller than batch_size.
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        if (not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool)
                or batch_size <= 0):
            raise ValueError(f"BatchSampler: batch_size should be a positive integer value, "
                             f"but got batch_size={batch_size!r}")
        if not isinstance(drop_last, bool):  # PyTorch raises ValueError here too
            raise ValueError(  # noqa: TRY004
                f"BatchSampler: drop_last should be a boolean value, but got "
                f"drop_last={drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch = []
        for idx in self.sampler:
            batch.append(idx)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
