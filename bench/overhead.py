"""Framework overhead of ember beside PyTorch: microseconds per graph node and per op.

Tiny tensors keep the kernels negligible, so what is measured is the Python
and binding cost of recording a node (forward) and running it (backward).
Both frameworks are timed alternately in one process (A B A B ...) after a
warm-up; medians of the repeats are reported, with ember / PyTorch (< 1 means
ember costs less).

    python bench/overhead.py [--threads 1] [--repeats 15] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

# Imported by bench/run.py, which sizes the thread pools itself first.
if __name__ == "__main__":
    import _env  # bench/ is sys.path[0] when this runs as a script

    _env.size_thread_pools(_env.threads_from_argv(default=1))

try:
    from bench._timing import median_times
except ImportError:  # run as a script: bench/ is sys.path[0]
    from _timing import median_times

import numpy as np

import ember as em
import ember.nn as enn
import ember.nn.functional as F

try:
    import torch
except ImportError:
    torch = None


def _chain(x, step, n):
    """Forward and backward closures of an n-node chain y = step(y)."""
    state = {}

    def forward():
        y = x
        for _ in range(n):
            y = step(y)
        state["loss"] = y.sum()

    def backward():
        state["loss"].backward()
        x.grad = None

    return forward, backward


def _chain_case(name, n, make_ember, make_torch, repeats):
    """Per-node forward and backward time of one chain in both frameworks."""
    fwd, bwd = {}, {}
    fwd["ember"], bwd["ember"] = _chain(*make_ember(), n)
    if torch is not None:
        fwd["torch"], bwd["torch"] = _chain(*make_torch(), n)
    samples = {k: {"fwd": [], "bwd": []} for k in fwd}
    for k, f in fwd.items():
        for _ in range(2):
            f()
            bwd[k]()
    for _ in range(repeats):
        for k, f in fwd.items():
            t0 = time.perf_counter()
            f()
            t1 = time.perf_counter()
            bwd[k]()
            t2 = time.perf_counter()
            samples[k]["fwd"].append(t1 - t0)
            samples[k]["bwd"].append(t2 - t1)
    out = {}
    for k, s in samples.items():
        f = statistics.median(s["fwd"]) / n * 1e6
        b = statistics.median(s["bwd"]) / n * 1e6
        out[k] = {"fwd_us": f, "bwd_us": b, "total_us": f + b}
    return name, out


def chain_specs():
    """(name, nodes, make_ember, make_torch): make_* return (leaf, step) of one chain."""
    rng = np.random.default_rng(0)
    v = rng.standard_normal((32, 32)).astype(np.float32)
    c = rng.standard_normal((32, 32)).astype(np.float32)
    m = rng.standard_normal((32, 32)).astype(np.float32)
    w = (rng.standard_normal((32, 32)) / 6).astype(np.float32)

    def ember_leaf(a):
        return em.from_numpy(a.copy()).requires_grad_()

    def torch_leaf(a):
        return torch.from_numpy(a.copy()).requires_grad_()

    ec = em.from_numpy(c)
    tc = torch.from_numpy(c) if torch is not None else None
    ew, tw = ember_leaf(w), torch_leaf(w) if torch is not None else None
    return [
        ("1000 x (y + tensor) 32x32", 1000,
         lambda: (ember_leaf(v), lambda y: y + ec),
         lambda: (torch_leaf(v), lambda y: y + tc)),
        ("1000 x (y + 1.0) 32x32", 1000,
         lambda: (ember_leaf(v), lambda y: y + 1.0),
         lambda: (torch_leaf(v), lambda y: y + 1.0)),
        ("100 x (y @ W) 32x32, W requires grad", 100,
         lambda: (ember_leaf(m), lambda y: y @ ew),
         lambda: (torch_leaf(m), lambda y: y @ tw)),
    ]


def chain_cases(repeats):
    for name, n, make_ember, make_torch in chain_specs():
        yield _chain_case(name, n, make_ember, make_torch, repeats)


def no_grad_cases():
    """(name, {contender: fn}) for single ops on tiny tensors without autograd."""
    rng = np.random.default_rng(1)
    a = rng.standard_normal((4, 4)).astype(np.float32)
    b = rng.standard_normal((4, 4)).astype(np.float32)
    m = rng.standard_normal((32, 32)).astype(np.float32)
    ea, eb, em_ = em.from_numpy(a), em.from_numpy(b), em.from_numpy(m)
    ops = {
        "add tensor": (lambda x, y, z: x + y),
        "add scalar": (lambda x, y, z: x + 1.0),
        "mul tensor": (lambda x, y, z: x * y),
        "neg": (lambda x, y, z: -x),
        "matmul 32x32": (lambda x, y, z: z @ z),
        "relu": (lambda x, y, z: x.relu()),
        "sum": (lambda x, y, z: x.sum()),
        "reshape": (lambda x, y, z: x.reshape(16)),
        "transpose": (lambda x, y, z: x.transpose(0, 1)),
    }
    for name, op in ops.items():
        fns = {"ember": lambda op=op: op(ea, eb, em_)}
        if torch is not None:
            ta, tb, tm = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(m)
            fns["torch"] = lambda op=op, ta=ta, tb=tb, tm=tm: op(ta, tb, tm)
        yield name, fns


def _loop(fn, n):
    def run():
        for _ in range(n):
            fn()
    return run


def mlp_case():
    """One SGD step of a 3-layer MLP (784-128-64-10, ReLU) on a batch of 32."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((32, 784)).astype(np.float32)
    y = rng.integers(0, 10, 32)
    fns = {}
    net = enn.Sequential(enn.Linear(784, 128), enn.ReLU(), enn.Linear(128, 64), enn.ReLU(),
                         enn.Linear(64, 10))
    opt = em.optim.SGD(net.parameters(), lr=0.01)
    ex, ey = em.from_numpy(x), em.from_numpy(y)

    def ember_step():
        opt.zero_grad()
        F.cross_entropy(net(ex), ey).backward()
        opt.step()

    fns["ember"] = ember_step
    if torch is not None:
        tnet = torch.nn.Sequential(torch.nn.Linear(784, 128), torch.nn.ReLU(),
                                   torch.nn.Linear(128, 64), torch.nn.ReLU(),
                                   torch.nn.Linear(64, 10))
        topt = torch.optim.SGD(tnet.parameters(), lr=0.01)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def torch_step():
            topt.zero_grad()
            torch.nn.functional.cross_entropy(tnet(tx), ty).backward()
            topt.step()

        fns["torch"] = torch_step
    return fns


