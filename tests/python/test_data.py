"""Tests of ember.data: datasets, samplers, DataLoader (collation, seeding, worker threads)
and transforms."""

import collections
import threading
import time

import numpy as np
import pytest

import ember as em
from ember.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    get_worker_info,
    random_split,
    transforms,
)


class Range(Dataset):
    def __init__(self, n, delay=0.0):
        self.n, self.delay = n, delay

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        if self.delay:
            time.sleep(self.delay)
        return i


class Stream(IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        info = get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        return self.n


def flat(loader):
    return [v for b in loader for v in b.tolist()]


# ------------------------------------------------------------------ datasets
def test_tensor_dataset_items_and_len():
    x, y = em.arange(12).reshape(6, 2), em.arange(6)
    ds = TensorDataset(x, y)
    assert len(ds) == 6
    a, b = ds[4]
    assert a.tolist() == [8, 9] and b.item() == 4


def test_tensor_dataset_bad_input():
    with pytest.raises(ValueError, match="TensorDataset"):
        TensorDataset(em.zeros(3), em.zeros(4))
    with pytest.raises(TypeError, match="TensorDataset"):
        TensorDataset(np.zeros(3))


def test_subset_and_concat():
    ds = Range(10)
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3 and [sub[i] for i in range(3)] == [7, 2, 5] and sub[-1] == 5
    with pytest.raises(IndexError, match="Subset"):
        sub[3]
    cat = ConcatDataset([Range(3), Range(4)])
    assert len(cat) == 7 and [cat[i] for i in range(7)] == [0, 1, 2, 0, 1, 2, 3]
    assert cat[-1] == 3 and cat.cumulative_sizes == [3, 7]
    assert len(Range(2) + Range(5)) == 7
    with pytest.raises(IndexError, match="ConcatDataset"):
        cat[7]
    with pytest.raises(ValueError, match="ConcatDataset"):
        ConcatDataset([])


def test_random_split_ints_fractions_and_seed():
    ds = Range(10)
    a, b = random_split(ds, [7, 3], generator=0)
    assert len(a) == 7 and len(b) == 3
    assert sorted(a.indices + b.indices) == list(range(10))
    a2, _ = random_split(ds, [7, 3], generator=0)
    assert a.indices == a2.indices
    parts = random_split(Range(11), [0.5, 0.3, 0.2], generator=np.random.default_rng(1))
    assert [len(p) for p in parts] == [6, 3, 2]
    em.manual_seed(5)
    s1 = random_split(ds, [5, 5])[0].indices
    em.manual_seed(5)
    assert random_split(ds, [5, 5])[0].indices == s1


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_random_split_fraction_lengths_match_torch():
    torch = pytest.importorskip("torch")
    for n, fracs in [(11, [0.5, 0.3, 0.2]), (7, [0.1, 0.9]), (100, [1 / 3] * 3), (0, [0.5, 0.5])]:
        theirs = torch.utils.data.random_split(range(n), fracs)
        assert [len(p) for p in random_split(Range(n), fracs)] == [len(p) for p in theirs]


def test_random_split_bad_lengths():
    with pytest.raises(ValueError, match="random_split"):
        random_split(Range(10), [3, 3])
    with pytest.raises(ValueError, match="random_split"):
        random_split(Range(10), [0.5, 0.2])
    with pytest.raises(TypeError, match="random_split"):
        random_split(Range(10), [5, 5], generator="seed")


# ------------------------------------------------------------------ samplers
def test_samplers():
    assert list(SequentialSampler(Range(4))) == [0, 1, 2, 3]
    rs = RandomSampler(Range(9), generator=3)
    e1, e2 = list(rs), list(rs)
    assert sorted(e1) == list(range(9)) and sorted(e2) == list(range(9)) and e1 != e2
    assert [list(RandomSampler(Range(9), generator=3)) for _ in range(2)] == [e1, e1]
    rep = RandomSampler(Range(3), replacement=True, num_samples=20, generator=0)
    assert len(list(rep)) == 20 and set(rep) <= {0, 1, 2}
    assert len(list(RandomSampler(Range(3), num_samples=7, generator=0))) == 7
    bs = BatchSampler(SequentialSampler(Range(7)), 3, drop_last=False)
    assert list(bs) == [[0, 1, 2], [3, 4, 5], [6]] and len(bs) == 3
    bs = BatchSampler(SequentialSampler(Range(7)), 3, drop_last=True)
    assert list(bs) == [[0, 1, 2], [3, 4, 5]] and len(bs) == 2
    with pytest.raises(ValueError, match="batch_size"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="RandomSampler"):
        RandomSampler(Range(3), num_samples=0)


def test_samplers_match_torch_semantics():
    torch = pytest.importorskip("torch")
    tbs = torch.utils.data.BatchSampler(range(10), 4, drop_last=False)
    assert list(BatchSampler(range(10), 4, False)) == list(tbs)
    assert len(BatchSampler(range(10), 4, True)) == len(torch.utils.data.BatchSampler(
        range(10), 4, True))


# ------------------------------------------------------------------ DataLoader basics
def test_loader_order_len_drop_last():
    loader = DataLoader(Range(10), batch_size=4)
    batches = [b.tolist() for b in loader]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]] and len(loader) == 3
    loader = DataLoader(Range(10), batch_size=4, drop_last=True)
    assert [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]] and len(loader) == 2
    assert DataLoader(Range(10), batch_size=None).__len__() == 10
    assert list(DataLoader(Range(3), batch_size=None)) == [0, 1, 2]
    assert len(DataLoader(Range(0), batch_size=3)) == 0 and list(DataLoader(Range(0))) == []


