"""Unary elementwise primitives: each with its derivative beside it.

Every ``vjp`` is the chain rule for one function: the incoming cotangent
``g`` times the local derivative f'(x). Written with operators and ``xp``
functions, the same line runs on arrays (backward) and Tensors (``create_graph``).
"""
from __future__ import annotations

import numpy as np
from scipy import special as _special

from ..autograd import xp_numpy
from ..autograd.node import Op, apply, apply1, make_tensor
from ..tensor import Tensor
from ._util import (as_float, quiet, to_tensor)
from .declare import method, public


def _same_dtype(y, x):
    """SciPy's ufuncs have no float16 loop: they answer float16 in float64. Give x's dtype back,
    as torch (its float16 sigmoid is float16)."""
    return y if y.dtype == x.dtype else y.astype(x.dtype)


def _no_bool(x, opname, error=NotImplementedError, kernel=None):
    """torch implements abs, floor, ceil, trunc, round (and relu) for numbers only, not bools."""
    if x._data.dtype.kind == "b":
        if error is NotImplementedError:
            raise NotImplementedError(f"{opname}: not implemented for bool tensors "
                                      f"(torch: \"{kernel or opname}_cpu\" not implemented for 'Bool')")
        raise error(f"{opname}: Boolean inputs not supported for {opname}")


class Unary(Op):
    __slots__ = ()
    batched = True  # g * f'(x) broadcasts over a cotangent's extra leading dims

    def jvp(self, xp, t, x, y):
        # f(x + t) ~ f(x) + f'(x) t: the same local derivative as the vjp
        return self.vjp(xp, t[0], x, y)[0]


# --- unary functions --------------------------------------------------------
class Neg(Unary):
    """-x; derivative -1."""
    __slots__ = ()
    uses_inputs = False

    def forward(self, x):
        return np.negative(x)

    def vjp(self, xp, g, x, y):
        return (-g,)


class Exp(Unary):
    """exp(x); d/dx = exp(x) = y. Softmax, the Gaussian density, the LSE trick."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return np.exp(x)

    def vjp(self, xp, g, x, y):
        return (g * y,)


class Log(Unary):
    """log(x); d/dx = 1/x. Log-likelihoods and cross-entropy."""
    __slots__ = ()

    def forward(self, x):
        return np.log(x)

    def vjp(self, xp, g, x, y):
        return (g / x,)


class Log1p(Unary):
    """log(1 + x), accurate for small x; d/dx = 1/(1 + x). Softplus, stable BCE."""
    __slots__ = ()

    def forward(self, x):
        return np.log1p(x)

    def vjp(self, xp, g, x, y):
        return (g / (x + 1),)


class Expm1(Unary):
    """exp(x) - 1, accurate for small x; d/dx = exp(x) = y + 1."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return np.expm1(x)

    def vjp(self, xp, g, x, y):
        return (g * (y + 1),)


class Sqrt(Unary):
    """sqrt(x); d/dx = 1/(2 sqrt(x)) (inf at 0, as PyTorch). Norms, std, attention's 1/sqrt(d)."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return np.sqrt(x)

    def vjp(self, xp, g, x, y):
        with quiet():
            return (g / (2 * y),)


class Rsqrt(Unary):
    """1/sqrt(x); d/dx = -1/2 x^(-3/2) = -y^3 / 2. LayerNorm and BatchNorm's 1/sigma."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return 1 / np.sqrt(x)

    def vjp(self, xp, g, x, y):
        return (g * (-0.5 * y * y * y),)


class Reciprocal(Unary):
    """1/x; d/dx = -1/x^2 = -y^2."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return np.reciprocal(x)

    def vjp(self, xp, g, x, y):
        return (-g * y * y,)


class Abs(Unary):
    """|x|; d/dx = sign(x), with 0 at x = 0 (PyTorch's subgradient) and at NaN (torch's sgn).
    L1 loss and norms."""
    __slots__ = ()

    def forward(self, x):
        return np.abs(x)

    def vjp(self, xp, g, x, y):
        # dlmath's sign (the recorded xp.sign) is 0 at NaN; NumPy's is NaN
        return (g * (_sign(x) if isinstance(x, np.ndarray) else xp.sign(x)),)


class Sin(Unary):
    """sin(x); d/dx = cos(x). Sinusoidal positional encodings."""
    __slots__ = ()

    def forward(self, x):
        return np.sin(x)

    def vjp(self, xp, g, x, y):
        return (g * xp.cos(x),)


class Cos(Unary):
    """cos(x); d/dx = -sin(x)."""
    __slots__ = ()

    def forward(self, x):
        return np.cos(x)

    def vjp(self, xp, g, x, y):
        return (-g * xp.sin(x),)


class Tanh(Unary):
    """tanh(x); d/dx = 1 - tanh(x)^2. RNN cells: |d/dx| <= 1, one source of vanishing gradients."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return np.tanh(x)

    def vjp(self, xp, g, x, y):
        return (g * (1 - y * y),)


