"""Recurrent layers: RNN, LSTM, GRU and their single-step cells.

Parameter names, shapes, gate order (LSTM i,f,g,o; GRU r,z,n) and the
initialisation follow PyTorch, so state_dicts load across. The input
projection of a whole sequence is one matmul; only the recurrent part runs
per time step.
"""

from __future__ import annotations

import math
import numbers

from .. import _C, creation
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..ops.index import cat, stack
from ..tensor import Tensor
from . import functional as F
from .module import Module
from .parameter import Parameter

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


class _Unbind(Function):
    """Splits dim 0 into its slices; backward stacks the slice gradients once
    instead of scattering each one into a full-size zero tensor."""

    @staticmethod
    def forward(ctx, x):
        return tuple(x._data.select(0, i) for i in range(x.shape[0]))

    @staticmethod
    def backward(ctx, *grads):
        return stack(grads, 0)


def _unbind(x: Tensor) -> tuple:
    out = _Unbind.apply(x)
    return out if isinstance(out, tuple) else (out,)


# ------------------------------------------------------------------ cell steps
def _rnn_step(xp: Tensor, h: Tensor, w_hh: Tensor, b_hh, relu: bool) -> Tensor:
    pre = xp + F.linear(h, w_hh, b_hh)
    return F.relu(pre) if relu else F.tanh(pre)


class _LstmCell(Function):
    """The pointwise part of an LSTM step (gate activations, new cell and
    hidden state) in one fused kernel, forward and backward."""

    @staticmethod
    def forward(ctx, gates, c_prev):
        ctx.save_for_backward(gates, c_prev)
        return _C.lstm_cell(gates._data, c_prev._data)

    @staticmethod
    def backward(ctx, grad_h, grad_c):
        gates, c_prev = ctx.saved_tensors
        if is_grad_enabled():
            # create_graph: the same gradients from differentiable ops.
            i, f, g, o = (F.sigmoid(t) if k != 2 else F.tanh(t)
                          for k, t in enumerate(gates.chunk(4, -1)))
            tc = F.tanh(f * c_prev + i * g)
            dc = grad_c + grad_h * o * (1 - tc * tc)
            d_gates = cat([dc * g * i * (1 - i), dc * c_prev * f * (1 - f), dc * i * (1 - g * g),
                           grad_h * tc * o * (1 - o)], -1)
            return d_gates, dc * f
        d_gates, d_prev = _C.lstm_cell_backward(grad_h._data, grad_c._data, gates._data,
                                                c_prev._data)
        return Tensor._make(d_gates, False, None, 0), Tensor._make(d_prev, False, None, 0)


def _lstm_step(xp: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, b_hh) -> tuple:
    return _LstmCell.apply(xp + F.linear(h, w_hh, b_hh), c)


class _GruCell(Function):
    """The pointwise part of a GRU step (r, z, n and the new hidden state) in
    one fused kernel from the two projections, forward and backward."""

    @staticmethod
    def forward(ctx, input_gates, hidden_gates, h_prev):
        h, workspace = _C.gru_cell(input_gates._data, hidden_gates._data, h_prev._data)
        # The workspace (r, z, n, h_n) makes the fused backward one pass; the
        # inputs serve the differentiable backward of create_graph.
        ctx.save_for_backward(input_gates, hidden_gates, h_prev, workspace)
        return h

    @staticmethod
    def backward(ctx, grad):
        input_gates, hidden_gates, h_prev, workspace = ctx.saved_tensors
        if is_grad_enabled():
            # create_graph: the same gradients from differentiable ops.
            x_r, x_z, x_n = input_gates.chunk(3, -1)
            h_r, h_z, h_n = hidden_gates.chunk(3, -1)
            r = F.sigmoid(x_r + h_r)
            z = F.sigmoid(x_z + h_z)
            n = F.tanh(x_n + r * h_n)
            d_n = grad * (1 - z) * (1 - n * n)
            d_z = grad * (h_prev - n) * z * (1 - z)
            d_r = d_n * h_n * r * (1 - r)
            return cat([d_r, d_z, d_n], -1), cat([d_r, d_z, d_n * r], -1), grad * z
        grads = _C.gru_cell_backward(grad._data, workspace._data, h_prev._data)
        return tuple(Tensor._make(g, False, None, 0) for g in grads)


def _gru_step(xp: Tensor, h: Tensor, w_hh: Tensor, b_hh) -> Tensor:
    return _GruCell.apply(xp, F.linear(h, w_hh, b_hh), h)


def _check_input(name: str, x, expected_size: int, allowed_dims: tuple) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected an ember Tensor input, got {type(x).__name__}")
    if x.ndim not in allowed_dims:
        raise ValueError(f"{name}: expected input of {' or '.join(map(str, allowed_dims))} "
                         f"dims, got shape {list(x.shape)}")
    if x.shape[-1] != expected_size:
        raise ValueError(f"{name}: input.size(-1) must be equal to input_size; expected "
                         f"{expected_size}, got shape {list(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point input, got {x.dtype}")


