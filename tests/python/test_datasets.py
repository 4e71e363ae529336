"""Tests of ember.data.datasets: IDX reading (MNIST/FashionMNIST), CIFAR-10 batches, the
missing-dataset message, and Digits."""

import gzip
import os
import pickle

import numpy as np
import pytest

import ember as em
from ember.data import DataLoader, transforms
from ember.data.datasets import CIFAR10, MNIST, Digits, FashionMNIST, read_idx

SYSTEM_FASHION = "/usr/share/datasets/fashion-mnist"


def write_idx(path, arr, compress):
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int32): 0x0C}
    header = bytes([0, 0, codes[arr.dtype], arr.ndim])
    header += np.asarray(arr.shape, dtype=">u4").tobytes()
    body = arr.astype(arr.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if compress else open
    with opener(path, "wb") as f:
        f.write(header + body)


def make_mnist(folder, n=5, compress=True, prefix="train"):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    ext = ".gz" if compress else ""
    write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte{ext}"), images, compress)
    write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte{ext}"), labels, compress)
    return images, labels


@pytest.fixture
def no_env(monkeypatch):
    monkeypatch.delenv("EMBER_DATA", raising=False)


@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_round_trip(tmp_path, compress):
    arr = np.arange(2 * 3 * 4, dtype=np.int32).reshape(2, 3, 4) - 7
    path = str(tmp_path / ("a.idx" + (".gz" if compress else "")))
    write_idx(path, arr, compress)
    np.testing.assert_array_equal(read_idx(path), arr)


def test_read_idx_bad_files(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="read_idx.*magic"):
        read_idx(str(bad))
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1]) + np.asarray([5], ">u4").tobytes() + b"\x00")
    with pytest.raises(ValueError, match="read_idx"):
        read_idx(str(short))


@pytest.mark.parametrize("compress", [True, False])
def test_mnist_tiny_idx_files(tmp_path, no_env, compress):
    images, labels = make_mnist(str(tmp_path), n=7, compress=compress)
    ds = MNIST(root=str(tmp_path), train=True)
    assert len(ds) == 7 and ds.data.dtype == np.uint8 and ds.data.shape == (7, 28, 28)
    assert ds.targets.dtype == em.int64 and ds.targets.tolist() == labels.tolist()
    img, label = ds[3]
    np.testing.assert_array_equal(img, images[3])
    assert isinstance(label, int) and label == labels[3]


def test_mnist_transforms_and_loader(tmp_path, no_env):
    _, labels = make_mnist(str(tmp_path), n=6, prefix="t10k")
    ds = MNIST(root=str(tmp_path), train=False, transform=transforms.ToTensor(),
               target_transform=lambda y: y + 100)
    x, y = ds[0]
    assert x.shape == (1, 28, 28) and x.dtype == em.float32 and y == labels[0] + 100
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert xb.shape == (4, 1, 28, 28) and yb.tolist() == (labels[:4] + 100).tolist()


def test_mnist_env_var_and_subfolder(tmp_path, monkeypatch):
    folder = tmp_path / "FashionMNIST" / "raw"
    folder.mkdir(parents=True)
    make_mnist(str(folder), n=3)
    monkeypatch.setenv("EMBER_DATA", str(tmp_path))
    monkeypatch.setattr(FashionMNIST, "system_dir", None)
    assert len(FashionMNIST()) == 3


def test_missing_dataset_message(tmp_path, no_env, monkeypatch):
    monkeypatch.setattr(FashionMNIST, "system_dir", str(tmp_path / "nowhere"))
    with pytest.raises(RuntimeError, match="FashionMNIST: dataset files not found") as info:
        FashionMNIST(root=str(tmp_path))
    msg = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in msg
    assert "download=True" in msg and "root=" in msg and "EMBER_DATA" in msg
    assert str(tmp_path) in msg
    with pytest.raises(RuntimeError, match="MNIST: dataset files not found"):
        MNIST(root=str(tmp_path))


