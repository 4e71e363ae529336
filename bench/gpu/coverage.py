"""Every CUDA kernel, the emulated tests that run it, and what nvcc made of it.

    python -m bench.gpu.coverage [--emu-tests build/dev/ember_cuda_emu_tests]
                                 [--build /tmp/build_nvcc] [--markdown]

Lists the `__global__` kernels of csrc/cuda, runs the CUDA-on-CPU harness's
test program with EMBER_EMU_KERNEL_LOG set (tests/cuda_emu/kernel_log.cpp
records each kernel a test launches), names the launched kernels with `nm`,
and prints one row per kernel: its file, how many emulated tests launch it and
one of them, how many of its template instantiations they run, and, given an nvcc build folder, the registers, stack and shared
memory of its instantiations (`python -m bench.gpu.resources`). Exits with 1
when a kernel is launched by no emulated test. Needs no GPU.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .resources import demangle, find_cuobjdump, render, resources, short_name

ROOT = Path(__file__).resolve().parents[2]
KERNEL = re.compile(r"__global__\s+void\s+(?:__launch_bounds__\([^)]*\)\s+)?(\w+)\s*\(")


def source_kernels() -> dict[str, str]:
    """{kernel name: file} for every __global__ function under csrc/cuda."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / "csrc" / "cuda").rglob("*")):
        if path.suffix not in (".cu", ".cuh"):
            continue
        for m in KERNEL.finditer(path.read_text()):
            name, file = m.group(1), str(path.relative_to(ROOT / "csrc" / "cuda"))
            if name in found:
                raise SystemExit(f"kernel name {name} is defined in both {found[name]} and "
                                 f"{file}: give kernels unique names")
            found[name] = file
    return found


def base_name(demangled: str) -> str:
    """`void ember::...::gemm_kernel<float, X>(Args<float>)` -> `gemm_kernel`."""
    return short_name(demangled).split("<", 1)[0]


def symbols(binary: str) -> dict[int, list[str]]:
    """Function symbols of an object file by address: {address: [demangled names]}."""
    out = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True,
                         check=True)
    rows = [line.split(maxsplit=2) for line in out.stdout.splitlines()]
    rows = [r for r in rows if len(r) == 3 and r[1] in "tTwW"]
    by_address: dict[int, list[str]] = collections.defaultdict(list)
    for (address, _, _), name in zip(rows, demangle([r[2] for r in rows])):
        by_address[int(address, 16)].append(name)
    return by_address


def run_tests(program: str, log: Path, gtest_filter: str | None) -> None:
    env = dict(os.environ, EMBER_EMU_KERNEL_LOG=str(log))
    command = [program] + ([f"--gtest_filter={gtest_filter}"] if gtest_filter else [])
    done = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{program} failed (exit {done.returncode}): fix the tests first")


def launches(log: Path, kernels: dict[str, str]):
    """From the harness's log: {kernel: the tests that launched it}, {kernel: the
    instantiations launched} and {kernel: the instantiations in the program}."""
    tests_of: dict[str, set[str]] = collections.defaultdict(set)
    launched: dict[str, set[str]] = collections.defaultdict(set)
    compiled: dict[str, set[str]] = collections.defaultdict(set)
    tables: dict[str, dict[int, list[str]]] = {}
    for line in log.read_text().splitlines():
        test, binary, offset = line.split("\t")
        if binary not in tables:
            tables[binary] = symbols(binary)
            for names in tables[binary].values():
                for name in names:
                    # The harness's copies only: a CUDA build also links nvcc's host stubs.
                    # GCC's clones ("[clone .cold]": the split-off unlikely part of a
                    # function) are pieces of an instantiation, not instantiations.
                    if ("::emulated::" in name and base_name(name) in kernels
                            and "[clone ." not in name):
                        compiled[base_name(name)].add(name)
        for name in tables[binary].get(int(offset, 16), ()):
            tests_of[base_name(name)].add(test)
            launched[base_name(name)].add(name)
    return tests_of, launched, compiled


def usage_by_kernel(build: Path, files: list[str]) -> dict[str, dict]:
    """{kernel name: instances, register range, largest stack and shared} from cuobjdump."""
    tool = find_cuobjdump()
    if tool is None:
        raise SystemExit("cuobjdump not found (pip install nvidia-cuda-cuobjdump)")
    usage: dict[str, dict] = {}
    for row in resources(build, files, tool):
        u = usage.setdefault(base_name(row["kernel"]),
                             {"instances": 0, "reg": [], "stack": 0, "shared": 0})
        u["instances"] += 1
        u["reg"].append(row["reg"])
        u["stack"] = max(u["stack"], row["stack"] + row["local"])
        u["shared"] = max(u["shared"], row["shared"])
    return usage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emu-tests", default=str(ROOT / "build" / "dev" / "ember_cuda_emu_tests"),
                        help="the harness's test program (built by the dev preset)")
    parser.add_argument("--log", help="reuse this launch log instead of running the tests")
    parser.add_argument("--gtest-filter", help="run only these emulated tests")
    parser.add_argument("--build", help="a CMake build folder with nvcc objects, for resources")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    if shutil.which("nm") is None:
        raise SystemExit("nm (binutils) not found")

    kernels = source_kernels()
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(args.log) if args.log else Path(tmp) / "launches.tsv"
        if not args.log:
            run_tests(args.emu_tests, log, args.gtest_filter)
        tests_of, launched, compiled = launches(log, kernels)
    usage = {}
    if args.build:
        files = sorted(p.stem for p in (ROOT / "csrc" / "cuda").glob("*.cu"))
        usage = usage_by_kernel(Path(args.build), files)

    header = ["file", "kernel", "tests", "e.g.", "instances run"]
    if usage:
        header += ["nvcc instances", "registers", "stack B", "shared B"]
    rows = []
    for name, file in sorted(kernels.items(), key=lambda kv: (kv[1], kv[0])):
        tests = sorted(tests_of.get(name, ()))
        row = [file, name, str(len(tests)), tests[0] if tests else "NONE",
               f"{len(launched.get(name, ()))}/{len(compiled.get(name, ()))}"]
        if usage:
            u = usage.get(name)
            row += ([str(u["instances"]), f"{min(u['reg'])}-{max(u['reg'])}", str(u["stack"]),
                     str(u["shared"])] if u else ["-", "-", "-", "-"])
        rows.append(row)
    print(render(header, rows, args.markdown))
    untested = [name for name in kernels if name not in tests_of]
    # Over csrc/cuda's kernels only: the harness's own tests launch kernels of theirs.
    runs = sum(len(launched.get(name, ())) for name in kernels)
    instances = sum(len(compiled.get(name, ())) for name in kernels)
    print(f"\n{len(kernels)} kernels, {len(kernels) - len(untested)} launched by an emulated test"
          f" ({runs} of their {instances} instantiations)"
          + (f"; none launches: {', '.join(sorted(untested))}" if untested else ""))
    return 1 if untested else 0


if __name__ == "__main__":
    sys.exit(main())
