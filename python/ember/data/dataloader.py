"""DataLoader: batching, shuffling, collation, and background prefetch on worker threads."""

from __future__ import annotations

import numbers
import queue
import threading
import traceback
from collections import abc
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .. import creation, cuda
from .._C import DType, set_num_threads
from ..ops.index import stack
from ..tensor import Tensor
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, _seed_from_ember

__all__ = ["DataLoader", "WorkerInfo", "default_collate", "default_convert", "get_worker_info"]

_COLLATE_TYPES = "tensors, numpy arrays, numbers, dicts or lists"
# How often a waiting thread wakes to see whether it should stop (seconds).
_POLL_S = 0.05


def _is_string_array(arr: np.ndarray) -> bool:
    return arr.dtype.kind in "SaUO"


def _array_to_tensor(arr: np.ndarray) -> Tensor:
    """A tensor from a numpy array; dtypes ember lacks (uint8, int16, float16...) are
    widened to int64 / the default float, as em.tensor does."""
    if _is_string_array(arr):
        raise TypeError(f"default_collate: batch must contain {_COLLATE_TYPES}; "
                        f"found numpy dtype {arr.dtype}")
    if arr.dtype in (np.float32, np.float64, np.int64, np.int32, np.bool_):
        return creation.from_numpy(np.ascontiguousarray(arr))
    return creation.tensor(arr)


def _same_container(like, items):
    """items (a dict or list) rebuilt as like's container type, or as is where that type
    cannot be built from it."""
    try:
        return type(like)(items)
    except TypeError:
        return items


def default_convert(data):
    """Converts numpy arrays and numpy scalars to tensors, recursing into dicts, tuples and
    lists; used when DataLoader(batch_size=None) (no batching).

    Args:
        data: one sample.

    Returns:
        The sample with arrays replaced by tensors (sharing memory where the dtype allows).
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, (np.str_,
                                                                              np.bytes_)):
        arr = np.asarray(data)
        return data if _is_string_array(arr) else _array_to_tensor(arr)
    if isinstance(data, (str, bytes)):
        return data
    if isinstance(data, abc.Mapping):
        return _same_container(data, {k: default_convert(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, abc.Sequence):
        return _same_container(data, [default_convert(d) for d in data])
    return data


def pin_memory(data):
    """`data` with every tensor in it moved to page-locked (pinned) memory."""
    if isinstance(data, Tensor):
        return data.pin_memory()
    if isinstance(data, abc.Mapping):
        return _same_container(data, {k: pin_memory(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(pin_memory(d) for d in data))
    if isinstance(data, (list, tuple)):
        return type(data)(pin_memory(d) for d in data)
    return data


class _PinningCollate:
    """A collate_fn that pins what the user's collate_fn returns."""

    def __init__(self, collate_fn):
        self.collate_fn = collate_fn

    def __call__(self, batch):
        return pin_memory(self.collate_fn(batch))


