"""The rest of the elementary and special functions a tutorial reaches for, derivatives beside them.

tan, the inverse trigonometric and the hyperbolic functions, log2/log10/exp2, erfc/erfinv,
lgamma/digamma/polygamma (the log-likelihoods of Gamma, Beta and Dirichlet models), and the
binary hypot and logaddexp (log(e^a + e^b) without overflow: the two-term log-sum-exp).
As in ``unary.py``, each vjp is g times the local derivative, written once for arrays and
Tensors; the forward-mode rule of a unary function is the same derivative times the tangent.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special as _special

from ..autograd.node import Op, apply1
from ..tensor import Tensor
from ._util import lift, quiet
from .binary import _binary
from .declare import public
from .unary import Unary, _same_dtype, _unary

_LN2, _LN10 = math.log(2.0), math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


def _on(x, array_fn, tensor_fn):
    """A special function of the backward formula: SciPy's on arrays, dlmath's (recorded) on Tensors."""
    return tensor_fn(x) if isinstance(x, Tensor) else _same_dtype(array_fn(x), x)


# --- trigonometric ------------------------------------------------------------
class Tan(Unary):
    """tan(x); d/dx = 1 + tan(x)^2 = 1 + y^2."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return np.tan(x)

    def vjp(self, xp, g, x, y):
        return (g * (1 + y * y),)


class Asin(Unary):
    """arcsin(x) on [-1, 1]; d/dx = 1 / sqrt(1 - x^2)."""
    __slots__ = ()

    def forward(self, x):
        return np.arcsin(x)

    def vjp(self, xp, g, x, y):
        with quiet():
            return (g / xp.sqrt(1 - x * x),)


class Acos(Unary):
    """arccos(x) on [-1, 1]; d/dx = -1 / sqrt(1 - x^2)."""
    __slots__ = ()

    def forward(self, x):
        return np.arccos(x)

    def vjp(self, xp, g, x, y):
        with quiet():
            return (-g / xp.sqrt(1 - x * x),)


class Atan(Unary):
    """arctan(x); d/dx = 1 / (1 + x^2)."""
    __slots__ = ()

    def forward(self, x):
        return np.arctan(x)

    def vjp(self, xp, g, x, y):
        return (g / (1 + x * x),)


# --- hyperbolic -----------------------------------------------------------------
class Sinh(Unary):
    """sinh(x); d/dx = cosh(x)."""
    __slots__ = ()

    def forward(self, x):
        return np.sinh(x)

    def vjp(self, xp, g, x, y):
        return (g * xp.cosh(x),)


class Cosh(Unary):
    """cosh(x); d/dx = sinh(x)."""
    __slots__ = ()

    def forward(self, x):
        return np.cosh(x)

    def vjp(self, xp, g, x, y):
        return (g * xp.sinh(x),)


class Asinh(Unary):
    """arsinh(x); d/dx = 1 / sqrt(x^2 + 1)."""
    __slots__ = ()

    def forward(self, x):
        return np.arcsinh(x)

    def vjp(self, xp, g, x, y):
        return (g / xp.sqrt(x * x + 1),)


class Acosh(Unary):
    """arcosh(x) for x >= 1; d/dx = 1 / sqrt(x^2 - 1)."""
    __slots__ = ()

    def forward(self, x):
        return np.arccosh(x)

    def vjp(self, xp, g, x, y):
        with quiet():
            return (g / xp.sqrt(x * x - 1),)


class Atanh(Unary):
    """artanh(x) on (-1, 1); d/dx = 1 / (1 - x^2)."""
    __slots__ = ()

    def forward(self, x):
        return np.arctanh(x)

    def vjp(self, xp, g, x, y):
        with quiet():
            return (g / (1 - x * x),)


# --- exponentials and logarithms in other bases -----------------------------------
class Log2(Unary):
    """log2(x); d/dx = 1 / (x ln 2). Entropy in bits."""
    __slots__ = ()

    def forward(self, x):
        return np.log2(x)

    def vjp(self, xp, g, x, y):
        return (g / (x * _LN2),)


class Log10(Unary):
    """log10(x); d/dx = 1 / (x ln 10)."""
    __slots__ = ()

    def forward(self, x):
        return np.log10(x)

    def vjp(self, xp, g, x, y):
        return (g / (x * _LN10),)


