"""The whole CPU benchmark suite in one command: hardware limits, then every case of
bench/ops.py (GEMM and memory-bound ops), bench/conv.py, bench/overhead.py,
bench/steps.py (training steps) and bench/train_compare.py.

Each case is checked against its reference first, then ember and its peers are
timed interleaved (A B A B ...) after a warm-up and the medians reported. One
table goes to the terminal (speed ratio = peer time / ember time, > 1 means
ember is faster; % limit = ember's GFLOP/s over the FP32 FMA ceiling or its
GB/s over the STREAM-triad bandwidth), the same rows and the machine's facts
to bench/results/<date>.json, and a bar chart of the ratios beside it when
matplotlib is installed.

    python -m bench [--quick] [--threads N] [--only SECTION ...] [--json PATH]
    python bench/run.py ...
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import os
import platform
import subprocess
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECTIONS = ("hardware", "gemm", "memory", "conv", "overhead", "steps", "train")


def _parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats and no training comparison")
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads for every contender (numpy, PyTorch, ember)")
    parser.add_argument("--only", action="append", default=None, metavar="SECTION",
                        help=f"run only these sections (repeatable or comma-separated): "
                             f"{', '.join(SECTIONS)}")
    parser.add_argument("--json", default=None,
                        help="where to write the results (default bench/results/<date>.json)")
    args = parser.parse_args(argv)
    only = [s for item in (args.only or SECTIONS) for s in item.split(",") if s]
    unknown = sorted(set(only) - set(SECTIONS))
    if unknown:
        parser.error(f"--only: unknown section(s) {', '.join(unknown)}; "
                     f"choose from {', '.join(SECTIONS)}")
    args.only = [s for s in SECTIONS if s in only]
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    return args


ARGS = _parse_args()

if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
# Every thread pool is sized before numpy, PyTorch or ember load.
from bench import _env

_env.size_thread_pools(ARGS.threads)
if importlib.util.find_spec("ember") is None:
    sys.path.insert(0, os.path.join(ROOT, "python"))

import numpy as np

import ember as em
from bench import conv, hardware, ops, overhead, report, steps
from bench._timing import median_times

try:
    import torch
except ImportError:
    torch = None


class Suite:
    """Collects the rows of every section against the measured hardware limits."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.rows: list[dict] = []
        self.failures: list[str] = []
        self.limits: dict | None = None
        self.repeats = ({"hardware": 3, "ops": 5, "conv": 3, "overhead": 5, "steps": 5}
                        if args.quick else
                        {"hardware": 5, "ops": 15, "conv": 11, "overhead": 15, "steps": 21})

    def _limit(self, rate, rate_unit):
        if self.limits is None or rate is None:
            return None, None
        if rate_unit == "GFLOP/s" and self.limits["fma"]["all_threads_gflops"]:
            return 100 * rate / self.limits["fma"]["all_threads_gflops"], "FMA"
        if rate_unit == "GB/s":
            return 100 * rate / self.limits["stream_triad"]["gbs"], "STREAM"
        return None, None

    def add(self, section, case, unit, times: dict, rate=None, rate_unit=None, limit_rate=None,
            **extra):
        """One row: times per contender in `unit`, ratios against ember, share of the limit
        (of `limit_rate` when the work executed differs from the work `rate` counts)."""
        row = {"section": section, "case": case, "unit": unit, "ember": times["ember"]}
        for peer in report.PEERS:
            row[peer] = times.get(peer)
            row[f"vs_{peer}"] = times[peer] / times["ember"] if peer in times else None
        row["rate"], row["rate_unit"] = rate, rate_unit
        row["limit_pct"], row["limit"] = self._limit(
            rate if limit_rate is None else limit_rate, rate_unit)
        row.update(extra)
        if not self.rows or self.rows[-1]["section"] != section:
            print(f"[{section}]")
        self.rows.append(row)
        print(report.table([row])[-1], flush=True)

    def checked(self, section, case, check) -> bool:
        """Runs the check; a failure is recorded and reported, and the case is not timed."""
        try:
            check()
            return True
        except Exception:  # noqa: BLE001 - any failure of a check is reported, then skipped
            self.failures.append(f"{section}: {case}")
            print(f"CHECK FAILED {section}: {case}\n{traceback.format_exc()}", flush=True)
            return False

    def hardware(self):
        self.limits = hardware.measure(self.args.threads, self.repeats["hardware"])
        for line in hardware.describe(self.limits):
            print(line)

    def _op_cases(self, section, cases):
        for name, unit, amount, fns, check in cases:
            if not self.checked(section, name, check):
                continue
            times = median_times(fns, self.repeats["ops"])
            self.add(section, name, "ms", {k: v * 1e3 for k, v in times.items()},
                     amount / times["ember"], unit)

    def gemm(self):
        self._op_cases("gemm", ops.gemm_cases(self.args.quick))

    def memory(self):
        self._op_cases("memory", ops.memory_cases())

    def steps(self):
        for name, kind, shape in steps.MODELS:
            if not self.checked("steps", name, lambda k=kind, s=shape: steps.check(k, s)):
                continue
            times = median_times(steps.step_fns(kind, shape), self.repeats["steps"])
            self.add("steps", name, "ms", {k: v * 1e3 for k, v in times.items()})

    def conv(self):
        for name, *shape in conv.LAYERS:
            built = {}
            if not self.checked("conv", name,
                                lambda shape=shape, built=built: built.update(conv.layer_fns(*shape))):
                continue
            gflop, executed = conv.layer_gflop(*shape), conv.layer_executed_gflop(*shape)
            algorithm = conv.layer_algorithm(*shape)
            for phase, (e_fn, t_fn) in built.items():
                fns = {"ember": e_fn} if t_fn is None else {"ember": e_fn, "torch": t_fn}
                times = median_times(fns, self.repeats["conv"])
                self.add("conv", f"{name} {algorithm} {phase}", "ms", {k: v * 1e3 for k, v in times.items()},
                         gflop[phase] / times["ember"], "GFLOP/s",
                         limit_rate=executed[phase] / times["ember"], algorithm=algorithm)

    def overhead(self):
        repeats = self.repeats["overhead"]
        for name, n, make_ember, make_torch in overhead.chain_specs():
            if not self.checked("overhead", name, lambda n=n, e=make_ember, t=make_torch: _check_chain(n, e, t)):
                continue
            _, out = overhead._chain_case(name, n, make_ember, make_torch, repeats)
            self.add("overhead", f"{name} fwd+bwd", "us/node",
                     {k: v["total_us"] for k, v in out.items()}, detail=out)

        calls = 200
        with em.no_grad():
            if torch is not None:
                torch.set_grad_enabled(False)
            for name, fns in overhead.no_grad_cases():
                if not self.checked("overhead", name, lambda fns=fns: _check_same(fns)):
                    continue
                times = median_times(
                    {k: overhead._loop(fn, calls) for k, fn in fns.items()}, repeats)
                self.add("overhead", f"no_grad {name}", "us",
                         {k: v / calls * 1e6 for k, v in times.items()})
            if torch is not None:
                torch.set_grad_enabled(True)

        fns = overhead.mlp_case()
        times = median_times(fns, repeats)
        self.add("overhead", "3-layer MLP SGD step, batch 32", "us",
                 {k: v * 1e6 for k, v in times.items()})

    def train(self):
        if self.args.quick:
            print("train: skipped (--quick)")
            return
        if torch is None:
            print("train: skipped (needs PyTorch)")
            return
        from bench import train_compare

        for model, epochs in (("mlp", 3), ("cnn", 2)):
            try:
                r = train_compare.compare(model, epochs)
            except (OSError, RuntimeError) as exc:
                print(f"train: {model} skipped ({type(exc).__name__}: {exc})")
                continue
            self.add("train", f"{model} Fashion-MNIST x{epochs}, acc {r['ember_acc']:.4f} / "
                     f"{r['torch_acc']:.4f}", "s/epoch",
                     {"ember": r["ember_s_per_epoch"], "torch": r["torch_s_per_epoch"]},
                     detail=r)