class Sigmoid(Unary):
    """sigma(x) = 1/(1 + e^-x); d/dx = sigma (1 - sigma). Gates, Bernoulli probabilities."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return _same_dtype(_special.expit(x), x)  # never overflows, unlike 1/(1+exp(-x))

    def vjp(self, xp, g, x, y):
        return (g * (y * (1 - y)),)


class Relu(Unary):
    """max(x, 0); d/dx = 0 where x <= 0, else 1 (0 at the kink, and 1 at NaN, as PyTorch's
    threshold_backward: where(y <= 0, 0, g))."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return np.maximum(x, 0)

    # keep = ~(y <= 0) in one pass: y = max(x, 0) is >= 0 or NaN, so that is y != 0
    # (-0.0 included; NaN keeps its gradient, as torch): one boolean array and pass fewer
    def vjp(self, xp, g, x, y):
        return (xp.masked(g, y != 0),)

    def vjp_donated(self, g, x, y):
        return (xp_numpy.masked_(g, y != 0),)  # the same rule, in the engine's own buffer


class Square(Unary):
    """x^2; d/dx = 2x. Squared error, L2 penalties."""
    __slots__ = ()

    def forward(self, x):
        return np.square(x)

    def vjp(self, xp, g, x, y):
        return (g * (2 * x),)


class Erf(Unary):
    """erf(x); d/dx = 2/sqrt(pi) exp(-x^2). The Gaussian CDF behind exact GELU."""
    __slots__ = ()

    def forward(self, x):
        return _same_dtype(_special.erf(x), x)

    def vjp(self, xp, g, x, y):
        return (g * (1.1283791670955126 * xp.exp(-x * x)),)


class Clamp(Unary):
    """min(max(x, lo), hi); d/dx = 1 where lo <= x <= hi (boundary included, as PyTorch), else 0.

    ``lo``, ``hi``: the bounds (Python numbers), either one None for no bound."""
    __slots__ = ("lo", "hi")

    def __init__(self, lo, hi):
        self.lo = lo
        self.hi = hi

    def forward(self, x):
        return np.clip(x, self.lo, self.hi)

    def vjp(self, xp, g, x, y):
        lo, hi = self.lo, self.hi
        if lo is not None and hi is not None:
            return (xp.masked(g, (x >= lo) & (x <= hi)),)
        return (xp.masked(g, x >= lo) if hi is None else xp.masked(g, x <= hi),)


class Piecewise(Op):
    """floor, ceil, round, trunc, sign: piecewise constant, derivative 0 almost everywhere.

    ``fn``: the function on arrays (np.floor, ...)."""
    __slots__ = ("fn",)
    uses_inputs = False
    batched = True

    def __init__(self, fn):
        self.fn = fn

    def forward(self, x):
        return self.fn(x)

    def vjp(self, xp, g, x, y):
        return (xp.zeros(tuple(g.shape), g.dtype),)  # an exact 0, not g * 0 (NaN for an inf g)

    def jvp(self, xp, t, x, y):
        return xp.zeros(tuple(t[0].shape), t[0].dtype)


def _unary(cls, x, opname):
    if not isinstance(x, Tensor):
        x = to_tensor(x, opname)
    if x._data.dtype.kind not in "fc":
        x = as_float(x)
    return apply1(cls(), x)


@public(aliases=('negative',), inplace='unary')
def neg(x):
    x = to_tensor(x, "neg")
    if x._data.dtype.kind == "b":
        raise RuntimeError("neg: negation of a bool tensor is not supported; use ~ or logical_not() instead")
    return apply(Neg(), x)


