"""ember.nn.functional: PyTorch's functional API (activations, linear, conv,
pooling, normalisation, dropout, losses, embedding, padding)."""

from __future__ import annotations

# activations (elementwise)

# softmax family (reductions)

# linear
from ..ops.linalg import linear  # noqa: E402,F401

# convolution and pooling

# embedding, one_hot, pad (indexing)

# normalisation and dropout

# losses