def _check_state(name: str, what: str, h, expected: tuple) -> None:
    if not isinstance(h, Tensor):
        raise TypeError(f"{name}: expected {what} to be an ember Tensor, got {type(h).__name__}")
    if tuple(h.shape) != expected:
        raise ValueError(f"{name}: expected {what} of shape {list(expected)}, "
                         f"got {list(h.shape)}")


def _uniform_(params, hidden_size: int) -> None:
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    with no_grad():
        for p in params:
            p.copy_(creation.uniform(-bound, bound, tuple(p.shape), dtype=p.dtype))


# ------------------------------------------------------------------ layers
class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU (PyTorch's parameter layout)."""

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size),
                           ("num_layers", num_layers)):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool):
                raise TypeError(f"{name}: {arg} should be an int, got {type(value).__name__}")
        if hidden_size <= 0 or num_layers <= 0 or input_size < 0:
            raise ValueError(f"{name}: hidden_size and num_layers must be positive and "
                             f"input_size non-negative, got input_size={input_size}, "
                             f"hidden_size={hidden_size}, num_layers={num_layers}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number) \
                or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout should be a number in [0, 1], got {dropout}")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = 0
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for direction in range(directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, hidden_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                for prefix, shape in shapes:
                    setattr(self, prefix + suffix,
                            Parameter(creation.empty(*shape, device=device, dtype=dtype)))
                    self._flat_weights_names.append(prefix + suffix)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_(self.parameters(), self.hidden_size)

    def flatten_parameters(self) -> None:
        """Kept for PyTorch compatibility: the weights are always used as they are."""

    @property
    def all_weights(self) -> list:
        """The parameters grouped per layer and direction, as PyTorch lists them."""
        per = 4 if self.bias else 2
        names = self._flat_weights_names
        return [[getattr(self, n) for n in names[i:i + per]] for i in range(0, len(names), per)]

    def _layer_params(self, layer: int, direction: int) -> tuple:
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        get = self._parameters.get
        return (get("weight_ih" + suffix), get("weight_hh" + suffix),
                get("bias_ih" + suffix), get("bias_hh" + suffix))

    def _run(self, x: Tensor, hx):
        """x: (L, N, H_in); hx: (h0, c0-or-None) shaped (layers*dirs, N, H)."""
        h0, c0 = hx
        directions = 2 if self.bidirectional else 1
        h_n, c_n = [], []
        layer_input = x
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(directions):
                k = layer * directions + direction
                w_ih, w_hh, b_ih, b_hh = self._layer_params(layer, direction)
                steps = _unbind(F.linear(layer_input, w_ih, b_ih))
                order = range(len(steps) - 1, -1, -1) if direction else range(len(steps))
                h = h0[k]
                c = c0[k] if c0 is not None else None
                out = [None] * len(steps)
                for t in order:
                    if self.mode == "LSTM":
                        h, c = _lstm_step(steps[t], h, c, w_hh, b_hh)
                    elif self.mode == "GRU":
                        h = _gru_step(steps[t], h, w_hh, b_hh)
                    else:
                        h = _rnn_step(steps[t], h, w_hh, b_hh, self.mode == "RNN_RELU")
                    out[t] = h
                outputs.append(stack(out, 0))
                h_n.append(h)
                c_n.append(c)
            layer_input = outputs[0] if directions == 1 else cat(outputs, -1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        return layer_input, stack(h_n, 0), (stack(c_n, 0) if self.mode == "LSTM" else None)

    def _forward(self, input: Tensor, hx):
        name = type(self).__name__
        _check_input(name, input, self.input_size, (2, 3))
        batched = input.ndim == 3
        if input.shape[0 if not (batched and self.batch_first) else 1] == 0:
            raise ValueError(f"{name}: expected a non-empty sequence, got input of shape "
                             f"{list(input.shape)}")
        x = input
        if not batched:
            x = x.unsqueeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        batch = x.shape[1]
        directions = 2 if self.bidirectional else 1
        state_shape = (self.num_layers * directions, batch, self.hidden_size)
        if not batched:
            state_shape_user = (state_shape[0], self.hidden_size)
        else:
            state_shape_user = state_shape
        is_lstm = self.mode == "LSTM"
        if hx is None:
            zeros = creation.zeros(*state_shape, dtype=x.dtype, device=x.device)
            h0, c0 = zeros, (zeros if is_lstm else None)
        else:
            if is_lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(f"{name}: expected hx to be a tuple (h_0, c_0)")
                h0, c0 = hx
                _check_state(name, "h_0", h0, state_shape_user)
                _check_state(name, "c_0", c0, state_shape_user)
            else:
                h0, c0 = hx, None
                _check_state(name, "hx", h0, state_shape_user)
            if not batched:
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if c0 is not None else None
        output, h_n, c_n = self._run(x, (h0, c0))
        if not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, (h_n, c_n) if is_lstm else h_n

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh), act tanh or relu.

    Args:
        input_size: features of the input x.
        hidden_size: features of the hidden state h.
        num_layers: stacked recurrent layers.
        nonlinearity: 'tanh' or 'relu'.
        bias: learn b_ih and b_hh.
        batch_first: input and output are (N, L, H) instead of (L, N, H).
        dropout: dropout on each layer's output except the last, in training.
        bidirectional: also run the sequence backwards and concatenate.

    forward(input, hx=None):
        input: (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in).
        hx: the initial state (num_layers * D, N, H_out) (or without N); zeros if None.

    Returns:
        (output, h_n): output (L, N, D * H_out) holding the last layer's h_t for every t,
        and h_n the final state of every layer and direction.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: unknown nonlinearity '{nonlinearity}' "
                             "(expected 'tanh' or 'relu')")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple:
        return self._forward(input, hx)


