"""Callbacks for fit(): the Callback base class, ModelCheckpoint, EarlyStopping,
LRSchedulerCallback and CSVLogger (Keras's contract, epochs 0-based in hooks)."""

from __future__ import annotations

import csv
import math
import os
import warnings
from typing import Any

__all__ = ["CSVLogger", "Callback", "EarlyStopping", "LRSchedulerCallback", "ModelCheckpoint"]


class Callback:
    """Base class: override the hooks you need; fit() calls them in order.

    fit() sets `model`, `optimizer` and `params` (epochs, steps, verbose)
    before on_train_begin. Setting `stop_training = True` from any hook ends
    training after the current batch.

    Example:
        >>> class PrintLoss(em.train.Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print(epoch, logs["loss"])
    """

    def __init__(self):
        self.model = None
        self.optimizer = None
        self.params: dict[str, Any] = {}
        self.stop_training = False

    def set_context(self, model, optimizer, params: dict[str, Any]) -> None:
        """Called by fit() before training starts."""
        self.model = model
        self.optimizer = optimizer
        self.params = params
        self.stop_training = False

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Before the first epoch."""

    def on_train_end(self, logs: dict | None = None) -> None:
        """After the last epoch (also when training stopped early)."""

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Before each epoch (0-based)."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """After each epoch, with its training and validation results in `logs`."""

    def on_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Before each training batch (0-based within the epoch)."""

    def on_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """After each training batch; `logs` has the batch's loss, size and running metrics."""


def _resolve_mode(mode: str, monitor: str, owner: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode != "auto":
        return mode
    name = monitor.rsplit("val_", 1)[-1]
    return "max" if ("acc" in name or name.startswith(("top", "auc", "f1"))) else "min"


class _Monitor:
    """Tracks the best value of one logged metric."""

    def __init__(self, monitor: str, mode: str, min_delta: float, owner: str):
        if min_delta < 0:
            raise ValueError(f"{owner}: min_delta must be >= 0, got {min_delta}")
        self.monitor = monitor
        self.mode = _resolve_mode(mode, monitor, owner)
        self.min_delta = min_delta
        self.owner = owner
        self.reset()

    def reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf

    def current(self, logs: dict | None) -> float | None:
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{self.owner}: '{self.monitor}' is not in the logs "
                          f"(available: {sorted(logs or {})}); skipping", stacklevel=3)
            return None
        return float(value)

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


def _state_copy(model) -> dict:
    return {key: value.detach().clone() for key, value in model.state_dict().items()}


class _MonitoringCallback(Callback):
    """A callback that tracks one logged metric through the _Monitor in self._monitor."""

    _monitor: _Monitor

    @property
    def monitor(self) -> str:
        return self._monitor.monitor

    @property
    def best(self) -> float:
        return self._monitor.best


