"""Registers, stack, spills and shared memory of ember's compiled CUDA kernels.

    python -m bench.gpu.resources [--build build/test] [--files gemm,conv] [--markdown]

Reads the objects nvcc wrote for csrc/cuda/<file>.cu in a CMake build folder
with `cuobjdump --dump-resource-usage` (cuobjdump from the CUDA toolkit, or
the `nvidia-cuda-cuobjdump` pip package) and prints one row per kernel and
architecture. STACK (local memory per thread) 0 means no register spills.
Needs no GPU.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = re.compile(r"^\s*Function (\S+):\s*$")
USAGE = re.compile(r"REG:(\d+) STACK:(\d+) SHARED:(\d+) LOCAL:(\d+)")
ARCH = re.compile(r"^arch = (sm_\d+)")


def find_cuobjdump() -> str | None:
    """cuobjdump on PATH, in the toolkit, or from the nvidia-cuda-cuobjdump wheel."""
    found = shutil.which("cuobjdump")
    if found:
        return found
    toolkit = Path("/usr/local/cuda/bin/cuobjdump")
    if toolkit.exists():
        return str(toolkit)
    try:
        import nvidia  # the namespace package of NVIDIA's pip wheels
    except ImportError:
        return None
    for base in nvidia.__path__:
        for candidate in Path(base).glob("cu*/bin/cuobjdump"):
            return str(candidate)
    return None


def demangle(names: list[str]) -> list[str]:
    tool = shutil.which("c++filt")
    if not tool or not names:
        return names
    out = subprocess.run([tool], input="\n".join(names), capture_output=True, text=True,
                         check=False)
    return out.stdout.splitlines() if out.returncode == 0 else names


def short_name(demangled: str) -> str:
    """`void ember::cuda::device::(anonymous namespace)::foo_kernel<float, 2>(float*, int)` ->
    `foo_kernel<float, 2>`."""
    name = demangled.replace("(anonymous namespace)::", "").replace("ember::cuda::device::", "")
    if name.endswith(")"):  # drop the parameter list: the last balanced (...)
        depth = 0
        for i in range(len(name) - 1, -1, -1):
            depth += {")": 1, "(": -1}.get(name[i], 0)
            if depth == 0:
                name = name[:i]
                break
    name = re.sub(r"^void ", "", name)
    depth, cut = 0, 0
    for i, c in enumerate(name):  # the last "::" outside template brackets
        depth += {"<": 1, ">": -1}.get(c, 0)
        if depth == 0 and name.startswith("::", i):
            cut = i + 2
    return name[cut:]


def parse(text: str) -> list[dict]:
    """Rows {arch, mangled, reg, stack, shared, local} from cuobjdump's output."""
    rows, arch, function = [], None, None
    for line in text.splitlines():
        if m := ARCH.match(line):
            arch = m.group(1)
        elif m := FUNCTION.match(line):
            function = m.group(1)
        elif (m := USAGE.search(line)) and function:
            reg, stack, shared, local = map(int, m.groups())
            rows.append({"arch": arch, "mangled": function, "reg": reg, "stack": stack,
                         "shared": shared, "local": local})
            function = None
    return rows


def resources(build: Path, files: list[str], tool: str) -> list[dict]:
    rows = []
    for name in files:
        obj = build / "CMakeFiles" / "ember_core.dir" / "csrc" / "cuda" / f"{name}.cu.o"
        if not obj.exists():
            raise FileNotFoundError(f"{obj} not found: build the CUDA preset first")
        out = subprocess.run([tool, "--dump-resource-usage", str(obj)], capture_output=True,
                             text=True, check=True)
        found = parse(out.stdout)
        for row, demangled in zip(found, demangle([r["mangled"] for r in found])):
            row["file"] = f"{name}.cu"
            row["kernel"] = short_name(demangled)
        rows += found
    return rows


def render(header: list[str], body: list[list[str]], markdown: bool) -> str:
    """A table of strings, as markdown or in aligned columns."""
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])
    widths = [max(len(x) for x in col) for col in zip(header, *body)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*r) for r in [header, *body])


def table(rows: list[dict], markdown: bool) -> str:
    header = ["file", "kernel", "arch", "registers", "stack B", "shared B"]
    body = [[r["file"], r["kernel"], r["arch"], str(r["reg"]), str(r["stack"]), str(r["shared"])]
            for r in sorted(rows, key=lambda r: (r["file"], r["kernel"], r["arch"]))]
    return render(header, body, markdown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=str(ROOT / "build" / "test"))
    parser.add_argument("--files", default="gemm,conv")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    tool = find_cuobjdump()
    if tool is None:
        print("bench/gpu/resources: cuobjdump not found (pip install nvidia-cuda-cuobjdump)")
        return 0
    rows = resources(Path(args.build), args.files.split(","), tool)
    print(table(rows, args.markdown))
    spilling = [r for r in rows if r["stack"] or r["local"]]
    print(f"\n{len(rows)} kernels, {len(spilling)} with stack or local memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