class LSTM(RNNBase):
    """Long short-term memory, PyTorch's gate order (input, forget, cell, output).

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional:
            as for RNN.

    forward(input, hx=None):
        input: (L, N, H_in), (N, L, H_in) with batch_first, or unbatched (L, H_in).
        hx: (h_0, c_0), each (num_layers * D, N, H_out) (or without N); zeros if None.

    Returns:
        (output, (h_n, c_n)).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        return self._forward(input, hx)


class GRU(RNNBase):
    """Gated recurrent unit, PyTorch's gate order (reset, update, new).

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional:
            as for RNN.

    forward(input, hx=None): as for RNN.

    Returns:
        (output, h_n).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> tuple:
        return self._forward(input, hx)


# ------------------------------------------------------------------ cells
class RNNCellBase(Module):
    """Shared parameters of the single-step cells (weight_ih, weight_hh, bias_ih, bias_hh)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(input_size, numbers.Integral) or \
                not isinstance(hidden_size, numbers.Integral) or hidden_size <= 0 \
                or input_size < 0:
            raise ValueError(f"{name}: expected a non-negative input_size and a positive "
                             f"hidden_size, got {input_size} and {hidden_size}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gates = num_chunks * hidden_size
        self.weight_ih = Parameter(creation.empty(gates, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(creation.empty(gates, hidden_size, device=device,
                                                  dtype=dtype))
        if bias:
            self.bias_ih = Parameter(creation.empty(gates, device=device, dtype=dtype))
            self.bias_hh = Parameter(creation.empty(gates, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_(self.parameters(), self.hidden_size)

    def _prepare(self, input: Tensor, hx, n_states: int):
        name = type(self).__name__
        _check_input(name, input, self.input_size, (1, 2))
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        shape = (x.shape[0], self.hidden_size)
        if hx is None:
            zeros = creation.zeros(*shape, dtype=x.dtype, device=x.device)
            return x, [zeros] * n_states, batched
        states = list(hx) if n_states == 2 else [hx]
        if n_states == 2 and (not isinstance(hx, (tuple, list)) or len(states) != 2):
            raise TypeError(f"{name}: expected hx to be a tuple (h, c)")
        user_shape = shape if batched else (self.hidden_size,)
        for what, s in zip(("h", "c"), states):
            _check_state(name, what, s, user_shape)
        return x, [s if batched else s.unsqueeze(0) for s in states], batched

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        return s


class RNNCell(RNNCellBase):
    """One Elman RNN step: h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh).

    Args:
        input_size: features of x.
        hidden_size: features of h.
        bias: learn b_ih and b_hh.
        nonlinearity: 'tanh' or 'relu'.

    forward(input, hx=None): input (N, H_in) or (H_in); hx (N, H) or (H), zeros if None.

    Returns:
        h', shaped like hx.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: unknown nonlinearity '{nonlinearity}' "
                             "(expected 'tanh' or 'relu')")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, hx, 1)
        h = _rnn_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh,
                      self.bias_hh, self.nonlinearity == "relu")
        return h if batched else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o).

    Args:
        input_size, hidden_size, bias: as for RNNCell.

    forward(input, hx=None): input (N, H_in) or (H_in); hx a tuple (h, c), zeros if None.

    Returns:
        (h', c').
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple | None = None) -> tuple:
        x, (h, c), batched = self._prepare(input, hx, 2)
        h, c = _lstm_step(F.linear(x, self.weight_ih, self.bias_ih), h, c, self.weight_hh,
                          self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n).

    Args:
        input_size, hidden_size, bias: as for RNNCell.

    forward(input, hx=None): as for RNNCell.

    Returns:
        h', shaped like hx.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), batched = self._prepare(input, hx, 1)
        h = _gru_step(F.linear(x, self.weight_ih, self.bias_ih), h, self.weight_hh,
                      self.bias_hh)
        return h if batched else h.squeeze(0)


__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]
