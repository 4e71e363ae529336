"""Train a classifier on Fashion-MNIST with ember and report test accuracy.

    python examples/train_fashion_mnist.py                 # small CNN, 4 epochs
    python examples/train_fashion_mnist.py --model mlp --epochs 5

The data: Debian's `dataset-fashion-mnist` package (apt-get install
dataset-fashion-mnist) installs it where ember looks by default; otherwise
pass --data-dir with the four IDX .gz files, or set $EMBER_DATA.

Prints a progress bar per epoch, then the test accuracy and seconds per
epoch; saves the trained weights (and, with matplotlib installed, a PNG of
the loss and accuracy curves) under --out.
"""

from __future__ import annotations

import argparse
import os
import time

import ember as em
from ember import nn
from ember.data import DataLoader
from ember.data.datasets import FashionMNIST
from ember.data.transforms import Compose, Normalize, ToTensor

MEAN, STD = 0.2860, 0.3530  # of the Fashion-MNIST training images


def make_model(kind: str) -> nn.Module:
    """The two models this example trains: an MLP or a small CNN."""
    if kind == "mlp":
        return nn.Sequential(
            nn.Flatten(),
            nn.Linear(28 * 28, 256), nn.ReLU(),
            nn.Linear(256, 128), nn.ReLU(),
            nn.Linear(128, 10),
        )
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.25),
        nn.Linear(128, 10),
    )


def loaders(data_dir: str | None, batch_size: int):
    transform = Compose([ToTensor(), Normalize((MEAN,), (STD,))])
    train = FashionMNIST(root=data_dir, train=True, transform=transform)
    test = FashionMNIST(root=data_dir, train=False, transform=transform)
    return (DataLoader(train, batch_size=batch_size, shuffle=True, num_workers=1),
            DataLoader(test, batch_size=512))


def plot_curves(history: dict, path: str) -> bool:
    """Writes the loss/accuracy curves to `path`; False when matplotlib is absent."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    epochs = range(1, len(history["loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    for key, label in (("loss", "train"), ("val_loss", "test")):
        ax_loss.plot(epochs, history[key], marker="o", label=label)
    for key, label in (("accuracy", "train"), ("val_accuracy", "test")):
        ax_acc.plot(epochs, history[key], marker="o", label=label)
    ax_loss.set(xlabel="epoch", ylabel="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description="Train an MLP or a CNN on Fashion-MNIST.")
    parser.add_argument("--model", choices=("mlp", "cnn"), default="cnn")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--data-dir", default=None, help="folder with the IDX .gz files")
    parser.add_argument("--out", default="runs/fashion_mnist", help="where outputs are saved")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    em.manual_seed(args.seed)
    train_loader, test_loader = loaders(args.data_dir, args.batch_size)
    model = make_model(args.model).to(args.device)
    optimizer = em.optim.Adam(model.parameters(), lr=args.lr)
    os.makedirs(args.out, exist_ok=True)
    checkpoint = os.path.join(args.out, f"{args.model}.safetensors")

    start = time.perf_counter()
    history = em.train.fit(
        model, train_loader, optimizer, nn.CrossEntropyLoss(), epochs=args.epochs,
        val_loader=test_loader, device=args.device,
        callbacks=[em.train.ModelCheckpoint(checkpoint, monitor="val_accuracy", mode="max",
                                            save_best_only=True)],
    )
    seconds = (time.perf_counter() - start) / args.epochs
    accuracy = history.history["val_accuracy"][-1]
    print(f"test accuracy {accuracy:.4f}  ({seconds:.1f} s per epoch, {args.model}, "
          f"{em.get_num_threads()} threads)")
    print(f"best weights saved to {checkpoint}")
    curves = os.path.join(args.out, f"{args.model}_curves.png")
    if plot_curves(history.history, curves):
        print(f"curves saved to {curves}")


if __name__ == "__main__":
    main()
