"""Shared pieces of the GPU benchmarks: the no-GPU refusal, hardware peaks,
CUDA-event timing with L2 flushes, correctness checks and the result rows."""

from __future__ import annotations

import argparse
import statistics

import numpy as np

import ember as em

# FP32 lanes (FMA units) per SM by compute capability (CUDA C programming
# guide, arithmetic instructions table). The majors' defaults cover new minors.
FP32_LANES_PER_SM = {
    (5, 0): 128, (5, 2): 128, (5, 3): 128,
    (6, 0): 64, (6, 1): 128, (6, 2): 128,
    (7, 0): 64, (7, 2): 64, (7, 5): 64,
    (8, 0): 64, (8, 6): 128, (8, 7): 128, (8, 9): 128,
    (9, 0): 128,
    (10, 0): 128, (10, 1): 128, (10, 3): 128,
    (12, 0): 128, (12, 1): 128,
}
FP32_LANES_BY_MAJOR = {5: 128, 6: 128, 7: 64, 8: 128, 9: 128, 10: 128, 11: 128, 12: 128}

SECTIONS = ("gemm", "conv", "memory", "train")


def cuda_built() -> bool:
    """Whether ember was compiled with the CUDA toolkit (a GPU may still be absent)."""
    try:
        return bool(em.backends.cuda.is_built())
    except Exception:  # noqa: BLE001 - an older build without the query counts as no
        return False


def refusal() -> str | None:
    """The one line printed instead of benchmarking, or None when a GPU is usable."""
    if em.backends.cuda.is_emulated():
        return "bench/gpu: the CUDA device is the CPU emulator (EMBER_CUDA=EMULATED): nothing to time"
    if em.cuda.is_available():
        return None
    return f"bench/gpu: no CUDA device (ember built with CUDA: {'yes' if cuda_built() else 'no'})"


def torch_cuda():
    """PyTorch when it has CUDA and sees a GPU, else None (the peer column stays empty)."""
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def parse_args(argv=None, sections=SECTIONS, description: str = "") -> argparse.Namespace:
    """The arguments shared by run.py and each section's own entry point."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    p.add_argument("--json", metavar="PATH", help="write the results as JSON here")
    p.add_argument("--repeats", type=int, default=None, help="timed repeats per case")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls per contender first")
    p.add_argument("--no-flush", dest="flush", action="store_false",
                   help="do not flush the L2 cache between repeats")
    if len(sections) > 1:
        p.add_argument("--only", default=",".join(sections),
                       help=f"comma-separated sections of {','.join(sections)}")
    args = p.parse_args(argv)
    only = getattr(args, "only", ",".join(sections))
    args.only = [s for s in only.split(",") if s]
    unknown = [s for s in args.only if s not in sections]
    if unknown:
        p.error(f"unknown section(s) {','.join(unknown)}; choose from {','.join(sections)}")
    if args.repeats is None:
        args.repeats = 5 if args.quick else 25
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    return args


# ---------------------------------------------------------------- hardware figures
def fp32_lanes_per_sm(major: int, minor: int) -> int:
    """FP32 FMA lanes per SM for compute capability major.minor."""
    lanes = FP32_LANES_PER_SM.get((major, minor), FP32_LANES_BY_MAJOR.get(major))
    if lanes is None:
        raise ValueError(f"fp32_lanes_per_sm: unknown compute capability {major}.{minor}")
    return lanes


def fp32_peak_gflops(sm_count: int, major: int, minor: int, clock_khz: float) -> float:
    """SMs x FP32 lanes per SM x 2 (an FMA is two FLOPs) x clock, in GFLOP/s."""
    return sm_count * fp32_lanes_per_sm(major, minor) * 2 * clock_khz * 1e3 / 1e9


def theoretical_bandwidth_gbs(memory_clock_khz: float, bus_width_bits: int) -> float:
    """2 transfers per clock (DDR) x memory clock x bus width in bytes, in GB/s."""
    return 2 * memory_clock_khz * 1e3 * bus_width_bits / 8 / 1e9


def l2_flush_bytes(l2_bytes: int | None) -> int:
    """Size of the buffer written between repeats: twice the L2, at least 64 MiB
    (256 MiB when the L2 size is unknown), rounded up to a MiB."""
    mib = 1 << 20
    size = 2 * l2_bytes if l2_bytes else 256 * mib
    size = max(size, 64 * mib)
    return -(-size // mib) * mib


def device_facts(device: int = 0) -> dict:
    """The device's properties and the peaks derived from them."""
    p = em.cuda.get_device_properties(device)
    facts = {
        "name": p.name, "total_memory": p.total_memory, "sm_count": p.multi_processor_count,
        "compute_capability": f"{p.major}.{p.minor}", "l2_cache_size": p.l2_cache_size,
        "clock_rate_khz": p.clock_rate_khz, "memory_clock_rate_khz": p.memory_clock_rate_khz,
        "memory_bus_width": p.memory_bus_width,
    }
    facts["fp32_lanes_per_sm"] = fp32_lanes_per_sm(p.major, p.minor)
    facts["fp32_peak_gflops"] = fp32_peak_gflops(p.multi_processor_count, p.major, p.minor,
                                                 p.clock_rate_khz)
    facts["theoretical_bandwidth_gbs"] = theoretical_bandwidth_gbs(p.memory_clock_rate_khz,
                                                                   p.memory_bus_width)
    return facts


