"""Shared pytest fixtures: the devices to test on, and PyTorch when installed."""

import pytest

import ember as em

DEVICES = ["cpu"] + (["cuda"] if em.cuda.is_available() else [])


@pytest.fixture(params=DEVICES)
def device(request):
    """Each test that takes `device` runs on the CPU and, with a GPU, on cuda."""
    return request.param


@pytest.fixture(autouse=True)
def _seed():
    em.manual_seed(0)
