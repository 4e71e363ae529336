"""The machine's limits that the benchmark figures are read against.

Facts come from /proc/cpuinfo and sysfs; the FP32 FMA ceiling is measured by
ember's FMA probe (ember._C.cpu_fma_peak: independent FMA chains in registers
at the widest vector ISA, one thread per core), since the nominal clock in
/proc/cpuinfo understates the turbo clock the cores run at; the nominal
figure (32 FLOP per cycle and core: two 8-lane FMA pipes) is kept beside it.
The practical compute limit is the best OpenBLAS sgemm through numpy, and the
memory limit is a STREAM triad (a = b + s * c) run by numpy on arrays four
times the size of the L3 cache.

numpy must be imported only after the thread-count environment is set (see
bench/run.py), which is why this module imports it lazily.
"""

from __future__ import annotations

import os
import platform
import re
import time
from concurrent.futures import ThreadPoolExecutor

FLOP_PER_CYCLE = 32


def _cpuinfo() -> list[dict]:
    """One dict per logical CPU from /proc/cpuinfo (empty where it does not exist)."""
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
    except OSError:
        return []
    cpus = []
    for block in text.strip().split("\n\n"):
        entry = {}
        for line in block.splitlines():
            key, _, value = line.partition(":")
            entry[key.strip()] = value.strip()
        cpus.append(entry)
    return cpus


def _cache_bytes(level: int) -> int | None:
    """Size of cpu0's unified/data cache at this level, from sysfs."""
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for index in sorted(os.listdir(base)):
            path = os.path.join(base, index)
            with open(os.path.join(path, "level")) as f:
                if int(f.read()) != level:
                    continue
            with open(os.path.join(path, "type")) as f:
                if f.read().strip() == "Instruction":
                    continue
            with open(os.path.join(path, "size")) as f:
                size = f.read().strip()
            match = re.fullmatch(r"(\d+)([KMG]?)", size)
            if match:
                return int(match[1]) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[match[2]]
    except OSError:
        pass
    return None


def cpu_facts() -> dict:
    """CPU model, core counts, clock, vector flags and cache sizes."""
    cpus = _cpuinfo()
    first = cpus[0] if cpus else {}
    flags = set(first.get("flags", "").split())
    cores = {(c.get("physical id"), c.get("core id")) for c in cpus if "core id" in c}
    mhz = [float(c["cpu MHz"]) for c in cpus if "cpu MHz" in c]
    return {
        "cpu_model": first.get("model name", platform.processor() or platform.machine()),
        "logical_cpus": os.cpu_count(),
        "physical_cores": len(cores) or os.cpu_count(),
        "clock_ghz": max(mhz) / 1e3 if mhz else None,
        "avx2": "avx2" in flags,
        "avx512f": "avx512f" in flags,
        "fma": "fma" in flags,
        "l2_bytes": _cache_bytes(2),
        "l3_bytes": _cache_bytes(3),
    }


def fma_nominal(facts: dict, threads: int) -> dict:
    """FP32 GFLOP/s from the /proc/cpuinfo clock, one core and `threads` threads (one per core)."""
    if not facts["clock_ghz"]:
        return {"per_core_gflops": None, "all_threads_gflops": None}
    per_core = FLOP_PER_CYCLE * facts["clock_ghz"]
    return {"per_core_gflops": per_core,
            "all_threads_gflops": per_core * min(threads, facts["physical_cores"])}


def fma_ceiling(facts: dict, threads: int, repeats: int = 5, seconds: float = 0.2) -> dict:
    """Measured FP32 GFLOP/s for one thread and for `threads` threads (at most one per core).

    Best of `repeats` probe runs: on a shared machine the best run is the one
    least disturbed by other work, so it is the closest to the hardware limit.
    """
    from ember import _C

    used = max(1, min(threads, facts["physical_cores"] or 1))
    one = max(_C.cpu_fma_peak(1, seconds) for _ in range(repeats))
    many = one if used == 1 else max(_C.cpu_fma_peak(used, seconds) for _ in range(repeats))
    return {"per_core_gflops": one, "all_threads_gflops": many, "threads": used,
            "source": "measured"}


