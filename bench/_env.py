"""Thread-pool sizing for the benchmarks, which has to happen before numpy, PyTorch or
ember load: bench/run.py does it for the whole suite, and bench/ops.py, bench/conv.py
and bench/overhead.py when run on their own. Imports nothing heavy.
"""

from __future__ import annotations

import argparse
import os


def threads_from_argv(default: int) -> int:
    """--threads, read before numpy and PyTorch start their thread pools."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--threads", type=int, default=default)
    return pre.parse_known_args()[0].threads


def size_thread_pools(threads: int) -> None:
    """Every contender's pool to `threads`, idle threads sleeping.

    The contenders alternate in one process: threads that spin after their
    parallel region would steal the cores from the next contender (OpenBLAS
    spins about 2^28 cycles by default; 2^4 is its minimum).
    """
    os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")
