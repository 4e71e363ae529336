"""conv2d CPU timings, ember beside PyTorch, per phase and forward+backward.

For each of the benchmark layers, times in one process, interleaved (ember,
torch, ember, torch, ...) after a warm-up, and reports medians in ms:
forward, grad-input, grad-weight (each through the raw kernels:
ember._C.conv2d / conv2d_backward and torch's aten convolution /
convolution_backward) and forward+backward through autograd (conv2d with
bias, then .backward() with a fixed gradient). The ratio column is
torch time / ember time (> 1 means ember is faster); each layer is named with
the algorithm ember runs for it (im2col or winograd).

    OMP_WAIT_POLICY=PASSIVE python bench/conv.py [--threads 2] [--repeats 11]
"""

from __future__ import annotations

import argparse
import os
import sys

# Imported by bench/run.py, which sizes the thread pools itself first.
if __name__ == "__main__":
    import _env  # bench/ is sys.path[0] when this runs as a script

    _env.size_thread_pools(_env.threads_from_argv(default=2))

try:
    from bench._timing import median_times
except ImportError:  # run as a script: bench/ is sys.path[0]
    from _timing import median_times

import numpy as np

try:
    import torch
except ImportError:
    torch = None

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


def _check_without_torch(ex, ew, eb, eg, e_grads, stride, pad):
    """Forward against numpy; gradients through bilinearity: <g, conv(x, w)> = <dx, x> = <dw, w>."""
    x, wt = ex.numpy().astype(np.float64), ew.numpy().astype(np.float64)
    ks = wt.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (ks, ks), axis=(2, 3))[:, :, ::stride,
                                                                              ::stride]
    ref = np.einsum("nchwij,kcij->nkhw", win, wt, optimize=True)
    out = F.conv2d(ex, ew, eb, stride=stride, padding=pad).numpy()
    np.testing.assert_allclose(out, ref + eb.numpy()[:, None, None], rtol=1e-3, atol=1e-3)
    terms = eg.numpy().astype(np.float64) * ref
    inner, scale = float(terms.sum()), float(np.abs(terms).sum())
    for grad, value in zip(e_grads[:2], (x, wt)):
        got = float((em.Tensor._make(grad, False, None, 0).numpy() * value).sum())
        np.testing.assert_allclose(got, inner, rtol=0, atol=1e-4 * scale)
    np.testing.assert_allclose(em.Tensor._make(e_grads[2], False, None, 0).numpy(),
                               eg.numpy().sum(axis=(0, 2, 3)), rtol=1e-3, atol=1e-2)


