"""ember.nn.functional: PyTorch's functional API (activations, linear, conv,
pooling, normalisation, dropout, losses, embedding, padding)."""

from __future__ import annotations

# convolution and pooling
from ..ops.conv import (
    adaptive_avg_pool2d,
    avg_pool2d,
    conv1d,
    conv2d,
    conv_transpose2d,
    max_pool2d,
)

# activations (elementwise)
from ..ops.elementwise import elu, gelu, leaky_relu, relu, sigmoid, silu, softplus, tanh

# embedding, one_hot, pad (indexing)
from ..ops.index import embedding, one_hot, pad

# linear
from ..ops.linalg import linear

# losses
from ..ops.loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)

# normalisation and dropout
from ..ops.norm import batch_norm, dropout, group_norm, layer_norm

# softmax family (reductions)
from ..ops.reduce import log_softmax, softmax

# kl_div (in Tensor ops, beside the loss modules)
from .loss import kl_div

# attention
from .transformer import scaled_dot_product_attention
