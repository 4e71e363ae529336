"""ember.nn.functional: PyTorch's functional API (activations, linear, conv,
pooling, normalisation, dropout, losses, embedding, padding)."""

from __future__ import annotations

# activations (elementwise)

# softmax family (reductions)

# linear

# convolution and pooling

# embedding, one_hot, pad (indexing)
from ..ops.index import embedding, one_hot, pad  # noqa: F401

# normalisation and dropout

# losses