def layer_fns(n, c, h, w, k, ks, stride, pad):
    """{phase: (ember fn, torch fn or None)} for one layer, each result checked first."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, h, w), dtype=np.float32)
    wt = rng.standard_normal((k, c, ks, ks), dtype=np.float32) * 0.1
    b = rng.standard_normal(k, dtype=np.float32)
    ex, ew, eb = em.from_numpy(x), em.from_numpy(wt), em.from_numpy(b)
    ho, wo = (h + 2 * pad - ks) // stride + 1, (w + 2 * pad - ks) // stride + 1
    g = rng.standard_normal((n, k, ho, wo), dtype=np.float32)
    eg = em.from_numpy(g)
    raw = [stride, stride], [pad, pad, pad, pad], [1, 1], 1
    e_grads = _C.conv2d_backward(eg._data, ex._data, ew._data, *raw, True, True, True)

    exr, ewr = em.from_numpy(x).requires_grad_(), em.from_numpy(wt).requires_grad_()
    ebr = em.from_numpy(b).requires_grad_()

    def e_train():
        F.conv2d(exr, ewr, ebr, stride=stride, padding=pad).backward(eg)

    ember_fns = {
        "fwd": lambda: _C.conv2d(ex._data, ew._data, eb._data, *raw),
        "grad_in": lambda: _C.conv2d_backward(eg._data, ex._data, ew._data, *raw, True, False,
                                              False),
        "grad_w": lambda: _C.conv2d_backward(eg._data, ex._data, ew._data, *raw, False, True,
                                             False),
        "fwd+bwd": e_train,
    }
    if torch is None:
        _check_without_torch(ex, ew, eb, eg, e_grads, stride, pad)
        return {phase: (fn, None) for phase, fn in ember_fns.items()}

    tx, tw, tb = torch.from_numpy(x), torch.from_numpy(wt), torch.from_numpy(b)
    tg = torch.from_numpy(g)
    np.testing.assert_allclose(F.conv2d(ex, ew, eb, stride=stride, padding=pad).numpy(),
                               torch.nn.functional.conv2d(tx, tw, tb, stride=stride,
                                                          padding=pad).numpy(),
                               rtol=1e-3, atol=1e-3)
    t_grads = torch.ops.aten.convolution_backward(tg, tx, tw, [k], [stride] * 2, [pad] * 2,
                                                  [1, 1], False, [0, 0], 1,
                                                  [True, True, True])
    for e_grad, t_grad in zip(e_grads, t_grads):
        np.testing.assert_allclose(em.Tensor._make(e_grad, False, None, 0).numpy(),
                                   t_grad.numpy(), rtol=2e-3, atol=2e-2)

    def t_bwd(mask):
        return lambda: torch.ops.aten.convolution_backward(
            tg, tx, tw, [k], [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], 1, mask)

    txr, twr = tx.clone().requires_grad_(), tw.clone().requires_grad_()
    tbr = tb.clone().requires_grad_()

    def t_train():
        torch.nn.functional.conv2d(txr, twr, tbr, stride=stride, padding=pad).backward(tg)

    torch_fns = {
        "fwd": lambda: torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad),
        "grad_in": t_bwd([True, False, False]),
        "grad_w": t_bwd([False, True, False]),
        "fwd+bwd": t_train,
    }
    return {phase: (ember_fns[phase], torch_fns[phase]) for phase in ember_fns}


def layer_gflop(n, c, h, w, k, ks, stride, pad) -> dict:
    """GFLOP per call of each phase (multiply-adds of the convolutions, 2 FLOP each)."""
    ho, wo = (h + 2 * pad - ks) // stride + 1, (w + 2 * pad - ks) // stride + 1
    one = 2 * n * k * ho * wo * c * ks * ks / 1e9
    return {"fwd": one, "grad_in": one, "grad_w": one, "fwd+bwd": 3 * one}


def layer_algorithm(n, c, h, w, k, ks, stride, pad) -> str:
    """The algorithm ember's CPU kernels run for the layer: "winograd" or "im2col"."""
    x, wt = em.empty(n, c, h, w), em.empty(k, c, ks, ks)
    return _C.conv2d_algorithm(x._data, wt._data, [stride], [pad], [1], 1)


def layer_executed_gflop(n, c, h, w, k, ks, stride, pad) -> dict:
    """GFLOP of multiply-adds each phase executes: layer_gflop for im2col; for
    Winograd F(2x2, 3x3), its 16 GEMMs (2 * 16 * C * K per 2x2 tile of the
    phase's output: grad_in's is the input), the transforms left out."""
    if layer_algorithm(n, c, h, w, k, ks, stride, pad) != "winograd":
        return layer_gflop(n, c, h, w, k, ks, stride, pad)
    ho, wo = h + 2 * pad - 2, w + 2 * pad - 2

    def tiled(rows, cols):
        return 2 * 16 * c * k * n * ((rows + 1) // 2) * ((cols + 1) // 2) / 1e9

    fwd, grad_in = tiled(ho, wo), tiled(h, w)
    return {"fwd": fwd, "grad_in": grad_in, "grad_w": fwd, "fwd+bwd": 2 * fwd + grad_in}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=int(os.environ["OMP_NUM_THREADS"]))
    parser.add_argument("--repeats", type=int, default=11)
    args = parser.parse_args()
    if torch is None:
        sys.exit("bench/conv.py needs PyTorch (pip install torch==2.13.0)")
    em.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    print(f"threads={args.threads} torch={torch.__version__} "
          f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    header = "layer, ember's algorithm"
    print(f"{header:39s} {'phase':8s} {'ember ms':>9s} {'torch ms':>9s} {'ratio':>7s}")
    for name, *shape in LAYERS:
        name = f"{name} {layer_algorithm(*shape)}"
        for phase, (e_fn, t_fn) in layer_fns(*shape).items():
            times = median_times({"ember": e_fn, "torch": t_fn}, args.repeats)
            print(f"{name:39s} {phase:8s} {times['ember'] * 1e3:9.2f} "
                  f"{times['torch'] * 1e3:9.2f} {times['torch'] / times['ember']:6.2f}x",
                  flush=True)


if __name__ == "__main__":
    main()
