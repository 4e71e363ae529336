"""conv2d CPU timings, ember beside PyTorch, per phase and forward+backward.

For each of the benchmark layers, times in one process, interleaved (ember,
torch, ember, torch, ...) after a warm-up, and reports medians in ms:
forward, grad-input, grad-weight (each through the raw kernels:
ember._C.conv2d / conv2d_backward and torch's aten convolution /
convolution_backward) and forward+backward through autograd (conv2d with
bias, then .backward() with a fixed gradient). The ratio column is
torch time / ember time (> 1 means ember is faster).

    OMP_WAIT_POLICY=PASSIVE python bench/conv.py [--threads 2] [--repeats 11]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def _threads_from_argv() -> int:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--threads", type=int, default=2)
    return pre.parse_known_args()[0].threads


THREADS = _threads_from_argv()
os.environ["OMP_NUM_THREADS"] = str(THREADS)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import torch

import ember as em
import ember.nn.functional as F
from ember import _C

# (name, N, C, H, W, K, kernel, stride, padding)
LAYERS = [
    ("N64 C1 28x28 K32 3x3 p1", 64, 1, 28, 28, 32, 3, 1, 1),
    ("N64 C32 28x28 K64 3x3 p1", 64, 32, 28, 28, 64, 3, 1, 1),
    ("N32 C64 32x32 K128 3x3 p1", 32, 64, 32, 32, 128, 3, 1, 1),
    ("N32 C128 16x16 K256 3x3 p1", 32, 128, 16, 16, 256, 3, 1, 1),
    ("N16 C3 224x224 K64 7x7 s2 p3", 16, 3, 224, 224, 64, 7, 2, 3),
]


def _median_times(fns: dict, repeats: int, warmup: int = 2) -> dict:
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - t0)
    return {name: statistics.median(s) for name, s in samples.items()}


def layer_fns(n, c, h, w, k, ks, stride, pad):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    wt = rng.standard_normal((k, c, ks, ks), dtype=np.float32) * 0.1
    b = rng.standard_normal(k, dtype=np.float32)
    ex, ew, eb = em.from_numpy(x), em.from_numpy(wt), em.from_numpy(b)
    tx, tw, tb = torch.from_numpy(x), torch.from_numpy(wt), torch.from_numpy(b)
    out = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad)
    g = rng.standard_normal(tuple(out.shape), dtype=np.float32)
    eg, tg = em.from_numpy(g), torch.from_numpy(g)

    np.testing.assert_allclose(F.conv2d(ex, ew, eb, stride=stride, padding=pad).numpy(),
                               out.numpy(), rtol=1e-3, atol=1e-3)
    raw = [stride, stride], [pad, pad, pad, pad], [1, 1], 1
    e_grads = _C.conv2d_backward(eg._data, ex._data, ew._data, *raw, True, True, True)
    t_grads = torch.ops.aten.convolution_backward(tg, tx, tw, [k], [stride] * 2, [pad] * 2,
                                                  [1, 1], False, [0, 0], 1,
                                                  [True, True, True])
    for e_grad, t_grad in zip(e_grads, t_grads):
        np.testing.assert_allclose(em.Tensor._make(e_grad, False, None, 0).numpy(),
                                   t_grad.numpy(), rtol=2e-3, atol=2e-2)

    def t_bwd(mask):
        return lambda: torch.ops.aten.convolution_backward(
            tg, tx, tw, [k], [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], 1, mask)

    exr, ewr = em.from_numpy(x).requires_grad_(), em.from_numpy(wt).requires_grad_()
    ebr = em.from_numpy(b).requires_grad_()
    txr, twr = tx.clone().requires_grad_(), tw.clone().requires_grad_()
    tbr = tb.clone().requires_grad_()

    def e_train():
        F.conv2d(exr, ewr, ebr, stride=stride, padding=pad).backward(eg)

    def t_train():
        torch.nn.functional.conv2d(txr, twr, tbr, stride=stride, padding=pad).backward(tg)

    return {
        "fwd": (lambda: _C.conv2d(ex._data, ew._data, eb._data, *raw),
                lambda: torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad)),
        "grad_in": (lambda: _C.conv2d_backward(eg._data, ex._data, ew._data, *raw, True, False,
                                               False), t_bwd([True, False, False])),
        "grad_w": (lambda: _C.conv2d_backward(eg._data, ex._data, ew._data, *raw, False, True,
                                              False), t_bwd([False, True, False])),
        "fwd+bwd": (e_train, t_train),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=THREADS)
    parser.add_argument("--repeats", type=int, default=11)
    args = parser.parse_args()
    em.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    print(f"threads={args.threads} torch={torch.__version__} "
          f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    print(f"{'layer':30s} {'phase':8s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>7s}")
    for name, *shape in LAYERS:
        for phase, (e_fn, t_fn) in layer_fns(*shape).items():
            times = _median_times({"ember": e_fn, "torch": t_fn}, args.repeats)
            print(f"{name:30s} {phase:8s} {times['ember'] * 1e3:9.2f} "
                  f"{times['torch'] * 1e3:9.2f} {times['torch'] / times['ember']:6.2f}x",
                  flush=True)


if __name__ == "__main__":
    main()
