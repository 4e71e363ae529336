"""The GPU benchmark suite: hardware limits, then gemm, conv, memory and train,
as one table (bench/report.py) and one JSON record.

    python -m bench.gpu [--quick] [--json PATH] [--only gemm,conv] [--repeats N] [--no-flush]
    python bench/gpu/run.py ...
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
import time

if __package__ in (None, ""):  # run as a script: make `bench` and `ember` importable
    _ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path[:0] = [_ROOT, os.path.join(_ROOT, "python")]

import ember as em
from bench import report
from bench.gpu import common

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def section_module(name: str):
    """The module that runs section `name` (its run(ctx) adds the rows)."""
    import importlib

    return importlib.import_module(f"bench.gpu.{name}")


def default_json_path(quick: bool, stamp: datetime.datetime) -> str:
    return os.path.join(ROOT, "bench", "results",
                        stamp.strftime("%Y-%m-%d") + "-gpu" + ("-quick" if quick else "") + ".json")


def run_sections(sections, argv=None) -> int:
    """Parses argv for `sections`, refuses cleanly without a GPU, else benchmarks them.

    Returns:
        The exit status: 0, or 1 when a correctness check failed.
    """
    args = common.parse_args(argv, sections=tuple(sections), description=__doc__)
    line = common.refusal()
    if line:
        print(line)
        return 0
    from bench.gpu import hardware

    torch = common.torch_cuda()
    versions = {"python": platform.python_version(),
                "torch": torch.__version__ if torch is not None else None,
                "torch_cuda": torch.version.cuda if torch is not None else None,
                "ember": getattr(em, "__version__", None)}
    print(f"quick={args.quick} repeats={args.repeats} sections={','.join(args.only)} "
          + " ".join(f"{k}={v or '-'}" for k, v in versions.items()))
    if torch is None:
        print("PyTorch with CUDA not available: no torch column")
    started = time.perf_counter()
    limits = hardware.measure()
    for text in hardware.describe(limits):
        print(text)
    ctx = common.Context(args, limits, torch)
    print()
    print("\n".join(report.table([])), flush=True)
    for name in args.only:
        print(f"[{name}]", flush=True)
        section_module(name).run(ctx)
    print("\nratio = torch time / ember time (> 1: ember faster); % limit = ember's rate / "
          "FP32 peak (GFLOP/s) or / measured copy bandwidth (GB/s); CUDA-event medians, "
          "L2 flushed before each repeat" + ("" if args.flush else " (disabled)"))
    stamp = datetime.datetime.now()
    path = args.json or default_json_path(args.quick, stamp)
    report.write_json(path, {
        "date": stamp.isoformat(timespec="seconds"), "quick": args.quick,
        "repeats": args.repeats, "warmup": args.warmup, "l2_flush": args.flush,
        "sections": args.only, "machine": {"platform": platform.platform(), "gpu": limits},
        "versions": versions, "limits": limits, "rows": ctx.rows,
        "check_failures": ctx.failures, "seconds": time.perf_counter() - started})
    print(f"results: {os.path.relpath(path)}")
    if ctx.failures:
        print(f"{len(ctx.failures)} check(s) failed: {'; '.join(ctx.failures)}")
        return 1
    return 0


def main(argv=None) -> int:
    return run_sections(common.SECTIONS, argv)


if __name__ == "__main__":
    sys.exit(main())