def test_loader_shuffle_seeded_and_new_each_epoch():
    em.manual_seed(7)
    loader = DataLoader(Range(20), batch_size=5, shuffle=True)
    e1, e2 = flat(loader), flat(loader)
    assert sorted(e1) == list(range(20)) and e1 != e2 and e1 != list(range(20))
    em.manual_seed(7)
    assert flat(loader) == e1 and flat(loader) == e2
    g1 = DataLoader(Range(20), batch_size=5, shuffle=True, generator=11)
    g2 = DataLoader(Range(20), batch_size=5, shuffle=True, generator=11)
    assert [flat(g1), flat(g1)] == [flat(g2), flat(g2)]


def test_loader_matches_torch_batching():
    torch = pytest.importorskip("torch")
    x = np.arange(30, dtype=np.float32).reshape(10, 3)
    ours = [b[0].numpy() for b in DataLoader(TensorDataset(em.tensor(x)), batch_size=3,
                                              drop_last=True)]
    theirs = [b[0].numpy() for b in torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x)), batch_size=3, drop_last=True)]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


def test_loader_custom_sampler_and_batch_sampler():
    loader = DataLoader(Range(6), batch_size=2, sampler=[5, 4, 3, 2, 1, 0])
    assert flat(loader) == [5, 4, 3, 2, 1, 0]
    loader = DataLoader(Range(6), batch_sampler=[[0, 5], [1], [2, 3, 4]])
    assert [b.tolist() for b in loader] == [[0, 5], [1], [2, 3, 4]] and len(loader) == 3
    loader = DataLoader(Range(4), batch_size=2, collate_fn=lambda b: sum(b))
    assert list(loader) == [1, 5]


def test_loader_bad_arguments():
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        DataLoader(Range(4), sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler"):
        DataLoader(Range(4), batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(Range(4), num_workers=-1)
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(Range(4), batch_size=0)
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(Range(4), num_workers=1, prefetch_factor=0)
    with pytest.raises(ValueError, match="persistent_workers"):
        DataLoader(Range(4), persistent_workers=True)
    with pytest.raises(ValueError, match="IterableDataset"):
        DataLoader(Stream(4), shuffle=True)
    with pytest.raises(TypeError, match="DataLoader"):
        DataLoader(5)
    with pytest.raises(TypeError, match="generator"):
        list(DataLoader(Range(4), shuffle=True, generator=1.5))


def test_pin_memory_is_accepted_noop():
    loader = DataLoader(Range(4), batch_size=2, pin_memory=True)
    assert loader.pin_memory and flat(loader) == [0, 1, 2, 3]


def test_iterable_dataset_serial_and_len():
    loader = DataLoader(Stream(7), batch_size=3)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5], [6]] and len(loader) == 3
    loader = DataLoader(Stream(7), batch_size=3, drop_last=True)
    assert [b.tolist() for b in loader] == [[0, 1, 2], [3, 4, 5]] and len(loader) == 2
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]
    arrays = list(DataLoader([np.ones(2, np.float32)], batch_size=None))
    assert isinstance(arrays[0], em.Tensor) and arrays[0].shape == (2,)


