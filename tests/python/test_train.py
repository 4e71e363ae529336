"""em.train: fit / evaluate / predict, History, callbacks and progress output.

Tests that train with a real optimizer are in TestWithOptimizer (they need em.optim.SGD);
the rest use a recording optimizer that never changes the weights.
"""

import csv
import io
import math
import os

import numpy as np
import pytest

import ember as em
from ember.train import (
    Callback,
    CSVLogger,
    EarlyStopping,
    LRSchedulerCallback,
    ModelCheckpoint,
    ProgressLogger,
)
from ember.train.fit import accuracy, top5_accuracy

F = em.nn.functional


def blobs(n=96, classes=3, seed=0, batch=16):
    """Well-separated Gaussian blobs in 2-D as a list of (inputs, targets) batches."""
    rng = np.random.default_rng(seed)
    centers = np.array([[4.0, 0.0], [-4.0, 0.0], [0.0, 4.0]])[:classes]
    labels = rng.integers(0, classes, size=n)
    points = centers[labels] + rng.standard_normal((n, 2)) * 0.5
    x = em.from_numpy(points.astype(np.float32))
    y = em.from_numpy(labels.astype(np.int64))
    return [(x[i:i + batch], y[i:i + batch]) for i in range(0, n, batch)]


class RecordingOptimizer:
    """Counts zero_grad/step calls and checks gradients exist at step; never updates."""

    def __init__(self, params, lr=0.5):
        self.params = list(params)
        self.param_groups = [{"params": self.params, "lr": lr}]
        self.calls = []

    def zero_grad(self):
        self.calls.append("zero_grad")
        for p in self.params:
            p.grad = None

    def step(self):
        assert all(p.grad is not None for p in self.params)
        self.calls.append("step")

    def state_dict(self):
        return {"state": {}, "param_groups": [{"lr": self.param_groups[0]["lr"],
                                               "params": list(range(len(self.params)))}]}


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.events = []

    def on_train_begin(self, logs=None):
        self.events.append(("train_begin",))

    def on_train_end(self, logs=None):
        self.events.append(("train_end",))

    def on_epoch_begin(self, epoch, logs=None):
        self.events.append(("epoch_begin", epoch))

    def on_epoch_end(self, epoch, logs=None):
        self.events.append(("epoch_end", epoch, dict(logs)))

    def on_batch_end(self, batch, logs=None):
        self.events.append(("batch_end", batch, dict(logs)))


class ModeProbe(em.nn.Module):
    """A Linear that records the training flag and grad mode of each call."""

    def __init__(self):
        super().__init__()
        self.fc = em.nn.Linear(2, 3)
        self.seen = []

    def forward(self, x):
        self.seen.append((self.training, em.is_grad_enabled()))
        return self.fc(x)


# ---------------------------------------------------------------- loop mechanics
def test_fit_calls_optimizer_and_callbacks_in_order():
    data = blobs(n=40, batch=16)  # 3 batches: 16, 16, 8
    model = em.nn.Linear(2, 3)
    opt = RecordingOptimizer(model.parameters())
    rec = Recorder()
    history = em.train.fit(model, data, opt, F.cross_entropy, epochs=2, callbacks=[rec],
                           verbose=0)
    assert opt.calls == ["zero_grad", "step"] * 6
    kinds = [e[0] for e in rec.events]
    assert kinds == (["train_begin"] + (["epoch_begin"] + ["batch_end"] * 3 + ["epoch_end"]) * 2
                     + ["train_end"])
    batch_logs = [e[2] for e in rec.events if e[0] == "batch_end"]
    assert [b["batch"] for b in batch_logs] == [0, 1, 2, 0, 1, 2]
    assert [b["size"] for b in batch_logs] == [16, 16, 8] * 2
    assert rec.model is model and rec.optimizer is opt
    assert rec.params == {"epochs": 2, "steps": 3, "verbose": 0}
    assert history.epoch == [0, 1]
    assert set(history.history) == {"loss", "accuracy", "lr"}
    assert history.history["lr"] == [0.5, 0.5]


def test_epoch_loss_and_metrics_are_sample_weighted():
    data = blobs(n=40, batch=16)
    model = em.nn.Linear(2, 3)
    history = em.train.fit(model, data, RecordingOptimizer(model.parameters()),
                           F.cross_entropy, epochs=1, verbose=0)
    x = em.cat([b[0] for b in data])
    y = em.cat([b[1] for b in data])
    with em.no_grad():
        out = model(x)
        expected_loss = F.cross_entropy(out, y).item()
    assert history.history["loss"][0] == pytest.approx(expected_loss, rel=1e-5)
    assert history.history["accuracy"][0] == pytest.approx(accuracy(out, y))