class Exp2(Unary):
    """2^x; d/dx = 2^x ln 2 = y ln 2."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return np.exp2(x)

    def vjp(self, xp, g, x, y):
        return (g * (y * _LN2),)


# --- error function and gamma family ------------------------------------------------
class Erfc(Unary):
    """erfc(x) = 1 - erf(x), accurate where erf(x) is near 1; d/dx = -2/sqrt(pi) exp(-x^2)."""
    __slots__ = ()

    def forward(self, x):
        return _same_dtype(_special.erfc(x), x)

    def vjp(self, xp, g, x, y):
        return (g * (-_TWO_OVER_SQRT_PI * xp.exp(-(x * x))),)


class Erfinv(Unary):
    """erf^-1(x) on (-1, 1); d/dx = sqrt(pi)/2 exp(y^2). Turns uniform noise into Gaussian noise
    (truncated-normal init samples this way)."""
    __slots__ = ()
    uses_inputs, uses_output = False, True

    def forward(self, x):
        return _same_dtype(_special.erfinv(x), x)

    def vjp(self, xp, g, x, y):
        with quiet():
            return (g * (xp.exp(y * y) / _TWO_OVER_SQRT_PI),)


class Lgamma(Unary):
    """log|Gamma(x)|; d/dx = digamma(x)."""
    __slots__ = ()

    def forward(self, x):
        return _same_dtype(_special.gammaln(x), x)

    def vjp(self, xp, g, x, y):
        return (g * _on(x, _special.digamma, digamma),)


class Polygamma(Unary):
    """psi^(n)(x), the n-th derivative of digamma; d/dx = psi^(n+1)(x)."""
    __slots__ = ("n",)

    def __init__(self, n):
        self.n = n

    def forward(self, x):
        return _same_dtype(_special.polygamma(self.n, x) if self.n else _special.digamma(x), x)

    def vjp(self, xp, g, x, y):
        n = self.n + 1
        return (g * _on(x, lambda a: _special.polygamma(n, a), lambda t: polygamma(n, t)),)


# --- binary ------------------------------------------------------------------------------
class Hypot(Op):
    """sqrt(a^2 + b^2) without overflow; d/da = a / y, d/db = b / y (0 at the origin, as torch)."""
    __slots__ = ()
    batched = True
    uses_output = True

    def forward(self, a, b):
        return np.hypot(a, b)

    def vjp(self, xp, g, a, b, y):
        with quiet():
            scale = xp.where(y == 0, 0.0, g / y)
        return ((scale * a if self.needs[0] else None), (scale * b if self.needs[1] else None))

    def jvp(self, xp, t, a, b, y):
        ta, tb = lift(xp, t[0], a, y), lift(xp, t[1], b, y)
        with quiet():
            out = None if ta is None else ta * a / y
            if tb is not None:
                out = tb * b / y if out is None else out + tb * b / y
        return out


class Logaddexp(Op):
    """log(e^a + e^b) = max + log1p(e^-|a-b|); d/da = e^(a - y), d/db = e^(b - y): the softmax of (a, b)."""
    __slots__ = ()
    batched = True
    uses_output = True

    def forward(self, a, b):
        return np.logaddexp(a, b)

    def vjp(self, xp, g, a, b, y):
        return ((g * xp.exp(a - y) if self.needs[0] else None), (g * xp.exp(b - y) if self.needs[1] else None))

    def jvp(self, xp, t, a, b, y):
        ta, tb = lift(xp, t[0], a, y), lift(xp, t[1], b, y)
        out = None if ta is None else ta * xp.exp(a - y)
        if tb is not None:
            out = tb * xp.exp(b - y) if out is None else out + tb * xp.exp(b - y)
        return out


class NanToNum(Unary):
    """x with NaN, +inf and -inf replaced by finite numbers; d/dx = 1 where x is finite, else 0."""
    __slots__ = ("nan", "posinf", "neginf")

    def __init__(self, nan, posinf, neginf):
        self.nan, self.posinf, self.neginf = nan, posinf, neginf

    def forward(self, x):
        return np.nan_to_num(x, nan=self.nan, posinf=self.posinf, neginf=self.neginf)

    def vjp(self, xp, g, x, y):
        return (xp.where(xp.isfinite(x) if not isinstance(x, Tensor) else x.isfinite(), g, 0.0),)


# --- the public functions ---------------------------------------------------------------------
@public(inplace="unary")
def tan(input): return _unary(Tan, input, "tan")
@public(aliases=("arcsin",), inplace="unary")
def asin(input): return _unary(Asin, input, "asin")
@public(aliases=("arccos",), inplace="unary")
def acos(input): return _unary(Acos, input, "acos")
@public(aliases=("arctan",), inplace="unary")
def atan(input): return _unary(Atan, input, "atan")
@public(inplace="unary")
def sinh(input): return _unary(Sinh, input, "sinh")
@public(inplace="unary")
def cosh(input): return _unary(Cosh, input, "cosh")
@public(aliases=("arcsinh",), inplace="unary")
def asinh(input): return _unary(Asinh, input, "asinh")
@public(aliases=("arccosh",), inplace="unary")
def acosh(input): return _unary(Acosh, input, "acosh")
@public(aliases=("arctanh",), inplace="unary")
def atanh(input): return _unary(Atanh, input, "atanh")
@public(inplace="unary")
def log2(input): return _unary(Log2, input, "log2")
@public(inplace="unary")
def log10(input): return _unary(Log10, input, "log10")
@public(inplace="unary")
def exp2(input): return _unary(Exp2, input, "exp2")
@public(inplace="unary")
def erfc(input): return _unary(Erfc, input, "erfc")
@public(inplace="unary")
def erfinv(input): return _unary(Erfinv, input, "erfinv")
@public(inplace="unary")
def lgamma(input): return _unary(Lgamma, input, "lgamma")
@public(inplace="unary")
def digamma(input): return polygamma(0, input)


@public(inplace="unary")
def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """Replace NaN by ``nan`` and +-inf by ``posinf``/``neginf`` (default: the dtype's largest and
    smallest finite values)."""
    from ._util import to_tensor

    x = to_tensor(input, "nan_to_num")
    if x.dtype.kind not in "fc":
        return x.clone()
    return apply1(NanToNum(nan, posinf, neginf), x)


@public
def polygamma(n, input):
    """psi^(n)(input); n = 0 is digamma."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise RuntimeError(f"polygamma(n, x) does not support negative n (got n={n!r}); n is a non-negative int")
    return _unary(lambda: Polygamma(n), input, "polygamma")


@public(inplace="binary")
def hypot(input, other):
    return _binary(Hypot, input, other, "hypot", to_float=True)


@public(inplace="binary")
def logaddexp(input, other):
    return _binary(Logaddexp, input, other, "logaddexp", to_float=True)
