"""Convolution layers: Conv1d, Conv2d and ConvTranspose2d."""

from __future__ import annotations

import math
import numbers

from .. import creation
from ..tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


def _tuple(name: str, value, n: int) -> tuple:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and len(value) == n and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        return tuple(int(v) for v in value)
    raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")


class _ConvNd(Module):
    """Parameters, checks, init and repr shared by the convolution layers."""

    _n: int = 2
    _name: str = "Conv2d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride, padding,
                 dilation, groups: int, bias: bool, padding_mode: str, transposed: bool,
                 output_padding=0, device=None, dtype=None):
        super().__init__()
        n, name = self._n, self._name
        for arg, value in (("in_channels", in_channels), ("out_channels", out_channels),
                           ("groups", groups)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}: {arg} must be a positive int, got {value!r}")
        if in_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) must be divisible by groups "
                             f"({groups})")
        if out_channels % groups:
            raise ValueError(f"{name}: out_channels ({out_channels}) must be divisible by groups "
                             f"({groups})")
        if padding_mode != "zeros":
            if padding_mode in ("reflect", "replicate", "circular"):
                raise NotImplementedError(f"{name}: padding_mode={padding_mode!r} is not "
                                          f"supported, only 'zeros'")
            raise ValueError(f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or "
                             f"'circular', got {padding_mode!r}")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = _tuple(f"{name}: kernel_size", kernel_size, n)
        self.stride = _tuple(f"{name}: stride", stride, n)
        if isinstance(padding, str):
            if transposed or padding not in ("valid", "same"):
                raise ValueError(f"{name}: invalid padding string {padding!r}")
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(f"{name}: padding='same' is not supported for strided "
                                 f"convolutions")
            self.padding = padding
        else:
            self.padding = _tuple(f"{name}: padding", padding, n)
        self.dilation = _tuple(f"{name}: dilation", dilation, n)
        self.output_padding = _tuple(f"{name}: output_padding", output_padding, n)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        self.transposed = transposed
        shape = ((in_channels, out_channels // groups) if transposed
                 else (out_channels, in_channels // groups)) + self.kernel_size
        self.weight = Parameter(creation.empty(*shape, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(out_channels, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform_(a=sqrt(5)) for the weight, and the
        bias uniform in +-1/sqrt(fan_in)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * math.prod(self.kernel_size)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._n:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._n:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._n:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution over (N, C_in, L) or (C_in, L) inputs.

    Args:
        in_channels, out_channels: channel counts (both divisible by groups).
        kernel_size: int or 1-tuple.
        stride, padding, dilation: int or 1-tuple; padding may be 'valid' or 'same'.
        groups: number of channel groups.
        bias: learn an additive bias.
        padding_mode: only 'zeros' is supported.
        device, dtype: where and how to create the parameters.

    The weight is (out_channels, in_channels / groups, kernel_size).
    """

    _n, _name = 1, "Conv1d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, False, device=device, dtype=dtype)

    def forward(self, input: Tensor) -> Tensor:
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(input, self.weight, self.bias, self.stride[0], padding,
                        self.dilation[0], self.groups)


class Conv2d(_ConvNd):
    """2-D convolution over (N, C_in, H, W) or (C_in, H, W) inputs.

    Args:
        in_channels, out_channels: channel counts (both divisible by groups).
        kernel_size: int or (kH, kW).
        stride, padding, dilation: int or pair; padding may be 'valid' or 'same'.
        groups: number of channel groups.
        bias: learn an additive bias.
        padding_mode: only 'zeros' is supported.
        device, dtype: where and how to create the parameters.

    The weight is (out_channels, in_channels / groups, kH, kW).
    """

    _n, _name = 2, "Conv2d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, False, device=device, dtype=dtype)

    def forward(self, input: Tensor) -> Tensor:
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                        self.groups)


class ConvTranspose2d(_ConvNd):
    """2-D transposed convolution (conv2d's adjoint) over (N, C_in, H, W) inputs.

    Args:
        in_channels, out_channels: channel counts (both divisible by groups).
        kernel_size: int or (kH, kW).
        stride, padding, dilation: int or pair.
        output_padding: int or pair, extra output size on the bottom/right.
        groups: number of channel groups.
        bias: learn an additive bias.
        dilation: spacing between kernel elements.
        padding_mode: only 'zeros' is supported.
        device, dtype: where and how to create the parameters.

    The weight is (in_channels, out_channels / groups, kH, kW).
    """

    _n, _name = 2, "ConvTranspose2d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", device=None, dtype=None):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, True, output_padding, device=device,
                         dtype=dtype)

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        output_padding = self.output_padding
        if output_size is not None:
            output_padding = self._output_padding(input, output_size)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """The output_padding that makes the output's spatial size output_size."""
        size = list(output_size)[-2:]
        if len(size) != 2:
            raise ValueError(f"ConvTranspose2d: output_size must have at least 2 entries, got "
                             f"{output_size!r}")
        pads = []
        for i in range(2):
            smallest = ((input.shape[-2 + i] - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            extra = size[i] - smallest
            if not 0 <= extra < max(self.stride[i], self.dilation[i]):
                raise ValueError(f"ConvTranspose2d: requested output size {size} is not "
                                 f"reachable from input shape {list(input.shape)}")
            pads.append(extra)
        return tuple(pads)
