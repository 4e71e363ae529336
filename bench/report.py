"""Output of the benchmark suite: the terminal table, the JSON record and the ratio chart.

A row is a dict with: section, case, unit (of the times), ember / numpy / torch
(times in that unit, None where the peer does not run the case), vs_numpy /
vs_torch (peer time / ember time, > 1 means ember is faster), rate and
rate_unit (ember's GFLOP/s or GB/s, or None) and limit_pct / limit (the rate as
a share of the FMA ceiling or of the STREAM bandwidth).
"""

from __future__ import annotations

import json
import os

PEERS = ("numpy", "torch")


def _num(value, width: int, fmt: str) -> str:
    return f"{'-':>{width}s}" if value is None else f"{value:{width}{fmt}}"


def table(rows: list[dict]) -> list[str]:
    """The rows as aligned terminal lines, one block per section."""
    header = (f"{'case':44s} {'unit':>7s} {'ember':>9s} {'numpy':>9s} {'torch':>9s} "
              f"{'vs numpy':>8s} {'vs torch':>8s} {'ember rate':>16s} {'% limit':>12s}")
    lines = [header, "-" * len(header)]
    section = None
    for r in rows:
        if r["section"] != section:
            section = r["section"]
            lines.append(f"[{section}]")
        times = " ".join(_num(r.get(p), 9, ".3f") for p in ("ember",) + PEERS)
        ratios = " ".join(_num(r.get(f"vs_{p}"), 7, ".2f") + ("x" if r.get(f"vs_{p}") else " ")
                          for p in PEERS)
        rate = (f"{r['rate']:8.1f} {r['rate_unit']:>7s}" if r.get("rate") is not None
                else f"{'-':>16s}")
        limit = (f"{r['limit_pct']:5.0f}% {r['limit']:>6s}" if r.get("limit_pct") is not None
                 else f"{'-':>12s}")
        lines.append(f"{r['case'][:44]:44s} {r['unit']:>7s} {times} {ratios} {rate} {limit}")
    return lines


def write_json(path: str, payload: dict) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)


def write_chart(path: str, rows: list[dict]) -> bool:
    """A horizontal bar chart of the speed ratios; False (and no file) without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = [(f"{r['section']}: {r['case']}", p, r[f"vs_{p}"])
            for r in rows for p in PEERS if r.get(f"vs_{p}")]
    if not bars:
        return False
    fig, ax = plt.subplots(figsize=(10, 0.28 * len(bars) + 1.5))
    colors = {"numpy": "tab:blue", "torch": "tab:orange"}
    ys = range(len(bars))
    ax.barh(ys, [b[2] for b in bars], color=[colors[b[1]] for b in bars])
    ax.set_yticks(list(ys), [f"{b[0]} (vs {b[1]})" for b in bars], fontsize=7)
    ax.invert_yaxis()
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("peer time / ember time (> 1: ember faster)")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True
