"""Convolutions on the GPU: bench/conv.py's layers, forward and forward+backward.

    python -m bench.gpu.conv [--quick] [--json PATH]
"""

from __future__ import annotations

import sys

import numpy as np

import ember as em
import ember.nn.functional as F
from bench.conv import LAYERS
from bench.gpu import common


def forward_gflop(n, c, h, w, k, ks, stride, pad) -> float:
    ho, wo = (h + 2 * pad - ks) // stride + 1, (w + 2 * pad - ks) // stride + 1
    return 2 * n * k * ho * wo * c * ks * ks / 1e9


def layer_cases(ctx: common.Context, name, n, c, h, w, k, ks, stride, pad) -> None:
    rng = np.random.default_rng(n + c + h + k)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = (rng.standard_normal((k, c, ks, ks)) / np.sqrt(c * ks * ks)).astype(np.float32)
    bias = rng.standard_normal(k).astype(np.float32)
    ex, ew, eb = (em.tensor(v).to("cuda").requires_grad_(True) for v in (x, wt, bias))
    out_shape = F.conv2d(ex.detach(), ew.detach(), eb.detach(), stride=stride, padding=pad).shape
    g = rng.standard_normal(tuple(out_shape)).astype(np.float32)
    eg = em.tensor(g).to("cuda")
    torch = ctx.torch

    def ember_forward():
        with em.no_grad():
            return F.conv2d(ex, ew, eb, stride=stride, padding=pad)

    def ember_both():
        out = F.conv2d(ex, ew, eb, stride=stride, padding=pad)
        return em.autograd.grad(out, (ex, ew, eb), grad_outputs=eg)

    fwd, both = {"ember": ember_forward}, {"ember": ember_both}
    if torch is not None:
        tx, tw, tb = (torch.from_numpy(v).cuda().requires_grad_(True) for v in (x, wt, bias))
        tg = torch.from_numpy(g).cuda()

        def torch_forward():
            with torch.no_grad():
                return torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad)

        def torch_both():
            out = torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=pad)
            return torch.autograd.grad(out, (tx, tw, tb), grad_outputs=tg)

        fwd["torch"], both["torch"] = torch_forward, torch_both

    def reference_forward():
        if torch is not None:
            return fwd["torch"]()
        return F.conv2d(ex.detach().cpu(), ew.detach().cpu(), eb.detach().cpu(),
                        stride=stride, padding=pad)

    def reference_both():
        if torch is not None:
            return both["torch"]()
        cx, cw, cb = (t.detach().cpu().requires_grad_(True) for t in (ex, ew, eb))
        out = F.conv2d(cx, cw, cb, stride=stride, padding=pad)
        return em.autograd.grad(out, (cx, cw, cb), grad_outputs=eg.cpu())

    def check_forward():
        common.check_close(ember_forward(), reference_forward(), 1e-4, f"{name} forward")

    def check_both():
        for i, (a, e) in enumerate(zip(ember_both(), reference_both())):
            common.check_close(a, e, 1e-4, f"{name} grad {('input', 'weight', 'bias')[i]}")

    gflop = forward_gflop(n, c, h, w, k, ks, stride, pad)
    limit = ctx.limits["fp32_peak_gflops"]
    ctx.run_case("conv", f"fwd {name}", fwd, check_forward, amount=gflop, rate_unit="GFLOP/s",
                 limit=limit, limit_name="FP32")
    ctx.run_case("conv", f"fwd+bwd {name}", both, check_both, amount=3 * gflop,
                 rate_unit="GFLOP/s", limit=limit, limit_name="FP32")


def run(ctx: common.Context) -> None:
    for layer in LAYERS[:2] if ctx.args.quick else LAYERS:
        layer_cases(ctx, *layer)


def main(argv=None) -> int:
    from bench.gpu.run import run_sections

    return run_sections(["conv"], argv)


if __name__ == "__main__":
    sys.exit(main())