def default_collate(batch):
    """Merges a list of samples into a batch, PyTorch's rules.

    Tensors and numpy arrays are stacked into one tensor with a new leading batch dim
    (numpy dtypes ember lacks, e.g. uint8, become int64 / the default float); Python ints
    become an int64 tensor, floats a float64 tensor, bools a bool tensor; numpy scalars keep
    their dtype; strings and bytes stay a list; dicts are collated per key, namedtuples per
    field, and other sequences element-wise (tuples come back as lists, as in PyTorch).

    Args:
        batch: a non-empty list of samples of one structure.

    Returns:
        The collated batch.
    """
    if not isinstance(batch, abc.Sequence) or isinstance(batch, (str, bytes)):
        batch = list(batch)
    if len(batch) == 0:
        raise ValueError("default_collate: got an empty batch")
    elem = batch[0]
    if isinstance(elem, Tensor):
        shapes = {tuple(t.shape) for t in batch if isinstance(t, Tensor)}
        if len(shapes) > 1:
            raise RuntimeError(f"default_collate: stack expects each tensor to be equal size, "
                               f"got shapes {sorted(shapes)}")
        return stack(batch)
    if isinstance(elem, (np.ndarray, np.generic)) and not isinstance(elem, (np.str_,
                                                                              np.bytes_)):
        shapes = {np.shape(a) for a in batch}
        if len(shapes) > 1:
            raise RuntimeError(f"default_collate: stack expects each array to be equal size, "
                               f"got shapes {sorted(shapes)}")
        return _array_to_tensor(np.stack([np.asarray(a) for a in batch]))
    if isinstance(elem, bool):
        return creation.tensor(batch, dtype=DType.bool)
    if isinstance(elem, numbers.Integral):
        return creation.tensor(batch, dtype=DType.int64)
    if isinstance(elem, numbers.Real):
        return creation.tensor(batch, dtype=DType.float64)
    if isinstance(elem, (str, bytes)):
        return list(batch)
    if isinstance(elem, abc.Mapping):
        return _same_container(elem, {key: default_collate([d[key] for d in batch])
                                      for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(elem, abc.Sequence):
        sizes = {len(e) for e in batch}
        if len(sizes) > 1:
            raise RuntimeError("default_collate: each element in list of batch should be of "
                               f"equal size, got sizes {sorted(sizes)}")
        columns = [default_collate(list(s)) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        return _same_container(elem, columns)
    raise TypeError(f"default_collate: batch must contain {_COLLATE_TYPES}; "
                    f"found {type(elem).__name__}")


@dataclass(frozen=True)
class WorkerInfo:
    """What get_worker_info() returns inside a DataLoader worker thread.

    Attributes:
        id: this worker's index, 0 <= id < num_workers.
        num_workers: how many workers the loader runs.
        seed: base seed of this iteration plus id (for worker-local random streams).
        dataset: the dataset the worker reads.
    """

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_local = threading.local()


def get_worker_info() -> WorkerInfo | None:
    """The WorkerInfo of the calling DataLoader worker thread, or None in the main thread.

    Returns:
        WorkerInfo or None.
    """
    return getattr(_worker_local, "info", None)


class _ExceptionWrapper:
    """An exception caught in a worker, re-raised in the main thread with its traceback."""

    def __init__(self, exc: BaseException, where: str):
        self.exc = exc
        self.exc_type = type(exc)
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.msg = f"Caught {self.exc_type.__name__} in {where}.\nOriginal {tb}"

    def reraise(self):
        try:
            err = self.exc_type(self.msg)
        except Exception:  # noqa: BLE001 - exception types whose constructor differs
            err = RuntimeError(self.msg)
        raise err from self.exc


class _Done:
    """Sentinel: an iterable-dataset worker has no more batches."""


class _Shared:
    """State shared by a threaded iterator and its worker threads.

    Workers hold this, never the iterator itself, so dropping the iterator (a `break` out
    of the loop) lets it be collected and shut the workers down.
    """

    def __init__(self, loader: DataLoader, base_seed: int):
        self.dataset = loader.dataset
        self.collate_fn = loader.collate_fn
        self.auto_collation = loader._auto_collation
        self.batch_size = loader.batch_size
        self.drop_last = loader.drop_last
        self.num_workers = loader.num_workers
        self.worker_init_fn = loader.worker_init_fn
        self.base_seed = base_seed
        self.stop = threading.Event()
        self.cond = threading.Condition()
        self.results: dict[int, object] = {}

    def enter_worker(self, wid: int) -> _ExceptionWrapper | None:
        # One kernel thread per worker, as PyTorch's workers do: the OpenMP count is per
        # calling thread, and each worker's own thread team would otherwise oversubscribe
        # the cores the training step is using.
        set_num_threads(1)
        _worker_local.info = WorkerInfo(wid, self.num_workers, self.base_seed + wid,
                                        self.dataset)
        if self.worker_init_fn is not None:
            try:
                self.worker_init_fn(wid)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                return _ExceptionWrapper(exc, f"worker_init_fn of DataLoader worker thread {wid}")
        return None


def _map_worker(shared: _Shared, wid: int, tasks: queue.Queue) -> None:
    init_error = shared.enter_worker(wid)
    while not shared.stop.is_set():
        task = tasks.get()
        if task is None:
            break
        idx, index = task
        if init_error is not None:
            data = init_error
        else:
            try:
                if shared.auto_collation:
                    items = []
                    for i in index:
                        if shared.stop.is_set():
                            return
                        items.append(shared.dataset[i])
                    data = shared.collate_fn(items)
                else:
                    data = shared.collate_fn(shared.dataset[index])
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                data = _ExceptionWrapper(exc, f"DataLoader worker thread {wid}")
        with shared.cond:
            shared.results[idx] = data
            shared.cond.notify_all()


def _put_unless_stopped(shared: _Shared, out: queue.Queue, item) -> bool:
    while not shared.stop.is_set():
        try:
            out.put(item, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False


def _iterable_worker(shared: _Shared, wid: int, out: queue.Queue) -> None:
    init_error = shared.enter_worker(wid)
    if init_error is not None:
        _put_unless_stopped(shared, out, init_error)
        _put_unless_stopped(shared, out, _Done)
        return
    try:
        it = iter(shared.dataset)
        while not shared.stop.is_set():
            if shared.auto_collation:
                items = []
                for item in it:
                    items.append(item)
                    if len(items) == shared.batch_size or shared.stop.is_set():
                        break
                if not items or (shared.drop_last and len(items) < shared.batch_size):
                    break
                data = shared.collate_fn(items)
            else:
                try:
                    data = shared.collate_fn(next(it))
                except StopIteration:
                    break
            if not _put_unless_stopped(shared, out, data):
                return
    except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
        _put_unless_stopped(shared, out, _ExceptionWrapper(exc, f"DataLoader worker thread {wid}"))
    _put_unless_stopped(shared, out, _Done)


class _SingleThreadIter:
    """num_workers=0: fetch and collate in the calling thread."""

    def __init__(self, loader: DataLoader):
        self._gen = loader._serial_batches()

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._gen)


class _ThreadedIter:
    """num_workers>0: worker threads fetch and collate ahead into a bounded buffer of
    prefetch_factor * num_workers batches; batches come out in sampler order."""

    def __init__(self, loader: DataLoader, base_seed: int):
        self._shared = _Shared(loader, base_seed)
        self._iterable = loader._dataset_kind_iterable
        self._threads: list[threading.Thread] = []
        n = loader.num_workers
        if self._iterable:
            self._queues = [queue.Queue(maxsize=loader.prefetch_factor) for _ in range(n)]
            self._active = list(range(n))
            self._turn = 0
            target = _iterable_worker
        else:
            self._queues = [queue.Queue() for _ in range(n)]
            self._index_iter = iter(loader._index_sampler)
            self._sent = 0
            self._received = 0
            self._exhausted = False
            target = _map_worker
        for wid in range(n):
            t = threading.Thread(target=target, args=(self._shared, wid, self._queues[wid]),
                                 name=f"ember-DataLoader-worker-{wid}", daemon=True)
            t.start()
            self._threads.append(t)
        if not self._iterable:
            for _ in range(loader.prefetch_factor * n):
                self._dispatch()

    def __iter__(self):
        return self

    def _dispatch(self) -> None:
        if self._exhausted:
            return
        try:
            index = next(self._index_iter)
        except StopIteration:
            self._exhausted = True
            return
        self._queues[self._sent % len(self._queues)].put((self._sent, index))
        self._sent += 1

    def _check_alive(self, wid: int) -> None:
        if not self._threads[wid].is_alive():
            self.close()
            raise RuntimeError(f"DataLoader worker thread {wid} exited unexpectedly")

    def _next_map(self):
        if self._received == self._sent:
            self.close()
            raise StopIteration
        idx = self._received
        shared = self._shared
        while True:
            with shared.cond:
                if idx not in shared.results:
                    shared.cond.wait(_POLL_S)
                if idx in shared.results:
                    data = shared.results.pop(idx)
                    break
            # Outside the lock: closing joins workers, which may need it to post results.
            self._check_alive(idx % len(self._threads))
        self._received += 1
        self._dispatch()
        return data

    def _next_iterable(self):
        while self._active:
            self._turn %= len(self._active)
            wid = self._active[self._turn]
            try:
                data = self._queues[wid].get(timeout=_POLL_S)
            except queue.Empty:
                self._check_alive(wid)
                continue
            if data is _Done:
                self._active.pop(self._turn)
                continue
            self._turn += 1
            return data
        self.close()
        raise StopIteration

    def __next__(self):
        if self._shared.stop.is_set():
            raise StopIteration
        data = self._next_iterable() if self._iterable else self._next_map()
        if isinstance(data, _ExceptionWrapper):
            self.close()
            data.reraise()
        return data

    def close(self) -> None:
        """Stops the workers and waits for them (each finishes at most its current item)."""
        self._shared.stop.set()
        if not self._iterable:
            for q in self._queues:
                q.put(None)
        for t in self._threads:
            if t is not threading.current_thread():
                t.join()

    def __del__(self):
        if getattr(self, "_threads", None):
            self.close()


class DataLoader:
    """Iterates a dataset in batches: sampling, collation, optional background prefetch.

    Args:
        dataset: a map-style Dataset (__getitem__/__len__) or an IterableDataset.
        batch_size: samples per batch; None disables batching (items are passed through
            collate_fn one by one, default_convert by default).
        shuffle: a new random order each epoch (map-style datasets only).
        sampler: an iterable of indices (excludes shuffle).
        batch_sampler: an iterable of index lists (excludes batch_size, shuffle, sampler,
            drop_last).
        num_workers: 0 loads in the calling thread; N > 0 starts N worker THREADS that fetch
            and collate batches ahead into a bounded queue, so the next batch is ready when the
            training step ends. Threads overlap the step with I/O, sleeps and numpy work that
            releases the GIL; ember's kernels hold the GIL, so pure-Python/ember loading
            overlaps less.
        collate_fn: merges a list of samples into a batch (default_collate by default).
        pin_memory: put the tensors of each batch in page-locked memory, so that
            `.to("cuda", non_blocking=True)` copies them asynchronously (a no-op without
            a GPU).
        drop_last: drop the last incomplete batch.
        prefetch_factor: batches buffered ahead per worker (with num_workers > 0).
        generator: seeds shuffling: None (ember's default generator, so em.manual_seed makes
            the order reproducible), an int seed or a numpy.random.Generator.
        persistent_workers: accepted (requires num_workers > 0); threads are cheap to start,
            so each epoch starts fresh worker threads and calls worker_init_fn again.
        worker_init_fn: called as worker_init_fn(worker_id) in each worker thread first.
            Each worker thread runs ember kernels on one thread (set_num_threads(1) there,
            as PyTorch does in its workers), leaving the other cores to the main thread.

    Example:
        >>> loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)
        >>> for xb, yb in loader: ...
    """

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = False,
                 sampler: Sampler | None = None, batch_sampler=None, num_workers: int = 0,
                 collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, prefetch_factor: int | None = 2, generator=None,
                 persistent_workers: bool = False, worker_init_fn: Callable | None = None):
        if (not isinstance(num_workers, numbers.Integral) or isinstance(num_workers, bool)
                or num_workers < 0):
            raise ValueError(f"DataLoader: num_workers option should be a non-negative integer, "
                             f"got {num_workers!r}")
        if prefetch_factor is None:
            prefetch_factor = 2
        if (not isinstance(prefetch_factor, numbers.Integral) or isinstance(prefetch_factor, bool)
                or prefetch_factor < 1):
            raise ValueError(f"DataLoader: prefetch_factor option should be a positive integer, "
                             f"got {prefetch_factor!r}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        if batch_size is not None and (not isinstance(batch_size, numbers.Integral)
                                       or isinstance(batch_size, bool) or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size should be a positive integer value or "
                             f"None, got {batch_size!r}")
        if worker_init_fn is not None and not callable(worker_init_fn):
            raise TypeError("DataLoader: worker_init_fn must be callable")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError("DataLoader: collate_fn must be callable")
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in (False, None):
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"shuffle option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 "sampler option")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified "
                                 "batch_sampler option")
        elif not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: dataset must be a map-style dataset (__getitem__) or "
                            f"an IterableDataset, got {type(dataset).__name__}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is "
                             "mutually exclusive with drop_last")

        self.dataset = dataset
        self.num_workers = int(num_workers)
        self.prefetch_factor = int(prefetch_factor)
        self.pin_memory = bool(pin_memory)
        self.persistent_workers = persistent_workers
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.drop_last = drop_last
        self.batch_size = batch_size
        self._dataset_kind_iterable = iterable
        if iterable:
            self.sampler = None
            self.batch_sampler = None
        else:
            if sampler is None:
                sampler = (RandomSampler(dataset, generator=generator) if shuffle
                           else SequentialSampler(dataset))
            if batch_size is not None and batch_sampler is None:
                batch_sampler = BatchSampler(sampler, batch_size, drop_last)
            self.sampler = sampler
            self.batch_sampler = batch_sampler
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        if self.pin_memory and cuda.is_available():
            self.collate_fn = _PinningCollate(collate_fn)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None or (self._dataset_kind_iterable
                                                  and self.batch_size is not None)

    @property
    def _index_sampler(self):
        return self.batch_sampler if self.batch_sampler is not None else self.sampler

    def _serial_batches(self) -> Iterator:
        if self._dataset_kind_iterable:
            it = iter(self.dataset)
            if not self._auto_collation:
                for item in it:
                    yield self.collate_fn(item)
                return
            while True:
                items = []
                for item in it:
                    items.append(item)
                    if len(items) == self.batch_size:
                        break
                if not items or (self.drop_last and len(items) < self.batch_size):
                    return
                yield self.collate_fn(items)
        for index in self._index_sampler:
            if self._auto_collation:
                yield self.collate_fn([self.dataset[i] for i in index])
            else:
                yield self.collate_fn(self.dataset[index])

    def __iter__(self) -> Iterator:
        # Drawn on both paths (as PyTorch does) so a seed gives the same shuffle order
        # whatever num_workers is.
        base_seed = _seed_from_ember()
        if self.num_workers == 0:
            return _SingleThreadIter(self)
        return _ThreadedIter(self, base_seed)

    def __len__(self) -> int:
        """Number of batches per epoch.

        For an IterableDataset this is computed from len(dataset) (TypeError when the
        dataset has no length); with several workers each batches its own stream, so the
        real count can differ.
        """
        if self._dataset_kind_iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self._index_sampler)
