"""Shared pytest fixtures: the devices to test on, and PyTorch when installed.

Every device-parametrised test runs on "cpu" and "cuda"; the cuda variant is
always collected and skips with "no CUDA device" where ember has no CUDA build
or no GPU is visible, so a CPU-only run shows what it did not test.
"""

import pytest

import ember as em

CUDA_AVAILABLE = em.cuda.is_available()

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not CUDA_AVAILABLE, reason="no CUDA device")),
]


@pytest.fixture(params=DEVICES)
def device(request):
    """Each test that takes `device` runs on the CPU and on cuda (skipped without a GPU)."""
    return request.param


@pytest.fixture
def cuda_device():
    """For cuda-only tests (device mixing): skips cleanly without a GPU."""
    if not CUDA_AVAILABLE:
        pytest.skip("no CUDA device")
    return "cuda"


@pytest.fixture(autouse=True)
def _seed():
    em.manual_seed(0)
