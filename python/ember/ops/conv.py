"""Convolution and pooling: conv1d, conv2d, conv_transpose2d, max_pool2d,
avg_pool2d, adaptive_avg_pool2d.

conv2d's gradients come from dedicated C++ kernels (GEMM + col2im). Each of
those gradients is itself a Function whose backward is again a convolution
or a convolution gradient, so double backward works. conv1d is conv2d over
a height-1 image; conv_transpose2d is conv2d's input gradient (its adjoint). The average poolings
are linear, so their backward's backward is the pooling itself.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from .. import _C
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "conv1d", "conv2d", "conv_transpose2d",
           "max_pool2d"]

IntOrPair = int | Sequence[int]


def _pair(op: str, name: str, value) -> list:
    """An int or a sequence of 1 or 2 ints as [h, w]."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return [int(value), int(value)]
    if isinstance(value, (tuple, list)) and len(value) in (1, 2) and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        return [int(value[0]), int(value[-1])]
    raise TypeError(f"{op}: {name} must be an int or a tuple of 2 ints, got {value!r}")


def _check_tensor(op: str, name: str, value) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")


# ---------------------------------------------------------------- conv2d


class _ConvArgs:
    """stride, padding (top, left, bottom, right), dilation, groups."""

    __slots__ = ("dilation", "groups", "padding", "stride")

    def __init__(self, stride, padding, dilation, groups):
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups

    def raw(self):
        return self.stride, self.padding, self.dilation, self.groups


def _conv_grads(grad: Tensor, x: Tensor, w: Tensor, args: _ConvArgs, need_x: bool,
                need_w: bool):
    """(grad_input, grad_weight) of conv2d(x, w), differentiable again."""
    grad_x = _ConvGradInput.apply(grad, w, list(x.shape), args) if need_x else None
    grad_w = _ConvGradWeight.apply(grad, x, list(w.shape), args) if need_w else None
    return grad_x, grad_w


class Conv2d(Function):
    @staticmethod
    def forward(ctx, x, w, b, args):
        ctx.save_for_backward(x, w)
        ctx.args = args
        return _C.conv2d(x._data, w._data, None if b is None else b._data, *args.raw())

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if is_grad_enabled():
            grad_x, grad_w = _conv_grads(grad, x, w, ctx.args, need_x, need_w)
            grad_b = grad.sum((0, 2, 3)) if need_b else None
            return grad_x, grad_w, grad_b, None
        raw = _C.conv2d_backward(grad._data, x._data, w._data, *ctx.args.raw(), need_x, need_w,
                                 need_b)
        grads = [Tensor._make(r, False, None, 0) if need else None
                 for r, need in zip(raw, (need_x, need_w, need_b))]
        return grads[0], grads[1], grads[2], None


class _ConvGradInput(Function):
    """grad_input = conv2d's adjoint in x applied to grad (linear in grad and w)."""

    @staticmethod
    def forward(ctx, grad, w, input_shape, args):
        ctx.save_for_backward(grad, w)
        ctx.args = args
        placeholder = _C.empty(input_shape, w._data.dtype, w._data.device)
        return _C.conv2d_backward(grad._data, placeholder, w._data, *args.raw(), True, False,
                                  False)[0]

    @staticmethod
    def backward(ctx, gg):
        # <gg, adjoint(grad, w)> = <conv2d(gg, w), grad>.
        grad, w = ctx.saved_tensors
        need_grad, need_w = ctx.needs_input_grad[:2]
        d_grad = Conv2d.apply(gg, w, None, ctx.args) if need_grad else None
        d_w = _ConvGradWeight.apply(grad, gg, list(w.shape), ctx.args) if need_w else None
        return d_grad, d_w, None, None


class _ConvGradWeight(Function):
    """grad_weight = conv2d's adjoint in w applied to grad (linear in grad and x)."""

    @staticmethod
    def forward(ctx, grad, x, weight_shape, args):
        ctx.save_for_backward(grad, x)
        ctx.args = args
        placeholder = _C.empty(weight_shape, x._data.dtype, x._data.device)
        return _C.conv2d_backward(grad._data, x._data, placeholder, *args.raw(), False, True,
                                  False)[1]

    @staticmethod
    def backward(ctx, gg):
        # <gg, adjoint_w(grad, x)> = <conv2d(x, gg), grad>.
        grad, x = ctx.saved_tensors
        need_grad, need_x = ctx.needs_input_grad[:2]
        d_grad = Conv2d.apply(x, gg, None, ctx.args) if need_grad else None
        d_x = _ConvGradInput.apply(grad, gg, list(x.shape), ctx.args) if need_x else None
        return d_grad, d_x, None, None