# ------------------------------------------------------------------ collation
def test_collate_tensors_arrays_numbers():
    out = default_collate([em.ones(2, 3), em.zeros(2, 3)])
    assert out.shape == (2, 2, 3) and out.dtype == em.float32
    out = default_collate([np.ones((2,), np.float64), np.zeros((2,), np.float64)])
    assert out.shape == (2, 2) and out.dtype == em.float64
    out = default_collate([np.ones((2,), np.uint8), np.zeros((2,), np.uint8)])
    assert out.dtype == em.int64 and out.tolist() == [[1, 1], [0, 0]]
    ints = default_collate([1, 2, 3])
    assert ints.dtype == em.int64 and ints.tolist() == [1, 2, 3]
    floats = default_collate([1.5, 2.0])
    assert floats.dtype == em.float64 and floats.tolist() == [1.5, 2.0]
    assert default_collate([True, False]).dtype == em.bool
    assert default_collate([np.float32(1), np.float32(2)]).dtype == em.float32
    assert default_collate(["a", "b"]) == ["a", "b"]


def test_collate_containers():
    batch = [(np.zeros(2, np.float32), 1, "x"), (np.ones(2, np.float32), 2, "y")]
    imgs, labels, names = default_collate(batch)
    assert imgs.shape == (2, 2) and labels.tolist() == [1, 2] and names == ["x", "y"]
    out = default_collate([{"a": 1, "b": [1.0, 2.0]}, {"a": 2, "b": [3.0, 4.0]}])
    assert out["a"].tolist() == [1, 2]
    assert [t.tolist() for t in out["b"]] == [[1.0, 3.0], [2.0, 4.0]]
    Point = collections.namedtuple("Point", "x y")
    p = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(p, Point) and p.x.tolist() == [1, 3] and p.y.tolist() == [2.0, 4.0]


def test_collate_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as tcollate
    batch = [(np.arange(3, dtype=np.float32), 1, 0.5, {"k": 2}),
             (np.arange(3, 6, dtype=np.float32), 2, 1.5, {"k": 3})]
    ours, theirs = default_collate(batch), tcollate(batch)
    assert type(ours) is type(theirs)
    np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
    assert ours[1].tolist() == theirs[1].tolist() and theirs[1].dtype == torch.int64
    assert ours[2].tolist() == theirs[2].tolist() and theirs[2].dtype == torch.float64
    assert ours[2].dtype == em.float64
    assert ours[3]["k"].tolist() == theirs[3]["k"].tolist()


def test_collate_bad_input():
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([object(), object()])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([em.zeros(2), em.zeros(3)])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])
    with pytest.raises(ValueError, match="default_collate"):
        default_collate([])


# ------------------------------------------------------------------ worker threads
def test_workers_keep_order_and_match_serial():
    for n in (1, 3):
        loader = DataLoader(Range(23), batch_size=4, num_workers=n, prefetch_factor=2)
        assert flat(loader) == list(range(23))
    em.manual_seed(3)
    serial = flat(DataLoader(Range(23), batch_size=4, shuffle=True))
    em.manual_seed(3)
    assert flat(DataLoader(Range(23), batch_size=4, shuffle=True, num_workers=2)) == serial


def test_workers_in_order_despite_uneven_fetch_times():
    class Uneven(Range):
        def __getitem__(self, i):
            time.sleep(0.004 * ((i * 7) % 5))
            return i

    loader = DataLoader(Uneven(30), batch_size=2, num_workers=3, prefetch_factor=3,
                        persistent_workers=True, pin_memory=True)
    assert flat(loader) == list(range(30))
    assert list(DataLoader(Uneven(9), batch_size=None, num_workers=4)) == list(range(9))


