"""ember.train: Keras-style training loops (fit / evaluate / predict), their
callbacks (checkpoints, early stopping, LR schedules, CSV logs) and History."""

from .callbacks import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LRSchedulerCallback,
    ModelCheckpoint,
)
from .fit import evaluate, fit, predict
from .history import History
from .progress import ProgressLogger

__all__ = [
    "CSVLogger",
    "Callback",
    "EarlyStopping",
    "History",
    "LRSchedulerCallback",
    "ModelCheckpoint",
    "ProgressLogger",
    "evaluate",
    "fit",
    "predict",
]
