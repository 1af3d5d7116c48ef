"""Activation modules (torch.nn.modules.activation): the nonlinearity between layers as a Module.

Without a nonlinearity a stack of Linear layers is one affine map; these make
``Sequential(Linear, ReLU, Linear)`` a universal approximator. Each module
holds only its settings and calls the functional form in ``dm.nn.functional``;
the few that have none there (the hard and shrink functions, Mish, PReLU, CELU,
Threshold) are composed from public tensor ops here, so their gradients come
from those ops' rules.
"""
from __future__ import annotations

from .. import functional as F
from .. import init
from ..parameter import Parameter
from .module import Module


def _result(input, out, inplace):
    """``out``, written into ``input`` when the module is in place (as torch's inplace=True)."""
    return input.copy_(out) if inplace else out

__all__ = ["ReLU", "LeakyReLU", "GELU", "SiLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax", "Softmin",
           "Softplus", "ELU", "SELU", "GLU", "LogSigmoid", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "Mish",
           "Softsign", "Tanhshrink", "PReLU", "CELU", "Threshold", "Softshrink", "Hardshrink"]


class ReLU(Module):
    """max(0, x): the default hidden activation (gradient 1 where active, 0 elsewhere)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.relu(input, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise: keeps a gradient for negative inputs (no dead units)."""

    def __init__(self, negative_slope=1e-2, inplace=False):
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope, self.inplace)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}{', inplace=True' if self.inplace else ''}"


class GELU(Module):
    """x Phi(x) (Phi the standard normal CDF; ``approximate="tanh"`` its tanh form): the
    activation of transformers' MLPs."""

    def __init__(self, approximate="none"):
        super().__init__()
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """x sigmoid(x) (swish): a smooth ReLU used in modern MLPs."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.silu(input, inplace=self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Tanh(Module):
    """tanh(x): squashes to (-1, 1); the classic RNN activation."""

    def forward(self, input):
        return F.tanh(input)


class Sigmoid(Module):
    """1 / (1 + exp(-x)): squashes to (0, 1); gates and binary outputs."""

    def forward(self, input):
        return F.sigmoid(input)


class LogSigmoid(Module):
    """log sigmoid(x) = -softplus(-x), computed without overflow."""

    def forward(self, input):
        return F.logsigmoid(input)


class Softmax(Module):
    """exp(x_i) / sum_j exp(x_j) along ``dim``: logits to a probability distribution."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softmin(Module):
    """softmax(-x) along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.softmin(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """x_i - logsumexp(x) along ``dim``: log-probabilities, the input NLLLoss expects."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.log_softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


class Softplus(Module):
    """log(1 + exp(beta x)) / beta, linear above ``threshold``: a smooth ReLU, and a map to positive values."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta = beta
        self.threshold = threshold

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class ELU(Module):
    """x for x > 0, alpha (exp(x) - 1) otherwise: smooth, with negative outputs that pull means to 0."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):
        return F.elu(input, self.alpha, self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}{', inplace=True' if self.inplace else ''}"


class SELU(Module):
    """scale * ELU(x, alpha) with the constants that keep activations at mean 0 and variance 1
    through deep self-normalising networks."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return F.selu(input, self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class GLU(Module):
    """a * sigmoid(b), a and b the halves of the input along ``dim``: a learned gate."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        return F.glu(input, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


# --- composed here: dm.nn.functional has no form of these ----------------------------------
class Hardtanh(Module):
    """clamp(x, min_val, max_val): a linear unit saturating at both ends (gradient 0 outside)."""

    def __init__(self, min_val=-1.0, max_val=1.0, inplace=False):
        super().__init__()
        if max_val <= min_val:
            raise ValueError(f"Hardtanh: max_val ({max_val}) must be greater than min_val ({min_val})")
        self.min_val = min_val
        self.max_val = max_val
        self.inplace = inplace

    def forward(self, input):
        return _result(input, input.clamp(self.min_val, self.max_val), self.inplace)

    def extra_repr(self):
        return f"min_val={self.min_val}, max_val={self.max_val}{', inplace=True' if self.inplace else ''}"