@public(inplace='unary')
def exp(x): return _unary(Exp, x, "exp")
@public(inplace='unary')
def log(x): return _unary(Log, x, "log")
@public(inplace='unary')
def log1p(x): return _unary(Log1p, x, "log1p")
@public(inplace='unary')
def expm1(x): return _unary(Expm1, x, "expm1")
@public(inplace='unary')
def sqrt(x): return _unary(Sqrt, x, "sqrt")
@public(inplace='unary')
def rsqrt(x): return _unary(Rsqrt, x, "rsqrt")
@public(inplace='unary')
def reciprocal(x): return _unary(Reciprocal, x, "reciprocal")
@public(inplace='unary')
def sin(x): return _unary(Sin, x, "sin")
@public(inplace='unary')
def cos(x): return _unary(Cos, x, "cos")
@public(inplace='unary')
def tanh(x): return _unary(Tanh, x, "tanh")
@public(inplace='unary')
def sigmoid(x): return _unary(Sigmoid, x, "sigmoid")
@public(inplace='unary')
def erf(x): return _unary(Erf, x, "erf")


@public(inplace='unary')
def abs(x):
    x = to_tensor(x, "abs")
    _no_bool(x, "abs")
    return apply(Abs(), x)


@public(inplace='unary')
def relu(x):
    x = to_tensor(x, "relu")
    _no_bool(x, "relu", RuntimeError)
    return apply(Relu(), x)


@public(inplace='unary')
def square(x):
    x = to_tensor(x, "square")
    if x._data.dtype.kind == "b":  # torch: x.pow(2), and a bool to an integer power is int64
        x = make_tensor(x._data.astype(np.int64))
    return apply(Square(), x)


def _piecewise(fn, x, opname, kernel=None):
    x = to_tensor(x, opname)
    _no_bool(x, opname, kernel=kernel)
    return apply(Piecewise(fn), x)


def _sign(a):
    """np.sign with torch's 0 (not NaN) for a NaN."""
    s = np.sign(a)
    if s.dtype.kind == "f":
        nan = s != s
        if nan.any():
            s = np.where(nan, 0, s).astype(s.dtype, copy=False)   # (np.sign of a 0-d array is a scalar)
    return s


@public(inplace='unary')
def sign(x):
    x = to_tensor(x, "sign")
    if x._data.dtype.kind == "b":  # the sign of a bool is the bool itself (torch), a new tensor
        return make_tensor(x._data.copy())
    return _piecewise(_sign, x, "sign")


@public(inplace='unary')
def floor(x): return _piecewise(np.floor, x, "floor", "floor_vml")
@public(inplace='unary')
def ceil(x): return _piecewise(np.ceil, x, "ceil", "ceil_vml")
@public(inplace='unary')
def trunc(x): return _piecewise(np.trunc, x, "trunc", "trunc_vml")


@public(inplace='unary')
def round(x, decimals=0):
    x = to_tensor(x, "round")
    if decimals and x._data.dtype.kind in "iu":  # torch rounds integers to 0 decimals only
        raise NotImplementedError(f"round: decimals={decimals} is not implemented for integer tensors "
                                  f"(torch: \"round_cpu\" not implemented for '{x.dtype}')")
    return _piecewise(lambda a: np.round(a, decimals), x, "round", "round_vml")


@public(aliases=('clip',), inplace='unary')
def clamp(x, min=None, max=None):
    """Clip to [min, max]. Gradient clipping by value and the ReLU6 family use it."""
    x = to_tensor(x, "clamp")
    if min is None and max is None:
        raise RuntimeError("clamp: at least one of 'min' or 'max' must not be None")
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        from .binary import where
        # tensor bounds: a where() so the bound itself receives gradient where it is active
        out = x
        if min is not None:
            out = where(out < min, min, out)
        if max is not None:
            out = where(out > max, max, out)
        return out
    lo = None if min is None else _bound(min)
    hi = None if max is None else _bound(max)
    if x._data.dtype.kind in "iub" and any(isinstance(v, float) for v in (lo, hi)):
        x = as_float(x)
    return apply(Clamp(lo, hi), x)


def _bound(v):
    return v.item() if isinstance(v, np.generic) else v






class Clone(Unary):
    """A copy of x in memory of its own; d/dx = 1 (the gradient passes through unchanged)."""
    __slots__ = ()
    uses_inputs = False

    def forward(self, x):
        return x.copy()

    def vjp(self, xp, g, x, y):
        return (g,)


@public
def clone(input, *, memory_format=None):
    """A copy with its own memory, recorded as a clone (torch's CloneBackward), differentiable."""
    x = to_tensor(input, "clone")
    if x._data.dtype.kind not in "fc":
        return make_tensor(x._data.copy())
    return apply(Clone(), x)