def test_fit_modes_and_validation_logs():
    model = ModeProbe()
    data, val = blobs(n=32), blobs(n=20, seed=1, batch=7)
    history = em.train.fit(model, data, RecordingOptimizer(model.parameters()),
                           F.cross_entropy, epochs=1, val_loader=val, verbose=0)
    assert model.seen[:2] == [(True, True), (True, True)]
    assert model.seen[2:] == [(False, False)] * 3
    assert model.training  # evaluate restores the mode
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    expected = em.train.evaluate(model, val, F.cross_entropy)
    assert history.history["val_loss"][0] == pytest.approx(expected["loss"], rel=1e-6)
    assert history.history["val_accuracy"][0] == pytest.approx(expected["accuracy"])


def test_custom_and_named_metrics():
    def mean_output(outputs, targets):
        return float(outputs.detach().numpy().mean())

    model = em.nn.Linear(2, 3)
    history = em.train.fit(model, blobs(n=32), RecordingOptimizer(model.parameters()),
                           F.cross_entropy, metrics=["accuracy", "top5", mean_output], verbose=0)
    assert {"accuracy", "top5", "mean_output"} <= set(history.history)
    assert history.history["top5"] == [1.0]  # 3 classes: always within the top 5


def test_multiple_inputs_are_unpacked():
    class Sum(em.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = em.nn.Linear(2, 3)

        def forward(self, a, b):
            return self.fc(a + b)

    data = [((x, x * 0), y) for x, y in blobs(n=32)]
    model = Sum()
    history = em.train.fit(model, data, RecordingOptimizer(model.parameters()),
                           F.cross_entropy, verbose=0)
    assert len(history.history["loss"]) == 1
    assert em.train.predict(model, data).shape == (32, 3)


def test_stop_training_from_a_batch_callback():
    class StopAfterTwo(Callback):
        def on_batch_end(self, batch, logs=None):
            if batch == 1:
                self.stop_training = True

    model = em.nn.Linear(2, 3)
    opt = RecordingOptimizer(model.parameters())
    history = em.train.fit(model, blobs(n=96), opt, F.cross_entropy, epochs=5,
                           callbacks=[StopAfterTwo()], verbose=0)
    assert opt.calls.count("step") == 2
    assert history.epoch == [0]


def test_zero_epochs_and_generators():
    model = em.nn.Linear(2, 3)
    assert em.train.fit(model, blobs(), RecordingOptimizer(model.parameters()),
                        F.cross_entropy, epochs=0, verbose=0).history == {}
    gen = (b for b in blobs(n=32))
    history = em.train.fit(model, gen, RecordingOptimizer(model.parameters()),
                           F.cross_entropy, verbose=0)
    assert len(history.history["loss"]) == 1


# ---------------------------------------------------------------- metrics
def test_accuracy_multiclass_binary_and_one_hot():
    logits = em.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 1.0], [5.0, 0.0, 0.0]])
    labels = em.tensor([0, 1, 0, 0])
    assert accuracy(logits, labels) == 0.75
    assert accuracy(logits, F.one_hot(labels, 3).float()) == 0.75
    binary = em.tensor([[1.5], [-0.5], [0.2], [-2.0]])
    assert accuracy(binary, em.tensor([[1.0], [0.0], [0.0], [0.0]])) == 0.75
    assert accuracy(binary.reshape(-1), em.tensor([0.0, 0.0, 1.0, 1.0])) == 0.5
    wide = em.arange(0, 70, dtype=em.float32).reshape(10, 7)
    assert top5_accuracy(wide, em.full((10,), 1, dtype=em.int64)) == 0.0
    assert top5_accuracy(wide, em.full((10,), 3, dtype=em.int64)) == 1.0


def test_accuracy_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((53, 7)).astype(np.float32)
    labels = rng.integers(0, 7, size=53)
    ours = accuracy(em.from_numpy(logits), em.from_numpy(labels))
    theirs = (torch.from_numpy(logits).argmax(-1) == torch.from_numpy(labels)).float().mean()
    assert ours == pytest.approx(theirs.item())
    top5 = torch.from_numpy(logits).topk(5, dim=-1).indices
    theirs5 = (top5 == torch.from_numpy(labels)[:, None]).any(-1).float().mean()
    assert top5_accuracy(em.from_numpy(logits), em.from_numpy(labels)) == pytest.approx(
        theirs5.item())


