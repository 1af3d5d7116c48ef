"""Affine layers (torch.nn.modules.linear): ``Identity``, ``Linear``, ``Bilinear``.

``Linear`` is the fully connected layer y = x W^T + b: each output is a neuron's
dot product of the input with its row of W. Its default init draws W and b from
U(-1/sqrt(fan_in), 1/sqrt(fan_in)), which keeps the variance of the outputs
about that of the inputs (Var = fan_in * Var(w) * Var(x) = Var(x) / 3).
"""
from __future__ import annotations

import math

from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module, _named_error

__all__ = ["Identity", "Linear", "Bilinear"]


def _empty(shape, dtype):
    import dlmath as dm
    return dm.empty(shape, dtype=dtype)


def _check_device(device, name):
    if device is not None and str(device).split(":")[0] != "cpu":
        raise RuntimeError(f"{name}: dlmath runs on the CPU only (got device={device!r})")


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. a removed classifier head);
    accepts and ignores any constructor arguments, as torch's."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Linear(Module):
    """y = x W^T + b, with weight (out_features, in_features) and bias (out_features,).

    Input (*, in_features), output (*, out_features). Default init: torch's
    kaiming_uniform(a=sqrt(5)) on W, i.e. U(+-1/sqrt(in_features)), and the same
    bound for b.
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        _check_device(device, "Linear")
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(_empty((out_features, in_features), dtype))
        if bias:
            self.bias = Parameter(_empty((out_features,), dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        # kaiming_uniform_(W, a=sqrt(5)): gain = sqrt(2 / (1 + a^2)) = sqrt(1/3),
        # bound = sqrt(3) * gain / sqrt(fan_in) = 1 / sqrt(fan_in)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.in_features
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        try:
            return F.linear(input, self.weight, self.bias)
        except RuntimeError as e:   # name the layer; free on the happy path
            raise _named_error(self, e) from None

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    """y_k = x1^T A_k x2 + b_k, weight (out_features, in1_features, in2_features).

    Inputs (*, in1_features) and (*, in2_features) with the same leading dims;
    output (*, out_features). Default init U(+-1/sqrt(in1_features)) on weight and bias.
    """

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        _check_device(device, "Bilinear")
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(_empty((out_features, in1_features, in2_features), dtype))
        if bias:
            self.bias = Parameter(_empty((out_features,), dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.weight.size(1)) if self.weight.size(1) > 0 else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        try:
            return F.bilinear(input1, input2, self.weight, self.bias)
        except RuntimeError as e:   # name the layer; free on the happy path
            raise _named_error(self, e) from None

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")
