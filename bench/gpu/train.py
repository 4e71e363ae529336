"""One training step on the GPU: the Fashion-MNIST CNN of examples/ (as in
bench/train_compare.py), Adam, batch 128; ms per step and images/s.

    python -m bench.gpu.train [--quick] [--json PATH]
"""

from __future__ import annotations

import sys

import numpy as np

import ember as em
import ember.nn.functional as F
from bench.gpu import common

BATCH = 128


def run(ctx: common.Context) -> None:
    from bench.train_compare import make_model, torch_model

    torch = ctx.torch
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, BATCH)
    model = make_model("cnn")
    tmodel = torch_model("cnn", model).cuda() if torch is not None else None
    cpu_model = make_model("cnn")
    cpu_model.load_state_dict(model.state_dict())
    model.to("cuda")
    ex, ey = em.tensor(x).to("cuda"), em.tensor(y).to("cuda")
    opt = em.optim.Adam(model.parameters(), lr=1e-3)

    def ember_step():
        opt.zero_grad()
        loss = F.cross_entropy(model(ex), ey)
        loss.backward()
        opt.step()
        return loss

    fns = {"ember": ember_step}
    if tmodel is not None:
        tx, ty = torch.from_numpy(x).cuda(), torch.from_numpy(y).cuda()
        topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)

        def torch_step():
            topt.zero_grad()
            loss = torch.nn.functional.cross_entropy(tmodel(tx), ty)
            loss.backward()
            topt.step()
            return loss

        fns["torch"] = torch_step

    def check():
        # Same weights: eval-mode logits agree with PyTorch (or with ember on the CPU).
        model.eval()
        with em.no_grad():
            logits = model(ex)
        model.train()
        if tmodel is not None:
            tmodel.eval()
            with torch.no_grad():
                expected = tmodel(tx)
            tmodel.train()
        else:
            cpu_model.eval()
            with em.no_grad():
                expected = cpu_model(em.tensor(x))
        common.check_close(logits, expected, 1e-4, "cnn eval logits")

    ctx.run_case("train", f"cnn step batch {BATCH} (Adam)", fns, check, amount=BATCH,
                 rate_unit="img/s")


def main(argv=None) -> int:
    from bench.gpu.run import run_sections

    return run_sections(["train"], argv)


if __name__ == "__main__":
    sys.exit(main())
