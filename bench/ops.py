"""Per-op CPU timings of ember beside numpy and PyTorch, measured in one run.

Each case first checks ember's result against the reference, then times the
contenders alternately (A B A B ...) after a warm-up and reports medians,
the achieved GFLOP/s or GB/s, and ember's speed relative to each peer
(> 1 means ember is faster).

    python bench/ops.py [--threads N] [--repeats 15] [--json bench/results/ops.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

# Imported by bench/run.py, which sizes the thread pools itself first.
if __name__ == "__main__":
    import _env  # bench/ is sys.path[0] when this runs as a script

    _env.size_thread_pools(_env.threads_from_argv(default=os.cpu_count()))

import numpy as np

import ember as em
import ember.nn.functional as F

try:
    import torch
except ImportError:
    torch = None


def _median_times(fns: dict, repeats: int, warmup: int = 3) -> dict:
    """Median seconds per call of each fn, timed in interleaved rounds."""
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


def _close(a, b, rtol, atol):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                               rtol=rtol, atol=atol)


def cases():
    """(name, unit, amount per call, {contender: fn}, check) for each benchmark."""
    rng = np.random.default_rng(0)
    out = []

    for n in (256, 1024):
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        ea, eb = em.from_numpy(a), em.from_numpy(b)
        fns = {"ember": lambda ea=ea, eb=eb: ea @ eb, "numpy": lambda a=a, b=b: a @ b}
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            fns["torch"] = lambda ta=ta, tb=tb: ta @ tb
        check = (lambda ea=ea, eb=eb, a=a, b=b: _close((ea @ eb).numpy(), a.astype(np.float64) @ b, 1e-3, 1e-2))
        out.append((f"matmul {n}x{n}x{n}", "GFLOP/s", 2 * n**3 / 1e9, fns, check))

    x = rng.standard_normal((64, 32, 28, 28), dtype=np.float32)
    w = rng.standard_normal((64, 32, 3, 3), dtype=np.float32) * 0.1
    ex, ew = em.from_numpy(x), em.from_numpy(w)
    fns = {"ember": lambda: F.conv2d(ex, ew, padding=1)}
    if torch is not None:
        tx, tw = torch.from_numpy(x), torch.from_numpy(w)
        fns["torch"] = lambda: torch.nn.functional.conv2d(tx, tw, padding=1)
        check = lambda: _close(F.conv2d(ex, ew, padding=1).numpy(),
                               torch.nn.functional.conv2d(tx, tw, padding=1).numpy(), 1e-3, 1e-3)
    else:
        check = lambda: None
    flops = 2 * 64 * 64 * 28 * 28 * 32 * 9 / 1e9
    out.append(("conv2d fwd N64 C32 28x28 K64 3x3", "GFLOP/s", flops, fns, check))

    s = rng.standard_normal((4096, 1024), dtype=np.float32)
    es = em.from_numpy(s)

    def np_softmax(v):
        e = np.exp(v - v.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    fns = {"ember": lambda: em.softmax(es, dim=1), "numpy": lambda: np_softmax(s)}
    if torch is not None:
        ts = torch.from_numpy(s)
        fns["torch"] = lambda: torch.softmax(ts, dim=1)
    check = lambda: _close(em.softmax(es, dim=1).numpy(), np_softmax(s.astype(np.float64)), 1e-4, 1e-6)
    out.append(("softmax 4096x1024 dim=1", "GB/s", 2 * s.nbytes / 1e9, fns, check))

    big = rng.standard_normal(1 << 24, dtype=np.float32)
    eb1 = em.from_numpy(big)
    fns = {"ember": lambda: eb1.sum(), "numpy": lambda: big.sum()}
    if torch is not None:
        tb1 = torch.from_numpy(big)
        fns["torch"] = lambda: tb1.sum()
    check = lambda: _close(eb1.sum().item(), big.astype(np.float64).sum(), 1e-4, 1e-2)
    out.append(("sum 16M float32", "GB/s", big.nbytes / 1e9, fns, check))

    y = rng.standard_normal(1 << 24, dtype=np.float32)
    ey = em.from_numpy(y)
    fns = {"ember": lambda: eb1 + ey, "numpy": lambda: big + y}
    if torch is not None:
        ty = torch.from_numpy(y)
        fns["torch"] = lambda: tb1 + ty
    check = lambda: _close((eb1 + ey).numpy(), big + y, 0, 0)
    out.append(("add 16M float32", "GB/s", 3 * big.nbytes / 1e9, fns, check))

    fns = {"ember": lambda: em.relu(eb1), "numpy": lambda: np.maximum(big, 0)}
    if torch is not None:
        fns["torch"] = lambda: torch.relu(tb1)
    check = lambda: _close(em.relu(eb1).numpy(), np.maximum(big, 0), 0, 0)
    out.append(("relu 16M float32", "GB/s", 2 * big.nbytes / 1e9, fns, check))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=int(os.environ["OMP_NUM_THREADS"]),
                        help="threads for every contender (numpy, PyTorch, ember)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    em.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)

    rows = []
    print(f"threads={args.threads}  torch={'yes ' + torch.__version__ if torch else 'absent'}")
    header = f"{'case':36s} {'ember ms':>9s} {'rate':>14s} {'numpy ms':>9s} {'torch ms':>9s} {'vs numpy':>9s} {'vs torch':>9s}"
    print(header)
    print("-" * len(header))
    for name, unit, amount, fns, check in cases():
        check()
        times = _median_times(fns, args.repeats)
        ember_t = times["ember"]
        row = {"case": name, "unit": unit, "ember_ms": ember_t * 1e3,
               "ember_rate": amount / ember_t}
        for peer in ("numpy", "torch"):
            if peer in times:
                row[f"{peer}_ms"] = times[peer] * 1e3
                row[f"speed_vs_{peer}"] = times[peer] / ember_t
        rows.append(row)

        ms = [f"{row[k]:9.3f}" if k in row else f"{'-':>9s}" for k in ("numpy_ms", "torch_ms")]
        ratios = [f"{row[k]:8.2f}x" if k in row else f"{'-':>9s}"
                  for k in ("speed_vs_numpy", "speed_vs_torch")]
        print(f"{name:36s} {ember_t * 1e3:9.3f} {row['ember_rate']:9.1f} {unit:4s} "
              f"{' '.join(ms)} {' '.join(ratios)}")
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"machine": platform.processor() or platform.machine(),
                       "threads": args.threads, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
