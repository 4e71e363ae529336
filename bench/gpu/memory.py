"""Memory-bound ops on the GPU: softmax / log_softmax, sum / mean over rows and
columns, add / mul / relu; GB/s and % of the measured copy bandwidth.

    python -m bench.gpu.memory [--quick] [--json PATH]
"""

from __future__ import annotations

import sys

import numpy as np

import ember as em
from bench.gpu import common

SOFTMAX_SHAPES = ((4096, 1024), (16384, 4096))
REDUCE_SHAPE = (16384, 4096)
ELEMENTWISE_SIZES = (1 << 24, 1 << 26)


def _np_softmax(v, log=False):
    v = v.astype(np.float64)
    shifted = v - v.max(axis=1, keepdims=True)
    lse = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted - lse if log else np.exp(shifted - lse)


def _case(ctx, name, ember_fn, torch_fn, reference, nbytes, rtol):
    fns = {"ember": ember_fn}
    if torch_fn is not None:
        fns["torch"] = torch_fn

    def check():
        common.check_close(ember_fn(), torch_fn() if torch_fn is not None else reference(),
                           rtol, name)

    ctx.run_case("memory", name, fns, check, amount=nbytes / 1e9, rate_unit="GB/s",
                 limit=ctx.limits["bandwidth_gbs"], limit_name="BW")


def run(ctx: common.Context) -> None:
    torch = ctx.torch
    quick = ctx.args.quick
    rng = np.random.default_rng(0)
    for shape in SOFTMAX_SHAPES[:1] if quick else SOFTMAX_SHAPES:
        s = rng.standard_normal(shape, dtype=np.float32)
        es = em.tensor(s).to("cuda")
        ts = torch.from_numpy(s).cuda() if torch is not None else None
        for log in (False, True):
            op = "log_softmax" if log else "softmax"
            _case(ctx, f"{op} {shape[0]}x{shape[1]} dim=1",
                  lambda es=es, op=op: getattr(em, op)(es, dim=1),
                  (lambda ts=ts, op=op: getattr(torch, op)(ts, dim=1)) if ts is not None else None,
                  lambda s=s, log=log: _np_softmax(s, log), 2 * s.nbytes, 1e-5)

    shape = (4096, 1024) if quick else REDUCE_SHAPE
    r = rng.standard_normal(shape, dtype=np.float32)
    er = em.tensor(r).to("cuda")
    tr = torch.from_numpy(r).cuda() if torch is not None else None
    for op in ("sum", "mean"):
        for dim, what in ((1, "rows"), (0, "columns")):
            _case(ctx, f"{op} over {what} {shape[0]}x{shape[1]} dim={dim}",
                  lambda op=op, dim=dim: getattr(em, op)(er, dim=dim),
                  (lambda op=op, dim=dim: getattr(torch, op)(tr, dim=dim)) if tr is not None
                  else None,
                  lambda op=op, dim=dim: getattr(np, op)(r.astype(np.float64), axis=dim),
                  r.nbytes, 1e-5)

    for size in ELEMENTWISE_SIZES[:1] if quick else ELEMENTWISE_SIZES:
        a = rng.standard_normal(size, dtype=np.float32)
        b = rng.standard_normal(size, dtype=np.float32)
        ea, eb = em.tensor(a).to("cuda"), em.tensor(b).to("cuda")
        ta, tb = ((torch.from_numpy(a).cuda(), torch.from_numpy(b).cuda()) if torch is not None
                  else (None, None))
        label = f"2^{size.bit_length() - 1}"
        cases = [("add", lambda x, y: x + y, 3), ("mul", lambda x, y: x * y, 3),
                 ("relu", lambda x, y: x.relu() if hasattr(x, "relu") else np.maximum(x, 0), 2)]
        for op, fn, passes in cases:
            _case(ctx, f"{op} {label} float32",
                  lambda fn=fn, x=ea, y=eb: fn(x, y),
                  (lambda fn=fn, x=ta, y=tb: fn(x, y)) if ta is not None else None,
                  lambda fn=fn, x=a, y=b: fn(x, y), passes * a.nbytes, 1e-6)


def main(argv=None) -> int:
    from bench.gpu.run import run_sections

    return run_sections(["memory"], argv)


if __name__ == "__main__":
    sys.exit(main())
