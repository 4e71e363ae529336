"""CPU/CUDA kernel parity, checked in the sources: every device dispatch in
csrc/ops and csrc/core (a `switch` on a tensor's device type) must have both a
`case DeviceType::cpu` and a `case DeviceType::cuda`, and no op may turn a
device away outside such a switch. An op gaining a CPU kernel without a CUDA
one (or the reverse) fails here, on every machine, GPU or not."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "csrc" / "ops").glob("*.cpp")) + sorted((ROOT / "csrc" / "core").glob("*.cpp"))
SWITCH = re.compile(r"switch \(([\w.]*device(?:\(\))?\.type)\) \{")


def _switches(text):
    """(line, body) of every device switch in `text`."""
    for match in SWITCH.finditer(text):
        depth, i = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        yield text.count("\n", 0, match.start()) + 1, text[match.end():i]


def _op_name(body):
    found = re.search(r'no_kernel\(\s*("?[\w_]+"?)', body)
    return found.group(1) if found else "?"


def test_the_sources_are_there():
    assert len(SOURCES) > 10, "csrc/ not found next to tests/"
    assert sum(len(list(_switches(p.read_text()))) for p in SOURCES) > 50


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_dispatch_has_both_kernels(path):
    missing = []
    for line, body in _switches(path.read_text()):
        for device in ("cpu", "cuda"):
            if f"case DeviceType::{device}" not in body:
                missing.append(f"{path.name}:{line} ({_op_name(body)}) has no {device} kernel")
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_device_is_turned_away_outside_a_switch(path):
    text = path.read_text()
    inside = [(m.start(), m.start() + len(body)) for m in SWITCH.finditer(text)
              for _, body in [next(_switches(text[m.start():]))]]
    stray = [text.count("\n", 0, m.start()) + 1 for m in re.finditer(r"no_kernel\(", text)
             if not any(a <= m.start() <= b for a, b in inside)]
    assert not stray, f"{path.name}: no_kernel outside a device switch at lines {stray}"


def test_a_one_sided_switch_is_caught():
    one_sided = """
    switch (x.device().type) {
      case DeviceType::cpu: cpu::thing(x); break;
      default: no_kernel("thing", x.device());
    }"""
    [(_, body)] = list(_switches(one_sided))
    assert "case DeviceType::cpu" in body and "case DeviceType::cuda" not in body
    assert _op_name(body) == '"thing"'
