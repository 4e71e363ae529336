"""ember.nn.functional: PyTorch's functional API (activations, linear, conv,
pooling, normalisation, dropout, losses, embedding, padding)."""

from __future__ import annotations

# activations (elementwise)
from ..ops.elementwise import (  # noqa: E402,F401
    elu, gelu, leaky_relu, relu, sigmoid, silu, softplus, tanh,
)

# softmax family (reductions)

# linear

# convolution and pooling

# embedding, one_hot, pad (indexing)

# normalisation and dropout

# losses