class ModelCheckpoint(_MonitoringCallback):
    """Saves the model (with em.save) after epochs.

    Args:
        filepath: where to save; may contain `{epoch}` (1-based) and any logged
            value, e.g. "ckpt/model-{epoch:02d}-{val_loss:.3f}.safetensors".
        monitor: the logged value that decides the best epoch.
        mode: 'min', 'max' or 'auto' (max for accuracy-like names, else min).
        save_best_only: save only when `monitor` improves.
        save_weights_only: save model.state_dict() (True) or a dict with
            "epoch", "model", "optimizer" and "logs" that can resume training.
        save_last: also write the latest epoch to "last" + the file's extension
            beside filepath (True) or to the given path (a string).
        min_delta: the smallest change that counts as an improvement.
        verbose: 1 prints a line when a file is written.

    Attributes:
        best: the best monitored value so far; best_path: where it was saved.
    """

    def __init__(self, filepath: str, monitor: str = "val_loss", mode: str = "auto",
                 save_best_only: bool = False, save_weights_only: bool = True,
                 save_last: bool | str = False, min_delta: float = 0.0, verbose: int = 0):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        if save_last is True:
            root = os.path.splitext(self.filepath)[1] or ".safetensors"
            self.last_path = os.path.join(os.path.dirname(self.filepath), "last" + root)
        else:
            self.last_path = os.fspath(save_last) if save_last else None
        self.verbose = verbose
        self._monitor = _Monitor(monitor, mode, min_delta, "ModelCheckpoint")
        self.best_path: str | None = None

    @property
    def mode(self) -> str:
        return self._monitor.mode

    def on_train_begin(self, logs=None) -> None:
        self._monitor.reset()
        self.best_path = None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        if self.save_best_only:
            value = self._monitor.current(logs)
            if value is not None and self._monitor.improved(value):
                self._monitor.best = value
                self.best_path = self._save(self._format(epoch, logs), epoch, logs)
        else:
            path = self._save(self._format(epoch, logs), epoch, logs)
            value = logs.get(self.monitor)
            if value is not None and self._monitor.improved(float(value)):
                self._monitor.best = float(value)
                self.best_path = path
        if self.last_path is not None:
            self._save(self.last_path, epoch, logs)

    def _format(self, epoch: int, logs: dict) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as err:
            raise KeyError(f"ModelCheckpoint: filepath '{self.filepath}' uses {err}, which is "
                           f"not in the logs (available: epoch, {', '.join(sorted(logs))})"
                           ) from None

    def _save(self, path: str, epoch: int, logs: dict) -> str:
        from ..io import save

        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        if self.save_weights_only:
            obj: Any = self.model.state_dict()
        else:
            obj = {"epoch": epoch + 1, "model": self.model.state_dict(),
                   "optimizer": None if self.optimizer is None else self.optimizer.state_dict(),
                   "logs": dict(logs)}
        save(obj, path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved {path}")
        return path


class EarlyStopping(_MonitoringCallback):
    """Stops training when a monitored value stops improving.

    Args:
        monitor: the logged value to watch (e.g. 'val_loss', 'val_accuracy').
        min_delta: the smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        mode: 'min', 'max' or 'auto'.
        baseline: stop unless the value beats this within `patience` epochs.
        restore_best_weights: at the end of training, load the weights of the
            best epoch back into the model.
        start_from_epoch: epochs to wait before watching.
        verbose: 1 prints a line when training stops.

    Attributes:
        stopped_epoch: the epoch (0-based) training stopped at, else 0.
        best_epoch: the epoch with the best value.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0,
                 verbose: int = 0):
        super().__init__()
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be an int >= 0, got {patience!r}")
        self._monitor = _Monitor(monitor, mode, abs(min_delta), "EarlyStopping")
        self.patience = patience
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self.verbose = verbose
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights: dict | None = None

    def on_train_begin(self, logs=None) -> None:
        self._monitor.reset()
        if self.baseline is not None:
            self._monitor.best = float(self.baseline)
        self.wait = 0
        self.stopped_epoch = 0
        self.best_epoch = 0
        self.best_weights = None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if epoch < self.start_from_epoch:
            return
        value = self._monitor.current(logs)
        if value is None:
            return
        if self._monitor.improved(value):
            self._monitor.best = value
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = _state_copy(self.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.stop_training = True
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping ({self.monitor} did not improve "
                      f"for {self.wait} epochs)")

    def on_train_end(self, logs=None) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
            if self.verbose:
                print(f"Restored the weights of epoch {self.best_epoch + 1}")


class LRSchedulerCallback(Callback):
    """Steps a learning-rate scheduler during fit().

    Args:
        scheduler: any object with step() (em.optim.lr_scheduler.*), or with
            step(metric) when `monitor` is given (ReduceLROnPlateau).
        monitor: the logged value passed to step(), e.g. 'val_loss'.
        interval: 'epoch' (after each epoch) or 'batch' (after each batch).
    """

    def __init__(self, scheduler, monitor: str | None = None, interval: str = "epoch"):
        super().__init__()
        if not callable(getattr(scheduler, "step", None)):
            raise TypeError(f"LRSchedulerCallback: the scheduler needs a step() method, "
                            f"got {type(scheduler).__name__}")
        if interval not in ("epoch", "batch"):
            raise ValueError(f"LRSchedulerCallback: interval must be 'epoch' or 'batch', "
                             f"got {interval!r}")
        if monitor is not None and interval == "batch":
            raise ValueError("LRSchedulerCallback: a monitored scheduler steps per epoch")
        self.scheduler = scheduler
        self.monitor = monitor
        self.interval = interval

    def on_batch_end(self, batch: int, logs=None) -> None:
        if self.interval == "batch":
            self.scheduler.step()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        if self.interval != "epoch":
            return
        if self.monitor is None:
            self.scheduler.step()
            return
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise KeyError(f"LRSchedulerCallback: '{self.monitor}' is not in the logs "
                           f"(available: {sorted(logs or {})})")
        self.scheduler.step(value)


class CSVLogger(Callback):
    """Writes one CSV row per epoch: the epoch (0-based) and every logged value.

    Args:
        filename: the CSV file.
        separator: the field separator.
        append: add to an existing file instead of overwriting it.
    """

    def __init__(self, filename: str, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = append
        self._file = None
        self._writer = None
        self._keys: list[str] | None = None
        self._write_header = True

    def on_train_begin(self, logs=None) -> None:
        has_rows = (self.append and os.path.exists(self.filename)
                    and os.path.getsize(self.filename) > 0)
        # Held open across epochs so each row is appended and flushed as it arrives.
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._keys = None
        self._write_header = not has_rows
        self._writer = None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        if self._keys is None:
            self._keys = sorted(logs)
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch"] + self._keys,
                                          delimiter=self.separator, extrasaction="ignore")
            if self._write_header:
                self._writer.writeheader()
        row = {"epoch": epoch}
        row.update({key: logs.get(key, "") for key in self._keys})
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
