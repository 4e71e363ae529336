"""Per-op CPU timings of ember beside numpy and PyTorch, measured in one run.

Two groups, the GEMM cases (square sizes 256-4096, every transpose
combination, dgemm, batched, and the shapes deep-learning layers use) and the
memory-bound cases (elementwise, reductions, softmax-like ops, normalisation,
pooling, optimizer updates on DRAM-sized arrays), plus one conv forward. Each
case first checks ember's result against the reference, then times the
contenders alternately (A B A B ...) after a warm-up and reports medians, the
achieved GFLOP/s or GB/s, and ember's speed relative to each peer (> 1 means
ember is faster).

    python bench/ops.py [--threads N] [--repeats 15] [--json bench/results/ops.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform

# Imported by bench/run.py, which sizes the thread pools itself first.
if __name__ == "__main__":
    import _env  # bench/ is sys.path[0] when this runs as a script

    _env.size_thread_pools(_env.threads_from_argv(default=os.cpu_count()))

try:
    from bench._timing import median_times
except ImportError:  # run as a script: bench/ is sys.path[0]
    from _timing import median_times

import numpy as np

import ember as em
import ember.nn.functional as F

try:
    import torch
except ImportError:
    torch = None

# DRAM-sized: 16M float32 = 64 MiB per array, far past the caches.
BIG = 1 << 24


def _close(a, b, rtol, atol):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64),
                               rtol=rtol, atol=atol)


def _t(a):
    return torch.from_numpy(a) if torch is not None else None


def _gemm_case(name, a, b, transpose_a=False, transpose_b=False):
    """a @ b with a or b used transposed (stored the other way round, as a view)."""
    ea, eb = em.from_numpy(a), em.from_numpy(b)
    ta, tb = _t(a), _t(b)

    def view(x, transposed):
        return x.transpose(-1, -2) if transposed else x

    na, nb = np.swapaxes(a, -1, -2) if transpose_a else a, np.swapaxes(b, -1, -2) if transpose_b else b
    fns = {"ember": lambda: view(ea, transpose_a) @ view(eb, transpose_b), "numpy": lambda: na @ nb}
    if torch is not None:
        fns["torch"] = lambda: view(ta, transpose_a) @ view(tb, transpose_b)
    m, k = na.shape[-2:]
    n = nb.shape[-1]
    batch = int(np.prod(na.shape[:-2])) if na.ndim > 2 else 1
    tol = 1e-9 if a.dtype == np.float64 else 1e-3

    def check():
        got = (view(ea, transpose_a) @ view(eb, transpose_b)).numpy()
        ref = na.astype(np.float64) @ nb.astype(np.float64)
        _close(got, ref, tol, tol * np.sqrt(k))

    return name, "GFLOP/s", 2 * batch * m * n * k / 1e9, fns, check


def gemm_cases(quick=False):
    """(name, unit, amount per call, {contender: fn}, check) for each GEMM case."""
    rng = np.random.default_rng(0)

    def mat(*shape, dtype=np.float32):
        return rng.standard_normal(shape).astype(dtype)

    out = []
    for n in (256, 512, 1024, 2048) + (() if quick else (4096,)):
        out.append(_gemm_case(f"sgemm NN {n}", mat(n, n), mat(n, n)))
    n = 1024
    for ta, tb in ((False, True), (True, False), (True, True)):
        code = ("T" if ta else "N") + ("T" if tb else "N")
        out.append(_gemm_case(f"sgemm {code} {n}", mat(n, n), mat(n, n), ta, tb))
    out.append(_gemm_case("dgemm NN 1024", mat(n, n, dtype=np.float64),
                          mat(n, n, dtype=np.float64)))
    out.append(_gemm_case("bmm 32x(256x256x256)", mat(32, 256, 256), mat(32, 256, 256)))
    # M x N x K of the layers that dominate training: linear layers and im2col.
    for m, n, k in ((256, 4096, 1024), (128, 512, 784), (64, 10, 784), (128, 10, 256),
                    (512, 3072, 768), (128, 32768, 576)):
        out.append(_gemm_case(f"sgemm {m}x{n}x{k}", mat(m, k), mat(k, n)))
    return out


def _memory_case(name, nbytes, ember_fn, numpy_fn, torch_fn, check):
    fns = {"ember": ember_fn}
    if numpy_fn is not None:
        fns["numpy"] = numpy_fn
    if torch is not None and torch_fn is not None:
        fns["torch"] = torch_fn
    return name, "GB/s", nbytes / 1e9, fns, check


def memory_cases():
    """The memory-bound cases; GB/s counts each array read or written once."""
    rng = np.random.default_rng(1)
    out = []
    x = rng.standard_normal(BIG, dtype=np.float32)
    y = rng.standard_normal(BIG, dtype=np.float32)
    ex, ey, tx, ty = em.from_numpy(x), em.from_numpy(y), _t(x), _t(y)
    nb = x.nbytes

    out.append(_memory_case("add 16M", 3 * nb, lambda: ex + ey, lambda: x + y,
                            lambda: tx + ty, lambda: _close((ex + ey).numpy(), x + y, 0, 0)))
    out.append(_memory_case("relu 16M", 2 * nb, lambda: em.relu(ex), lambda: np.maximum(x, 0),
                            lambda: torch.relu(tx),
                            lambda: _close(em.relu(ex).numpy(), np.maximum(x, 0), 0, 0)))
    out.append(_memory_case("sum 16M", nb, lambda: ex.sum(), lambda: x.sum(), lambda: tx.sum(),
                            lambda: _close(ex.sum().item(), x.astype(np.float64).sum(), 1e-4, 1e-2)))

    rows = x.reshape(4096, 4096)
    er, tr = em.from_numpy(rows), _t(rows)
    out.append(_memory_case("sum rows 4096x4096 dim=1", nb, lambda: er.sum(dim=1),
                            lambda: rows.sum(axis=1), lambda: tr.sum(dim=1),
                            lambda: _close(er.sum(dim=1).numpy(),
                                           rows.astype(np.float64).sum(axis=1), 1e-4, 1e-3)))

    logits = x.reshape(16384, 1024)
    el, tl = em.from_numpy(logits), _t(logits)

    def np_log_softmax(v):
        v = v.astype(np.float64)
        shifted = v - v.max(axis=1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))

    out.append(_memory_case("softmax 16384x1024", 2 * nb, lambda: em.softmax(el, dim=1), None,
                            lambda: torch.softmax(tl, dim=1),
                            lambda: _close(em.softmax(el, dim=1).numpy(),
                                           np.exp(np_log_softmax(logits)), 1e-4, 1e-6)))
    out.append(_memory_case("log_softmax 16384x1024", 2 * nb, lambda: em.log_softmax(el, dim=1),
                            None, lambda: torch.log_softmax(tl, dim=1),
                            lambda: _close(em.log_softmax(el, dim=1).numpy(),
                                           np_log_softmax(logits), 1e-5, 1e-4)))
    target = rng.integers(0, 1024, 16384)
    et, tt = em.from_numpy(target), _t(target)
    out.append(_memory_case("cross_entropy 16384x1024", nb, lambda: F.cross_entropy(el, et), None,
                            lambda: torch.nn.functional.cross_entropy(tl, tt),
                            lambda: _close(F.cross_entropy(el, et).item(),
                                           -np_log_softmax(logits)[np.arange(16384), target].mean(),
                                           1e-5, 1e-5)))

    images = x.reshape(64, 64, 64, 64)
    ei, ti = em.from_numpy(images), _t(images)
    gamma, beta = np.ones(64, np.float32), np.zeros(64, np.float32)
    eg, eb, tg, tb = em.from_numpy(gamma), em.from_numpy(beta), _t(gamma), _t(beta)

    def np_batch_norm(v):
        v = v.astype(np.float64)
        mean = v.mean(axis=(0, 2, 3), keepdims=True)
        return (v - mean) / np.sqrt(v.var(axis=(0, 2, 3), keepdims=True) + 1e-5)

    out.append(_memory_case(
        "batch_norm train N64 C64 64x64", 2 * nb,
        lambda: F.batch_norm(ei, None, None, eg, eb, training=True), None,
        lambda: torch.nn.functional.batch_norm(ti, None, None, tg, tb, training=True),
        lambda: _close(F.batch_norm(ei, None, None, eg, eb, training=True).numpy(),
                       np_batch_norm(images), 1e-4, 1e-4)))

    lw, lb = np.ones(1024, np.float32), np.zeros(1024, np.float32)
    elw, elb, tlw, tlb = em.from_numpy(lw), em.from_numpy(lb), _t(lw), _t(lb)

    def np_layer_norm(v):
        v = v.astype(np.float64)
        return (v - v.mean(axis=1, keepdims=True)) / np.sqrt(v.var(axis=1, keepdims=True) + 1e-5)

    out.append(_memory_case(
        "layer_norm 16384x1024", 2 * nb, lambda: F.layer_norm(el, (1024,), elw, elb), None,
        lambda: torch.nn.functional.layer_norm(tl, (1024,), tlw, tlb),
        lambda: _close(F.layer_norm(el, (1024,), elw, elb).numpy(), np_layer_norm(logits),
                       1e-4, 1e-4)))

    def np_max_pool(v):
        return v.reshape(64, 64, 32, 2, 32, 2).max(axis=(3, 5))

    out.append(_memory_case(
        "max_pool2d 2x2 N64 C64 64x64", nb + nb // 4, lambda: F.max_pool2d(ei, 2), None,
        lambda: torch.nn.functional.max_pool2d(ti, 2),
        lambda: _close(F.max_pool2d(ei, 2).numpy(), np_max_pool(images), 0, 0)))

    out += _optimizer_cases(x, y)
    return out


def _optimizer_cases(values, grads):
    """One optimizer step over a 16M-element parameter (state read and written once)."""
    out = []
    nb = values.nbytes
    for name, make_ember, make_torch, arrays in (
            ("SGD momentum step 16M", lambda p: em.optim.SGD([p], lr=1e-3, momentum=0.9),
             lambda p: torch.optim.SGD([p], lr=1e-3, momentum=0.9), 5),
            ("Adam step 16M", lambda p: em.optim.Adam([p], lr=1e-3),
             lambda p: torch.optim.Adam([p], lr=1e-3), 7)):
        ep = em.nn.Parameter(em.tensor(values))
        ep.grad = em.tensor(grads)
        eopt = make_ember(ep)
        fns_torch = None
        if torch is not None:
            tp = torch.nn.Parameter(torch.tensor(values))
            tp.grad = torch.tensor(grads)
            topt = make_torch(tp)
            fns_torch = topt.step

        def check(make_ember=make_ember, make_torch=make_torch):
            # Two steps from the same start agree with PyTorch's update rule.
            p = em.nn.Parameter(em.tensor(values[:4096]))
            p.grad = em.tensor(grads[:4096])
            opt = make_ember(p)
            opt.step()
            opt.step()
            if torch is not None:
                q = torch.nn.Parameter(torch.tensor(values[:4096]))
                q.grad = torch.tensor(grads[:4096])
                topt2 = make_torch(q)
                topt2.step()
                topt2.step()
                _close(p.detach().numpy(), q.detach().numpy(), 1e-5, 1e-6)

        out.append(_memory_case(name, arrays * nb, eopt.step, None, fns_torch, check))
    return out


def conv_case():
    rng = np.random.default_rng(2)
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
    return "conv2d fwd N64 C32 28x28 K64 3x3", "GFLOP/s", flops, fns, check


def cases(quick=False):
    """(name, unit, amount per call, {contender: fn}, check) for each benchmark."""
    return gemm_cases(quick) + memory_cases() + [conv_case()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=int(os.environ["OMP_NUM_THREADS"]),
                        help="threads for every contender (numpy, PyTorch, ember)")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="leave out the 4096 GEMM")
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
    for name, unit, amount, fns, check in cases(args.quick):
        check()
        times = median_times(fns, args.repeats)
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
              f"{' '.join(ms)} {' '.join(ratios)}", flush=True)
    if args.json:
        os.makedirs(os.path.dirname(args.json) or ".", exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"machine": platform.processor() or platform.machine(),
                       "threads": args.threads, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
