"""Attention and the Transformer encoder: scaled_dot_product_attention,
MultiheadAttention, TransformerEncoderLayer, TransformerEncoder (PyTorch's
names, parameter layout and mask conventions)."""

from __future__ import annotations

import copy
import math
import numbers
from typing import Callable

from .. import _C, creation
from ..autograd.grad_mode import no_grad
from ..ops.elementwise import gelu, relu
from ..ops.index import masked_fill
from ..ops.linalg import linear, matmul
from ..ops.norm import dropout as _dropout
from ..ops.reduce import softmax
from ..tensor import Tensor
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm
from .parameter import Parameter


def _causal_mask(L: int, S: int, device) -> Tensor:
    """bool (L, S): True where key j may be seen from query i (j <= i)."""
    rows = creation.arange(L, device=device).unsqueeze(1)
    cols = creation.arange(S, device=device).unsqueeze(0)
    return rows >= cols


def _additive(mask: Tensor, like: Tensor, keep_where_true: bool) -> Tensor:
    """A float mask to add to the attention scores: bool masks become 0 / -inf."""
    if mask.dtype == _C.DType.bool:
        blocked = ~mask if keep_where_true else mask
        zeros = creation.zeros(*mask.shape, dtype=like.dtype, device=like.device)
        return masked_fill(zeros, blocked, float("-inf"))
    if not mask.is_floating_point():
        raise TypeError(f"attention: masks must be bool or floating point, got {mask.dtype}")
    return mask if mask.dtype == like.dtype else mask.to(like.dtype)


def _attend(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | None, dropout_p: float,
            scale: float) -> tuple:
    scores = matmul(q * scale, k.transpose(-2, -1))
    if mask is not None:
        scores = scores + mask
    weights = softmax(scores, -1)
    if dropout_p > 0.0:
        weights = _dropout(weights, dropout_p, True)
    return matmul(weights, v), weights


def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor,
                                 attn_mask: Tensor | None = None, dropout_p: float = 0.0,
                                 is_causal: bool = False, scale: float | None = None) -> Tensor:
    """softmax(query @ key^T * scale + mask) @ value.

    Args:
        query: (..., L, E).
        key: (..., S, E).
        value: (..., S, Ev).
        attn_mask: broadcastable to (..., L, S); bool (True = may attend) or float (added).
        dropout_p: dropout on the attention weights (always applied when > 0).
        is_causal: mask out keys after each query (lower-triangular); not with attn_mask.
        scale: the score scale, 1/sqrt(E) by default.

    Returns:
        (..., L, Ev).
    """
    for what, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention: {what} must be a Tensor, "
                            f"got {type(t).__name__}")
        if t.ndim < 2:
            raise ValueError(f"scaled_dot_product_attention: {what} needs at least 2 dims, "
                             f"got shape {list(t.shape)}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: incompatible shapes query "
                         f"{list(query.shape)}, key {list(key.shape)}, value "
                         f"{list(value.shape)}")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"scaled_dot_product_attention: dropout_p must be in [0, 1], "
                         f"got {dropout_p}")
    L, S = query.shape[-2], key.shape[-2]
    mask = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: pass attn_mask or is_causal, "
                             "not both")
        mask = _additive(_causal_mask(L, S, query.device), query, True)
    elif attn_mask is not None:
        mask = _additive(attn_mask, query, True)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    return _attend(query, key, value, mask, dropout_p, scale)[0]


def _xavier_uniform_(p: Tensor) -> None:
    fan_out, fan_in = p.shape[0], p.shape[1]
    bound = math.sqrt(6.0 / (fan_in + fan_out)) if fan_in + fan_out > 0 else 0.0
    p.copy_(creation.uniform(-bound, bound, tuple(p.shape), dtype=p.dtype))


