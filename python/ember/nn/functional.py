"""ember.nn.functional: PyTorch's functional API (activations, linear, conv,
pooling, normalisation, dropout, losses, embedding, padding)."""

from __future__ import annotations

# activations (elementwise)
from ..ops.elementwise import elu, gelu, leaky_relu, relu, sigmoid, silu, softplus, tanh  # noqa: F401

# softmax family (reductions)
from ..ops.reduce import log_softmax, softmax  # noqa: F401

# linear
from ..ops.linalg import linear  # noqa: F401

# convolution and pooling
from ..ops.conv import (  # noqa: F401
    adaptive_avg_pool2d, avg_pool2d, conv2d, max_pool2d,
)

# embedding, one_hot, pad (indexing)
from ..ops.index import embedding, one_hot, pad  # noqa: F401

# normalisation and dropout
from ..ops.norm import batch_norm, dropout, group_norm, layer_norm  # noqa: E402,F401

# losses
from ..ops.loss import (  # noqa: E402,F401
    binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, l1_loss, mse_loss,
    nll_loss, smooth_l1_loss,
)
