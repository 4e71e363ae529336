"""ember.nn: modules, parameters and functional ops. Layers live beside
module.py, one file per family, and are re-exported here."""

from . import functional
from .dropout import Dropout
from .linear import Flatten, Identity, Linear, Unflatten
from .module import Module
from .normalization import LayerNorm
from .parameter import Buffer, Parameter

__all__ = [
    "Buffer",
    "Dropout",
    "Flatten",
    "Identity",
    "LayerNorm",
    "Linear",
    "Module",
    "Parameter",
    "Unflatten",
    "functional",
]