class MultiheadAttention(Module):
    """Multi-head attention: softmax(Q K^T / sqrt(head_dim) + mask) V per head.

    Args:
        embed_dim: the model width E (query features and output features).
        num_heads: heads; embed_dim must be divisible by it.
        dropout: dropout on the attention weights, in training.
        bias: learn in_proj_bias and out_proj.bias.
        batch_first: inputs and output are (N, L, E) instead of (L, N, E).
        kdim, vdim: key and value features (embed_dim by default); when either
            differs, q_proj_weight/k_proj_weight/v_proj_weight replace the
            packed in_proj_weight.

    forward(query, key, value, key_padding_mask=None, need_weights=True,
            attn_mask=None, average_attn_weights=True, is_causal=False):
        query (L, N, E), key (S, N, kdim), value (S, N, vdim), or unbatched
        without N. key_padding_mask (N, S) and attn_mask (L, S) or
        (N * num_heads, L, S): bool (True = not allowed to attend) or float
        (added to the scores). is_causal builds a causal mask when attn_mask
        is None.

    Returns:
        (output (L, N, E), weights): weights (N, L, S) averaged over heads, or
        (N, num_heads, L, S), or None when need_weights is False.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device=None, dtype=None):
        super().__init__()
        if not isinstance(embed_dim, numbers.Integral) or embed_dim <= 0 or \
                not isinstance(num_heads, numbers.Integral) or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be positive "
                             f"ints, got {embed_dim} and {num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by "
                             f"num_heads ({num_heads})")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are "
                                      "not supported")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = float(dropout), batch_first
        self.head_dim = embed_dim // num_heads

        def param(*shape):
            return Parameter(creation.empty(*shape, device=device, dtype=dtype))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = param(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = param(embed_dim, embed_dim)
            self.k_proj_weight = param(embed_dim, self.kdim)
            self.v_proj_weight = param(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = param(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        with no_grad():
            for p in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight,
                      self.v_proj_weight):
                if p is not None:
                    _xavier_uniform_(p)
            for p in (self.in_proj_bias, self.out_proj.bias):
                if p is not None:
                    p.zero_()

    def _projections(self) -> tuple:
        if self._qkv_same_embed_dim:
            weights = self.in_proj_weight.chunk(3, 0)
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        biases = self.in_proj_bias.chunk(3, 0) if self.in_proj_bias is not None else (None,) * 3
        return weights, biases

    def _check(self, query, key, value) -> bool:
        for what, t, size in (("query", query, self.embed_dim), ("key", key, self.kdim),
                              ("value", value, self.vdim)):
            if not isinstance(t, Tensor):
                raise TypeError(f"MultiheadAttention: {what} must be a Tensor, "
                                f"got {type(t).__name__}")
            if t.ndim not in (2, 3) or t.ndim != query.ndim:
                raise ValueError(f"MultiheadAttention: query, key and value must all be 2-D "
                                 f"(unbatched) or 3-D (batched), got {what} of shape "
                                 f"{list(t.shape)} with query {list(query.shape)}")
            if t.shape[-1] != size:
                raise ValueError(f"MultiheadAttention: expected {what} features {size}, "
                                 f"got shape {list(t.shape)}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"MultiheadAttention: key {list(key.shape)} and value "
                             f"{list(value.shape)} must agree in all but the last dim")
        return query.ndim == 3

    def forward(self, query: Tensor, key: Tensor, value: Tensor,
                key_padding_mask: Tensor | None = None, need_weights: bool = True,
                attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple:
        batched = self._check(query, key, value)
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        L, N, E = query.shape
        S, H, hd = key.shape[0], self.num_heads, self.head_dim
        if key.shape[1] != N:
            raise ValueError(f"MultiheadAttention: query batch {N} and key batch "
                             f"{key.shape[1]} differ")
        (w_q, w_k, w_v), (b_q, b_k, b_v) = self._projections()

        def heads(x, w, b, n):
            return linear(x, w, b).reshape(n, N, H, hd).permute(1, 2, 0, 3)

        q, k, v = heads(query, w_q, b_q, L), heads(key, w_k, b_k, S), heads(value, w_v, b_v, S)
        mask = self._merged_mask(attn_mask, key_padding_mask, is_causal, q, L, S, N)
        p = self.dropout if self.training else 0.0
        out, weights = _attend(q, k, v, mask, p, 1.0 / math.sqrt(hd))
        out = self.out_proj(out.permute(2, 0, 1, 3).reshape(L, N, E))
        if not batched:
            out = out.squeeze(1)
        elif self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(1)
        return out, (weights if batched else weights.squeeze(0))

    def _merged_mask(self, attn_mask, key_padding_mask, is_causal, q, L, S, N):
        H = self.num_heads
        mask = None
        if attn_mask is None and is_causal:
            attn_mask = ~_causal_mask(L, S, q.device)
        if attn_mask is not None:
            if not isinstance(attn_mask, Tensor):
                raise TypeError("MultiheadAttention: attn_mask must be a Tensor")
            if attn_mask.ndim == 2 and tuple(attn_mask.shape) == (L, S):
                mask = _additive(attn_mask, q, False)
            elif attn_mask.ndim == 3 and tuple(attn_mask.shape) == (N * H, L, S):
                mask = _additive(attn_mask, q, False).reshape(N, H, L, S)
            else:
                raise ValueError(f"MultiheadAttention: attn_mask of shape "
                                 f"{list(attn_mask.shape)} should be {[L, S]} or "
                                 f"{[N * H, L, S]}")
        if key_padding_mask is not None:
            if not isinstance(key_padding_mask, Tensor) or \
                    tuple(key_padding_mask.shape) != (N, S):
                shape = list(getattr(key_padding_mask, "shape", []))
                raise ValueError(f"MultiheadAttention: key_padding_mask of shape {shape} "
                                 f"should be {[N, S]}")
            pad = _additive(key_padding_mask, q, False).reshape(N, 1, 1, S)
            mask = pad if mask is None else mask + pad
        return mask

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"


def _activation(activation) -> Callable:
    if activation == "relu":
        return relu
    if activation == "gelu":
        return gelu
    if callable(activation):
        return activation
    raise ValueError(f"TransformerEncoderLayer: activation should be 'relu', 'gelu' or a "
                     f"callable, not {activation!r}")


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward block, each with a residual and LayerNorm.

    Args:
        d_model: the model width.
        nhead: attention heads.
        dim_feedforward: the hidden width of the feed-forward block.
        dropout: dropout on attention weights and after each block.
        activation: 'relu', 'gelu' or a callable for the feed-forward block.
        layer_norm_eps: LayerNorm's eps.
        batch_first: inputs are (N, L, E) instead of (L, N, E).
        norm_first: LayerNorm before each block (pre-norm) instead of after.
        bias: learn the biases of the linear and norm layers.

    forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False): the
    masks as for MultiheadAttention.

    Returns:
        A tensor shaped like src.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str | Callable = "relu",
                 layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, device=None, dtype=None):
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src: Tensor, src_mask: Tensor | None = None,
                src_key_padding_mask: Tensor | None = None, is_causal: bool = False) -> Tensor:
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x


class _LayerList(Module):
    """Holds the stacked layers under the names '0', '1', ... (state_dict keys
    'layers.0.self_attn...' like PyTorch's ModuleList)."""

    def __init__(self, layers):
        super().__init__()
        for i, layer in enumerate(layers):
            self.add_module(str(i), layer)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, i: int) -> Module:
        return list(self._modules.values())[i]