def _ratio(out, key):
    if "torch" not in out:
        return ""
    return f"{out['ember'][key] / out['torch'][key]:6.2f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=int(os.environ["OMP_NUM_THREADS"]))
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    if torch is not None:
        torch.set_num_threads(args.threads)
    results = {}

    print(f"threads={args.threads} repeats={args.repeats}; us per node, ratio = ember / torch")
    print(f"{'chain':40s} {'ember fwd':>9s} {'bwd':>7s} {'total':>7s}   "
          f"{'torch fwd':>9s} {'bwd':>7s} {'total':>7s}   {'ratio':>6s}")
    for name, out in chain_cases(args.repeats):
        results[name] = out
        e = out["ember"]
        t = out.get("torch", {"fwd_us": float("nan"), "bwd_us": float("nan"),
                              "total_us": float("nan")})
        print(f"{name:40s} {e['fwd_us']:9.2f} {e['bwd_us']:7.2f} {e['total_us']:7.2f}   "
              f"{t['fwd_us']:9.2f} {t['bwd_us']:7.2f} {t['total_us']:7.2f}   "
              f"{_ratio(out, 'total_us')}")

    print(f"\n{'forward op under no_grad (us per op)':40s} {'ember':>9s} {'torch':>9s}   "
          f"{'ratio':>6s}")
    reps = 200
    with em.no_grad():
        if torch is not None:
            torch.set_grad_enabled(False)
        for name, fns in no_grad_cases():
            times = median_times({k: _loop(fn, reps) for k, fn in fns.items()}, args.repeats)
            out = {k: {"us": v / reps * 1e6} for k, v in times.items()}
            results[f"no_grad {name}"] = out
            t = out.get("torch", {"us": float("nan")})["us"]
            print(f"{name:40s} {out['ember']['us']:9.2f} {t:9.2f}   {_ratio(out, 'us')}")
        if torch is not None:
            torch.set_grad_enabled(True)

    times = median_times(mlp_case(), args.repeats)
    out = {k: {"us": v * 1e6} for k, v in times.items()}
    results["mlp step"] = out
    t = out.get("torch", {"us": float("nan")})["us"]
    print(f"\n{'3-layer MLP SGD step, batch 32 (us)':40s} {out['ember']['us']:9.1f} {t:9.1f}   "
          f"{_ratio(out, 'us')}")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "repeats": args.repeats, "results": results},
                      f, indent=2)


if __name__ == "__main__":
    main()
