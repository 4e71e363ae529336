"""fit / evaluate / predict: Keras-style loops over any iterable of
(inputs, targets) batches, with metrics and callbacks."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Callable, Union

import numpy as np

from ..autograd.grad_mode import no_grad
from ..tensor import Tensor
from .callbacks import Callback
from .history import History
from .progress import ProgressLogger

__all__ = ["evaluate", "fit", "predict"]

Metric = Union[str, Callable[[Tensor, Tensor], float]]


# ---------------------------------------------------------------- metrics
def _as_numpy(t: Any) -> np.ndarray:
    if isinstance(t, Tensor):
        return t.detach().cpu().numpy()
    return np.asarray(t)


def _class_targets(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    if targets.shape == outputs.shape and outputs.ndim >= 2:
        return targets.argmax(axis=-1)  # one-hot or probability targets
    return targets.reshape(outputs.shape[:-1])


def accuracy(outputs: Tensor, targets: Tensor) -> float:
    """The fraction of correct predictions: argmax over the last dim of
    multi-class logits, `> 0` for a single logit (binary, targets 0/1)."""
    out, tgt = _as_numpy(outputs), _as_numpy(targets)
    if out.ndim == 0 or out.ndim == 1 or out.shape[-1] == 1:
        pred = out.reshape(-1) > 0
        correct = pred == (tgt.reshape(-1) > 0.5)
    else:
        correct = out.argmax(axis=-1) == _class_targets(out, tgt)
    return float(correct.mean()) if correct.size else 0.0


def top5_accuracy(outputs: Tensor, targets: Tensor) -> float:
    """The fraction of samples whose class is among the 5 largest logits."""
    out, tgt = _as_numpy(outputs), _as_numpy(targets)
    if out.ndim < 2:
        raise ValueError(f"top5: needs (batch, classes) outputs, got shape {list(out.shape)}")
    k = min(5, out.shape[-1])
    top = np.argpartition(-out, k - 1, axis=-1)[..., :k]
    labels = _class_targets(out, tgt)[..., None]
    hits = (top == labels).any(axis=-1)
    return float(hits.mean()) if hits.size else 0.0


_NAMED_METRICS = {"accuracy": accuracy, "acc": accuracy, "top5": top5_accuracy}


def _resolve_metrics(metrics: Iterable[Metric] | None) -> list[tuple[str, Callable]]:
    if metrics is None:
        return []
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    resolved = []
    for metric in metrics:
        if isinstance(metric, str):
            if metric not in _NAMED_METRICS:
                raise ValueError(f"fit: unknown metric {metric!r} (known: "
                                 f"{', '.join(sorted(_NAMED_METRICS))}, or a callable "
                                 "metric(outputs, targets) -> float)")
            resolved.append(("accuracy" if metric == "acc" else metric, _NAMED_METRICS[metric]))
        elif callable(metric):
            resolved.append((getattr(metric, "__name__", type(metric).__name__), metric))
        else:
            raise TypeError(f"fit: a metric must be a name or a callable, got "
                            f"{type(metric).__name__}")
    return resolved


class _Averages:
    """Sample-weighted running means of the loss and metrics over an epoch."""

    def __init__(self):
        self.sums: dict[str, float] = {}
        self.count = 0

    def add(self, values: dict[str, float], size: int) -> None:
        self.count += size
        for key, value in values.items():
            self.sums[key] = self.sums.get(key, 0.0) + value * size

    def means(self, prefix: str = "") -> dict[str, float]:
        n = max(self.count, 1)
        return {prefix + key: total / n for key, total in self.sums.items()}


# ---------------------------------------------------------------- batches
def _split_batch(batch: Any, op: str) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError(f"{op}: each batch must be an (inputs, targets) pair, got "
                     f"{type(batch).__name__}" + (f" of length {len(batch)}"
                                                  if isinstance(batch, (tuple, list)) else ""))


def _move(x: Any, device) -> Any:
    if device is None:
        return x
    if isinstance(x, Tensor):
        return x.to(device)
    if isinstance(x, (tuple, list)):
        return type(x)(_move(v, device) for v in x)
    return x


def _forward(model, inputs: Any):
    if isinstance(inputs, (tuple, list)):
        return model(*inputs)
    return model(inputs)


def _batch_size(targets: Any, inputs: Any) -> int:
    for x in (targets, inputs):
        if isinstance(x, (tuple, list)) and x:
            x = x[0]
        if isinstance(x, Tensor):
            return x.shape[0] if x.ndim else 1
        if hasattr(x, "__len__"):
            return len(x)
    return 1


def _metric_values(outputs, targets, loss, metrics) -> dict[str, float]:
    values = {} if loss is None else {"loss": float(loss.item())}
    for name, fn in metrics:
        values[name] = float(fn(outputs, targets))
    return values


def _steps(loader) -> int | None:
    try:
        return len(loader)
    except TypeError:
        return None


def _check_callable(obj, name: str, op: str) -> None:
    if obj is not None and not callable(obj):
        raise TypeError(f"{op}: {name} must be callable, got {type(obj).__name__}")


# ---------------------------------------------------------------- loops
def fit(model, train_loader: Iterable, optimizer, loss_fn: Callable, epochs: int = 1,
        val_loader: Iterable | None = None, metrics: Sequence[Metric] = ("accuracy",),
        callbacks: Sequence[Callback] = (), device=None, verbose: int = 1) -> History:
    """Trains `model` for `epochs` passes over `train_loader`, Keras-style.

    Each batch: model.train(), optimizer.zero_grad(), loss_fn(model(inputs),
    targets).backward(), optimizer.step(). After each epoch the model is
    evaluated on `val_loader` (if given) under no_grad in eval mode.

    Args:
        model: an em.nn.Module (or any callable with train()/eval()).
        train_loader: an iterable of (inputs, targets) batches, re-iterated every
            epoch (a DataLoader, a list of batches, ...). `inputs` may be a tuple
            of tensors, passed to the model as separate arguments.
        optimizer: an em.optim optimizer (zero_grad(), step(), param_groups).
        loss_fn: loss_fn(outputs, targets) -> scalar Tensor.
        epochs: the number of passes.
        val_loader: batches to evaluate after each epoch (logged as val_*).
        metrics: names ('accuracy', 'top5') or callables metric(outputs, targets)
            -> float, averaged over samples.
        callbacks: Callback instances (ModelCheckpoint, EarlyStopping, ...).
        device: moves the model and every batch there first.
        verbose: 0 silent, 1 progress bar on a terminal (one line per epoch
            otherwise), 2 one line per epoch.

    Returns:
        History whose `.history` maps loss, metric names, val_loss, val_<metric>
        and lr to per-epoch lists.

    Example:
        >>> opt = em.optim.SGD(model.parameters(), lr=0.1)
        >>> h = em.train.fit(model, loader, opt, em.nn.functional.cross_entropy, epochs=5)
        >>> h.history["accuracy"][-1]
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 0:
        raise ValueError(f"fit: epochs must be an int >= 0, got {epochs!r}")
    _check_callable(loss_fn, "loss_fn", "fit")
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"fit: callbacks must be em.train.Callback instances, got "
                            f"{type(cb).__name__}")
    metric_fns = _resolve_metrics(metrics)
    if device is not None:
        model.to(device)
    history = History()
    all_callbacks = list(callbacks) + [history]
    if verbose:
        all_callbacks.append(ProgressLogger(verbose))
    params = {"epochs": epochs, "steps": _steps(train_loader), "verbose": verbose}
    for cb in all_callbacks:
        cb.set_context(model, optimizer, params)

    def stop_requested() -> bool:
        return any(cb.stop_training for cb in all_callbacks)

    for cb in all_callbacks:
        cb.on_train_begin()
    try:
        for epoch in range(epochs):
            for cb in all_callbacks:
                cb.on_epoch_begin(epoch)
            logs = _train_epoch(model, train_loader, optimizer, loss_fn, metric_fns, device,
                                all_callbacks, stop_requested)
            if val_loader is not None:
                logs.update(evaluate(model, val_loader, loss_fn, metrics=metrics, device=device,
                                     prefix="val_"))
            lr = _current_lr(optimizer)
            if lr is not None:
                logs["lr"] = lr
            for cb in all_callbacks:
                cb.on_epoch_end(epoch, logs)
            if stop_requested():
                break
    finally:
        for cb in all_callbacks:
            cb.on_train_end()
    return history


