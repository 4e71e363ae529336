"""ember in one page: tensors, autograd and a training loop by hand.

Trains a two-layer network to separate three interleaved spirals (points in
the plane), with plain SGD written out, and prints the loss and accuracy.

    python examples/quickstart.py [--steps 300] [--hidden 64]
"""

import argparse
import math
import time

import ember as em
import ember.nn.functional as F


def spirals(n_per_class: int, classes: int = 3):
    """Points on `classes` noisy spiral arms, labelled by arm."""
    t = em.linspace(0.0, 1.0, n_per_class)
    xs, ys = [], []
    for c in range(classes):
        radius = t
        angle = t * 4.0 + (2 * math.pi * c / classes) + em.randn(n_per_class) * 0.2
        xs.append(em.stack([radius * em.cos(angle), radius * em.sin(angle)], dim=1))
        ys.append(em.full((n_per_class,), c))
    return em.cat(xs), em.cat(ys)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.5)
    args = parser.parse_args()

    em.manual_seed(0)
    x, y = spirals(300)
    w1 = (em.randn(2, args.hidden) * math.sqrt(2 / 2)).requires_grad_()
    b1 = em.zeros(args.hidden, requires_grad=True)
    w2 = (em.randn(args.hidden, 3) * math.sqrt(1 / args.hidden)).requires_grad_()
    b2 = em.zeros(3, requires_grad=True)
    params = [w1, b1, w2, b2]

    start = time.perf_counter()
    for step in range(args.steps + 1):
        logits = F.relu(x @ w1 + b1) @ w2 + b2
        loss = F.cross_entropy(logits, y)
        for p in params:
            p.grad = None
        loss.backward()
        with em.no_grad():
            for p in params:
                p -= args.lr * p.grad
        if step % 50 == 0:
            accuracy = (logits.argmax(dim=1) == y).float().mean().item()
            print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {accuracy:.3f}")
    elapsed = time.perf_counter() - start
    print(f"{args.steps} steps in {elapsed:.2f} s ({1e3 * elapsed / args.steps:.2f} ms/step)")


if __name__ == "__main__":
    main()