# ---------------------------------------------------------------- timing
class Timer:
    """Times callables on the GPU with CUDA events, L2 flushed before each call.

    Args:
        flush_bytes: size of the ember buffer overwritten before each timed call
            (0: no flush).
        torch: PyTorch with CUDA, for timing its contenders with torch.cuda.Event.
    """

    def __init__(self, flush_bytes: int, torch=None):
        self.torch = torch
        self.flush_buffer = (em.empty(flush_bytes // 4, dtype=em.float32, device="cuda")
                             if flush_bytes else None)

    def flush(self) -> None:
        if self.flush_buffer is not None:
            self.flush_buffer.zero_()

    def _once_ms(self, name: str, fn) -> float:
        events = self.torch.cuda.Event if name == "torch" else em.cuda.Event
        start, end = events(enable_timing=True), events(enable_timing=True)
        self.flush()
        start.record()
        fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end)

    def median_ms(self, fns: dict, repeats: int, warmup: int = 3) -> dict:
        """Median milliseconds per call of each fn: warm-up, then interleaved repeats
        (ember, torch, ember, torch, ...) so that clocks and heat treat both alike."""
        for fn in fns.values():
            for _ in range(warmup):
                fn()
        em.cuda.synchronize()
        if self.torch is not None:
            self.torch.cuda.synchronize()
        samples = {name: [] for name in fns}
        for _ in range(repeats):
            for name, fn in fns.items():
                samples[name].append(self._once_ms(name, fn))
        return {name: statistics.median(s) for name, s in samples.items()}


# ---------------------------------------------------------------- checks and rows
def to_numpy(value) -> np.ndarray:
    """An ember or torch tensor (on any device) or array as a float64 numpy array."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)


def check_close(actual, expected, rtol: float, what: str = "") -> float:
    """Relative error ||actual - expected|| / ||expected|| (Frobenius) must be <= rtol.

    Returns:
        The relative error. Raises AssertionError naming `what` otherwise.
    """
    a, e = to_numpy(actual), to_numpy(expected)
    if a.shape != e.shape:
        raise AssertionError(f"{what}: shape {a.shape}, expected {e.shape}")
    err = float(np.linalg.norm(a - e) / max(np.linalg.norm(e), 1e-30))
    if not err <= rtol:
        raise AssertionError(f"{what}: relative error {err:.3g} > {rtol:g}")
    return err


def make_row(section: str, case: str, times_ms: dict, amount: float | None = None,
             rate_unit: str | None = None, limit: float | None = None,
             limit_name: str | None = None, **extra) -> dict:
    """A bench/report.py row: ms per call of ember and torch, torch/ember ratio, ember's
    rate (amount per call / time: GFLOP or GB) and its share of the hardware limit."""
    ember_ms = times_ms["ember"]
    torch_ms = times_ms.get("torch")
    rate = amount / (ember_ms / 1e3) if amount is not None and ember_ms > 0 else None
    row = {"section": section, "case": case, "unit": "ms", "ember": ember_ms, "numpy": None,
           "torch": torch_ms, "vs_numpy": None,
           "vs_torch": torch_ms / ember_ms if torch_ms is not None and ember_ms > 0 else None,
           "rate": rate, "rate_unit": rate_unit if rate is not None else None,
           "limit_pct": 100 * rate / limit if rate is not None and limit else None,
           "limit": limit_name if rate is not None and limit else None}
    if torch_ms is not None and amount is not None and torch_ms > 0:
        row["torch_rate"] = amount / (torch_ms / 1e3)
    row.update(extra)
    return row


class Context:
    """What every section needs: arguments, timer, PyTorch, peaks, rows, failures."""

    def __init__(self, args: argparse.Namespace, limits: dict, torch=None):
        self.args, self.limits, self.torch = args, limits, torch
        flush = l2_flush_bytes(limits.get("l2_cache_size")) if args.flush else 0
        self.timer = Timer(flush, torch)
        self.rows: list[dict] = []
        self.failures: list[str] = []

    def run_case(self, section: str, case: str, fns: dict, check, amount=None,
                 rate_unit=None, limit=None, limit_name=None, **extra) -> dict | None:
        """Checks, then times a case and records its row; a failed check is recorded
        and the case is not timed."""
        from bench import report

        try:
            check()
        except Exception as e:  # noqa: BLE001 - any failing check is reported, then skipped
            self.failures.append(f"{section}: {case}: {e}")
            print(f"CHECK FAILED {section}: {case}: {e}", flush=True)
            return None
        times = self.timer.median_ms(fns, self.args.repeats, self.args.warmup)
        row = make_row(section, case, times, amount, rate_unit, limit, limit_name, **extra)
        self.rows.append(row)
        print(report.table([row])[-1], flush=True)
        return row