def _as_numpy(value):
    return np.asarray(value.detach().numpy() if hasattr(value, "detach") else value.numpy(),
                      dtype=np.float64)


def _check_same(fns: dict):
    """ember's output equals the peer's (when there is one)."""
    if "torch" in fns:
        np.testing.assert_allclose(_as_numpy(fns["ember"]()), _as_numpy(fns["torch"]()),
                                   rtol=1e-5, atol=1e-5)


def _check_chain(n, make_ember, make_torch):
    """The chain's loss and leaf gradient agree with PyTorch's (or are finite without it)."""
    results = []
    for make in (make_ember, make_torch) if torch is not None else (make_ember,):
        x, step = make()
        y = x
        for _ in range(n):
            y = step(y)
        loss = y.sum()
        loss.backward()
        results.append((_as_numpy(loss), _as_numpy(x.grad)))
    for loss, grad in results:
        assert np.isfinite(loss).all() and np.isfinite(grad).all(), "non-finite loss or grad"
    if len(results) == 2:
        for a, b in zip(*results):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def _git_commit() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty.strip() else "")


def main(args: argparse.Namespace = ARGS) -> int:
    em.set_num_threads(args.threads)
    if torch is not None:
        torch.set_num_threads(args.threads)
    suite = Suite(args)
    versions = {"python": platform.python_version(), "numpy": np.__version__,
                "torch": torch.__version__ if torch is not None else None,
                "ember": getattr(em, "__version__", None)}
    print(f"threads={args.threads} quick={args.quick} sections={','.join(args.only)} "
          f"OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']} "
          + " ".join(f"{k}={v or '-'}" for k, v in versions.items()))
    started = time.perf_counter()

    if "hardware" in args.only or {"gemm", "memory", "conv"} & set(args.only):
        suite.hardware()
    print()
    print("\n".join(report.table([])), flush=True)
    for section in args.only:
        if section != "hardware":
            getattr(suite, section)()

    if suite.rows:
        print("\nspeed ratio = peer time / ember time (> 1: ember faster); % limit = ember's "
              "rate / FMA ceiling (GFLOP/s) or / STREAM triad (GB/s);\nthe ceiling is "
              "measured by ember's FMA probe (the turbo clock, not /proc/cpuinfo's nominal one)")
        if any(r.get("algorithm") == "winograd" for r in suite.rows):
            print("conv rows name ember's algorithm; for winograd, GFLOP/s counts the direct "
                  "method's multiply-adds (an effective rate)\nand % limit those the Winograd "
                  "GEMMs execute (2.25x fewer on large images; transforms not counted)")
    stamp = datetime.datetime.now()
    path = args.json or os.path.join(
        ROOT, "bench", "results", stamp.strftime("%Y-%m-%d") + ("-quick" if args.quick else "")
        + ".json")
    facts = suite.limits["facts"] if suite.limits else hardware.cpu_facts()
    report.write_json(path, {
        "date": stamp.isoformat(timespec="seconds"), "git_commit": _git_commit(),
        "threads": args.threads, "quick": args.quick, "sections": args.only,
        "machine": {**facts, "platform": platform.platform()}, "versions": versions,
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                               "OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT")},
        "limits": suite.limits, "rows": suite.rows, "check_failures": suite.failures,
        "seconds": time.perf_counter() - started})
    print(f"results: {os.path.relpath(path)}")
    chart = os.path.splitext(path)[0] + ".png"
    if report.write_chart(chart, suite.rows):
        print(f"chart: {os.path.relpath(chart)}")
    else:
        print("chart: skipped (matplotlib not installed or no ratios)")
    if suite.failures:
        print(f"{len(suite.failures)} check(s) failed: {'; '.join(suite.failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
