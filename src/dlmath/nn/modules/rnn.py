"""Recurrent modules: RNN, LSTM, GRU and their single-step cells (torch.nn's names, keys, init).

A layer reads a sequence x_1 .. x_T and carries a hidden state h_t = cell(x_t, h_{t-1})
(and, in an LSTM, a cell state c_t). Backpropagation through time multiplies the
recurrent Jacobians dh_t/dh_{t-1} step after step: their norms decide whether the
gradient vanishes or explodes over long sequences, the reason for the LSTM's additive
cell path and for gradient clipping. Each layer and direction runs as one fused
operation (``nn/_recurrent.py``); the cells are composed from dlmath ops.
"""
from __future__ import annotations

import math

from ...creation import empty, zeros
from ...ops.shape import cat, stack
from .. import functional as F
from .._recurrent import _cell, fused_layer
from ..parameter import Parameter
from .module import Module

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _unpack_hidden(name, hx, lstm):
    """(h, c) of an LSTM's hx = (h, c), or (h, None) of another layer's hx = h."""
    if lstm:
        if not isinstance(hx, (tuple, list)):
            raise TypeError(f"{name}: hx must be a tuple (h_0, c_0) of Tensors, not {type(hx).__name__}")
        if len(hx) != 2:
            raise RuntimeError(f"{name}: expects two hidden states (h_0, c_0), got {len(hx)}")
        return hx[0], hx[1]
    if isinstance(hx, (tuple, list)):
        raise TypeError(f"{name}: hx must be a Tensor (h_0), not a {type(hx).__name__}: only an LSTM "
                        f"takes (h_0, c_0)")
    return hx, None


def _uniform_init(module, hidden_size):
    """Every weight and bias ~ U(-1/sqrt(H), 1/sqrt(H)), torch's default for the RNN family."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0
    for p in module.parameters():
        p.detach().uniform_(-bound, bound)


class RNNBase(Module):
    """The stacked, optionally bidirectional recurrent layer behind RNN, LSTM and GRU.

    Parameters per layer l and direction (suffix ``_reverse``): ``weight_ih_l{l}`` (G*H, in),
    ``weight_hh_l{l}`` (G*H, H), ``bias_ih_l{l}``, ``bias_hh_l{l}`` (G*H,), with G gates.
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if not isinstance(hidden_size, int) or hidden_size <= 0:
            raise ValueError(f"{name}: hidden_size must be a positive integer, got {hidden_size!r}")
        if not isinstance(num_layers, int) or num_layers <= 0:
            raise ValueError(f"{name}: num_layers must be a positive integer, got {num_layers!r}")
        if not (isinstance(dropout, (int, float)) and 0 <= dropout <= 1) or isinstance(dropout, bool):
            raise ValueError(f"{name}: dropout should be a number in range [0, 1] representing the "
                             f"probability of an element being zeroed, got {dropout!r}")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size is not supported by dlmath")
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = float(dropout), bidirectional, proj_size
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        kw = {} if dtype is None else {"dtype": dtype}
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else hidden_size * directions
            for d in range(directions):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                setattr(self, "weight_ih" + sfx, Parameter(empty(gate_size, layer_in, **kw)))
                setattr(self, "weight_hh" + sfx, Parameter(empty(gate_size, hidden_size, **kw)))
                if bias:
                    setattr(self, "bias_ih" + sfx, Parameter(empty(gate_size, **kw)))
                    setattr(self, "bias_hh" + sfx, Parameter(empty(gate_size, **kw)))
        self.reset_parameters()

    def reset_parameters(self):
        _uniform_init(self, self.hidden_size)

    @property
    def all_weights(self):
        """[[weight_ih, weight_hh, bias_ih, bias_hh], ...] per layer and direction (torch's order)."""
        return [[p for p in self._weights(layer, d) if p is not None]
                for layer in range(self.num_layers) for d in range(2 if self.bidirectional else 1)]

    def _weights(self, layer, d):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        g = getattr
        return (g(self, "weight_ih" + sfx), g(self, "weight_hh" + sfx),
                g(self, "bias_ih" + sfx) if self.bias else None, g(self, "bias_hh" + sfx) if self.bias else None)

    def _check_hidden(self, h, expected, what, dtype):
        if tuple(h.shape) != expected:
            raise RuntimeError(f"{type(self).__name__}: Expected {what} size {expected}, got {list(h.shape)}")
        if h.dtype != dtype:
            raise RuntimeError(f"{type(self).__name__}: {what} dtype ({h.dtype}) does not match input dtype ({dtype})")

    def forward(self, input, hx=None):
        name = type(self).__name__
        lstm = self.mode == "LSTM"
        if input.dim() not in (2, 3):
            raise ValueError(f"{name}: Expected input to be 2D or 3D, got {input.dim()}D instead")
        batched, given = input.dim() == 3, tuple(input.shape)
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.shape[-1]}")
        T, B = input.shape[0], input.shape[1]
        if T == 0:
            raise RuntimeError(f"{name}: Expected sequence length to be larger than 0 in RNN "
                               f"(input of shape {given})")
        wdt = self.weight_ih_l0.dtype
        if input.dtype != wdt:   # (NumPy would promote silently, and train a copy in the wider type)
            raise ValueError(f"{name}: RNN input dtype ({input.dtype}) does not match weight dtype ({wdt}). "
                             f"Convert input: input.to({wdt}), or convert model: model.to({input.dtype})")
        directions = 2 if self.bidirectional else 1
        expected = (self.num_layers * directions, B, self.hidden_size)
        if hx is None:
            h0 = zeros(*expected, dtype=input.dtype)
            c0 = zeros(*expected, dtype=input.dtype) if lstm else None
        else:
            h0, c0 = _unpack_hidden(name, hx, lstm)
            if not batched:
                h0 = h0.unsqueeze(1)
                c0 = c0.unsqueeze(1) if lstm else None
            self._check_hidden(h0, expected, "hidden", input.dtype)
            if lstm:
                self._check_hidden(c0, expected, "cell state", input.dtype)
        layer_input, h_n, c_n = input, [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(directions):
                k = layer * directions + d
                x = layer_input if d == 0 else layer_input.flip(0)
                out, h, c = fused_layer(self.mode, x, h0[k], c0[k] if lstm else None, *self._weights(layer, d))
                outs.append(out if d == 0 else out.flip(0))
                h_n.append(h)
                c_n.append(c)
            layer_input = outs[0] if directions == 1 else cat(outs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)
        # one layer, one direction (the common case): a view, cheaper than a stack of one
        gather = (lambda ts: ts[0].unsqueeze(0)) if len(h_n) == 1 else stack
        output, h_n = layer_input, gather(h_n)
        c_n = gather(c_n) if lstm else None
        if not batched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if lstm else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, (h_n, c_n)) if lstm else (output, h_n)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         num_layers, bias, batch_first, dropout, bidirectional, device=device, dtype=dtype)

    def extra_repr(self):
        s = super().extra_repr()
        return s if self.nonlinearity == "tanh" else s + f", nonlinearity={self.nonlinearity}"


