"""ember.backends.cuda: whether the CUDA backend is compiled in, and its
numerical settings (PyTorch's names)."""

from __future__ import annotations

from .. import _C


def is_built() -> bool:
    """True when ember was built with the CUDA toolkit (a GPU may still be absent)."""
    return _C.cuda.is_built()


class _MatmulSettings:
    """`matmul.allow_tf32`: float32 matmul/mm/bmm on TF32 tensor cores (sm_80 and
    newer; inputs rounded to a 10-bit mantissa, float accumulation). Off by default."""

    @property
    def allow_tf32(self) -> bool:
        return _C.cuda.matmul_allow_tf32()

    @allow_tf32.setter
    def allow_tf32(self, value: bool) -> None:
        _C.cuda.set_matmul_allow_tf32(bool(value))


matmul = _MatmulSettings()


def is_emulated() -> bool:
    """True in the EMBER_CUDA=EMULATED build, where "cuda" runs ember's CUDA
    kernels on the CPU through the CUDA-on-CPU harness (for testing only)."""
    return _C.cuda.is_emulated()
