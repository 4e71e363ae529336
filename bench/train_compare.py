"""ember vs PyTorch training the main example's model on Fashion-MNIST.

Both frameworks start from the same weights (ember's initialisation copied
into the PyTorch model), see the same batches in the same order (in-memory
normalised arrays, one shuffled order per epoch shared by both), and use
Adam with the same settings. Reports test accuracy and seconds per epoch for
each, and the speed ratio (> 1 means ember is faster).

    python bench/train_compare.py [--model cnn|mlp] [--epochs 2] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

import ember as em
from ember.data.datasets import FashionMNIST

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
from train_fashion_mnist import MEAN, STD, make_model


def arrays(data_dir, train):
    ds = FashionMNIST(root=data_dir, train=train)
    x = ((ds.data.astype(np.float32) / 255.0 - MEAN) / STD)[:, None, :, :]
    return np.ascontiguousarray(x), np.asarray(ds.targets, dtype=np.int64)


def torch_model(kind: str, ember_model):
    import torch
    from torch import nn

    if kind == "mlp":
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                              nn.ReLU(), nn.Linear(128, 10))
    else:
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25),
            nn.Linear(128, 10))
    state = {k: torch.from_numpy(np.array(v.numpy())) for k, v in ember_model.state_dict().items()}
    model.load_state_dict(state)
    return model


def train_ember(model, opt, x, y, order, batch):
    """One epoch; returns its seconds."""
    loss_fn = em.nn.CrossEntropyLoss()
    model.train()
    t0 = time.perf_counter()
    for i in range(0, len(order), batch):
        idx = order[i:i + batch]
        xb, yb = em.from_numpy(x[idx]), em.from_numpy(y[idx])
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def train_torch(model, opt, x, y, order, batch):
    """One epoch; returns its seconds."""
    import torch

    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()
    t0 = time.perf_counter()
    for i in range(0, len(order), batch):
        idx = order[i:i + batch]
        xb, yb = torch.from_numpy(x[idx]), torch.from_numpy(y[idx])
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def accuracy_ember(model, x, y):
    model.eval()
    with em.no_grad():
        pred = np.concatenate([model(em.from_numpy(x[i:i + 1000])).argmax(dim=1).numpy()
                               for i in range(0, len(x), 1000)])
    return float((pred == y).mean())


def accuracy_torch(model, x, y):
    import torch

    model.eval()
    with torch.no_grad():
        pred = np.concatenate([model(torch.from_numpy(x[i:i + 1000])).argmax(dim=1).numpy()
                               for i in range(0, len(x), 1000)])
    return float((pred == y).mean())


def compare(model: str = "cnn", epochs: int = 2, batch_size: int = 128, lr: float = 1e-3,
            data_dir: str | None = None) -> dict:
    """Train the model in both frameworks; test accuracy and median seconds per epoch of each."""
    import torch

    x, y = arrays(data_dir, True)
    xt, yt = arrays(data_dir, False)
    rng = np.random.default_rng(0)
    orders = [rng.permutation(len(x)) for _ in range(epochs)]
    em.manual_seed(0)
    ember_model = make_model(model)
    reference = torch_model(model, ember_model)

    # Alternate the frameworks epoch by epoch so machine noise hits both alike.
    ember_opt = em.optim.Adam(ember_model.parameters(), lr=lr)
    torch_opt = torch.optim.Adam(reference.parameters(), lr=lr)
    ember_times, torch_times = [], []
    for order in orders:
        ember_times.append(train_ember(ember_model, ember_opt, x, y, order, batch_size))
        torch_times.append(train_torch(reference, torch_opt, x, y, order, batch_size))
    return {"ember_acc": accuracy_ember(ember_model, xt, yt),
            "torch_acc": accuracy_torch(reference, xt, yt),
            "ember_s_per_epoch": float(np.median(ember_times)),
            "torch_s_per_epoch": float(np.median(torch_times))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("mlp", "cnn"), default="cnn")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--data-dir", default=None)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        sys.exit("train_compare needs PyTorch (pip install torch==2.13.0)")
    em.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)

    r = compare(args.model, args.epochs, args.batch_size, args.lr, args.data_dir)
    e, t = r["ember_s_per_epoch"], r["torch_s_per_epoch"]
    print(f"model={args.model} epochs={args.epochs} batch={args.batch_size} "
          f"threads={args.threads} torch={torch.__version__}")
    print(f"{'':8s} {'test acc':>9s} {'s/epoch':>9s}")
    print(f"{'ember':8s} {r['ember_acc']:9.4f} {e:9.2f}")
    print(f"{'pytorch':8s} {r['torch_acc']:9.4f} {t:9.2f}")
    print(f"ember speed / PyTorch speed: {t / e:.2f}x")


if __name__ == "__main__":
    main()