def sgemm_gflops(n: int = 2048, repeats: int = 5) -> float:
    """Best GFLOP/s of numpy's (OpenBLAS) float32 n x n x n matrix product."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    np.matmul(a, b, out=c)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - t0)
    return 2 * n**3 / best / 1e9


def stream_triad_gbs(facts: dict, threads: int, repeats: int = 5) -> dict:
    """Best STREAM-triad GB/s (3 arrays counted, as STREAM does) with `threads` threads.

    numpy cannot fuse b + s * c, so each thread walks its slice in blocks small
    enough for the L2 cache: s * c goes to a per-thread block buffer that never
    leaves the cache, and only b, c and a cross the memory bus. numpy releases
    the GIL inside its loops, so the threads run in parallel.
    """
    import numpy as np

    l3 = facts["l3_bytes"] or (32 << 20)
    n = 4 * l3 // 4
    block = max(1024, (facts["l2_bytes"] or (1 << 20)) // 16)
    rng = np.random.default_rng(0)
    a = np.zeros(n, dtype=np.float32)
    b = rng.standard_normal(n, dtype=np.float32)
    c = rng.standard_normal(n, dtype=np.float32)
    s = np.float32(3.0)
    bounds = [(n * i // threads, n * (i + 1) // threads) for i in range(threads)]

    def triad(lo_hi):
        lo, hi = lo_hi
        tmp = np.empty(block, dtype=np.float32)
        for i in range(lo, hi, block):
            j = min(i + block, hi)
            t = tmp[:j - i]
            np.multiply(c[i:j], s, out=t)
            np.add(b[i:j], t, out=a[i:j])

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(triad, bounds))
        np.testing.assert_array_equal(a[:1000], b[:1000] + s * c[:1000])
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            list(pool.map(triad, bounds))
            best = min(best, time.perf_counter() - t0)
    return {"gbs": 3 * a.nbytes / best / 1e9, "array_mib": a.nbytes / (1 << 20),
            "threads": threads}


def measure(threads: int, repeats: int = 5) -> dict:
    """All the limits: facts, FMA ceiling (measured and nominal), best sgemm and STREAM triad."""
    facts = cpu_facts()
    return {
        "facts": facts,
        "fma": fma_ceiling(facts, threads, repeats),
        "fma_nominal": fma_nominal(facts, threads),
        "flop_per_cycle": FLOP_PER_CYCLE,
        "sgemm_2048_gflops": sgemm_gflops(2048, repeats),
        "stream_triad": stream_triad_gbs(facts, threads, repeats),
        "threads": threads,
    }


def describe(limits: dict) -> list[str]:
    """Terminal lines summarising the limits."""
    f, fma = limits["facts"], limits["fma"]
    flags = [name for name in ("avx2", "fma", "avx512f") if f[name]]
    cpu = (f"CPU: {f['cpu_model']}, {f['physical_cores']} cores / {f['logical_cpus']} logical, "
           f"{' '.join(flags) or 'no avx2'}, L2 {(f['l2_bytes'] or 0) >> 10} KiB, "
           f"L3 {(f['l3_bytes'] or 0) >> 20} MiB")
    lines = [cpu]
    lines.append(f"FP32 FMA ceiling (measured, best of the probe runs): "
                 f"{fma['per_core_gflops']:.1f} GFLOP/s for 1 thread, "
                 f"{fma['all_threads_gflops']:.1f} for {fma['threads']} thread(s)")
    nominal = limits["fma_nominal"]
    if nominal["per_core_gflops"]:
        lines.append(f"  nominal: {limits['flop_per_cycle']} FLOP/cycle x "
                     f"{f['clock_ghz']:.3f} GHz (/proc/cpuinfo) = "
                     f"{nominal['per_core_gflops']:.1f} GFLOP/s per core, "
                     f"{nominal['all_threads_gflops']:.1f} for {limits['threads']} thread(s); "
                     f"measured / nominal = "
                     f"{fma['per_core_gflops'] / nominal['per_core_gflops']:.2f}")
    st = limits["stream_triad"]
    share = (f" = {limits['sgemm_2048_gflops'] / fma['all_threads_gflops']:.0%} of the ceiling"
             if fma["all_threads_gflops"] else "")
    lines.append(f"numpy sgemm 2048^3 (best): {limits['sgemm_2048_gflops']:.1f} GFLOP/s{share}")
    lines.append(f"STREAM triad (best, {st['threads']} thread(s), 3 x {st['array_mib']:.0f} MiB): "
                 f"{st['gbs']:.1f} GB/s")
    return lines