def _conv_padding(padding, weight: Tensor, dilation: list, stride: list) -> list:
    if isinstance(padding, str):
        if padding == "valid":
            return [0, 0, 0, 0]
        if padding == "same":
            if stride != [1, 1]:
                raise ValueError(f"conv2d: padding='same' needs stride 1, got stride {stride}")
            total = [d * (k - 1) for d, k in zip(dilation, weight.shape[2:])]
            before = [t // 2 for t in total]
            return [before[0], before[1], total[0] - before[0], total[1] - before[1]]
        raise ValueError(f"conv2d: padding must be 'valid', 'same', an int or a tuple, "
                         f"got {padding!r}")
    h, w = _pair("conv2d", "padding", padding)
    return [h, w, h, w]


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
           stride: IntOrPair = 1, padding: IntOrPair | str = 0,
           dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation, like PyTorch) over NCHW images.

    Args:
        input: (N, C, H, W), or unbatched (C, H, W).
        weight: (out_channels, C / groups, kH, kW).
        bias: optional (out_channels,).
        stride: int or (sH, sW), positive.
        padding: int, (pH, pW), 'valid' (no padding) or 'same' (output size =
            input size; needs stride 1; odd extra padding goes bottom/right).
        dilation: int or (dH, dW), positive.
        groups: input and output channels are split into this many groups.

    Returns:
        (N, out_channels, H_out, W_out), or (out_channels, H_out, W_out) for an
        unbatched input.

    Example:
        >>> F.conv2d(em.randn(8, 3, 32, 32), em.randn(16, 3, 3, 3), padding=1).shape
        ember.Size([8, 16, 32, 32])
    """
    _check_tensor("conv2d", "input", input)
    _check_tensor("conv2d", "weight", weight)
    if bias is not None:
        _check_tensor("conv2d", "bias", bias)
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool):
        raise TypeError(f"conv2d: groups must be an int, got {groups!r}")
    if input.ndim not in (3, 4):
        raise ValueError(f"conv2d: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got "
                         f"shape {list(input.shape)}")
    if weight.ndim != 4:
        raise ValueError(f"conv2d: expected a 4-D weight, got shape {list(weight.shape)}")
    stride = _pair("conv2d", "stride", stride)
    dilation = _pair("conv2d", "dilation", dilation)
    args = _ConvArgs(stride, _conv_padding(padding, weight, dilation, stride), dilation,
                     int(groups))
    if input.ndim == 3:
        return Conv2d.apply(input.unsqueeze(0), weight, bias, args).squeeze(0)
    return Conv2d.apply(input, weight, bias, args)


def _single(op: str, name: str, value) -> int:
    """An int or a 1-sequence of ints as an int."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    raise TypeError(f"{op}: {name} must be an int or a tuple of 1 int, got {value!r}")


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
           stride: int | Sequence[int] = 1, padding: int | Sequence[int] | str = 0,
           dilation: int | Sequence[int] = 1, groups: int = 1) -> Tensor:
    """1-D convolution (cross-correlation) over NCL sequences.

    Runs as conv2d on a height-1 image, so it shares conv2d's kernels and gradients.

    Args:
        input: (N, C, L), or unbatched (C, L).
        weight: (out_channels, C / groups, kL).
        bias: optional (out_channels,).
        stride: positive int.
        padding: int, 'valid' or 'same' (needs stride 1).
        dilation: positive int.
        groups: input and output channels are split into this many groups.

    Returns:
        (N, out_channels, L_out), or (out_channels, L_out) for an unbatched input.

    Example:
        >>> F.conv1d(em.randn(4, 3, 50), em.randn(8, 3, 5), padding=2).shape
        ember.Size([4, 8, 50])
    """
    _check_tensor("conv1d", "input", input)
    _check_tensor("conv1d", "weight", weight)
    if input.ndim not in (2, 3):
        raise ValueError(f"conv1d: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape "
                         f"{list(input.shape)}")
    if weight.ndim != 3:
        raise ValueError(f"conv1d: expected a 3-D weight, got shape {list(weight.shape)}")
    stride = _single("conv1d", "stride", stride)
    dilation = _single("conv1d", "dilation", dilation)
    if isinstance(padding, str):
        if padding == "same" and stride != 1:
            raise ValueError(f"conv1d: padding='same' needs stride 1, got stride {stride}")
        pad2 = padding
    else:
        pad2 = (0, _single("conv1d", "padding", padding))
    try:
        out = conv2d(input.unsqueeze(-2), weight.unsqueeze(-2), bias, (1, stride), pad2,
                     (1, dilation), groups)
    except (ValueError, TypeError) as e:
        raise type(e)(str(e).replace("conv2d", "conv1d")) from None
    return out.squeeze(-2)


