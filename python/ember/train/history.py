"""History: the per-epoch record of losses, metrics and learning rates that fit() returns."""

from __future__ import annotations

from .callbacks import Callback


class History(Callback):
    """Records every epoch's logs, like Keras's History.

    Attributes:
        history: metric name -> list of per-epoch values (loss, accuracy,
            val_loss, val_accuracy, lr, ...).
        epoch: the epoch indices recorded (0-based).
        params: the fit() settings (epochs, steps, verbose).

    Example:
        >>> history = em.train.fit(model, loader, opt, loss_fn, epochs=3)
        >>> history.history["loss"]
        [0.69, 0.41, 0.22]
    """

    def __init__(self):
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None) -> None:
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"
