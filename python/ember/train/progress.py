"""ProgressLogger: fit()'s console output — a tqdm bar per epoch on a terminal,
one summary line per epoch otherwise (or when tqdm is not installed)."""

from __future__ import annotations

import sys
import time

from .callbacks import Callback

try:
    from tqdm.auto import tqdm as _tqdm
except ImportError:
    _tqdm = None


def format_logs(logs: dict, keys=None) -> str:
    """'loss: 0.1234 - accuracy: 0.9800' for the numeric entries of `logs`."""
    parts = []
    for key in keys if keys is not None else logs:
        value = logs.get(key)
        if isinstance(value, float):
            parts.append(f"{key}: {value:.4g}" if key == "lr" else f"{key}: {value:.4f}")
        elif isinstance(value, int) and not isinstance(value, bool):
            parts.append(f"{key}: {value}")
    return " - ".join(parts)


class ProgressLogger(Callback):
    """Shows training progress; fit() adds one unless verbose=0.

    Args:
        verbose: 0 silent; 1 a progress bar per epoch on a terminal (updated
            every batch with loss, metrics and samples/s) and one line per epoch
            otherwise; 2 always one line per epoch.
        stream: where to write (default: sys.stdout at the time of writing).
    """

    _BATCH_KEYS = ("batch", "size")

    def __init__(self, verbose: int = 1, stream=None):
        super().__init__()
        self.verbose = verbose
        self._stream = stream
        self._bar = None
        self._samples = 0
        self._start = 0.0

    @property
    def stream(self):
        return self._stream if self._stream is not None else sys.stdout

    def _use_bar(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return self.verbose == 1 and _tqdm is not None and callable(isatty) and isatty()

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self._samples = 0
        self._start = time.perf_counter()
        if self._use_bar():
            self._bar = _tqdm(total=self.params.get("steps"), file=self.stream, unit="batch",
                              desc=f"Epoch {epoch + 1}/{self.params.get('epochs', '?')}",
                              leave=True, dynamic_ncols=True)

    def on_batch_end(self, batch: int, logs=None) -> None:
        logs = logs or {}
        self._samples += int(logs.get("size", 0))
        if self._bar is not None:
            postfix = {k: f"{v:.4f}" for k, v in logs.items()
                       if k not in self._BATCH_KEYS and isinstance(v, float)}
            postfix["samples/s"] = f"{self._rate():.0f}"
            self._bar.set_postfix(postfix, refresh=False)
            self._bar.update(1)

    def _rate(self) -> float:
        elapsed = time.perf_counter() - self._start
        return self._samples / elapsed if elapsed > 0 else 0.0

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs or {}
        if self._bar is not None:
            postfix = {k: f"{v:.4g}" if k == "lr" else f"{v:.4f}" for k, v in logs.items()
                       if isinstance(v, float)}
            postfix["samples/s"] = f"{self._rate():.0f}"
            self._bar.set_postfix(postfix)
            self._bar.close()
            self._bar = None
        elif self.verbose:
            elapsed = time.perf_counter() - self._start
            line = (f"Epoch {epoch + 1}/{self.params.get('epochs', '?')} - {elapsed:.2f}s - "
                    f"{format_logs(logs)} - {self._rate():.0f} samples/s")
            print(line, file=self.stream, flush=True)

    def on_train_end(self, logs=None) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