class ConvTranspose2d(Function):
    """conv_transpose2d(x, w) is conv2d's input gradient for grad = x; its
    gradients are conv2d (for x) and conv2d's weight gradient (for w)."""

    @staticmethod
    def forward(ctx, x, w, output_shape, args):
        ctx.save_for_backward(x, w)
        ctx.args = args
        placeholder = _C.empty(output_shape, w._data.dtype, w._data.device)
        return _C.conv2d_backward(x._data, placeholder, w._data, *args.raw(), True, False,
                                  False)[0]

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        need_x, need_w = ctx.needs_input_grad[:2]
        grad_x = Conv2d.apply(grad, w, None, ctx.args) if need_x else None
        grad_w = _ConvGradWeight.apply(x, grad, list(w.shape), ctx.args) if need_w else None
        return grad_x, grad_w, None, None


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: IntOrPair = 1, padding: IntOrPair = 0,
                     output_padding: IntOrPair = 0, groups: int = 1,
                     dilation: IntOrPair = 1) -> Tensor:
    """2-D transposed convolution (the adjoint of conv2d in its input).

    H_out = (H - 1) * stride - 2 * padding + dilation * (kH - 1) + output_padding + 1,
    and likewise for W.

    Args:
        input: (N, C_in, H, W), or unbatched (C_in, H, W).
        weight: (C_in, out_channels / groups, kH, kW).
        bias: optional (out_channels,).
        stride: int or (sH, sW), positive.
        padding: int or (pH, pW): dilation * (k - 1) - padding zeros pad each side.
        output_padding: int or (oH, oW), extra size on the bottom/right; smaller
            than stride or dilation.
        groups: input and output channels are split into this many groups.
        dilation: int or (dH, dW), positive.

    Returns:
        (N, out_channels, H_out, W_out), or (out_channels, H_out, W_out).

    Example:
        >>> F.conv_transpose2d(em.randn(1, 8, 5, 5), em.randn(8, 3, 3, 3), stride=2).shape
        ember.Size([1, 3, 11, 11])
    """
    op = "conv_transpose2d"
    _check_tensor(op, "input", input)
    _check_tensor(op, "weight", weight)
    if bias is not None:
        _check_tensor(op, "bias", bias)
    if not isinstance(groups, numbers.Integral) or isinstance(groups, bool):
        raise TypeError(f"{op}: groups must be an int, got {groups!r}")
    if input.ndim not in (3, 4):
        raise ValueError(f"{op}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got "
                         f"shape {list(input.shape)}")
    if weight.ndim != 4:
        raise ValueError(f"{op}: expected a 4-D weight, got shape {list(weight.shape)}")
    if input.dtype != weight.dtype or bias is not None and bias.dtype != input.dtype:
        raise TypeError(f"{op}: input ({input.dtype}), weight ({weight.dtype}) and bias "
                        f"({None if bias is None else bias.dtype}) must share a dtype")
    stride, padding = _pair(op, "stride", stride), _pair(op, "padding", padding)
    dilation, out_pad = _pair(op, "dilation", dilation), _pair(op, "output_padding",
                                                                output_padding)
    groups = int(groups)
    if groups <= 0:
        raise ValueError(f"{op}: groups must be positive, got {groups}")
    if min(stride) <= 0 or min(dilation) <= 0:
        raise ValueError(f"{op}: stride and dilation must be positive, got stride {stride}, "
                         f"dilation {dilation}")
    if min(padding) < 0 or min(out_pad) < 0:
        raise ValueError(f"{op}: padding and output_padding must be non-negative, got padding "
                         f"{padding}, output_padding {out_pad}")
    if any(o >= max(s, d) for o, s, d in zip(out_pad, stride, dilation)):
        raise ValueError(f"{op}: output_padding {out_pad} must be smaller than either stride "
                         f"{stride} or dilation {dilation}")
    batched = input if input.ndim == 4 else input.unsqueeze(0)
    if batched.shape[1] != weight.shape[0]:
        raise ValueError(f"{op}: input of shape {list(input.shape)} has {batched.shape[1]} "
                         f"channels, but weight of shape {list(weight.shape)} expects "
                         f"{weight.shape[0]}")
    if weight.shape[0] % groups:
        raise ValueError(f"{op}: weight's {weight.shape[0]} input channels are not divisible "
                         f"by groups={groups}")
    out_channels = weight.shape[1] * groups
    if bias is not None and list(bias.shape) != [out_channels]:
        raise ValueError(f"{op}: bias must have shape [{out_channels}], got "
                         f"{list(bias.shape)}")
    size = [(n - 1) * s - 2 * p + d * (k - 1) + o + 1 for n, s, p, d, k, o in
            zip(batched.shape[2:], stride, padding, dilation, weight.shape[2:], out_pad)]
    if min(size) <= 0:
        raise ValueError(f"{op}: input of shape {list(input.shape)} with weight "
                         f"{list(weight.shape)} gives a non-positive output size {size}")
    args = _ConvArgs(stride, [padding[0], padding[1], padding[0], padding[1]], dilation, groups)
    out = ConvTranspose2d.apply(batched, weight, [batched.shape[0], out_channels, *size], args)
    if bias is not None:
        out = out + bias.reshape(1, -1, 1, 1)
    return out if input.ndim == 4 else out.squeeze(0)


