"""A character-level LSTM language model trained on Python's own standard library.

    python examples/char_rnn.py --steps 400 --seq-len 32 --hidden 128 --lr 0.005

Reads the source of a few standard-library modules, trains an LSTM to predict
the next character with Adam and gradient-norm clipping, prints the loss as
it falls, then samples some text.
"""

from __future__ import annotations

import argparse
import inspect
import time

import numpy as np

import ember as em
from ember import nn
from ember.nn import functional as F

MODULES = ("textwrap", "string", "bisect", "fnmatch", "colorsys")


def load_text() -> str:
    import importlib

    return "\n".join(inspect.getsource(importlib.import_module(name)) for name in MODULES)


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> a linear readout over the vocabulary."""

    def __init__(self, vocab: int, hidden: int, layers: int):
        super().__init__()
        self.embed = nn.Embedding(vocab, hidden)
        self.lstm = nn.LSTM(hidden, hidden, num_layers=layers)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, ids: em.Tensor, state=None):
        out, state = self.lstm(self.embed(ids), state)
        return self.head(out), state


def sample(model: CharLSTM, chars: list, start: str, length: int, temperature: float) -> str:
    index = {ch: i for i, ch in enumerate(chars)}
    rng = np.random.default_rng(0)
    out = list(start)
    with em.no_grad():
        model.eval()
        logits, state = model(em.tensor([[index[ch]] for ch in start]))
        for _ in range(length):
            probs = F.softmax(logits[-1, 0] / temperature, -1).numpy().astype(np.float64)
            nxt = int(rng.choice(len(chars), p=probs / probs.sum()))
            out.append(chars[nxt])
            logits, state = model(em.tensor([[nxt]]), state)
        model.train()
    return "".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", "--epochs", type=int, default=400, dest="steps",
                        help="training steps (one random batch of windows each)")
    parser.add_argument("--seq-len", type=int, default=32)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--lr", type=float, default=0.005)
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--sample-len", type=int, default=300)
    args = parser.parse_args()

    em.manual_seed(0)
    text = load_text()
    chars = sorted(set(text))
    index = {ch: i for i, ch in enumerate(chars)}
    data = np.array([index[ch] for ch in text])
    print(f"{len(text)} characters from {', '.join(MODULES)}; vocabulary {len(chars)}")

    model = CharLSTM(len(chars), args.hidden, args.layers)
    optimizer = em.optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(0)
    start, running = time.time(), None
    for step in range(1, args.steps + 1):
        offsets = rng.integers(0, len(data) - args.seq_len - 1, size=args.batch)
        window = np.stack([data[o:o + args.seq_len + 1] for o in offsets], axis=1)
        inputs, targets = em.tensor(window[:-1]), em.tensor(window[1:])
        logits, _ = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        running = loss.item() if running is None else 0.9 * running + 0.1 * loss.item()
        if step == 1 or step % 20 == 0 or step == args.steps:
            print(f"step {step:5d}  loss {running:.3f}  ({time.time() - start:.1f}s)")
    print("--- sample ---")
    print(sample(model, chars, "def ", args.sample_len, temperature=0.8))


if __name__ == "__main__":
    main()