def test_worker_seeds_distinct_per_worker():
    class Seeds(Range):
        def __getitem__(self, i):
            return get_worker_info().seed

    seeds = flat(DataLoader(Seeds(4), batch_size=1, num_workers=2))
    assert seeds[0] != seeds[1] and seeds[0] == seeds[2]


def test_workers_iterable_sharded_by_worker_info():
    loader = DataLoader(Stream(10), batch_size=2, num_workers=2)
    got = flat(loader)
    assert sorted(got) == list(range(10))
    assert sorted(DataLoader(Stream(4), batch_size=None, num_workers=2)) == [0, 1, 2, 3]


def test_worker_init_fn_and_info():
    seen = []

    class Who(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            info = get_worker_info()
            return info.id

    loader = DataLoader(Who(), batch_size=1, num_workers=3,
                        worker_init_fn=lambda wid: seen.append(wid))
    ids = flat(loader)
    assert sorted(seen) == [0, 1, 2] and ids == [0, 1, 2, 0, 1, 2]
    assert get_worker_info() is None


def test_workers_use_one_kernel_thread_and_leave_main_alone():
    class Threads(Range):
        def __getitem__(self, i):
            return em.get_num_threads()

    main = em.get_num_threads()
    assert flat(DataLoader(Threads(4), batch_size=2, num_workers=2)) == [1, 1, 1, 1]
    assert em.get_num_threads() == main


def test_prefetch_overlaps_consumer():
    delay, n, step = 0.02, 12, 0.02
    ds = Range(n, delay=delay)
    t0 = time.perf_counter()
    for _ in DataLoader(ds, batch_size=1, num_workers=2):
        time.sleep(step)
    threaded = time.perf_counter() - t0
    serial_sum = n * (delay + step)
    # Perfect overlap would take about n * max(delay, step) = half the serial sum.
    assert threaded < 0.8 * serial_sum, (threaded, serial_sum)


def test_prefetch_is_bounded():
    fetched = []

    class Count(Range):
        def __getitem__(self, i):
            fetched.append(i)
            return i

    it = iter(DataLoader(Count(100), batch_size=1, num_workers=2, prefetch_factor=2))
    next(it)
    time.sleep(0.1)
    assert len(fetched) <= 1 + 2 * 2 + 1
    del it


def _worker_threads():
    return [t for t in threading.enumerate() if t.name.startswith("ember-DataLoader")]


def test_early_stop_does_not_hang():
    before = len(_worker_threads())
    for i, _ in enumerate(DataLoader(Range(1000, delay=0.001), batch_size=2, num_workers=3)):
        if i == 2:
            break
    for i, _ in enumerate(DataLoader(Stream(1000), batch_size=2, num_workers=3,
                                     prefetch_factor=1)):
        if i == 2:
            break
    deadline = time.time() + 5
    while len(_worker_threads()) > before and time.time() < deadline:
        time.sleep(0.01)
    assert len(_worker_threads()) == before


def test_worker_error_reraised_with_traceback():
    class Bad(Range):
        def __getitem__(self, i):
            if i == 5:
                raise KeyError("broken sample")
            return i

    before = len(_worker_threads())
    it = iter(DataLoader(Bad(10), batch_size=2, num_workers=2))
    assert next(it).tolist() == [0, 1] and next(it).tolist() == [2, 3]
    with pytest.raises(KeyError, match="worker thread") as info:
        next(it)
    assert "broken sample" in str(info.value) and "Original Traceback" in str(info.value)
    assert "__getitem__" in str(info.value)

    class BadStream(IterableDataset):
        def __iter__(self):
            yield 1
            raise ValueError("stream broke")

    with pytest.raises(ValueError, match="stream broke"):
        list(DataLoader(BadStream(), batch_size=1, num_workers=1))
    with pytest.raises(ZeroDivisionError, match="worker_init_fn"):
        list(DataLoader(Range(4), num_workers=2, worker_init_fn=lambda w: 1 / 0))
    assert len(_worker_threads()) == before


# ------------------------------------------------------------------ transforms
def test_to_tensor_values():
    img = np.arange(12, dtype=np.uint8).reshape(2, 3, 2) * 20
    t = transforms.ToTensor()(img)
    assert t.shape == (2, 2, 3) and t.dtype == em.float32
    np.testing.assert_allclose(t.numpy(), img.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    gray = transforms.ToTensor()(np.full((4, 5), 255, np.uint8))
    assert gray.shape == (1, 4, 5) and float(gray.numpy().min()) == 1.0
    with pytest.raises(ValueError, match="ToTensor"):
        transforms.ToTensor()(np.zeros(3, np.uint8))
    with pytest.raises(TypeError, match="ToTensor"):
        transforms.ToTensor()([1, 2])


def test_to_tensor_and_normalize_match_torch():
    torch = pytest.importorskip("torch")
    img = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    ours = transforms.Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.3])(transforms.ToTensor()(img))
    t = torch.from_numpy(img.transpose(2, 0, 1).astype(np.float32) / 255.0)
    mean = torch.tensor([0.5, 0.4, 0.3]).view(-1, 1, 1)
    std = torch.tensor([0.2, 0.25, 0.3]).view(-1, 1, 1)
    np.testing.assert_allclose(ours.numpy(), ((t - mean) / std).numpy(), rtol=1e-5, atol=1e-6)