def _train_epoch(model, loader, optimizer, loss_fn, metric_fns, device, callbacks,
                 stop_requested) -> dict[str, float]:
    model.train()
    averages = _Averages()
    for batch_index, batch in enumerate(loader):
        for cb in callbacks:
            cb.on_batch_begin(batch_index)
        inputs, targets = _split_batch(batch, "fit")
        inputs, targets = _move(inputs, device), _move(targets, device)
        optimizer.zero_grad()
        outputs = _forward(model, inputs)
        loss = loss_fn(outputs, targets)
        if not isinstance(loss, Tensor) or loss.numel() != 1:
            raise ValueError(f"fit: loss_fn must return a one-element Tensor, got "
                             f"{_describe(loss)}")
        loss.backward()
        optimizer.step()
        size = _batch_size(targets, inputs)
        averages.add(_metric_values(outputs, targets, loss, metric_fns), size)
        logs = {"batch": batch_index, "size": size, **averages.means()}
        for cb in callbacks:
            cb.on_batch_end(batch_index, logs)
        if stop_requested():
            break
    return averages.means()


def _describe(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"a Tensor of shape {list(value.shape)}"
    return type(value).__name__


def _current_lr(optimizer) -> float | None:
    groups = getattr(optimizer, "param_groups", None)
    if groups and isinstance(groups[0], dict) and "lr" in groups[0]:
        return float(groups[0]["lr"])
    return None


def evaluate(model, loader: Iterable, loss_fn: Callable | None = None,
             metrics: Sequence[Metric] = ("accuracy",), device=None,
             prefix: str = "") -> dict[str, float]:
    """Evaluates `model` on `loader` in eval mode under no_grad.

    Args:
        model: the model.
        loader: an iterable of (inputs, targets) batches.
        loss_fn: loss_fn(outputs, targets) -> scalar Tensor; reported as 'loss'.
        metrics: as for fit().
        device: moves every batch there first.
        prefix: prepended to every key (fit uses 'val_').

    Returns:
        {'loss': ..., 'accuracy': ...}: sample-weighted means over the loader.
        The model's train/eval mode is restored afterwards.
    """
    _check_callable(loss_fn, "loss_fn", "evaluate")
    metric_fns = _resolve_metrics(metrics)
    was_training = getattr(model, "training", False)
    model.eval()
    averages = _Averages()
    try:
        with no_grad():
            for batch in loader:
                inputs, targets = _split_batch(batch, "evaluate")
                inputs, targets = _move(inputs, device), _move(targets, device)
                outputs = _forward(model, inputs)
                loss = None if loss_fn is None else loss_fn(outputs, targets)
                averages.add(_metric_values(outputs, targets, loss, metric_fns),
                             _batch_size(targets, inputs))
    finally:
        model.train(was_training)
    return averages.means(prefix)


def predict(model, data, device=None, batch_size: int | None = None) -> Tensor:
    """Runs `model` over `data` in eval mode under no_grad and concatenates the outputs.

    Args:
        model: the model.
        data: a Tensor (split into `batch_size` rows at a time if given) or an
            iterable of batches; a batch is the inputs, or an (inputs, targets)
            pair whose targets are ignored.
        device: moves the inputs there first.
        batch_size: rows per forward pass when `data` is a Tensor.

    Returns:
        The outputs of every batch, concatenated along dim 0.
    """
    from ..ops.index import cat

    if batch_size is not None and (not isinstance(batch_size, int) or batch_size <= 0):
        raise ValueError(f"predict: batch_size must be a positive int, got {batch_size!r}")
    if isinstance(data, Tensor):
        if batch_size is None or data.ndim == 0:
            batches: Iterable = [data]
        else:
            batches = [data[i:i + batch_size] for i in range(0, data.shape[0], batch_size)]
        with_targets = False
    else:
        batches = data
        with_targets = None
    was_training = getattr(model, "training", False)
    model.eval()
    outputs = []
    try:
        with no_grad():
            for batch in batches:
                if with_targets is None:
                    with_targets = isinstance(batch, (tuple, list)) and len(batch) == 2
                inputs = batch[0] if with_targets else batch
                outputs.append(_forward(model, _move(inputs, device)))
    finally:
        model.train(was_training)
    if not outputs:
        raise ValueError("predict: the data yielded no batches")
    return outputs[0] if len(outputs) == 1 else cat(outputs, 0)
