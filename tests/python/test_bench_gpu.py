"""bench/gpu without a GPU: the one-line refusal of every entry point, argument
parsing, and the pure helpers (peak FLOPs by compute capability, bandwidth,
L2-flush size, rows in bench/report.py's table)."""

import os
import subprocess
import sys

import pytest

import ember as em

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)

from bench import report
from bench.gpu import common

no_gpu = pytest.mark.skipif(em.cuda.is_available(), reason="checks the refusal without a GPU")


def _refusal_line() -> str:
    built = "yes" if em.backends.cuda.is_built() else "no"
    return f"bench/gpu: no CUDA device (ember built with CUDA: {built})"


@no_gpu
@pytest.mark.parametrize("module", ["run", "gemm", "conv", "memory", "train", "hardware"])
def test_each_entry_point_refuses_in_one_line(module, capsys):
    import importlib

    assert importlib.import_module(f"bench.gpu.{module}").main(["--quick"]) == 0
    assert capsys.readouterr().out.splitlines() == [_refusal_line()]


@no_gpu
@pytest.mark.parametrize("command", [["-m", "bench.gpu", "--quick", "--json", "x.json"],
                                     [os.path.join("bench", "gpu", "run.py")]])
def test_command_line_refuses_and_exits_zero(command):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "python"), ROOT]))
    done = subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True, check=False,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == _refusal_line()
    assert not os.path.exists(os.path.join(ROOT, "x.json"))


def test_argument_parsing():
    args = common.parse_args(["--quick", "--json", "out.json", "--only", "gemm,train"])
    assert args.quick and args.json == "out.json" and args.only == ["gemm", "train"]
    assert args.repeats == 5 and args.flush
    args = common.parse_args(["--repeats", "7", "--no-flush"])
    assert args.only == list(common.SECTIONS) and args.repeats == 7 and not args.flush
    assert common.parse_args([], sections=("gemm",)).only == ["gemm"]
    with pytest.raises(SystemExit):
        common.parse_args(["--only", "gemm,bogus"])
    with pytest.raises(SystemExit):
        common.parse_args(["--repeats", "0"])


def test_fp32_lanes_and_peak_by_compute_capability():
    assert common.fp32_lanes_per_sm(9, 0) == 128  # H100
    assert common.fp32_lanes_per_sm(8, 0) == 64  # A100
    assert common.fp32_lanes_per_sm(8, 6) == 128
    assert common.fp32_lanes_per_sm(7, 0) == 64
    assert common.fp32_lanes_per_sm(7, 5) == 64
    assert common.fp32_lanes_per_sm(12, 7) == 128  # an unknown minor: its major's figure
    with pytest.raises(ValueError, match="compute capability 3.5"):
        common.fp32_lanes_per_sm(3, 5)
    # H100 SXM: 132 SMs x 128 lanes x 2 x 1.98 GHz = 66.9 TFLOP/s
    assert common.fp32_peak_gflops(132, 9, 0, 1_980_000) == pytest.approx(66908.16)
    # A100: 108 x 64 x 2 x 1.41 GHz = 19.5 TFLOP/s
    assert common.fp32_peak_gflops(108, 8, 0, 1_410_000) == pytest.approx(19491.84)


def test_theoretical_bandwidth():
    # H100 SXM: HBM3 at 2619 MHz on a 5120-bit bus, about 3.35 TB/s
    assert common.theoretical_bandwidth_gbs(2_619_000, 5120) == pytest.approx(3352.32)


def test_l2_flush_size_exceeds_the_cache():
    mib = 1 << 20
    assert common.l2_flush_bytes(50 * mib) == 100 * mib  # H100: 50 MiB L2
    assert common.l2_flush_bytes(4 * mib) == 64 * mib
    assert common.l2_flush_bytes(None) == 256 * mib and common.l2_flush_bytes(0) == 256 * mib
    odd = common.l2_flush_bytes(40 * mib + 1)
    assert odd > 2 * 40 * mib and odd % mib == 0


def test_rows_and_table():
    row = common.make_row("gemm", "sgemm 4096x4096x4096", {"ember": 4.0, "torch": 3.0},
                          amount=2 * 4096**3 / 1e9, rate_unit="GFLOP/s", limit=60000.0,
                          limit_name="FP32", m=4096)
    assert row["vs_torch"] == pytest.approx(0.75) and row["numpy"] is None
    assert row["rate"] == pytest.approx(2 * 4096**3 / 1e9 / 4e-3)
    assert row["limit_pct"] == pytest.approx(100 * row["rate"] / 60000.0)
    assert row["torch_rate"] == pytest.approx(2 * 4096**3 / 1e9 / 3e-3) and row["m"] == 4096
    alone = common.make_row("train", "cnn step", {"ember": 2.0}, amount=128, rate_unit="img/s")
    assert alone["torch"] is None and alone["vs_torch"] is None and alone["limit_pct"] is None
    assert alone["rate"] == pytest.approx(64000.0)
    lines = report.table([row, alone])
    assert lines[2] == "[gemm]" and lines[4] == "[train]"
    assert "0.75x" in lines[3] and "FP32" in lines[3] and "img/s" in lines[5]


def test_check_close():
    import numpy as np

    a = np.array([1.0, 2.0, 3.0])
    assert common.check_close(em.tensor(a), a, 1e-12) == 0.0
    with pytest.raises(AssertionError, match="gemm: relative error"):
        common.check_close(a * 1.01, a, 1e-3, "gemm")
    with pytest.raises(AssertionError, match="shape"):
        common.check_close(a[:2], a, 1e-3, "x")
    with pytest.raises(AssertionError, match="relative error nan"):
        common.check_close(np.full(3, np.nan), a, 1.0, "nan")


def test_gemm_shapes_cover_conv_layers():
    from bench.conv import LAYERS
    from bench.gpu import gemm

    shapes = gemm.dl_shapes()
    assert len(shapes) == 5 + len(LAYERS)
    _name, m, n, k = shapes[5]
    assert (m, n, k) == (64 * 28 * 28, 32, 9)
    assert gemm.tolerance("float32", True) > gemm.tolerance("float32", False)
