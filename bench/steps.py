"""One training step (zero_grad + forward + loss + backward + SGD) of three
models, ember beside PyTorch: an MLP 784-512-256-10 at batch 128, LeNet-5 at
batch 64 on 28x28 images, and a small CNN (three conv-BatchNorm-ReLU-maxpool
stages of 32/64/128 channels and a linear head) at batch 32 on 32x32x3.

Both start from the same weights (ember's initialisation copied into the
PyTorch model); the check runs three steps of each on one batch and compares
the losses. Times are medians of interleaved steps in ms; the ratio is
PyTorch time / ember time (> 1 means ember is faster).

    python bench/steps.py [--threads 2] [--repeats 21]
"""

from __future__ import annotations

import argparse

# Imported by bench/run.py, which sizes the thread pools itself first.
if __name__ == "__main__":
    import _env  # bench/ is sys.path[0] when this runs as a script

    _env.size_thread_pools(_env.threads_from_argv(default=2))

try:
    from bench._timing import median_times
except ImportError:  # run as a script: bench/ is sys.path[0]
    from _timing import median_times

import numpy as np

import ember as em

try:
    import torch
except ImportError:
    torch = None


def _layers(nn, kind):
    """The model's layers in either framework (nn is ember.nn or torch.nn)."""
    if kind == "mlp":
        return [nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                nn.Linear(256, 10)]
    if kind == "lenet":
        return [nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                nn.Linear(84, 10)]
    layers = []
    for c_in, c_out in ((3, 32), (32, 64), (64, 128)):
        layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                   nn.MaxPool2d(2)]
    return layers + [nn.Flatten(), nn.Linear(128 * 4 * 4, 10)]


# (name, kind, input shape of one batch)
MODELS = [
    ("MLP 784-512-256-10, batch 128", "mlp", (128, 784)),
    ("LeNet-5, batch 64, 28x28", "lenet", (64, 1, 28, 28)),
    ("small CNN 32/64/128, batch 32, 32x32x3", "cnn", (32, 3, 32, 32)),
]


def _pair(kind, shape, seed=0):
    """(ember step, torch step or None) on one fixed batch, same initial weights."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 10, shape[0])
    em.manual_seed(seed)
    model = em.nn.Sequential(*_layers(em.nn, kind))
    opt = em.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    ex, ey = em.from_numpy(x), em.from_numpy(y)
    loss_fn = em.nn.CrossEntropyLoss()

    def ember_step():
        opt.zero_grad()
        loss = loss_fn(model(ex), ey)
        loss.backward()
        opt.step()
        return loss

    torch_step = None
    if torch is not None:
        tmodel = torch.nn.Sequential(*_layers(torch.nn, kind))
        tmodel.load_state_dict({k: torch.from_numpy(np.array(v.numpy()))
                                for k, v in model.state_dict().items()})
        topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        tloss_fn = torch.nn.CrossEntropyLoss()

        def torch_step():
            topt.zero_grad()
            loss = tloss_fn(tmodel(tx), ty)
            loss.backward()
            topt.step()
            return loss

    return ember_step, torch_step


def check(kind, shape):
    """Three steps from the same weights: the losses agree with PyTorch's."""
    ember_step, torch_step = _pair(kind, shape, seed=1)
    losses = [float(ember_step().item()) for _ in range(3)]
    assert all(np.isfinite(losses)), losses
    if torch_step is not None:
        expected = [float(torch_step().item()) for _ in range(3)]
        np.testing.assert_allclose(losses, expected, rtol=2e-4, atol=2e-5)


def step_fns(kind, shape) -> dict:
    ember_step, torch_step = _pair(kind, shape)
    fns = {"ember": ember_step}
    if torch_step is not None:
        fns["torch"] = torch_step
    return fns


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=21)
    args = parser.parse_args()
    em.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    print(f"threads={args.threads}  torch={torch.__version__ if torch else 'absent'}")
    print(f"{'model':40s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>7s}")
    for name, kind, shape in MODELS:
        check(kind, shape)
        times = median_times(step_fns(kind, shape), args.repeats)
        t = times.get("torch")
        ratio = f"{t / times['ember']:6.2f}x" if t else "      -"
        print(f"{name:40s} {times['ember'] * 1e3:9.2f} "
              f"{t * 1e3 if t else float('nan'):9.2f} {ratio}", flush=True)


if __name__ == "__main__":
    main()