# ---------------------------------------------------------------- pooling


class MaxPool2d(Function):
    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, dilation, ceil_mode):
        out, indices = _C.max_pool2d(x._data, kernel_size, stride, padding, dilation, ceil_mode)
        ctx.indices, ctx.input_shape = indices, list(x.shape)
        ctx.mark_non_differentiable(indices)
        return out, indices

    @staticmethod
    def backward(ctx, grad, grad_indices=None):
        if is_grad_enabled() and grad.requires_grad:
            raise NotImplementedError("max_pool2d: double backward is not supported")
        raw = _C.max_pool2d_backward(grad._data, ctx.indices, ctx.input_shape)
        return Tensor._make(raw, False, None, 0), None, None, None, None, None


def max_pool2d(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0, dilation: IntOrPair = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    """2-D max pooling.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: window size, int or (kH, kW).
        stride: window step; None (the default) means kernel_size.
        padding: implicit -inf padding on each side, at most half the kernel.
        dilation: spacing between window elements.
        ceil_mode: round the output size up (a window starting in the padding
            is dropped).
        return_indices: also return the argmax of each window as the flat
            index h * W + w within its plane.

    Returns:
        The pooled tensor, or (pooled, indices) with return_indices.

    Example:
        >>> F.max_pool2d(em.randn(1, 3, 8, 8), 2).shape
        ember.Size([1, 3, 4, 4])
    """
    _check_tensor("max_pool2d", "input", input)
    kernel = _pair("max_pool2d", "kernel_size", kernel_size)
    step = [] if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else _pair("max_pool2d", "stride", stride)
    pad, dilate = _pair("max_pool2d", "padding", padding), _pair("max_pool2d", "dilation", dilation)
    if not return_indices and not (input.requires_grad and is_grad_enabled()):
        # Inference: no backward will need the argmax, so it is not written.
        (out,) = _C.max_pool2d(input._data, kernel, step, pad, dilate, bool(ceil_mode), False)
        return Tensor._make(out, False, None, 0)
    out, indices = MaxPool2d.apply(input, kernel, step, pad, dilate, bool(ceil_mode))
    return (out, indices) if return_indices else out


class AvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor):
        ctx.args = (kernel_size, stride, padding, ceil_mode, count_include_pad, divisor)
        ctx.input_shape = list(x.shape)
        return _C.avg_pool2d(x._data, *ctx.args)

    @staticmethod
    def backward(ctx, grad):
        return (_AvgPool2dBackward.apply(grad, ctx.input_shape, ctx.args),
                None, None, None, None, None, None)