def test_normalize_bad_input():
    with pytest.raises(ValueError, match="Normalize"):
        transforms.Normalize([0.5], [0.0])
    with pytest.raises(ValueError, match="Normalize"):
        transforms.Normalize([0.5, 0.5], [1.0, 1.0])(em.zeros(3, 2, 2))
    with pytest.raises(TypeError, match="Normalize"):
        transforms.Normalize([0.5], [1.0])(np.zeros((1, 2, 2)))


def test_random_crop_and_flip():
    img = np.arange(25, dtype=np.uint8).reshape(5, 5)
    em.manual_seed(0)
    out = transforms.RandomCrop(3)(img)
    assert out.shape == (3, 3)
    i, j = divmod(int(out[0, 0]), 5)
    np.testing.assert_array_equal(out, img[i:i + 3, j:j + 3])
    padded = transforms.RandomCrop(5, padding=2)(img)
    assert padded.shape == (5, 5)
    crops = {transforms.RandomCrop(5, padding=2)(img).tobytes() for _ in range(20)}
    assert len(crops) > 1
    t = em.arange(2 * 4 * 4).reshape(2, 4, 4)
    ct = transforms.RandomCrop((2, 3))(t)
    assert ct.shape == (2, 2, 3) and ct.dtype == em.int64
    em.manual_seed(1)
    a = transforms.RandomCrop(3)(img)
    em.manual_seed(1)
    np.testing.assert_array_equal(transforms.RandomCrop(3)(img), a)
    flipped = transforms.RandomHorizontalFlip(p=1.0)(img)
    np.testing.assert_array_equal(flipped, img[:, ::-1])
    assert transforms.RandomHorizontalFlip(p=0.0)(img) is img
    np.testing.assert_array_equal(transforms.RandomHorizontalFlip(1.0)(t).numpy(),
                                  t.numpy()[..., ::-1])
    with pytest.raises(ValueError, match="RandomCrop"):
        transforms.RandomCrop(9)(img)
    with pytest.raises(ValueError, match="RandomHorizontalFlip"):
        transforms.RandomHorizontalFlip(2.0)


def test_compose_and_lambda():
    pipeline = transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda t: t * 2)])
    out = pipeline(np.full((2, 2), 255, np.uint8))
    assert out.shape == (1, 2, 2) and out.numpy().max() == 2.0
    assert "Compose" in repr(pipeline)
    with pytest.raises(TypeError, match="Lambda"):
        transforms.Lambda(3)


def test_loader_with_transformed_dataset_end_to_end():
    class Images(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            img = np.full((4, 4), i * 10, np.uint8)
            return transforms.ToTensor()(img), i

    x, y = next(iter(DataLoader(Images(), batch_size=5, num_workers=2)))
    assert x.shape == (5, 1, 4, 4) and y.tolist() == [0, 1, 2, 3, 4]
