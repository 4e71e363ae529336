"""Interleaved timing shared by the benchmark scripts (imports nothing heavy)."""

from __future__ import annotations

import statistics
import time


def median_times(fns: dict, repeats: int, warmup: int = 3) -> dict:
    """Median seconds per call of each fn, timed in interleaved rounds (A B A B ...)
    after `warmup` calls of each, so that drifts of the machine hit every contender."""
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
