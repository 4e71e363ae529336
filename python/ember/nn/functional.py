"""ember.nn.functional: PyTorch's functional API (activations, linear, conv,
pooling, normalisation, dropout, losses, embedding, padding)."""

from __future__ import annotations

# activations (elementwise)

# softmax family (reductions)

# linear

# convolution and pooling

# embedding, one_hot, pad (indexing)

# normalisation and dropout
from ..ops.norm import batch_norm, dropout, group_norm, layer_norm  # noqa: E402,F401

# losses
from ..ops.loss import (  # noqa: E402,F401
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss,
    nll_loss, smooth_l1_loss,
)