def test_download_needs_a_destination(no_env, monkeypatch, tmp_path):
    monkeypatch.setattr(MNIST, "system_dir", str(tmp_path / "nowhere"))
    with pytest.raises(RuntimeError, match="needs root="):
        MNIST(download=True)


def test_inconsistent_files(tmp_path, no_env):
    make_mnist(str(tmp_path), n=4)
    write_idx(str(tmp_path / "train-labels-idx1-ubyte.gz"), np.zeros(3, np.uint8), True)
    with pytest.raises(ValueError, match="MNIST: inconsistent"):
        MNIST(root=str(tmp_path))


@pytest.mark.skipif(not os.path.isfile(os.path.join(SYSTEM_FASHION, "t10k-images-idx3-ubyte.gz")),
                    reason="Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)")
def test_fashion_mnist_real_files(no_env):
    test = FashionMNIST(train=False)
    assert len(test) == 10000 and test.data.shape == (10000, 28, 28)
    counts = np.bincount(test.targets.numpy(), minlength=10)
    assert counts.tolist() == [1000] * 10
    img, label = test[0]
    assert img.dtype == np.uint8 and 0 <= label < 10 and img.max() > 0
    assert test.classes[9] == "Ankle boot"
    train = FashionMNIST(train=True)
    assert len(train) == 60000 and train.targets.shape == (60000,)


def write_cifar(folder, names, n=4, seed=0):
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    written = {}
    for name in names:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, n).tolist()
        with open(os.path.join(folder, name), "wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"data": data, b"labels": labels}, f)
        written[name] = (data, labels)
    with open(os.path.join(folder, "batches.meta"), "wb") as f:
        pickle.dump({b"label_names": [f"class{i}" for i in range(10)]}, f)
    return written


def test_cifar10_batches(tmp_path, no_env):
    folder = str(tmp_path / "cifar-10-batches-py")
    train = write_cifar(folder, [f"data_batch_{i}" for i in range(1, 6)], n=3)
    test = write_cifar(folder, ["test_batch"], n=2, seed=1)
    ds = CIFAR10(str(tmp_path), train=True)
    assert len(ds) == 15 and ds.data.shape == (15, 32, 32, 3) and ds.data.dtype == np.uint8
    data, labels = train["data_batch_2"]
    img, label = ds[4]
    np.testing.assert_array_equal(img, data[1].reshape(3, 32, 32).transpose(1, 2, 0))
    assert label == labels[1] and ds.targets.dtype == em.int64
    assert ds.classes[3] == "class3"
    ts = CIFAR10(str(tmp_path), train=False, transform=transforms.ToTensor())
    x, y = ts[1]
    assert len(ts) == 2 and x.shape == (3, 32, 32) and y == test["test_batch"][1][1]
    np.testing.assert_allclose(x.numpy(), test["test_batch"][0][1].reshape(3, 32, 32) / 255.0,
                               rtol=1e-6)


def test_cifar10_missing_and_bad(tmp_path, no_env):
    with pytest.raises(RuntimeError, match="CIFAR10: dataset batches .* not found"):
        CIFAR10(str(tmp_path))
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    with open(folder / "test_batch", "wb") as f:
        pickle.dump({"data": np.zeros((2, 10), np.uint8), "labels": [0, 1]}, f)
    with pytest.raises(ValueError, match="CIFAR10: test_batch"):
        CIFAR10(str(tmp_path), train=False)


def test_digits():
    pytest.importorskip("sklearn")
    ds = Digits(transform=transforms.ToTensor())
    assert len(ds) == 1797
    x, y = ds[0]
    assert x.shape == (1, 8, 8) and 0 <= y < 10 and float(x.numpy().max()) <= 1.0


def test_digits_without_sklearn(monkeypatch):
    import builtins
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("no sklearn")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="Digits: needs scikit-learn"):
        Digits()
