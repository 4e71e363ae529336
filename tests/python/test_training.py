"""Training on real data: Fashion-MNIST (Debian's dataset-fashion-mnist
package) with the full stack — DataLoader, nn layers, Adam, a cosine
schedule and fit() — on a few thousand images so the suite stays fast."""

import numpy as np
import pytest

import ember as em
from ember import nn
from ember.data.datasets import FashionMNIST

MEAN, STD = 0.2860, 0.3530


def _arrays(train: bool, n: int):
    try:
        ds = FashionMNIST(train=train)
    except (FileNotFoundError, RuntimeError) as err:
        pytest.skip(f"Fashion-MNIST not installed: {err}")
    x = ((ds.data[:n].astype(np.float32) / 255.0 - MEAN) / STD)[:, None]
    return em.tensor(x), em.tensor(np.asarray(ds.targets[:n], dtype=np.int64))


def _train(model, n_train: int, epochs: int) -> float:
    x, y = _arrays(True, n_train)
    x_test, y_test = _arrays(False, 2000)
    loader = em.data.DataLoader(em.data.TensorDataset(x, y), batch_size=64, shuffle=True)
    optimizer = em.optim.Adam(model.parameters(), lr=2e-3)
    schedule = em.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    history = em.train.fit(model, loader, optimizer, nn.CrossEntropyLoss(), epochs=epochs,
                           val_loader=[(x_test, y_test)], verbose=0,
                           callbacks=[em.train.LRSchedulerCallback(schedule)])
    assert history.history["loss"][-1] < history.history["loss"][0]
    return history.history["val_accuracy"][-1]


def test_mlp_reaches_84_percent():
    em.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    assert _train(model, n_train=10_000, epochs=6) >= 0.84


def test_small_cnn_reaches_87_percent():
    em.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10),
    )
    assert _train(model, n_train=12_000, epochs=5) >= 0.87
