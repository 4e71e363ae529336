"""ember: a small deep-learning framework with hand-written CPU and CUDA kernels.

    >>> import ember as em
    >>> x = em.randn(64, 784, requires_grad=True)
    >>> loss = (x @ em.randn(784, 10)).relu().sum()
    >>> loss.backward()
"""

from __future__ import annotations

import builtins

from . import _C, autograd, backends, cuda, data, nn, optim, train
from ._C import get_num_threads, set_num_threads
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    get_default_dtype,
    initial_seed,
    linspace,
    manual_seed,
    normal,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    set_default_dtype,
    tensor,
    uniform,
    zeros,
    zeros_like,
)
from .io import load, save
from .memory import empty_cache, memory_stats
from .ops.conv import *
from .ops.copy import clone
from .ops.elementwise import *
from .ops.index import *
from .ops.linalg import *
from .ops.loss import *
from .ops.norm import *
from .ops.reduce import *
from .ops.shape import *
from .tensor import Size, Tensor

_C.DType.__repr__ = _C.DType.__str__ = lambda self: f"ember.{self.name}"
float32 = _C.DType.float32
float64 = _C.DType.float64
int64 = _C.DType.int64
int32 = _C.DType.int32
float16 = _C.DType.float16
bfloat16 = _C.DType.bfloat16
# PyTorch's dtype names, shadowing the builtins inside this module on purpose.
bool = _C.DType.bool
float = float32
double = float64
half = float16
long = int64
int = int32
dtype = _C.DType
device = _C.Device

__version__ = "0.1.0"


def is_tensor(obj) -> builtins.bool:
    """True for an ember Tensor."""
    return isinstance(obj, Tensor)