class _AvgPool2dBackward(Function):
    """Average pooling's adjoint; linear, so its own adjoint is the pooling."""

    @staticmethod
    def forward(ctx, grad, input_shape, args):
        ctx.args = args
        return _C.avg_pool2d_backward(grad._data, input_shape, *args)

    @staticmethod
    def backward(ctx, gg):
        return AvgPool2d.apply(gg, *ctx.args), None, None


def avg_pool2d(input: Tensor, kernel_size: IntOrPair, stride: IntOrPair | None = None,
               padding: IntOrPair = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    """2-D average pooling.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: window size, int or (kH, kW).
        stride: window step; None (the default) means kernel_size.
        padding: implicit zero padding on each side, at most half the kernel.
        ceil_mode: round the output size up (a window starting in the padding
            is dropped).
        count_include_pad: count padding cells in the divisor.
        divisor_override: if given, the divisor of every window.

    Returns:
        The pooled tensor.

    Example:
        >>> F.avg_pool2d(em.randn(1, 3, 8, 8), 2).shape
        ember.Size([1, 3, 4, 4])
    """
    _check_tensor("avg_pool2d", "input", input)
    kernel = _pair("avg_pool2d", "kernel_size", kernel_size)
    step = [] if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) \
        else _pair("avg_pool2d", "stride", stride)
    if divisor_override is None:
        divisor = 0
    elif isinstance(divisor_override, numbers.Integral) and not isinstance(divisor_override,
                                                                               bool):
        if divisor_override <= 0:
            raise ValueError(f"avg_pool2d: divisor_override must be positive, got "
                             f"{divisor_override}")
        divisor = int(divisor_override)
    else:
        raise TypeError(f"avg_pool2d: divisor_override must be an int, got {divisor_override!r}")
    return AvgPool2d.apply(input, kernel, step, _pair("avg_pool2d", "padding", padding),
                           bool(ceil_mode), bool(count_include_pad), divisor)


class AdaptiveAvgPool2d(Function):
    @staticmethod
    def forward(ctx, x, output_size):
        ctx.input_shape, ctx.output_size = list(x.shape), output_size
        return _C.adaptive_avg_pool2d(x._data, output_size)

    @staticmethod
    def backward(ctx, grad):
        return _AdaptiveAvgPool2dBackward.apply(grad, ctx.input_shape, ctx.output_size), None


class _AdaptiveAvgPool2dBackward(Function):
    """Adaptive average pooling's adjoint; its own adjoint is the pooling."""

    @staticmethod
    def forward(ctx, grad, input_shape, output_size):
        ctx.output_size = output_size
        return _C.adaptive_avg_pool2d_backward(grad._data, input_shape)

    @staticmethod
    def backward(ctx, gg):
        return AdaptiveAvgPool2d.apply(gg, ctx.output_size), None, None


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """2-D average pooling to a fixed output size.

    Output cell (i, j) averages input rows floor(i * H / OH) to
    ceil((i + 1) * H / OH) (exclusive) and the matching columns.

    Args:
        input: (N, C, H, W) or (C, H, W).
        output_size: int or (OH, OW); a None entry keeps that input size.

    Returns:
        (N, C, OH, OW) or (C, OH, OW).

    Example:
        >>> F.adaptive_avg_pool2d(em.randn(2, 3, 7, 9), 1).shape
        ember.Size([2, 3, 1, 1])
    """
    _check_tensor("adaptive_avg_pool2d", "input", input)
    if input.ndim not in (3, 4):
        raise ValueError(f"adaptive_avg_pool2d: expected a 3-D or 4-D input, got shape "
                         f"{list(input.shape)}")
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        output_size = [input.shape[-2 + i] if s is None else s for i, s in enumerate(output_size)]
    size = _pair("adaptive_avg_pool2d", "output_size", output_size)
    return AdaptiveAvgPool2d.apply(input, size)
