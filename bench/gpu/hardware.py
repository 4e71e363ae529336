"""The GPU's limits: FP32 peak from its properties, bandwidth measured with a
large device-to-device copy (and the theoretical figure for reference).

    python -m bench.gpu.hardware
"""

from __future__ import annotations

import sys

import ember as em
from bench.gpu import common


def copy_bandwidth_gbs(total_memory: int, repeats: int = 10) -> dict:
    """Device-to-device copy of a buffer far larger than the L2: read + write bytes / time."""
    nbytes = int(min(1 << 30, total_memory // 8)) // 4 * 4
    src = em.ones(nbytes // 4, dtype=em.float32, device="cuda")
    dst = em.empty(nbytes // 4, dtype=em.float32, device="cuda")
    timer = common.Timer(0)
    ms = timer.median_ms({"ember": lambda: dst.copy_(src)}, repeats, warmup=2)["ember"]
    return {"bytes": nbytes, "ms": ms, "gbs": 2 * nbytes / (ms / 1e3) / 1e9}


def measure(repeats: int = 10) -> dict:
    """device_facts() plus the measured copy bandwidth."""
    facts = common.device_facts(em.cuda.current_device())
    facts["copy"] = copy_bandwidth_gbs(facts["total_memory"], repeats)
    facts["bandwidth_gbs"] = facts["copy"]["gbs"]
    return facts


def describe(limits: dict) -> list[str]:
    return [
        (f"gpu: {limits['name']} (sm_{limits['compute_capability'].replace('.', '')}, "
        f"{limits['sm_count']} SMs, {limits['total_memory'] / 2**30:.1f} GiB, "
        f"L2 {limits['l2_cache_size'] / 2**20:.0f} MiB)"),
        (f"FP32 peak: {limits['fp32_peak_gflops']:.0f} GFLOP/s = {limits['sm_count']} SMs x "
        f"{limits['fp32_lanes_per_sm']} lanes x 2 x {limits['clock_rate_khz'] / 1e6:.2f} GHz"),
        (f"bandwidth: {limits['bandwidth_gbs']:.0f} GB/s measured (device copy of "
        f"{limits['copy']['bytes'] / 2**20:.0f} MiB), {limits['theoretical_bandwidth_gbs']:.0f} "
         f"GB/s theoretical"),
    ]


def main(argv=None) -> int:
    common.parse_args(argv, sections=("hardware",), description=__doc__)
    line = common.refusal()
    if line:
        print(line)
        return 0
    for text in describe(measure()):
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
