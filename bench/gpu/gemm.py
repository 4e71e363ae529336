"""GEMM on the GPU: square 1024..8192 and deep-learning shapes; sgemm with TF32
off and on, dgemm at small sizes; GFLOP/s and % of the FP32 peak.

    python -m bench.gpu.gemm [--quick] [--json PATH]
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np

import ember as em
from bench.conv import LAYERS
from bench.gpu import common

SQUARE = (1024, 2048, 4096, 8192)
SQUARE_QUICK = (1024, 2048)
DGEMM = (512, 1024, 2048)
DGEMM_QUICK = (512,)
CHECK_ROWS = 64


def dl_shapes() -> list[tuple[str, int, int, int]]:
    """(name, M, N, K): bench/ops.py's matmuls, the examples' linear layers, and
    bench/conv.py's layers as implicit GEMMs (M = N*Ho*Wo, N = K, K = C*kh*kw)."""
    shapes = [("ops matmul 256", 256, 256, 256),
              ("linear b128 784->256", 128, 256, 784),
              ("linear b128 3136->128", 128, 128, 3136),
              ("linear b4096 1024->4096", 4096, 4096, 1024),
              ("linear b4096 4096->1024", 4096, 1024, 4096)]
    for name, n, c, h, w, k, ks, stride, pad in LAYERS:
        ho, wo = (h + 2 * pad - ks) // stride + 1, (w + 2 * pad - ks) // stride + 1
        shapes.append((f"conv-as-gemm {name}", n * ho * wo, k, c * ks * ks))
    return shapes


@contextlib.contextmanager
def tf32(enabled: bool, torch=None):
    """Sets TF32 for matmul in ember (and PyTorch) for the block, then restores it."""
    matmul = em.backends.cuda.matmul
    old = getattr(matmul, "allow_tf32", False)
    old_torch = torch.backends.cuda.matmul.allow_tf32 if torch is not None else None
    matmul.allow_tf32 = enabled
    if torch is not None:
        torch.backends.cuda.matmul.allow_tf32 = enabled
    try:
        yield
    finally:
        matmul.allow_tf32 = old
        if torch is not None:
            torch.backends.cuda.matmul.allow_tf32 = old_torch


def tolerance(dtype: str, allow_tf32: bool) -> float:
    """Relative Frobenius error allowed against the float64 product."""
    if dtype == "float64":
        return 1e-10
    return 5e-3 if allow_tf32 else 1e-4


def gemm_case(ctx: common.Context, name: str, m: int, n: int, k: int, dtype: str = "float32",
              allow_tf32: bool = False) -> dict | None:
    rng = np.random.default_rng(m * 31 + n * 7 + k)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    ea, eb = em.tensor(a).to("cuda"), em.tensor(b).to("cuda")
    fns = {"ember": lambda: ea @ eb}
    torch = ctx.torch
    if torch is not None:
        ta, tb = torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()
        fns["torch"] = lambda: ta @ tb
    rows = min(CHECK_ROWS, m)
    reference = a[:rows].astype(np.float64) @ b.astype(np.float64)

    def check():
        common.check_close((ea @ eb)[:rows], reference, tolerance(dtype, allow_tf32), name)

    mode = "dgemm" if dtype == "float64" else ("sgemm tf32" if allow_tf32 else "sgemm")
    limit = ctx.limits["fp32_peak_gflops"] if dtype == "float32" else None
    with tf32(allow_tf32, torch):
        return ctx.run_case("gemm", f"{mode} {name}", fns, check, amount=2 * m * n * k / 1e9,
                            rate_unit="GFLOP/s", limit=limit, limit_name="FP32",
                            m=m, n=n, k=k, dtype=dtype, tf32=allow_tf32)


def run(ctx: common.Context) -> None:
    quick = ctx.args.quick
    for allow in (False, True):
        for s in SQUARE_QUICK if quick else SQUARE:
            gemm_case(ctx, f"{s}x{s}x{s}", s, s, s, allow_tf32=allow)
        for name, m, n, k in dl_shapes()[:3] if quick else dl_shapes():
            gemm_case(ctx, f"{name} ({m}x{n}x{k})", m, n, k, allow_tf32=allow)
    for s in DGEMM_QUICK if quick else DGEMM:
        gemm_case(ctx, f"{s}x{s}x{s}", s, s, s, dtype="float64")


def main(argv=None) -> int:
    from bench.gpu.run import run_sections

    return run_sections(["gemm"], argv)


if __name__ == "__main__":
    sys.exit(main())