# ---------------------------------------------------------------- evaluate / predict
def test_evaluate_and_predict():
    model = ModeProbe()
    model.eval()
    data = blobs(n=50, batch=16)
    x = em.cat([b[0] for b in data])
    result = em.train.evaluate(model, data, F.cross_entropy, metrics=["accuracy"])
    assert set(result) == {"loss", "accuracy"}
    assert em.train.evaluate(model, data) == {"accuracy": result["accuracy"]}
    assert not model.training
    with em.no_grad():
        expected = model(x).numpy()
    out = em.train.predict(model, data)
    assert not out.requires_grad
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(em.train.predict(model, x).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(em.train.predict(model, x, batch_size=7).numpy(), expected,
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(em.train.predict(model, [b[0] for b in data]).numpy(), expected,
                               rtol=1e-6, atol=1e-6)
    assert all(not grad for _, grad in model.seen)


# ---------------------------------------------------------------- bad input
def test_bad_arguments_raise_clear_errors():
    model = em.nn.Linear(2, 3)
    opt = RecordingOptimizer(model.parameters())
    data = blobs(n=16)
    with pytest.raises(ValueError, match="fit: epochs"):
        em.train.fit(model, data, opt, F.cross_entropy, epochs=-1, verbose=0)
    with pytest.raises(ValueError, match="fit: unknown metric 'f2'"):
        em.train.fit(model, data, opt, F.cross_entropy, metrics=["f2"], verbose=0)
    with pytest.raises(TypeError, match="fit: a metric"):
        em.train.fit(model, data, opt, F.cross_entropy, metrics=[3], verbose=0)
    with pytest.raises(TypeError, match="fit: callbacks"):
        em.train.fit(model, data, opt, F.cross_entropy, callbacks=[print], verbose=0)
    with pytest.raises(TypeError, match="fit: loss_fn"):
        em.train.fit(model, data, opt, "mse", verbose=0)
    with pytest.raises(ValueError, match=r"fit: each batch must be an \(inputs, targets\)"):
        em.train.fit(model, [data[0][0]], opt, F.cross_entropy, verbose=0)
    with pytest.raises(ValueError, match="fit: loss_fn must return a one-element"):
        em.train.fit(model, data, opt, lambda o, t: o, verbose=0)
    with pytest.raises(ValueError, match="evaluate: each batch"):
        em.train.evaluate(model, [(1, 2, 3)])
    with pytest.raises(ValueError, match="predict: batch_size"):
        em.train.predict(model, data[0][0], batch_size=0)
    with pytest.raises(ValueError, match="predict: the data yielded no batches"):
        em.train.predict(model, [])
    with pytest.raises(ValueError, match="top5: needs"):
        top5_accuracy(em.ones(3), em.ones(3))


def test_bad_callback_arguments():
    with pytest.raises(ValueError, match="ModelCheckpoint: mode"):
        ModelCheckpoint("x", mode="best")
    with pytest.raises(ValueError, match="EarlyStopping: patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="ModelCheckpoint: min_delta"):
        ModelCheckpoint("x", min_delta=-1)
    with pytest.raises(TypeError, match="LRSchedulerCallback: the scheduler needs a step"):
        LRSchedulerCallback(object())
    with pytest.raises(ValueError, match="LRSchedulerCallback: interval"):
        LRSchedulerCallback(FakeScheduler(None), interval="step")


# ---------------------------------------------------------------- callbacks (unit)
class FakeScheduler:
    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.calls = []

    def step(self, *args):
        self.calls.append(args)
        if self.optimizer is not None:
            self.optimizer.param_groups[0]["lr"] *= 0.5


def test_lr_scheduler_callback_epoch_batch_and_monitor():
    model = em.nn.Linear(2, 3)
    opt = RecordingOptimizer(model.parameters(), lr=1.0)
    sched = FakeScheduler(opt)
    history = em.train.fit(model, blobs(n=32), opt, F.cross_entropy, epochs=3, verbose=0,
                           callbacks=[LRSchedulerCallback(sched)])
    assert sched.calls == [(), (), ()]
    assert history.history["lr"] == [1.0, 0.5, 0.25]  # lr logged before the epoch's step

    per_batch = FakeScheduler(None)
    em.train.fit(model, blobs(n=32), opt, F.cross_entropy, epochs=2, verbose=0,
                 callbacks=[LRSchedulerCallback(per_batch, interval="batch")])
    assert len(per_batch.calls) == 4

    plateau = FakeScheduler(None)
    history = em.train.fit(model, blobs(n=32), opt, F.cross_entropy, epochs=2, verbose=0,
                           val_loader=blobs(n=16, seed=2),
                           callbacks=[LRSchedulerCallback(plateau, monitor="val_loss")])
    assert [c[0] for c in plateau.calls] == history.history["val_loss"]
    with pytest.raises(KeyError, match="LRSchedulerCallback: 'val_loss' is not in the logs"):
        em.train.fit(model, blobs(n=32), opt, F.cross_entropy, verbose=0,
                     callbacks=[LRSchedulerCallback(plateau, monitor="val_loss")])


def _drive(callback, model, values, key="val_loss", optimizer=None):
    """Runs a callback over epochs whose logs carry `values`; the weights change each epoch."""
    callback.set_context(model, optimizer, {"epochs": len(values)})
    callback.on_train_begin()
    ran = 0
    for epoch, value in enumerate(values):
        with em.no_grad():
            model.weight.fill_(float(epoch))
        callback.on_epoch_end(epoch, {key: value, "loss": 1.0})
        ran += 1
        if callback.stop_training:
            break
    callback.on_train_end()
    return ran


def test_early_stopping_patience_min_delta_and_restore():
    model = em.nn.Linear(2, 1)
    stop = EarlyStopping(patience=2, restore_best_weights=True)
    ran = _drive(stop, model, [1.0, 0.5, 0.6, 0.55, 0.1])
    assert ran == 4 and stop.stopped_epoch == 3 and stop.best_epoch == 1
    assert stop.best == 0.5
    np.testing.assert_array_equal(model.weight.detach().numpy(), np.full((1, 2), 1.0))

    stop = EarlyStopping(patience=0)
    assert _drive(stop, model, [1.0, 1.0, 0.5]) == 2

    stop = EarlyStopping(min_delta=0.1, patience=1)
    assert _drive(stop, model, [1.0, 0.95, 0.92, 0.5]) == 2

    stop = EarlyStopping(monitor="val_accuracy", patience=1, restore_best_weights=True)
    assert stop._monitor.mode == "max"
    assert _drive(stop, model, [0.5, 0.9, 0.8, 0.95], key="val_accuracy") == 3
    np.testing.assert_array_equal(model.weight.detach().numpy(), np.full((1, 2), 1.0))

    stop = EarlyStopping(baseline=0.5, patience=2)
    assert _drive(stop, model, [0.9, 0.8, 0.7, 0.1]) == 2
    stop = EarlyStopping(patience=0, start_from_epoch=2)
    assert _drive(stop, model, [1.0, 2.0, 3.0, 4.0, 5.0]) == 4


def test_early_stopping_missing_monitor_warns():
    model = em.nn.Linear(2, 1)
    stop = EarlyStopping(monitor="val_auc")
    with pytest.warns(UserWarning, match="EarlyStopping: 'val_auc' is not in the logs"):
        assert _drive(stop, model, [1.0, 2.0]) == 2


def test_early_stopping_inside_fit_stops_training():
    model = em.nn.Linear(2, 3)
    opt = RecordingOptimizer(model.parameters())  # weights never change: no improvement
    stop = EarlyStopping(monitor="loss", patience=2)
    history = em.train.fit(model, blobs(n=32), opt, F.cross_entropy, epochs=20, verbose=0,
                           callbacks=[stop])
    assert history.epoch == [0, 1, 2] and stop.stopped_epoch == 2


def test_model_checkpoint_best_only_and_last(tmp_path):
    model = em.nn.Linear(2, 1)
    path = str(tmp_path / "ckpt" / "model-{epoch:02d}-{val_loss:.2f}.safetensors")
    ckpt = ModelCheckpoint(path, save_best_only=True, save_last=True)
    _drive(ckpt, model, [0.9, 0.5, 0.7, 0.3, 0.4])
    files = sorted(os.listdir(tmp_path / "ckpt"))
    assert files == ["last.safetensors", "model-01-0.90.safetensors",
                     "model-02-0.50.safetensors", "model-04-0.30.safetensors"]
    assert ckpt.best == 0.3
    assert ckpt.best_path.endswith("model-04-0.30.safetensors")
    best = em.load(ckpt.best_path)
    assert set(best) == {"weight", "bias"}
    np.testing.assert_array_equal(best["weight"].numpy(), np.full((1, 2), 3.0))
    last = em.load(tmp_path / "ckpt" / "last.safetensors")
    np.testing.assert_array_equal(last["weight"].numpy(), np.full((1, 2), 4.0))
    restored = em.nn.Linear(2, 1)
    restored.load_state_dict(best)
    np.testing.assert_array_equal(restored.weight.detach().numpy(), np.full((1, 2), 3.0))


def test_model_checkpoint_every_epoch_max_mode_and_full_state(tmp_path):
    model = em.nn.Linear(2, 1)
    opt = RecordingOptimizer(model.parameters(), lr=0.25)
    ckpt = ModelCheckpoint(str(tmp_path / "e{epoch}.safetensors"), monitor="val_accuracy",
                           save_weights_only=False, save_last=str(tmp_path / "latest.st"))
    assert ckpt.mode == "max"
    _drive(ckpt, model, [0.2, 0.8, 0.5], key="val_accuracy", optimizer=opt)
    assert sorted(os.listdir(tmp_path)) == ["e1.safetensors", "e2.safetensors",
                                            "e3.safetensors", "latest.st"]
    assert ckpt.best_path.endswith("e2.safetensors")
    full = em.load(tmp_path / "e2.safetensors")
    assert full["epoch"] == 2
    assert full["logs"] == {"val_accuracy": 0.8, "loss": 1.0}
    assert full["optimizer"]["param_groups"][0]["lr"] == 0.25
    np.testing.assert_array_equal(full["model"]["weight"].numpy(), np.full((1, 2), 1.0))


def test_model_checkpoint_unknown_placeholder(tmp_path):
    ckpt = ModelCheckpoint(str(tmp_path / "m-{val_f1}.safetensors"))
    with pytest.raises(KeyError, match="ModelCheckpoint: filepath .* uses 'val_f1'"):
        _drive(ckpt, em.nn.Linear(2, 1), [1.0])


def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    model = em.nn.Linear(2, 3)
    opt = RecordingOptimizer(model.parameters())
    history = em.train.fit(model, blobs(n=32), opt, F.cross_entropy, epochs=3, verbose=0,
                           val_loader=blobs(n=16, seed=1), callbacks=[CSVLogger(str(path))])
    rows = list(csv.DictReader(path.open()))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "lr", "val_accuracy", "val_loss"]
    for key, values in history.history.items():
        assert [float(r[key]) for r in rows] == pytest.approx(values)
    em.train.fit(model, blobs(n=32), opt, F.cross_entropy, epochs=2, verbose=0,
                 val_loader=blobs(n=16, seed=1), callbacks=[CSVLogger(str(path), append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 6 and lines[0].startswith("epoch,")
    em.train.fit(model, blobs(n=32), opt, F.cross_entropy, verbose=0,
                 callbacks=[CSVLogger(str(path), separator=";")])
    assert path.read_text().splitlines()[0] == "epoch;accuracy;loss;lr"


# ---------------------------------------------------------------- progress output
def test_verbose_output_when_not_a_terminal(capsys):
    model = em.nn.Linear(2, 3)
    opt = RecordingOptimizer(model.parameters())
    em.train.fit(model, blobs(n=32), opt, F.cross_entropy, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    em.train.fit(model, blobs(n=32), opt, F.cross_entropy, epochs=2, verbose=1,
                 val_loader=blobs(n=16, seed=1))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("Epoch 1/2 - ")
    for part in ("loss: ", "accuracy: ", "val_loss: ", "val_accuracy: ", "samples/s"):
        assert part in lines[1]


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal():
    pytest.importorskip("tqdm")
    stream = FakeTerminal()
    model = em.nn.Linear(2, 3)
    logger = ProgressLogger(verbose=1, stream=stream)
    em.train.fit(model, blobs(n=48), RecordingOptimizer(model.parameters()), F.cross_entropy,
                 epochs=2, verbose=0, callbacks=[logger])
    text = stream.getvalue()
    assert "Epoch 1/2" in text and "Epoch 2/2" in text
    assert "3/3" in text and "samples/s" in text and "loss" in text


def test_progress_without_tqdm_prints_lines(monkeypatch):
    from ember.train import progress

    monkeypatch.setattr(progress, "_tqdm", None)
    stream = FakeTerminal()
    model = em.nn.Linear(2, 3)
    em.train.fit(model, blobs(n=48), RecordingOptimizer(model.parameters()), F.cross_entropy,
                 epochs=2, verbose=0, callbacks=[ProgressLogger(verbose=1, stream=stream)])
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Epoch 2/2")


# ---------------------------------------------------------------- with a real optimizer
class TestWithOptimizer:
    """Training end to end with em.optim.SGD."""

    def test_fit_reaches_high_accuracy(self):
        em.manual_seed(0)
        model = em.nn.Linear(2, 3)
        opt = em.optim.SGD(model.parameters(), lr=0.1)
        history = em.train.fit(model, blobs(n=192), opt, F.cross_entropy, epochs=8,
                               val_loader=blobs(n=96, seed=5), verbose=0)
        assert history.history["accuracy"][-1] >= 0.95
        assert history.history["val_accuracy"][-1] >= 0.95
        assert history.history["loss"][-1] < history.history["loss"][0]
        assert history.history["lr"] == [0.1] * 8
        result = em.train.evaluate(model, blobs(n=96, seed=9), F.cross_entropy)
        assert result["accuracy"] >= 0.95

    def test_binary_logit_accuracy(self):
        data = [(x, (y == 0).float().reshape(-1, 1)) for x, y in blobs(n=128)]
        model = em.nn.Linear(2, 1)
        opt = em.optim.SGD(model.parameters(), lr=0.5)
        history = em.train.fit(model, data, opt, F.binary_cross_entropy_with_logits, epochs=5,
                               verbose=0)
        assert history.history["accuracy"][-1] >= 0.95

    def test_early_stopping_restores_best_weights(self):
        model = em.nn.Linear(2, 3)
        opt = em.optim.SGD(model.parameters(), lr=0.1)
        ckpt_weights = []

        class Snapshot(Callback):
            def on_epoch_end(self, epoch, logs=None):
                ckpt_weights.append(model.weight.detach().clone().numpy())

        # Labels that are pure noise: validation loss stops improving quickly.
        noisy = [(x, em.from_numpy(np.random.default_rng(i).integers(0, 3, len(y))))
                 for i, (x, y) in enumerate(blobs(n=64))]
        stop = EarlyStopping(patience=1, restore_best_weights=True)
        history = em.train.fit(model, blobs(n=64), opt, F.cross_entropy, epochs=50,
                               val_loader=noisy, callbacks=[stop, Snapshot()], verbose=0)
        assert len(history.epoch) < 50
        best = int(np.argmin(history.history["val_loss"]))
        assert stop.best_epoch == best
        np.testing.assert_array_equal(model.weight.detach().numpy(), ckpt_weights[best])

    def test_checkpoint_round_trip_with_optimizer_state(self, tmp_path):
        model = em.nn.Linear(2, 3)
        opt = em.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        em.train.fit(model, blobs(n=64), opt, F.cross_entropy, epochs=2, verbose=0,
                     callbacks=[ModelCheckpoint(str(tmp_path / "m.safetensors"),
                                                monitor="loss", save_weights_only=False)])
        state = em.load(tmp_path / "m.safetensors")
        assert state["epoch"] == 2
        model2 = em.nn.Linear(2, 3)
        model2.load_state_dict(state["model"])
        opt2 = em.optim.SGD(model2.parameters(), lr=0.5, momentum=0.9)
        opt2.load_state_dict(state["optimizer"])
        assert opt2.param_groups[0]["lr"] == 0.1
        for a, b in zip(model.parameters(), model2.parameters()):
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
        # Resumed training follows the same trajectory bit for bit.
        batch = blobs(n=16, seed=4)
        em.train.fit(model, batch, opt, F.cross_entropy, verbose=0)
        em.train.fit(model2, batch, opt2, F.cross_entropy, verbose=0)
        for a, b in zip(model.parameters(), model2.parameters()):
            np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())

    def test_optimizer_state_dict_save_load(self, tmp_path):
        model = em.nn.Linear(3, 2)
        opt = em.optim.SGD(model.parameters(), lr=0.05, momentum=0.5)
        em.train.fit(model, [(em.randn(4, 3), em.tensor([0, 1, 1, 0]))], opt, F.cross_entropy,
                     verbose=0)
        state = opt.state_dict()
        em.save(state, tmp_path / "opt.safetensors")
        back = em.load(tmp_path / "opt.safetensors")
        assert back["param_groups"] == state["param_groups"]
        assert list(back["state"]) == list(state["state"])
        for key, entry in state["state"].items():
            for name, value in entry.items():
                if isinstance(value, em.Tensor):
                    assert value.numpy().tobytes() == back["state"][key][name].numpy().tobytes()
                else:
                    assert value == back["state"][key][name]
        assert not math.isnan(back["param_groups"][0]["lr"])