class TransformerEncoder(Module):
    """A stack of num_layers copies of encoder_layer, then an optional norm.

    Args:
        encoder_layer: the layer to copy (each copy has its own parameters).
        num_layers: how many layers.
        norm: a module applied to the output (e.g. LayerNorm), or None.

    forward(src, mask=None, src_key_padding_mask=None, is_causal=None).

    Returns:
        A tensor shaped like src.
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int,
                 norm: Module | None = None, enable_nested_tensor: bool = True,
                 mask_check: bool = True):
        super().__init__()
        if not isinstance(encoder_layer, Module):
            raise TypeError(f"TransformerEncoder: encoder_layer must be a Module, got "
                            f"{type(encoder_layer).__name__}")
        if not isinstance(num_layers, numbers.Integral) or num_layers < 0:
            raise ValueError(f"TransformerEncoder: num_layers must be a non-negative int, "
                             f"got {num_layers}")
        self.layers = _LayerList(copy.deepcopy(encoder_layer) for _ in range(num_layers))
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Tensor, mask: Tensor | None = None,
                src_key_padding_mask: Tensor | None = None,
                is_causal: bool | None = None) -> Tensor:
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal))
        return self.norm(x) if self.norm is not None else x


__all__ = ["MultiheadAttention", "TransformerEncoder", "TransformerEncoderLayer",
           "scaled_dot_product_attention"]
