"""Convolution and pooling: conv2d, max_pool2d, avg_pool2d, adaptive_avg_pool2d.

conv2d's gradients come from dedicated C++ kernels (GEMM + col2im). Each of
those gradients is itself a Function whose backward is again a convolution
or a convolution gradient, so double backward works. The average poolings
are linear, so their backward's backward is the pooling itself.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from .. import _C
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..tensor import Tensor

__all__ = ["adaptive_avg_pool2d", "avg_pool2d", "conv2d", "max_pool2d"]

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
    out, indices = MaxPool2d.apply(input, kernel, step, _pair("max_pool2d", "padding", padding),
                                   _pair("max_pool2d", "dilation", dilation), bool(ceil_mode))
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