class ReLU6(Hardtanh):
    """min(max(0, x), 6): a ReLU bounded for low-precision (mobile) networks."""

    def __init__(self, inplace=False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Hardsigmoid(Module):
    """relu6(x + 3) / 6: a piecewise-linear sigmoid (MobileNetV3's gates)."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return _result(input, (input + 3).clamp(0, 6) / 6, self.inplace)


class Hardswish(Module):
    """x relu6(x + 3) / 6: a piecewise swish (gradient (2x + 3)/6 on (-3, 3))."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return _result(input, input * ((input + 3).clamp(0, 6) / 6), self.inplace)


class Mish(Module):
    """x tanh(softplus(x)): a smooth, non-monotonic activation."""

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = inplace

    def forward(self, input):
        return _result(input, input * F.softplus(input).tanh(), self.inplace)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class Softsign(Module):
    """x / (1 + |x|): squashes to (-1, 1) with polynomial tails."""

    def forward(self, input):
        return input / (input.abs() + 1)


class Tanhshrink(Module):
    """x - tanh(x)."""

    def forward(self, input):
        return input - input.tanh()


class PReLU(Module):
    """x for x > 0, a x otherwise, with the slope a learned (one per channel, dim 1, or
    shared), initialised to ``init``."""

    def __init__(self, num_parameters=1, init=0.25, device=None, dtype=None):
        super().__init__()
        import dlmath as dm
        self.num_parameters = num_parameters
        self.init = init
        self.weight = Parameter(dm.empty(num_parameters, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self):
        init.constant_(self.weight, self.init)

    def forward(self, input):
        import dlmath as dm
        w = self.weight
        if self.num_parameters > 1:
            channels = input.shape[1] if input.ndim > 1 else 1      # as torch: a 1-D input has 1 channel
            if channels != self.num_parameters:
                raise RuntimeError(f"{self!r}: input {tuple(input.shape)} has {channels} channel(s) (dim 1), "
                                   f"expected num_parameters={self.num_parameters}")
            w = w.reshape((-1,) + (1,) * (input.ndim - 2))           # one slope per channel, along dim 1
        return dm.where(input > 0, input, w * input)

    def extra_repr(self):
        return f"num_parameters={self.num_parameters}"


class CELU(Module):
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)): ELU made continuously differentiable for any alpha."""

    def __init__(self, alpha=1.0, inplace=False):
        super().__init__()
        if alpha == 0:
            raise RuntimeError("ZeroDivisionError: CELU alpha cannot be 0")
        self.alpha = alpha
        self.inplace = inplace

    def forward(self, input):
        import dlmath as dm
        # expm1 of the clamped input: the discarded branch never overflows into a NaN gradient
        neg = (input.clamp(max=0) / self.alpha).expm1() * self.alpha
        return _result(input, dm.where(input > 0, input, neg), self.inplace)

    def extra_repr(self):
        return f"alpha={self.alpha}{', inplace=True' if self.inplace else ''}"


class Threshold(Module):
    """x where x > threshold, ``value`` elsewhere."""

    def __init__(self, threshold, value, inplace=False):
        super().__init__()
        self.threshold = threshold
        self.value = value
        self.inplace = inplace

    def forward(self, input):
        return _result(input, input.masked_fill(input <= self.threshold, self.value), self.inplace)

    def extra_repr(self):
        return f"threshold={self.threshold}, value={self.value}{', inplace=True' if self.inplace else ''}"


class Softshrink(Module):
    """x - lambd for x > lambd, x + lambd for x < -lambd, 0 between: the proximal map of the L1 norm."""

    def __init__(self, lambd=0.5):
        super().__init__()
        if lambd < 0:
            raise RuntimeError(f"lambda must be greater or equal to 0, but found to be {lambd}.")
        self.lambd = lambd

    def forward(self, input):
        return input - input.clamp(-self.lambd, self.lambd)

    def extra_repr(self):
        return str(self.lambd)


class Hardshrink(Module):
    """x where |x| > lambd, 0 elsewhere."""

    def __init__(self, lambd=0.5):
        super().__init__()
        self.lambd = lambd

    def forward(self, input):
        return input.masked_fill(input.abs() <= self.lambd, 0)

    def extra_repr(self):
        return f"{self.lambd}"