class LSTM(RNNBase):
    """Long short-term memory: gates i, f, g, o; c_t = f c_{t-1} + i g; h_t = o tanh(c_t).
    The additive path through c_t lets gradients survive long sequences."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit: gates r, z and candidate n; h_t = (1 - z) n + z h_{t-1}."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)


class RNNCellBase(Module):
    """One step of a recurrent layer: parameters ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``."""

    def __init__(self, mode, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bias
        gate_size = _GATES[mode] * hidden_size
        kw = {} if dtype is None else {"dtype": dtype}
        self.weight_ih = Parameter(empty(gate_size, input_size, **kw))
        self.weight_hh = Parameter(empty(gate_size, hidden_size, **kw))
        if bias:
            self.bias_ih = Parameter(empty(gate_size, **kw))
            self.bias_hh = Parameter(empty(gate_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        _uniform_init(self, self.hidden_size)

    def _step(self, input, h, c=None):
        name = type(self).__name__
        if input.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead")
        if input.shape[-1] != self.input_size:
            raise RuntimeError(f"{name}: input has inconsistent input_size: got {input.shape[-1]} "
                               f"expected {self.input_size}")
        if input.dtype != self.weight_ih.dtype:
            raise RuntimeError(f"{name}: input dtype ({input.dtype}) does not match weight dtype "
                               f"({self.weight_ih.dtype})")
        batched = input.dim() == 2
        x = input if batched else input.unsqueeze(0)
        B = x.shape[0]
        h = zeros(B, self.hidden_size, dtype=x.dtype) if h is None else self._hidden(h, 0, batched, B, x.dtype)
        if self.mode == "LSTM":
            c = zeros(B, self.hidden_size, dtype=x.dtype) if c is None else self._hidden(c, 1, batched, B, x.dtype)
        h, c = _cell(self.mode, x, h, c, self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        if not batched:
            h = h.squeeze(0)
            c = c.squeeze(0) if c is not None else None
        return h, c

    def _hidden(self, h, k, batched, B, dtype):
        """The k-th hidden state (h: 0, c: 1) as (B, hidden_size), checked as torch checks it."""
        name = type(self).__name__
        if h.dim() not in (1, 2):
            raise ValueError(f"{name}: Expected hidden to be 1D or 2D, got {h.dim()}D instead")
        h = h if batched else h.unsqueeze(0)
        if h.shape[0] != B:
            raise RuntimeError(f"{name}: Input batch size {B} doesn't match hidden{k} batch size {h.shape[0]}")
        if h.dim() != 2 or h.shape[1] != self.hidden_size:
            raise RuntimeError(f"{name}: hidden{k} has inconsistent hidden_size: got {h.shape[1]}, expected "
                               f"{self.hidden_size} (hidden of shape {tuple(h.shape)})")
        if h.dtype != dtype:
            raise RuntimeError(f"{name}: hidden{k} dtype ({h.dtype}) does not match input dtype ({dtype})")
        return h

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size, hidden_size,
                         bias, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        h = None if hx is None else _unpack_hidden(type(self).__name__, hx, False)[0]
        return self._step(input, h)[0]


class LSTMCell(RNNCellBase):
    """(h', c') from (x, (h, c)): one LSTM step."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, bias, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        h, c = (None, None) if hx is None else _unpack_hidden("LSTMCell", hx, True)
        return self._step(input, h, c)


class GRUCell(RNNCellBase):
    """h' from (x, h): one GRU step."""

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, bias, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        h = None if hx is None else _unpack_hidden(type(self).__name__, hx, False)[0]
        return self._step(input, h)[0]
